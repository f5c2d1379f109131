//! Benchmark corpora built from real QEMU 10 captures, shared by the criterion benches.
//!
//! Every corpus is a byte stream as a QMP client would receive it (or, for
//! [`chatter`], as a tap on both directions of one connection would see it):
//!
//! - [`schema`]: the real `query-qmp-schema` reply, one 236 KB frame, exactly as captured.
//! - [`events`]: about 1 MiB of events, one compact message per CRLF-terminated line.
//! - [`chatter`]: about 1 MiB of client commands interleaved with server replies.
//! - [`pretty`]: about 1 MiB of pretty-mode output (`-mon …,pretty=on`).
//!
//! Messages are either copied from the captures in `testdata/captures` (with timestamps
//! and ids varied deterministically) or built in QEMU's exact wire layout: compact
//! members separated by `", "`, keys followed by `": "`, member order as QEMU's QDict
//! emits it, and `\r\n` after each message. The builders are deterministic: the same
//! bytes on every run.
//!
//! [`lines`] and [`line_messages`] cut a corpus into the pieces a line-based reader
//! (libvirt, Python `qemu.qmp`) would parse, for the per-line baselines.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

macro_rules! capture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/captures/",
            $name
        ))
    };
}

/// The real `query-qmp-schema` reply, `{"return": [...], "id": "schema"}\r\n`.
const SCHEMA: &[u8] = capture!("query-qmp-schema.json");
/// A session with SPICE connect / initialise / disconnect events.
const SPICE_EVENTS: &[u8] = capture!("spice_events.rx.bin");
/// A session with VNC events and a `stop` / `cont` pair.
const VNC_EVENTS: &[u8] = capture!("vnc_events.rx.bin");
/// The basic session over a UNIX socket (negotiation, errors, a SHUTDOWN event).
const UNIX_BASIC: &[u8] = capture!("unix_basic.rx.bin");
/// A session with `pretty=on`.
const CHARDEV_MON_PRETTY: &[u8] = capture!("chardev_mon_pretty.rx.bin");

/// Size the streaming corpora grow to (they stop at the first message boundary past it).
pub const TARGET_LEN: usize = 1 << 20;

/// The real `query-qmp-schema` reply: one frame of 235 961 bytes, exactly as received.
pub fn schema() -> Vec<u8> {
    SCHEMA.to_vec()
}

/// An event stream of about 1 MiB, one compact event per `\r\n`-terminated line.
///
/// Each cycle of the stream holds, in this order:
///
/// - the real VNC session events (connect, disconnect, connect, initialise, disconnect,
///   `STOP`, `RESUME`) from `vnc_events.rx.bin`;
/// - the real SPICE session events (connect, disconnect, connect, initialise,
///   disconnect) from `spice_events.rx.bin`;
/// - a block-job lifecycle as QEMU reports it: `JOB_STATUS_CHANGE` created, running,
///   waiting, pending, `BLOCK_JOB_COMPLETED`, `JOB_STATUS_CHANGE` concluded, null.
///
/// The stream ends with the real `SHUTDOWN` event from `unix_basic.rx.bin`. Timestamps
/// increase by a deterministic pseudo-random step; job ids, types and lengths vary by
/// cycle.
pub fn events() -> Vec<u8> {
    let mut clock = Clock::new();
    let mut out = Vec::with_capacity(TARGET_LEN + 8 * 1024);
    let mut cycle = 0;
    while out.len() < TARGET_LEN {
        for msg in event_cycle(cycle, &mut clock) {
            push_line(&mut out, &msg);
        }
        cycle += 1;
    }
    push_line(&mut out, &retime(shutdown_event(), &mut clock));
    out
}

/// A command/reply stream of about 1 MiB, both directions interleaved.
///
/// Client commands are compact, as Python's `json.dumps(..., separators=(",", ":"))`
/// writes them (`{"execute":"query-status","id":7}`); every other command is followed
/// by `\n`, the rest by nothing at all, so the next message starts right after the
/// closing brace. Each command is followed by QEMU's answer in its compact wire format:
/// `{"return": ..., "id": N}\r\n` or `{"id": N, "error": {"class": ..., "desc": ...}}\r\n`,
/// preceded by the `STOP` / `RESUME` event for `stop` / `cont` (QEMU sends those before
/// the return). Replies and error texts are the ones captured from QEMU 10.
pub fn chatter() -> Vec<u8> {
    let mut clock = Clock::new();
    let mut id = 1;
    let mut out = Vec::with_capacity(TARGET_LEN + 8 * 1024);
    while out.len() < TARGET_LEN {
        for exchange in exchange_cycle(&mut id, &mut clock) {
            out.extend_from_slice(&exchange.command);
            if exchange.id % 2 == 0 {
                out.push(b'\n');
            }
            for msg in &exchange.replies {
                push_line(&mut out, msg);
            }
        }
    }
    out
}

/// A pretty-mode stream of about 1 MiB, as a monitor with `pretty=on` writes it.
///
/// It starts with the real capture `chardev_mon_pretty.rx.bin` byte for byte (greeting,
/// negotiation, `query-status`, `SHUTDOWN`, `quit`), followed by the server side of
/// [`events`] and [`chatter`] (events and replies, alternating by cycle) re-rendered with
/// [`render_pretty`].
pub fn pretty() -> Vec<u8> {
    let mut clock = Clock::new();
    let mut id = 1;
    let mut out = Vec::with_capacity(TARGET_LEN + 16 * 1024);
    out.extend_from_slice(CHARDEV_MON_PRETTY);
    let mut cycle = 0;
    while out.len() < TARGET_LEN {
        for msg in event_cycle(cycle, &mut clock) {
            render_pretty(&msg, &mut out);
        }
        for exchange in exchange_cycle(&mut id, &mut clock) {
            for msg in &exchange.replies {
                render_pretty(msg, &mut out);
            }
        }
        cycle += 1;
    }
    out
}

/// Append `text` (one JSON text, compact or already pretty) to `out` in QEMU's pretty
/// layout, followed by `\r\n`.
///
/// The layout is that of QEMU's JSON writer in pretty mode after the monitor turned each
/// `\n` into `\r\n`: a line break and 4 spaces per nesting level before every member,
/// array element and closing bracket (so `{}` becomes `{`, line break, indent, `}`), and
/// `": "` after each key. Whitespace outside strings in `text` is dropped first, so
/// rendering pretty output again gives the same bytes.
pub fn render_pretty(text: &[u8], out: &mut Vec<u8>) {
    fn newline(out: &mut Vec<u8>, depth: usize) {
        out.extend_from_slice(b"\r\n");
        out.resize(out.len() + 4 * depth, b' ');
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // A container was opened or a comma written: the next value goes on a new line.
    let mut pending = false;
    for &b in text {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(b);
                pending = false;
            }
            b',' => {
                out.push(b);
                pending = true;
            }
            b':' => out.extend_from_slice(b": "),
            _ => {
                if pending {
                    newline(out, depth);
                    pending = false;
                }
                out.push(b);
                match b {
                    b'{' | b'[' => {
                        depth += 1;
                        pending = true;
                    }
                    b'"' => in_string = true,
                    _ => {}
                }
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The lines of `corpus`, split on `\n`, without the `\n` (a trailing `\r` stays: JSON
/// parsers take it as whitespace). Lines holding only whitespace are skipped.
///
/// This is what a line-based reader hands its JSON parser. It only makes sense for
/// compact output: in a pretty corpus a line is a fragment of a message, so the benches
/// do not run the per-line baselines there.
pub fn lines(corpus: &[u8]) -> Vec<&[u8]> {
    corpus
        .split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .collect()
}

/// [`lines`], with each line that holds several JSON texts cut into one slice per text.
///
/// Only [`chatter`] has such lines: a command sent without a newline shares its line with
/// the message after it, which a line-based reader could not parse at all. The per-line
/// baselines get these slices pre-cut (outside the timed loop), which favours them.
///
/// # Panics
///
/// If a line holds a top-level value that is not an object or array, or is cut short
/// inside one: the corpora here never do.
pub fn line_messages(corpus: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for line in lines(corpus) {
        split_texts(line, &mut out);
    }
    out
}

/// Cut one line of compact JSON texts (objects or arrays) into one slice per text.
fn split_texts<'a>(line: &'a [u8], out: &mut Vec<&'a [u8]>) {
    let mut depth = 0usize;
    let mut start = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in line.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    out.push(&line[start..=i]);
                }
            }
            _ => assert!(
                depth > 0 || b.is_ascii_whitespace(),
                "top-level byte {b:#04x} outside an object or array"
            ),
        }
    }
    assert_eq!(depth, 0, "line ends inside a JSON text");
}

/// Append `msg` and QEMU's `\r\n` line end.
fn push_line(out: &mut Vec<u8>, msg: &[u8]) {
    out.extend_from_slice(msg);
    out.extend_from_slice(b"\r\n");
}

/// Host wall-clock time as QEMU stamps events, advancing deterministically.
struct Clock {
    seconds: u64,
    microseconds: u64,
    rng: u64,
}

impl Clock {
    /// Starts at the time of the VNC capture.
    fn new() -> Self {
        Self {
            seconds: 1_795_639_840,
            microseconds: 906_745,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Advance by 1 ms to about 1.5 s and return the new time.
    fn tick(&mut self) -> (u64, u64) {
        // 64-bit LCG (Knuth's MMIX constants); the high bits are the usable ones.
        self.rng = self
            .rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let step = 1_000 + (self.rng >> 33) % 1_500_000;
        let total = self.microseconds + step;
        self.seconds += total / 1_000_000;
        self.microseconds = total % 1_000_000;
        (self.seconds, self.microseconds)
    }
}

/// The complete lines of a capture that are events, without their `\r\n`.
fn capture_events(capture: &'static [u8]) -> impl Iterator<Item = &'static [u8]> {
    capture
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| line.starts_with(b"{\"timestamp\": "))
}

/// The real `SHUTDOWN` event of `unix_basic.rx.bin`.
fn shutdown_event() -> &'static [u8] {
    capture_events(UNIX_BASIC)
        .find(|line| contains(line, b"\"event\": \"SHUTDOWN\""))
        .expect("unix_basic capture has a SHUTDOWN event")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `event` (a captured compact event) with the next timestamp of `clock`.
fn retime(event: &[u8], clock: &mut Clock) -> Vec<u8> {
    const PREFIX: &[u8] = b"{\"timestamp\": {\"seconds\": ";
    assert!(event.starts_with(PREFIX), "not a captured event");
    let end = event
        .iter()
        .position(|&b| b == b'}')
        .expect("timestamp object is closed");
    let rest = &event[end + 1..];
    assert!(
        rest.starts_with(b", \"event\": "),
        "event follows timestamp"
    );
    let (s, us) = clock.tick();
    let mut out =
        format!("{{\"timestamp\": {{\"seconds\": {s}, \"microseconds\": {us}}}").into_bytes();
    out.extend_from_slice(rest);
    out
}

/// A new compact event with the next timestamp of `clock`; `data` is the compact data
/// object, if any.
fn event(clock: &mut Clock, name: &str, data: Option<&str>) -> Vec<u8> {
    let (s, us) = clock.tick();
    let mut out = format!(
        "{{\"timestamp\": {{\"seconds\": {s}, \"microseconds\": {us}}}, \"event\": \"{name}\""
    );
    if let Some(data) = data {
        out.push_str(", \"data\": ");
        out.push_str(data);
    }
    out.push('}');
    out.into_bytes()
}

/// One cycle of [`events`], without line ends.
fn event_cycle(cycle: u64, clock: &mut Clock) -> Vec<Vec<u8>> {
    let is_session_event = |line: &&[u8]| !contains(line, b"\"event\": \"SHUTDOWN\"");
    let mut out: Vec<Vec<u8>> = capture_events(VNC_EVENTS)
        .filter(is_session_event)
        .chain(capture_events(SPICE_EVENTS).filter(is_session_event))
        .map(|line| retime(line, clock))
        .collect();

    // A block job run to completion with auto-finalize and auto-dismiss. Since QEMU 2.7
    // BLOCK_JOB_COMPLETED's "device" is the job id. Member order as QEMU emits it:
    // JOB_STATUS_CHANGE {status, id}; BLOCK_JOB_COMPLETED {device, len, offset, speed, type}.
    let job = format!("job{cycle}");
    let kind = ["stream", "commit", "backup"][(cycle % 3) as usize];
    let len = (1 + cycle % 16) << 30;
    for status in ["created", "running", "waiting", "pending"] {
        let data = format!("{{\"status\": \"{status}\", \"id\": \"{job}\"}}");
        out.push(event(clock, "JOB_STATUS_CHANGE", Some(&data)));
    }
    let data = format!(
        "{{\"device\": \"{job}\", \"len\": {len}, \"offset\": {len}, \"speed\": 0, \"type\": \"{kind}\"}}"
    );
    out.push(event(clock, "BLOCK_JOB_COMPLETED", Some(&data)));
    for status in ["concluded", "null"] {
        let data = format!("{{\"status\": \"{status}\", \"id\": \"{job}\"}}");
        out.push(event(clock, "JOB_STATUS_CHANGE", Some(&data)));
    }
    out
}

/// A client command and what the server sends back for it.
struct Exchange {
    /// The command's `id`.
    id: u64,
    /// Compact command, no line end.
    command: Vec<u8>,
    /// Server messages, no line ends: events first, then the reply.
    replies: Vec<Vec<u8>>,
}

/// How QEMU answers a command in [`exchange_cycle`].
enum Answer {
    /// `{"return": BODY, "id": N}`.
    Return(&'static str),
    /// `{"id": N, "error": {"class": CLASS, "desc": DESC}}`; DESC as it goes on the wire.
    Error(&'static str, &'static str),
    /// The named payload-less event, then `{"return": {}, "id": N}`.
    EventThenEmpty(&'static str),
}

/// One cycle of [`chatter`]: commands and replies as captured from QEMU 10.0.2.
fn exchange_cycle(id: &mut u64, clock: &mut Clock) -> Vec<Exchange> {
    const RUNNING: &str = r#"{"status": "running", "running": true}"#;
    const PAUSED: &str = r#"{"status": "paused", "running": false}"#;
    const VERSION: &str = r#"{"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"}"#;
    const VNC: &str = r#"{"enabled": true, "auth": "none", "family": "ipv4", "clients": [], "service": "5907", "host": "127.0.0.1"}"#;
    const SPICE: &str = r#"{"migrated": false, "enabled": true, "auth": "none", "port": 5931, "compiled-version": "0.15.1", "host": "127.0.0.1", "channels": [], "mouse-mode": "server"}"#;
    const NAME: &str = r#"{"name": "vm-\u00E9\u20AC"}"#;
    // (execute, arguments, answer)
    let table: [(&str, Option<&str>, Answer); 12] = [
        ("query-status", None, Answer::Return(RUNNING)),
        ("query-version", None, Answer::Return(VERSION)),
        ("stop", None, Answer::EventThenEmpty("STOP")),
        ("query-status", None, Answer::Return(PAUSED)),
        ("cont", None, Answer::EventThenEmpty("RESUME")),
        ("query-vnc", None, Answer::Return(VNC)),
        ("query-spice", None, Answer::Return(SPICE)),
        (
            "no-such-command",
            None,
            Answer::Error(
                "CommandNotFound",
                "The command no-such-command has not been found",
            ),
        ),
        (
            "query-status",
            Some(r#"{"bogus":1}"#),
            Answer::Error("GenericError", "Parameter 'bogus' is unexpected"),
        ),
        (
            "qmp_capabilities",
            None,
            Answer::Error(
                "CommandNotFound",
                "Capabilities negotiation is already complete, command ignored",
            ),
        ),
        ("query-name", None, Answer::Return(NAME)),
        ("query-status", None, Answer::Return(RUNNING)),
    ];
    let mut out = Vec::with_capacity(table.len());
    for (execute, arguments, answer) in table {
        let n = *id;
        *id += 1;
        let command = match arguments {
            Some(args) => format!(r#"{{"execute":"{execute}","arguments":{args},"id":{n}}}"#),
            None => format!(r#"{{"execute":"{execute}","id":{n}}}"#),
        };
        let replies =
            match answer {
                Answer::Return(body) => {
                    vec![format!(r#"{{"return": {body}, "id": {n}}}"#).into_bytes()]
                }
                Answer::Error(class, desc) => vec![format!(
                    r#"{{"id": {n}, "error": {{"class": "{class}", "desc": "{desc}"}}}}"#
                )
                .into_bytes()],
                Answer::EventThenEmpty(name) => vec![
                    event(clock, name, None),
                    format!(r#"{{"return": {{}}, "id": {n}}}"#).into_bytes(),
                ],
            };
        out.push(Exchange {
            id: n,
            command: command.into_bytes(),
            replies,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    const CHARDEV_MON: &[u8] = capture!("chardev_mon.rx.bin");
    const ALL_CAPTURES: [&[u8]; 6] = [
        capture!("extras.rx.bin"),
        SPICE_EVENTS,
        VNC_EVENTS,
        UNIX_BASIC,
        CHARDEV_MON,
        capture!("oob.rx.bin"),
    ];

    /// The JSON texts of a stream, as serde_json finds them.
    fn texts(corpus: &[u8]) -> Vec<&[u8]> {
        serde_json::Deserializer::from_slice(corpus)
            .into_iter::<&RawValue>()
            .map(|v| v.expect("valid JSON").get().as_bytes())
            .collect()
    }

    fn in_captures(needle: &[u8]) -> bool {
        ALL_CAPTURES.iter().any(|c| contains(c, needle))
    }

    #[test]
    fn schema_is_one_frame_as_captured() {
        let s = schema();
        assert_eq!(s.len(), 235_961);
        assert!(s.ends_with(b"\"id\": \"schema\"}\r\n"));
        assert_eq!(texts(&s).len(), 1);
    }

    #[test]
    fn corpora_are_deterministic_and_about_a_mebibyte() {
        for build in [events, chatter, pretty] {
            let a = build();
            assert_eq!(a, build());
            assert!((TARGET_LEN..TARGET_LEN + 16 * 1024).contains(&a.len()));
        }
    }

    #[test]
    fn events_are_crlf_lines_of_one_event_each() {
        let e = events();
        assert!(e.ends_with(b"\"reason\": \"host-qmp-quit\"}}\r\n"));
        let lines = lines(&e);
        assert_eq!(
            lines,
            texts(&e)
                .iter()
                .map(|t| [*t, b"\r"].concat())
                .collect::<Vec<_>>()
        );
        let mut last = (0, 0);
        for line in lines {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            let ts = (
                v["timestamp"]["seconds"].as_u64().unwrap(),
                v["timestamp"]["microseconds"].as_u64().unwrap(),
            );
            assert!(ts > last && ts.1 < 1_000_000);
            last = ts;
            assert!(v["event"].is_string());
        }
    }

    #[test]
    fn events_keep_captured_payloads() {
        let e = events();
        for line in lines(&e).into_iter().take(12) {
            let line = line.strip_suffix(b"\r").unwrap();
            let tail = &line[line.iter().position(|&b| b == b'}').unwrap() + 1..];
            assert!(in_captures(tail), "{}", String::from_utf8_lossy(line));
        }
        let job = br#", "event": "BLOCK_JOB_COMPLETED", "data": {"device": "job0", "len": 1073741824, "offset": 1073741824, "speed": 0, "type": "stream"}}"#;
        assert!(contains(&e, job));
        assert!(contains(
            &e,
            br#", "event": "JOB_STATUS_CHANGE", "data": {"status": "concluded", "id": "job0"}}"#
        ));
    }

    #[test]
    fn chatter_replies_are_captured_ones() {
        let c = chatter();
        let mut commands = 0;
        for text in texts(&c) {
            let v: serde_json::Value = serde_json::from_slice(text).unwrap();
            if v.get("execute").is_some() {
                commands += 1;
                assert!(!contains(text, b" "), "commands are compact");
            } else if v.get("return").is_some() {
                let suffix = format!(", \"id\": {}}}", v["id"]);
                let reply = text.strip_suffix(suffix.as_bytes()).expect("id comes last");
                assert!(in_captures(reply), "{}", String::from_utf8_lossy(text));
            } else if v.get("error").is_some() {
                let error = &text[text.iter().position(|&b| b == b',').unwrap()..];
                assert!(in_captures(error), "{}", String::from_utf8_lossy(text));
            } else {
                assert!(v.get("event").is_some());
            }
        }
        assert!(commands > 5_000);
        // Half the commands share their line with the next message.
        assert!(contains(&c, br#""id":1}{"return": "#));
        assert!(contains(&c, b"\"id\":2}\n{\"return\": "));
        assert!(line_messages(&c).len() > lines(&c).len());
        assert_eq!(line_messages(&c), texts(&c));
    }

    #[test]
    fn line_messages_match_lines_on_compact_server_output() {
        for corpus in [schema(), events()] {
            let lines: Vec<&[u8]> = lines(&corpus)
                .into_iter()
                .map(|l| l.strip_suffix(b"\r").unwrap())
                .collect();
            assert_eq!(line_messages(&corpus), lines);
        }
    }

    #[test]
    fn render_pretty_reproduces_the_real_pretty_capture() {
        // Same session as the compact capture, but with its own SHUTDOWN timestamp.
        let compact = String::from_utf8(CHARDEV_MON.to_vec()).unwrap().replace(
            "1795639802, \"microseconds\": 436855",
            "1795639803, \"microseconds\": 554287",
        );
        let mut out = Vec::new();
        for text in texts(compact.as_bytes()) {
            render_pretty(text, &mut out);
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(CHARDEV_MON_PRETTY.to_vec()).unwrap()
        );
        // Rendering pretty output again changes nothing.
        let mut again = Vec::new();
        for text in texts(CHARDEV_MON_PRETTY) {
            render_pretty(text, &mut again);
        }
        assert_eq!(again, CHARDEV_MON_PRETTY);
    }

    #[test]
    fn pretty_is_the_capture_then_pretty_messages() {
        let p = pretty();
        assert!(p.starts_with(CHARDEV_MON_PRETTY));
        let texts = texts(&p);
        let mut rebuilt = Vec::new();
        for text in &texts {
            render_pretty(text, &mut rebuilt);
        }
        assert_eq!(rebuilt, p);
        assert!(texts.len() > 2_000);
        // Pretty layout of events, empty objects and empty arrays.
        assert!(contains(
            &p,
            b"{\r\n    \"timestamp\": {\r\n        \"seconds\": "
        ));
        assert!(contains(&p, b"\"return\": {\r\n    },\r\n    \"id\": "));
        assert!(contains(&p, b"\"clients\": [\r\n        ],\r\n"));
    }
}
