//! `qmp decode`: frame and classify a captured QMP byte stream.
//!
//! The input is read in 64 KiB pieces and framed as it streams by, so its size does
//! not matter; the framer's buffer (`--buffer`) bounds the largest message shown.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::json::{Kind, RawJson};
use qmp_core::message::{Message, QemuVersion};

use crate::json;
use crate::style::{Paint, Style};

/// The bundled capture: what QEMU 10.0.2 sent to a client over a unix socket in one
/// session (greeting, negotiation, queries, error replies, the 236 KB
/// `query-qmp-schema` reply, an event).
pub const BUNDLED: &[u8] = include_bytes!("../../testdata/captures/unix_basic.rx.bin");
/// Where the bundled capture comes from, as shown to the user.
pub const BUNDLED_NAME: &str = "testdata/captures/unix_basic.rx.bin";

/// How to show what was decoded.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// JSON Lines instead of aligned text.
    pub json: bool,
    /// Show each message's payload (re-indented in text mode, whole in JSON mode).
    pub pretty: bool,
    /// Only the summary.
    pub summary_only: bool,
    /// The framer's buffer: the largest message handed out.
    pub buffer: usize,
    /// Leave the time and throughput out of the summary (for comparable outputs).
    pub no_timing: bool,
}

/// What came out, by kind.
#[derive(Default, Debug)]
pub struct Tally {
    pub bytes: u64,
    pub greetings: u64,
    pub returns: u64,
    pub error_replies: u64,
    pub events: u64,
    pub requests: u64,
    /// Valid JSON that is not a QMP message.
    pub not_qmp: u64,
    /// Stream errors by kind: bytes the framer skipped.
    pub stream_errors: BTreeMap<&'static str, (u64, u64)>,
    /// Events by name.
    pub event_names: BTreeMap<String, u64>,
    /// Error replies by class.
    pub error_classes: BTreeMap<String, u64>,
}

impl Tally {
    /// Messages handed out (QMP or not).
    pub fn messages(&self) -> u64 {
        self.greetings + self.returns + self.error_replies + self.events + self.requests
    }

    /// Stream errors, and the bytes they skipped.
    pub fn errors(&self) -> (u64, u64) {
        self.stream_errors
            .values()
            .fold((0, 0), |(n, b), (en, eb)| (n + en, b + eb))
    }
}

/// Decode everything `input` yields, writing one line per item to `out`, then the
/// summary (to `out` in text mode, to `summary` in JSON mode, so that `out` stays pure
/// JSON Lines). A failed write to `out` ends the decoding with that error.
pub fn run(
    input: &mut dyn Read,
    options: Options,
    style: Style,
    out: &mut dyn Write,
    summary: &mut dyn Write,
) -> io::Result<Tally> {
    let mut framer = Framer::new(vec![0u8; options.buffer.max(1)]);
    let mut tally = Tally::default();
    let mut line = Vec::with_capacity(256);
    let mut failed: Option<io::Error> = None;
    let started = Instant::now();
    let mut piece = vec![0u8; 64 * 1024];
    if !options.json && !options.summary_only {
        let header = format!(
            "{:>10} {:>8}  {:<8}  {}",
            "offset", "bytes", "kind", "event / error class / id"
        );
        writeln!(out, "{}", style.paint(Paint::Dim, &header))?;
    }
    let mut bytes = 0u64;
    {
        let mut each = |item: Result<Frame<'_>, FrameError>| {
            if failed.is_some() {
                return;
            }
            line.clear();
            describe(item, options, style, &mut tally, &mut line);
            if !line.is_empty() {
                if let Err(e) = out.write_all(&line) {
                    failed = Some(e);
                }
            }
        };
        loop {
            let n = match input.read(&mut piece) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            bytes += n as u64;
            framer.feed(&piece[..n], &mut each);
        }
        framer.finish();
        framer.drain(&mut each);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    tally.bytes = bytes;
    let elapsed = started.elapsed();
    out.flush()?;
    if options.json {
        write_summary(&tally, options, elapsed, style, summary)?;
        summary.flush()?;
    } else {
        write_summary(&tally, options, elapsed, style, out)?;
        out.flush()?;
    }
    Ok(tally)
}

/// Count one item and, unless only the summary is wanted, describe it into `line`.
fn describe(
    item: Result<Frame<'_>, FrameError>,
    options: Options,
    style: Style,
    tally: &mut Tally,
    line: &mut Vec<u8>,
) {
    let frame = match item {
        Ok(frame) => frame,
        Err(error) => return stream_error(error, options, style, tally, line),
    };
    let message = Message::parse(frame);
    match &message {
        Ok(Message::Greeting(_)) => tally.greetings += 1,
        Ok(Message::Return(_)) => tally.returns += 1,
        Ok(Message::Error(e)) => {
            tally.error_replies += 1;
            *tally
                .error_classes
                .entry(e.class.name().into())
                .or_default() += 1;
        }
        Ok(Message::Event(e)) => {
            tally.events += 1;
            match tally.event_names.get_mut(e.name.raw()) {
                Some(n) => *n += 1,
                None => {
                    tally.event_names.insert(e.name.raw().into(), 1);
                }
            }
        }
        Ok(Message::Request(_)) => tally.requests += 1,
        Err(_) => tally.not_qmp += 1,
    }
    if options.summary_only {
        return;
    }
    if options.json {
        json_line(frame, &message, options, line);
    } else {
        text_line(frame, &message, options, style, line);
    }
}

fn text_line(
    frame: Frame<'_>,
    message: &Result<Message<'_>, qmp_core::message::MessageError>,
    options: Options,
    style: Style,
    line: &mut Vec<u8>,
) {
    let (kind, paint, detail) = match message {
        Ok(Message::Greeting(g)) => {
            let version = match g.version.map(|v| v.qemu) {
                Some(QemuVersion::Triple {
                    major,
                    minor,
                    micro,
                }) => format!("QEMU {major}.{minor}.{micro}"),
                Some(QemuVersion::Text(text)) => format!("QEMU {text}"),
                None => "no version".into(),
            };
            let mut caps = Vec::new();
            json::compact(g.capabilities.as_bytes(), &mut caps);
            let caps = String::from_utf8_lossy(&caps).into_owned();
            (
                "greeting",
                Paint::Good,
                format!("{version}, capabilities {caps}"),
            )
        }
        Ok(Message::Return(r)) => {
            let detail = join([id_text(r.id), Some(value_summary(r.value))]);
            ("return", Paint::Good, detail)
        }
        Ok(Message::Error(e)) => {
            let class = style.paint(Paint::Refused, e.class.name()).into_owned();
            let detail = join([
                Some(class),
                id_text(e.id),
                Some(shorten(&e.desc.to_string(), 100)),
            ]);
            ("error", Paint::Refused, detail)
        }
        Ok(Message::Event(e)) => {
            let name = style.paint(Paint::Event, e.name.raw()).into_owned();
            let time = format!(
                "at {}",
                crate::time::format_timestamp(e.timestamp.seconds, e.timestamp.microseconds)
            );
            ("event", Paint::Event, join([Some(name), Some(time)]))
        }
        Ok(Message::Request(c)) => {
            let name = if c.oob {
                format!("{} (exec-oob)", c.name)
            } else {
                c.name.to_string()
            };
            ("command", Paint::Bold, join([Some(name), id_text(c.id)]))
        }
        Err(e) => (
            "json",
            Paint::Dim,
            format!("valid JSON, not a QMP message: {e}"),
        ),
    };
    let prefix = format!("{:>10} {:>8}  ", frame.offset(), frame.len());
    line.extend_from_slice(style.paint(Paint::Dim, &prefix).as_bytes());
    line.extend_from_slice(style.paint(paint, &format!("{kind:<8}")).as_bytes());
    line.extend_from_slice(b"  ");
    line.extend_from_slice(detail.as_bytes());
    line.push(b'\n');
    if options.pretty {
        line.extend_from_slice(b"                      ");
        json::pretty(frame.as_bytes(), "                      ", line);
        line.push(b'\n');
    }
}

fn json_line(
    frame: Frame<'_>,
    message: &Result<Message<'_>, qmp_core::message::MessageError>,
    options: Options,
    line: &mut Vec<u8>,
) {
    let raw = |line: &mut Vec<u8>, key: &str, value: Option<RawJson<'_>>| {
        if let Some(value) = value {
            line.extend_from_slice(format!(",\"{key}\":").as_bytes());
            json::compact(value.as_bytes(), line);
        }
    };
    line.extend_from_slice(
        format!(
            "{{\"offset\":{},\"bytes\":{},\"kind\":",
            frame.offset(),
            frame.len()
        )
        .as_bytes(),
    );
    match message {
        Ok(Message::Greeting(g)) => {
            line.extend_from_slice(b"\"greeting\"");
            if let Some(QemuVersion::Triple {
                major,
                minor,
                micro,
            }) = g.version.map(|v| v.qemu)
            {
                line.extend_from_slice(format!(",\"qemu\":\"{major}.{minor}.{micro}\"").as_bytes());
            }
            raw(line, "capabilities", Some(g.capabilities));
        }
        Ok(Message::Return(r)) => {
            line.extend_from_slice(b"\"return\"");
            raw(line, "id", r.id);
        }
        Ok(Message::Error(e)) => {
            // The wire's own escaped forms, quoted again: valid JSON as received.
            line.extend_from_slice(
                format!(
                    "\"error\",\"class\":\"{}\",\"desc\":\"{}\"",
                    e.class.name(),
                    e.desc.raw()
                )
                .as_bytes(),
            );
            raw(line, "id", e.id);
        }
        Ok(Message::Event(e)) => {
            line.extend_from_slice(format!("\"event\",\"name\":\"{}\"", e.name.raw()).as_bytes());
            line.extend_from_slice(
                format!(
                    ",\"timestamp\":{{\"seconds\":{},\"microseconds\":{}}}",
                    e.timestamp.seconds, e.timestamp.microseconds
                )
                .as_bytes(),
            );
        }
        Ok(Message::Request(c)) => {
            line.extend_from_slice(format!("\"command\",\"name\":\"{}\"", c.name.raw()).as_bytes());
            if c.oob {
                line.extend_from_slice(b",\"oob\":true");
            }
            raw(line, "id", c.id);
        }
        Err(e) => {
            line.extend_from_slice(b"\"json\",\"error\":");
            json::quote(&e.to_string(), line);
        }
    }
    if options.pretty {
        line.extend_from_slice(b",\"message\":");
        json::compact(frame.as_bytes(), line);
    }
    line.extend_from_slice(b"}\n");
}

fn stream_error(
    error: FrameError,
    options: Options,
    style: Style,
    tally: &mut Tally,
    line: &mut Vec<u8>,
) {
    let (kind, detail, at) = match error {
        FrameError::TooLarge { len, .. } => (
            "too-large",
            format!(
                "a {len}-byte message, larger than the {}-byte buffer (--buffer)",
                options.buffer
            ),
            None,
        ),
        FrameError::Invalid { error, .. } => {
            ("invalid", error.kind.to_string(), Some(error.offset))
        }
        other => ("other", other.to_string(), None),
    };
    let entry = tally.stream_errors.entry(kind).or_default();
    entry.0 += 1;
    entry.1 += error.skipped();
    if options.summary_only {
        return;
    }
    let skipped = error.skipped();
    if options.json {
        line.extend_from_slice(
            format!(
                "{{\"offset\":{},\"bytes\":{skipped},\"kind\":\"stream-error\",\"error\":\"{kind}\",\"desc\":",
                error.start()
            )
            .as_bytes(),
        );
        json::quote(&detail, line);
        if let Some(at) = at {
            line.extend_from_slice(format!(",\"at\":{at}").as_bytes());
        }
        line.extend_from_slice(b"}\n");
        return;
    }
    let prefix = format!("{:>10} {:>8}  ", error.start(), skipped);
    let at = at.map(|at| format!(" at byte {at}")).unwrap_or_default();
    let plural = if skipped == 1 { "" } else { "s" };
    line.extend_from_slice(style.paint(Paint::Dim, &prefix).as_bytes());
    line.extend_from_slice(style.paint(Paint::Bad, "SKIPPED ").as_bytes());
    line.extend_from_slice(
        format!("  {kind}: {detail}{at}; {skipped} byte{plural} skipped\n").as_bytes(),
    );
}

fn write_summary(
    tally: &Tally,
    options: Options,
    elapsed: Duration,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    if !options.json && !options.summary_only {
        writeln!(out)?;
    }
    let messages = tally.messages();
    let mut kinds = Vec::new();
    for (n, name) in [
        (tally.greetings, "greeting"),
        (tally.returns, "return"),
        (tally.error_replies, "error"),
        (tally.events, "event"),
        (tally.requests, "command"),
    ] {
        if n > 0 {
            kinds.push(format!("{n} {name}"));
        }
    }
    let kinds = if kinds.is_empty() {
        String::new()
    } else {
        format!(": {}", kinds.join(", "))
    };
    let heading = |s: &str| style.paint(Paint::Bold, s).into_owned();
    writeln!(out, "{} {messages}{kinds}", heading("messages:     "))?;
    if !tally.event_names.is_empty() {
        let names: Vec<String> = tally
            .event_names
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect();
        writeln!(out, "{} {}", heading("events:       "), names.join(", "))?;
    }
    if !tally.error_classes.is_empty() {
        let names: Vec<String> = tally
            .error_classes
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect();
        writeln!(out, "{} {}", heading("error replies:"), names.join(", "))?;
    }
    if tally.not_qmp > 0 {
        writeln!(
            out,
            "{} {} (valid JSON, not QMP messages)",
            heading("not QMP:      "),
            tally.not_qmp
        )?;
    }
    let (errors, skipped) = tally.errors();
    let detail = if errors == 0 {
        "0 (every byte framed)".to_string()
    } else {
        let parts: Vec<String> = tally
            .stream_errors
            .iter()
            .map(|(kind, (n, _))| format!("{n} {kind}"))
            .collect();
        let text = format!("{errors}: {}; {skipped} bytes skipped", parts.join(", "));
        style.paint(Paint::Bad, &text).into_owned()
    };
    writeln!(out, "{} {detail}", heading("stream errors:"))?;
    if options.no_timing {
        writeln!(out, "{} {} bytes", heading("read:         "), tally.bytes)?;
    } else {
        let secs = elapsed.as_secs_f64().max(1e-9);
        writeln!(
            out,
            "{} {} bytes in {:.1} ms, {:.0} MB/s (MB = 10^6 bytes)",
            heading("read:         "),
            tally.bytes,
            secs * 1e3,
            tally.bytes as f64 / 1e6 / secs
        )?;
    }
    Ok(())
}

/// `id X` when there is an id.
fn id_text(id: Option<RawJson<'_>>) -> Option<String> {
    id.map(|id| {
        let mut out = Vec::new();
        json::compact(id.as_bytes(), &mut out);
        format!("id {}", String::from_utf8_lossy(&out))
    })
}

/// A glance at a return value: `{}`, `object, 3 members`, `array, 12 elements`, or the
/// value itself when short.
fn value_summary(value: RawJson<'_>) -> String {
    match value.kind() {
        Kind::Object => match value.members().count() {
            0 => "{}".into(),
            1 => "object, 1 member".into(),
            n => format!("object, {n} members"),
        },
        Kind::Array => match value.elements().count() {
            0 => "[]".into(),
            1 => "array, 1 element".into(),
            n => format!("array, {n} elements"),
        },
        _ => {
            let mut out = Vec::new();
            json::compact(value.as_bytes(), &mut out);
            shorten(&String::from_utf8_lossy(&out), 60)
        }
    }
}

fn join<const N: usize>(parts: [Option<String>; N]) -> String {
    parts.into_iter().flatten().collect::<Vec<_>>().join("  ")
}

/// At most `max` characters of `text`, on one line.
pub fn shorten(text: &str, max: usize) -> String {
    let text = text.replace('\n', "\\n");
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}
