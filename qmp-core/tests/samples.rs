//! The public QMP examples in `testdata/samples` (QEMU's specs, docs, schema and tests,
//! libvirt's recorded replies, mailing-list sessions; each file headed with its origin)
//! parse into the messages an independent reading (serde_json) says they are.
//!
//! The samples are transcripts: `->`/`<-` or `C:`/`S:` markers, prose, shell output and
//! JSON, some of it hand-formatted over several lines. [`candidates`] finds every JSON
//! text in them by structure (a `{` outside comment lines, up to its matching bracket,
//! strings in either quote style skipped), and each candidate is then judged by both
//! parsers:
//!
//! - both accept it: it must parse with [`Message::parse`] into the kind and contents
//!   serde_json's reading gives by QMP's rules, re-encode into the protocol members of
//!   that reading, and, for an event of a catalogued name, decode into its typed variant
//!   with the same main fields;
//! - both reject it: it must be listed in [`MALFORMED`] with the reason (the specs'
//!   own invalid-input examples, placeholders, QEMU's single-quoted JSON); some of those
//!   are repaired and then checked as above;
//! - they disagree: the test fails.
//!
//! The C-escaped byte vectors of `qmp-test.c` are checked separately against QEMU's
//! request rules ([`parse_request`]) and the framer's recovery.
//!
//! Per-file counts are pinned in [`COUNTS`] and printed with `--nocapture`.

mod common;

use common::semantic::{canonical, describe, expect, kind_of, same, text};
use common::{check_invariants, run, seeds, testdata_dir, Feed, Item};
use qmp_core::fuzz::oracle::compact_ascii;
use qmp_core::json::{JsonStr, RawJson};
use qmp_core::message::{parse_request, Message};
use qmp_core::scan::ScanConfig;
use qmp_core::schema::events::EVENT_NAMES;
use qmp_core::schema::{self, DecodeErrorKind};
use serde_json::{json, Value};

/// A JSON text (or what looks like the start of one) found in a transcript.
#[derive(Clone, Debug)]
struct Candidate {
    /// Byte offset in the file.
    offset: usize,
    /// 1-based line number.
    line: usize,
    /// From the `{` to its matching bracket (or to the end of the file).
    text: String,
}

/// Every candidate JSON text in `data`: a `{` that is not on a comment line (`#` in the
/// first column) or a C string line (`"` in the first column) and not inside an earlier
/// candidate starts one, which runs to the
/// bracket that closes it. Strings in double or single quotes (QEMU accepts both) are
/// skipped with their backslash escapes, so brackets inside them do not count.
fn candidates(data: &str) -> Vec<Candidate> {
    let b = data.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if line_start && (c == b'#' || c == b'"') {
            // A comment line, or a C string literal (qmp-test.c's byte vectors, checked
            // on their own): skip it whole.
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        line_start = c == b'\n';
        if c == b'\n' {
            line += 1;
        }
        if c != b'{' {
            i += 1;
            continue;
        }
        let (start, start_line) = (i, line);
        let mut depth = 0usize;
        let mut quote = None;
        let mut escaped = false;
        while i < b.len() {
            let c = b[i];
            i += 1;
            if c == b'\n' {
                line += 1;
            }
            match quote {
                Some(q) => match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, c) if c == q => quote = None,
                    _ => {}
                },
                None => match c {
                    b'"' | b'\'' => quote = Some(c),
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                },
            }
        }
        line_start = b.get(i.wrapping_sub(1)) == Some(&b'\n');
        out.push(Candidate {
            offset: start,
            line: start_line,
            text: data[start..i].to_owned(),
        });
    }
    out
}

/// How a malformed sample is made into a message, if it can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repair {
    /// Not a message at all.
    None,
    /// qemu-iotests' filter replaced the timestamp numbers by the word `TIMESTAMP`:
    /// put a number back.
    Timestamp,
    /// QEMU's JSON parser also takes single-quoted strings (an extension, not JSON):
    /// convert them to double-quoted ones.
    SingleQuotes,
}

/// A sample text both parsers reject, and why.
struct Malformed {
    /// The sample file.
    file: &'static str,
    /// A substring that identifies the candidates (all that contain it).
    contains: &'static str,
    /// How many candidates of the file it matches.
    count: usize,
    /// Why it is not JSON.
    why: &'static str,
    repair: Repair,
}

const SPEC_V01: &str = "qemu__QMP_qmp-spec.txt__v0.1_examples.txt";
const SPEC_1X: &str = "qemu__docs_qmp-spec.txt__1.x_examples.txt";
const SPEC_30: &str = "qemu__docs_interop_qmp-spec.txt__3.0_examples.txt";
const SPEC_RST: &str = "qemu__docs_interop_qmp-spec.rst__examples.txt";
const IOTESTS_071: &str = "qemu__tests_qemu-iotests_071.out";
const IOTESTS_087: &str = "qemu__tests_qemu-iotests_087.out";
const QMP_TEST: &str = "qemu__tests_qtest_qmp-test.c__malformed_input_vectors.txt";
const QMP_EVENTS: &str = "qemu__QMP_qmp-events.txt__historic_event_examples.txt";

/// Every sample text that is deliberately (or by filtering) not JSON.
const MALFORMED: &[Malformed] = &[
    Malformed {
        file: SPEC_V01,
        contains: r#"{ "execute": }"#,
        count: 1,
        why: "the spec's own example of invalid input, answered with a JSON parse error",
        repair: Repair::None,
    },
    Malformed {
        file: SPEC_1X,
        contains: r#"{ "execute": }"#,
        count: 1,
        why: "the spec's own example of invalid input, answered with a JSON parse error",
        repair: Repair::None,
    },
    Malformed {
        file: SPEC_30,
        contains: r#"{ "execute": }"#,
        count: 1,
        why: "the spec's own example of invalid input, answered with a JSON parse error",
        repair: Repair::None,
    },
    Malformed {
        file: SPEC_RST,
        contains: r#"{ "execute": }"#,
        count: 1,
        why: "the spec's own example of invalid input, answered with a JSON parse error",
        repair: Repair::None,
    },
    Malformed {
        file: IOTESTS_071,
        contains: r#""seconds":  TIMESTAMP"#,
        count: 6,
        why: "the iotests output filter replaced both timestamp numbers by `TIMESTAMP`",
        repair: Repair::Timestamp,
    },
    Malformed {
        file: IOTESTS_087,
        contains: r#""seconds":  TIMESTAMP"#,
        count: 15,
        why: "the iotests output filter replaced both timestamp numbers by `TIMESTAMP`",
        repair: Repair::Timestamp,
    },
    Malformed {
        file: QMP_TEST,
        contains: "VersionInfo",
        count: 1,
        why: "a schematic greeting with the type name `VersionInfo` and `[...]` as \
              placeholders",
        repair: Repair::None,
    },
    Malformed {
        file: QMP_TEST,
        contains: "{...}",
        count: 1,
        why: "a schematic reply with `{...}` for the elided return value",
        repair: Repair::None,
    },
    Malformed {
        file: QMP_TEST,
        contains: "'",
        count: 8,
        why: "qmp-test.c writes its requests in QEMU's single-quoted JSON extension",
        repair: Repair::SingleQuotes,
    },
];

/// Catalogued event names whose sample payload does not fit, and why.
const BAD_PAYLOADS: &[(&str, &str, &str)] = &[(
    QMP_EVENTS,
    "WATCHDOG",
    "qmp-events.txt's example under WAKEUP is a data-less WATCHDOG (a copy-paste slip \
     in QEMU's docs); WATCHDOG requires `action`",
)];

/// What one sample file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    /// Candidate JSON texts found.
    found: usize,
    /// Both parsers accept them as they are.
    valid: usize,
    /// Both reject them (all listed in [`MALFORMED`]).
    malformed: usize,
    /// Malformed ones that became messages after their repair.
    repaired: usize,
    /// Valid or repaired texts that are not QMP messages (e.g. `{ 'id': 'err-2' }`).
    not_messages: usize,
    greetings: usize,
    commands: usize,
    returns: usize,
    errors: usize,
    events: usize,
    /// Events decoded into a typed (catalogued) variant.
    typed_events: usize,
    /// Events of other names ([`schema::Event::Unknown`]).
    unknown_events: usize,
    /// Events of catalogued names whose payload does not fit (all in [`BAD_PAYLOADS`]).
    bad_payloads: usize,
}

/// The pinned counts per sample file (see [`Counts`] for the columns).
#[rustfmt::skip]
const COUNTS: &[(&str, Counts)] = &[
    //  found valid malformed repaired not_messages | QMP cmd ret err evt typed unknown bad
    ("libvirt__tests_qemucapabilitiesdata_caps_11.0.0_x86_64.replies__head.txt",
     c(6, 6, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0)),
    ("qemu-devel__2025-08-24_vsementsov__qmp-stdio-session.txt",
     c(15, 15, 0, 0, 0, 0, 6, 6, 0, 3, 2, 1, 0)),
    ("qemu-devel__2025_npcm8xx-pspi-test__qtest_log_greeting.txt",
     c(3, 3, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)),
    ("qemu__QMP_README__0.11.50_telnet_session.txt",
     c(3, 3, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0)),
    (QMP_EVENTS,
     c(22, 22, 0, 0, 0, 0, 0, 0, 0, 22, 18, 3, 1)),
    (SPEC_V01,
     c(8, 7, 1, 0, 0, 1, 2, 2, 1, 1, 1, 0, 0)),
    ("qemu__docs_devel_writing-monitor-commands.rst__pretty_session.txt",
     c(5, 5, 0, 0, 0, 1, 2, 1, 1, 0, 0, 0, 0)),
    (SPEC_RST,
     c(12, 11, 1, 0, 0, 1, 4, 3, 2, 1, 1, 0, 0)),
    (SPEC_30,
     c(12, 11, 1, 0, 0, 1, 4, 3, 2, 1, 1, 0, 0)),
    (SPEC_1X,
     c(10, 9, 1, 0, 0, 1, 3, 3, 1, 1, 1, 0, 0)),
    ("qemu__qapi_schema__current_event_examples.txt",
     c(44, 44, 0, 0, 0, 0, 11, 11, 0, 22, 22, 0, 0)),
    (IOTESTS_071,
     c(18, 12, 6, 6, 0, 0, 0, 12, 0, 6, 2, 4, 0)),
    ("qemu__tests_qemu-iotests_085.out__excerpt",
     c(4, 4, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0)),
    (IOTESTS_087,
     c(35, 20, 15, 15, 0, 0, 0, 11, 9, 15, 5, 10, 0)),
    (QMP_TEST,
     c(11, 1, 10, 8, 1, 0, 7, 1, 0, 0, 0, 0, 0)),
];

#[allow(clippy::too_many_arguments)]
const fn c(
    found: usize,
    valid: usize,
    malformed: usize,
    repaired: usize,
    not_messages: usize,
    greetings: usize,
    commands: usize,
    returns: usize,
    errors: usize,
    events: usize,
    typed_events: usize,
    unknown_events: usize,
    bad_payloads: usize,
) -> Counts {
    Counts {
        found,
        valid,
        malformed,
        repaired,
        not_messages,
        greetings,
        commands,
        returns,
        errors,
        events,
        typed_events,
        unknown_events,
        bad_payloads,
    }
}

/// QEMU's single-quoted strings as JSON strings: `'a"b\'c'` → `"a\"b'c"`. Enough for
/// the samples (no other escapes inside single quotes).
fn single_to_double_quotes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut quote = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                out.push('"');
            }
            (Some(q), c) if c == q => {
                quote = None;
                out.push('"');
            }
            (Some(_), '\\') => match chars.next() {
                Some('\'') => out.push('\''),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            (Some('\''), '"') => out.push_str("\\\""),
            (_, c) => out.push(c),
        }
    }
    out
}

fn repair(text: &str, how: Repair) -> Option<String> {
    match how {
        Repair::None => None,
        Repair::Timestamp => Some(text.replace("TIMESTAMP", "0")),
        Repair::SingleQuotes => Some(single_to_double_quotes(text)),
    }
}

/// The parts of the samples, read once.
fn samples() -> Vec<(String, String)> {
    let all: Vec<(String, String)> = testdata_dir("samples")
        .into_iter()
        .map(|(name, data)| {
            let text = String::from_utf8(data).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect();
    assert_eq!(
        all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        {
            let mut names: Vec<&str> = COUNTS.iter().map(|(n, _)| *n).collect();
            names.sort();
            names
        },
        "the sample files and the COUNTS table differ"
    );
    all
}

/// Check one message text that both parsers accept: its kind and contents, its
/// re-encoding and, for events, its typed payload. Updates `counts`.
fn check_message(file: &str, cand: &Candidate, json_text: &str, counts: &mut Counts) {
    let at = format!("{file}:{} {:?}", cand.line, abbrev(json_text));
    let reference: Value = serde_json::from_str(json_text).unwrap();
    let raw = RawJson::parse(json_text.as_bytes()).unwrap();
    let parsed = Message::parse(raw);
    let Some(want) = expect(&reference) else {
        // Not a QMP message by QMP's rules: ours must refuse it too.
        assert!(
            parsed.is_err(),
            "{at}: serde_json sees no message, we see {parsed:?}"
        );
        counts.not_messages += 1;
        return;
    };
    let message = parsed.unwrap_or_else(|e| panic!("{at}: {e}"));
    let got = describe(&message);
    assert!(same(&got, &want), "{at}:\n ours: {got}\n want: {want}");
    match message {
        Message::Greeting(_) => counts.greetings += 1,
        Message::Request(_) => counts.commands += 1,
        Message::Return(_) => counts.returns += 1,
        Message::Error(_) => counts.errors += 1,
        Message::Event(ev) => {
            counts.events += 1;
            check_event(file, &at, &ev, &reference, counts);
        }
    }
    assert_eq!(got["kind"], kind_of(&reference).unwrap(), "{at}");

    // Re-encoding: compact ASCII, the protocol members of the reference, and back.
    let mut buf = vec![0u8; json_text.len() * 6 + 64];
    let n = qmp_core::encode::message_to_slice(&message, &mut buf)
        .unwrap_or_else(|e| panic!("{at}: {e:?}"));
    let out = &buf[..n];
    compact_ascii(out).unwrap_or_else(|e| panic!("{at}: {e}"));
    let out_value: Value = serde_json::from_slice(out).unwrap();
    let canon = canonical(&reference).unwrap();
    assert!(
        same(&out_value, &canon),
        "{at}: encoded as {out_value}, want {canon}"
    );
    let again = Message::parse(RawJson::parse(out).unwrap()).unwrap();
    assert!(same(&describe(&again), &want), "{at}: re-parse differs");
}

/// An event's typed decode: catalogued names give their variant (with the main fields
/// of serde_json's reading), others `Unknown`.
fn check_event(
    file: &str,
    at: &str,
    ev: &qmp_core::message::EventMessage<'_>,
    reference: &Value,
    counts: &mut Counts,
) {
    let name = reference["event"].as_str().unwrap();
    let data = reference.get("data").cloned().unwrap_or(json!({}));
    let typed = schema::Event::from_message(ev);
    let plain = ev
        .name
        .as_str()
        .expect("sample event names have no escapes");
    assert_eq!(
        schema::Event::decode(plain, ev.data),
        typed,
        "{at}: decode and from_message differ"
    );
    if !EVENT_NAMES.contains(&name) {
        let typed = typed.unwrap_or_else(|e| panic!("{at}: {e}"));
        assert!(
            matches!(typed, schema::Event::Unknown { name: n, data: d } if n == name && d == ev.data),
            "{at}: {typed:?}"
        );
        counts.unknown_events += 1;
        return;
    }
    if let Some((_, _, why)) = BAD_PAYLOADS
        .iter()
        .find(|(f, n, _)| *f == file && *n == name && reference.get("data").is_none())
    {
        assert_eq!(
            typed.map_err(|e| e.kind),
            Err(DecodeErrorKind::MissingData { event: "WATCHDOG" }),
            "{at} ({why})"
        );
        counts.bad_payloads += 1;
        return;
    }
    let typed = typed.unwrap_or_else(|e| panic!("{at}: {e}"));
    assert!(typed.is_known(), "{at}: {typed:?}");
    assert_eq!(typed.name(), name, "{at}");
    let view = typed_view(&typed);
    subset(&view, &data).unwrap_or_else(|e| panic!("{at}: typed {typed:?}: {e}"));
    counts.typed_events += 1;
}

fn abbrev(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.len() > 70 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(67).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn js(s: JsonStr<'_>) -> Value {
    Value::String(text(s))
}

fn ojs(s: Option<JsonStr<'_>>) -> Value {
    s.map_or(Value::Null, js)
}

/// An open enum by its *variant*: the variant name in kebab case (`HostQmpQuit` →
/// `host-qmp-quit`), which must equal the wire value. (Comparing `Display` output
/// would not notice two variants with swapped wire names.) The samples hold only
/// values this crate knows, so `Other` is shown as a mismatch.
fn show(v: impl std::fmt::Debug) -> Value {
    let name = format!("{v:?}");
    if name.starts_with("Other(") {
        return Value::String(format!("not a known value: {name}"));
    }
    let mut kebab = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            kebab.push('-');
        }
        kebab.push(c.to_ascii_lowercase());
    }
    Value::String(kebab)
}

fn oshow<T: std::fmt::Debug>(v: Option<T>) -> Value {
    v.map_or(Value::Null, show)
}

/// The main fields of a typed event, keyed by their wire names (`null` = `None`).
fn typed_view(ev: &schema::Event<'_>) -> Value {
    use schema::Event as E;
    let spice_basic = |host, port, family: &dyn std::fmt::Debug| json!({"host": js(host), "port": ojs(port), "family": show(family)});
    let vnc_server = |s: &schema::events::VncServerInfo<'_>| {
        json!({"host": js(s.host), "service": js(s.service), "family": show(s.family),
               "websocket": s.websocket, "auth": ojs(s.auth)})
    };
    let vnc_client = |c: &schema::events::VncClientInfo<'_>| {
        json!({"host": js(c.host), "service": js(c.service), "family": show(c.family),
               "websocket": c.websocket, "x509_dname": ojs(c.x509_dname),
               "sasl_username": ojs(c.sasl_username)})
    };
    match ev {
        E::SpiceConnected(e) => json!({
            "server": spice_basic(e.server.host, e.server.port, &e.server.family),
            "client": spice_basic(e.client.host, e.client.port, &e.client.family),
        }),
        E::SpiceDisconnected(e) => json!({
            "server": spice_basic(e.server.host, e.server.port, &e.server.family),
            "client": spice_basic(e.client.host, e.client.port, &e.client.family),
        }),
        E::SpiceInitialized(e) => json!({
            "server": {"host": js(e.server.host), "port": ojs(e.server.port),
                       "family": show(e.server.family), "auth": ojs(e.server.auth)},
            "client": {"host": js(e.client.host), "port": ojs(e.client.port),
                       "family": show(e.client.family),
                       "connection-id": e.client.connection_id,
                       "channel-type": e.client.channel_type,
                       "channel-id": e.client.channel_id, "tls": e.client.tls},
        }),
        E::VncConnected(e) => json!({
            "server": vnc_server(&e.server),
            "client": {"host": js(e.client.host), "service": js(e.client.service),
                       "family": show(e.client.family), "websocket": e.client.websocket},
        }),
        E::VncInitialized(e) => {
            json!({"server": vnc_server(&e.server), "client": vnc_client(&e.client)})
        }
        E::VncDisconnected(e) => {
            json!({"server": vnc_server(&e.server), "client": vnc_client(&e.client)})
        }
        E::Shutdown(e) => json!({"guest": e.guest, "reason": oshow(e.reason)}),
        E::Reset(e) => json!({"guest": e.guest, "reason": oshow(e.reason)}),
        E::GuestPanicked(e) => json!({
            "action": show(e.action),
            "info": e.info.map(|i| json!({"type": show(i.kind)})),
        }),
        E::DeviceDeleted(e) => json!({"device": ojs(e.device), "path": ojs(e.path)}),
        E::BlockJobCompleted(e) => json!({
            "type": show(e.kind), "device": js(e.device), "len": e.len,
            "offset": e.offset, "speed": e.speed, "error": ojs(e.error),
        }),
        E::BlockJobReady(e) => json!({
            "type": oshow(e.kind), "device": js(e.device), "len": e.len,
            "offset": e.offset, "speed": e.speed,
        }),
        E::BlockJobCancelled(e) => json!({
            "type": show(e.kind), "device": js(e.device), "len": e.len,
            "offset": e.offset, "speed": e.speed,
        }),
        E::BlockJobError(e) => json!({
            "device": js(e.device), "operation": show(e.operation), "action": show(e.action),
        }),
        E::JobStatusChange(e) => json!({"id": js(e.id), "status": show(e.status)}),
        E::Migration(e) => json!({"status": show(e.status)}),
        E::BalloonChange(e) => json!({"actual": e.actual}),
        E::RtcChange(e) => json!({"offset": e.offset, "qom-path": ojs(e.qom_path)}),
        E::Watchdog(e) => json!({"action": show(e.action)}),
        E::SpiceMigrateCompleted | E::Powerdown | E::Stop | E::Resume | E::Suspend | E::Wakeup => {
            json!({})
        }
        other => panic!("the test does not know {other:?}"),
    }
}

/// Whether every field of `view` is in `data` with the same value (`null` in the view:
/// absent or `null` in `data`).
fn subset(view: &Value, data: &Value) -> Result<(), String> {
    match view {
        Value::Object(members) => {
            for (key, want) in members {
                match data.get(key) {
                    None | Some(Value::Null) if want.is_null() => {}
                    None => {
                        return Err(format!(
                            "`{key}` is {want} in the typed view, absent in the data"
                        ))
                    }
                    Some(got) => subset(want, got).map_err(|e| format!("{key}.{e}"))?,
                }
            }
            Ok(())
        }
        leaf if same(leaf, data) => Ok(()),
        leaf => Err(format!(": typed {leaf}, data {data}")),
    }
}

#[test]
fn every_sample_message_parses_as_serde_json_reads_it() {
    let mut table = Vec::new();
    for (file, data) in samples() {
        let mut counts = Counts::default();
        let mut malformed_hits = vec![0usize; MALFORMED.len()];
        for cand in candidates(&data) {
            counts.found += 1;
            let ours = RawJson::parse(cand.text.as_bytes());
            let theirs = serde_json::from_str::<Value>(&cand.text);
            let at = format!("{file}:{} {:?}", cand.line, abbrev(&cand.text));
            match (ours.is_ok(), theirs.is_ok()) {
                (true, true) => {
                    counts.valid += 1;
                    check_message(&file, &cand, &cand.text, &mut counts);
                }
                (false, false) => {
                    counts.malformed += 1;
                    let Some(k) = MALFORMED
                        .iter()
                        .position(|m| m.file == file && cand.text.contains(m.contains))
                    else {
                        panic!("{at}: not JSON, and not listed in MALFORMED");
                    };
                    malformed_hits[k] += 1;
                    if let Some(fixed) = repair(&cand.text, MALFORMED[k].repair) {
                        assert!(
                            RawJson::parse(fixed.as_bytes()).is_ok()
                                && serde_json::from_str::<Value>(&fixed).is_ok(),
                            "{at}: still not JSON after repair: {fixed}"
                        );
                        counts.repaired += 1;
                        check_message(&file, &cand, &fixed, &mut counts);
                    }
                }
                (ok, _) => panic!(
                    "{at}: we {} it, serde_json does not ({:?} / {:?})",
                    if ok { "accept" } else { "reject" },
                    ours.err(),
                    theirs.err()
                ),
            }
        }
        for (k, m) in MALFORMED.iter().enumerate() {
            if m.file == file {
                assert_eq!(
                    malformed_hits[k], m.count,
                    "{file}: MALFORMED entry {:?} ({}) matched {} candidates",
                    m.contains, m.why, malformed_hits[k]
                );
            }
        }
        table.push((file, counts));
    }

    println!(
        "{:<75} {:>5} {:>5} {:>5} {:>5} {:>5} | {:>4} {:>4} {:>4} {:>4} {:>4} {:>5} {:>5} {:>5}",
        "sample",
        "found",
        "valid",
        "malf",
        "repd",
        "nomsg",
        "QMP",
        "cmd",
        "ret",
        "err",
        "evt",
        "typed",
        "unkn",
        "badpl"
    );
    for (file, k) in &table {
        println!(
            "{:<75} {:>5} {:>5} {:>5} {:>5} {:>5} | {:>4} {:>4} {:>4} {:>4} {:>4} {:>5} {:>5} {:>5}",
            file,
            k.found,
            k.valid,
            k.malformed,
            k.repaired,
            k.not_messages,
            k.greetings,
            k.commands,
            k.returns,
            k.errors,
            k.events,
            k.typed_events,
            k.unknown_events,
            k.bad_payloads
        );
    }
    for (file, got) in &table {
        let want = COUNTS.iter().find(|(n, _)| n == file).unwrap().1;
        assert_eq!(*got, want, "{file}: counts changed");
    }
}

/// The samples exercise every catalogued event but one, each decoded into its variant.
#[test]
fn the_samples_cover_most_catalogued_events() {
    let mut seen = std::collections::BTreeSet::new();
    for (_, data) in samples() {
        for cand in candidates(&data) {
            let fixed = cand.text.replace("TIMESTAMP", "0");
            let Ok(raw) = RawJson::parse(fixed.as_bytes()) else {
                continue;
            };
            if let Ok(Message::Event(ev)) = Message::parse(raw) {
                if let Ok(typed) = schema::Event::from_message(&ev) {
                    if typed.is_known() {
                        seen.insert(typed.name().to_owned());
                    }
                }
            }
        }
    }
    let missing: Vec<&str> = EVENT_NAMES
        .iter()
        .copied()
        .filter(|n| !seen.contains(*n))
        .collect();
    // The public examples have no JOB_STATUS_CHANGE (the synthetic tests in
    // src/schema/tests.rs cover it).
    assert_eq!(missing, ["JOB_STATUS_CHANGE"], "seen: {seen:?}");
}

/// Framing a whole sample transcript, prose and all, in any chunking: the invariants
/// hold, every object the framer finds is one of the candidates both parsers accept or
/// part of one (a hand-wrapped line starting with `{` is a resynchronisation point
/// too), and every such candidate that starts a line is found.
#[test]
fn framing_whole_transcripts_finds_the_line_start_messages() {
    for (file, data) in samples() {
        let bytes = data.as_bytes();
        let valid: Vec<Candidate> = candidates(&data)
            .into_iter()
            .filter(|c| RawJson::parse(c.text.as_bytes()).is_ok())
            .collect();
        let mut feeds = vec![Feed::Whole, Feed::Chunks(1)];
        for seed in seeds(2) {
            feeds.push(Feed::Random { seed, max: 64 });
            feeds.push(Feed::Spare { seed, max: 64 });
        }
        let whole = run(bytes, 8192, ScanConfig::qmp(), Feed::Whole);
        for feed in feeds {
            let items = run(bytes, 8192, ScanConfig::qmp(), feed);
            check_invariants(bytes, &items).unwrap_or_else(|e| panic!("{file} {feed:?}: {e}"));
            assert_eq!(items, whole, "{file}: {feed:?} differs from whole");
        }
        let objects: Vec<(u64, &[u8])> = whole
            .iter()
            .filter_map(Item::frame)
            .filter(|(_, b)| b.first() == Some(&b'{'))
            .collect();
        for (offset, frame) in &objects {
            let (start, end) = (*offset as usize, *offset as usize + frame.len());
            assert!(
                valid
                    .iter()
                    .any(|c| c.offset <= start && end <= c.offset + c.text.len()),
                "{file}: the framer found {:?} at {offset}, which is in no candidate",
                String::from_utf8_lossy(frame)
            );
        }
        for c in valid
            .iter()
            .filter(|c| c.offset == 0 || bytes[c.offset - 1] == b'\n')
        {
            assert!(
                objects.iter().any(|(o, _)| *o == c.offset as u64),
                "{file}:{}: the framer missed {:?}",
                c.line,
                abbrev(&c.text)
            );
        }
    }
}

/// What QEMU answers to a `qmp-test.c` byte vector, as our server-side rules see it.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Not JSON (QEMU: a JSON parse error, no id), even in QEMU's single-quote dialect.
    JsonError,
    /// JSON, refused by [`parse_request`] with this exact desc.
    Refused(&'static str),
}

/// The vectors of `test_malformed` and what QEMU answers (the file's right column, which
/// abbreviates the descs; here they are written out as QEMU's `qapi/qmp-dispatch.c`
/// words them).
const VECTORS: &[(&str, Verdict)] = &[
    (r#""{]\n""#, Verdict::JsonError),
    (r#""{\xFF""#, Verdict::JsonError),
    (r#""{\x01""#, Verdict::JsonError),
    (r#""{'bad \xFF""#, Verdict::JsonError),
    (
        r#""{'execute': 'nonexistent', 'id':'\n""#,
        Verdict::JsonError,
    ),
    (r#""%%p""#, Verdict::JsonError),
    (
        r#""null""#,
        Verdict::Refused("QMP input must be a JSON object"),
    ),
    (
        r#""{}""#,
        Verdict::Refused("QMP input lacks member 'execute'"),
    ),
    (
        r#""{ 'execute': true }""#,
        Verdict::Refused("QMP input member 'execute' must be a string"),
    ),
    (
        r#""{ 'execute': 'no-such-cmd', 'arguments': [] }""#,
        Verdict::Refused("QMP input member 'arguments' must be an object"),
    ),
    (
        r#""{ 'execute': 'no-such-cmd', 'extra': true }""#,
        Verdict::Refused("QMP input member 'extra' is unexpected"),
    ),
];

/// A C string literal's bytes (`\n`, `\xHH`, `\\`, `\"`; the samples need no more).
fn c_literal(lit: &str) -> Vec<u8> {
    let inner = lit
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap();
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b[i + 1] {
            b'n' => out.push(b'\n'),
            b'\\' => out.push(b'\\'),
            b'"' => out.push(b'"'),
            b'x' => {
                out.push(u8::from_str_radix(&inner[i + 2..i + 4], 16).unwrap());
                i += 2;
            }
            other => panic!("unsupported escape \\{}", other as char),
        }
        i += 2;
    }
    out
}

#[test]
fn qmp_test_vectors_get_qemus_verdicts() {
    let data = samples()
        .into_iter()
        .find(|(n, _)| n == QMP_TEST)
        .unwrap()
        .1;
    let literals: Vec<&str> = data
        .lines()
        .filter(|l| l.starts_with('"'))
        .map(|l| l[..l.find(" -> ").unwrap()].trim_end())
        .collect();
    assert_eq!(
        literals,
        VECTORS.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        "the vectors in {QMP_TEST} changed"
    );
    for (lit, want) in VECTORS {
        let bytes = c_literal(lit);
        // QEMU's dialect: single quotes are strings too. Bytes that are not UTF-8
        // stay invalid (and so, for QEMU, an error) either way.
        let dialect = match std::str::from_utf8(&bytes) {
            Ok(s) => single_to_double_quotes(s).into_bytes(),
            Err(_) => bytes.clone(),
        };
        let got = match RawJson::parse(&dialect) {
            Err(_) => {
                assert!(serde_json::from_slice::<Value>(&dialect).is_err(), "{lit}");
                Verdict::JsonError
            }
            Ok(json) => match parse_request(json, false) {
                Ok(c) => panic!("{lit}: accepted as {c:?}"),
                Err(refused) => {
                    // QEMU reads the id before validating; none of these has one.
                    assert_eq!(refused.id, None, "{lit}");
                    let desc = refused.error.to_string();
                    Verdict::Refused(
                        VECTORS
                            .iter()
                            .find_map(|(_, v)| match v {
                                Verdict::Refused(d) if *d == desc => Some(*d),
                                _ => None,
                            })
                            .unwrap_or_else(|| panic!("{lit}: unexpected desc {desc:?}")),
                    )
                }
            },
        };
        assert_eq!(&got, want, "{lit}");

        // The test then sends a good command and expects an answer: the framer too is
        // back in step at the next line (its resynchronisation point).
        let mut stream = bytes.clone();
        stream.extend_from_slice(b"\n{\"execute\": \"no-such-cmd\"}\r\n");
        for feed in [Feed::Whole, Feed::Chunks(1)] {
            let items = run(&stream, 256, ScanConfig::qmp(), feed);
            check_invariants(&stream, &items).unwrap_or_else(|e| panic!("{lit}: {e}"));
            let last = items.last().and_then(Item::frame).map(|(_, b)| b);
            assert_eq!(
                last,
                Some(&b"{\"execute\": \"no-such-cmd\"}"[..]),
                "{lit} {feed:?}: {items:?}"
            );
        }
    }
}

/// The protocol-sequence requests of `qmp-test.c` (single-quoted in the file) under
/// QEMU's request rules: a request without `execute` keeps its id in the error, and
/// `exec-oob` is only a command once `oob` is negotiated.
#[test]
fn qmp_test_requests_follow_qemus_request_rules() {
    let req = |s: &str, oob: bool| {
        let json = single_to_double_quotes(s);
        let raw = RawJson::parse(json.as_bytes()).unwrap();
        parse_request(raw, oob)
            .map(|c| (text(c.name), c.oob, c.id.map(|i| i.as_text().to_owned())))
            .map_err(|r| (r.error.to_string(), r.id.map(|i| i.as_text().to_owned())))
    };
    assert_eq!(
        req("{ 'execute': 'query-name', 'id': 'cookie#1' }", false),
        Ok(("query-name".into(), false, Some("\"cookie#1\"".into())))
    );
    assert_eq!(
        req("{ 'execute': 'human-monitor-command', 'id': 2 }", false),
        Ok(("human-monitor-command".into(), false, Some("2".into())))
    );
    assert_eq!(
        req("{ 'exec-oob': 'query-cpus-fast' }", true),
        Ok(("query-cpus-fast".into(), true, None))
    );
    assert_eq!(
        req("{ 'exec-oob': 'migrate-pause', 'id': 'oob-1' }", false),
        Err((
            "QMP input member 'exec-oob' is unexpected".into(),
            Some("\"oob-1\"".into())
        ))
    );
    assert_eq!(
        req("{ 'id': 'err-2' }", true),
        Err((
            "QMP input lacks member 'execute'".into(),
            Some("\"err-2\"".into())
        ))
    );
}
