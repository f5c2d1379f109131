//! Property tests: parse → encode → parse round trips of arbitrary QMP messages.
//!
//! Messages of every kind are generated as `serde_json::Value`s (greetings in each
//! historical form; commands with and without arguments and ids of every JSON type;
//! returns of any value; errors with known and other classes and optional data; events
//! with and without data and with negative timestamps), with strings drawn from all of
//! Unicode (control characters, the astral planes, `"`, `\`, U+2028, ...) and numbers
//! from the `i64`/`u64` extremes and all finite `f64`s. Each is written as JSON text in
//! a random style (whitespace, member order, escaped or raw characters, number forms),
//! then:
//!
//! - [`RawJson::parse`] + [`Message::parse`] give the message serde_json's reading of
//!   the same text means by QMP's rules;
//! - [`Message::to_slice`] writes compact, ASCII-only JSON that serde_json reads as the
//!   protocol members of the input (numbers compared by value), whose strings and
//!   numbers our own accessors read back exactly, and that parses back into the same
//!   message; encoding that again gives the same bytes, and a buffer one byte short
//!   fails with `BufferFull`;
//! - the framer cuts any concatenation of such messages, in any chunking, into exactly
//!   those messages.
//!
//! Runs are reproducible: the proptest seed is `QMP_TEST_SEED` when set, and the
//! suite's base seed otherwise; `PROPTEST_CASES` sets the number of cases.

mod common;

use common::semantic::{canonical, describe, expect, raw_matches, same, text};
use common::{frame_all, frame_spare, Item, Rng};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use qmp_core::encode::{self, BufferFull, EncodeError, Id, Ser, SliceSink};
use qmp_core::frame::Framer;
use qmp_core::fuzz::oracle::compact_ascii;
use qmp_core::json::RawJson;
use qmp_core::message::{parse_request, Message, Timestamp};
use qmp_core::scan::ScanConfig;
use qmp_core::schema;
use qmp_core::schema::events::EVENT_NAMES;
use serde_json::{json, Number, Value};

/// Cases per property: enough to hit every branch of the generators many times, few
/// enough for a few seconds in a debug build.
const CASES: u32 = 256;

fn config() -> ProptestConfig {
    common::proptest_config(CASES)
}

// ---------------------------------------------------------------------------------
// Generators

/// Characters from every part of Unicode that JSON treats differently.
fn json_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => proptest::char::range(' ', '~'),
        2 => proptest::char::range('\0', '\u{1f}'),
        2 => prop::sample::select(vec![
            '"', '\\', '/', '\u{7f}', '\u{80}', '\u{ff}', '\u{2028}', '\u{2029}', '\u{feff}',
            '\u{fffd}', '\u{ffff}', '\u{10000}', '\u{1f600}', '\u{10ffff}',
        ]),
        2 => proptest::char::range('\u{80}', '\u{d7ff}'),
        1 => proptest::char::range('\u{e000}', '\u{fffd}'),
        2 => proptest::char::range('\u{10000}', '\u{10ffff}'),
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    vec(json_char(), 0..10).prop_map(String::from_iter)
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>().prop_filter("finite", |f| f.is_finite()),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            -5e-324,
            0.1,
            1e15,
            1e16,
            -1e-5,
            1.5e-7,
            9_007_199_254_740_993.0,
            18_446_744_073_709_551_616.0,
            123_456_789.125,
        ]),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX])
            .prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        finite_f64().prop_map(Value::from),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        3 => json_string().prop_map(Value::String),
    ]
}

fn object_of(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    btree_map(json_string(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// Any JSON value, nested up to 4 levels.
fn any_value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..5).prop_map(Value::Array),
                object_of(inner),
            ]
        })
        .boxed()
}

fn any_object() -> impl Strategy<Value = Value> {
    object_of(any_value())
}

/// An object with the members that are `Some`.
fn obj(members: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect(),
    )
}

fn version_number() -> impl Strategy<Value = u64> {
    prop_oneof![0..100u64, any::<u64>()]
}

/// Greetings of every era: without `version` (0.12 development builds), with `qemu` as a
/// string (0.12) and as a `major`/`minor`/`micro` triple (0.13 on); `testdata/samples`
/// has a real one of each.
fn greeting() -> impl Strategy<Value = Value> {
    let capabilities = vec(prop_oneof![Just("oob".to_owned()), json_string()], 0..3);
    let version = prop_oneof![
        // 0.12 development: no version at all.
        Just(None),
        // 0.12: `qemu` is a string.
        (json_string(), proptest::option::of(json_string())).prop_map(|(q, p)| Some(obj(vec![
            ("qemu", Some(Value::String(q))),
            ("package", p.map(Value::String)),
        ]))),
        // 0.13 and later: a triple.
        (
            version_number(),
            version_number(),
            version_number(),
            proptest::option::of(json_string())
        )
            .prop_map(|(major, minor, micro, p)| Some(obj(vec![
                (
                    "qemu",
                    Some(json!({"major": major, "minor": minor, "micro": micro}))
                ),
                ("package", p.map(Value::String)),
            ]))),
    ];
    (version, capabilities).prop_map(|(version, caps)| {
        json!({"QMP": obj(vec![("version", version), ("capabilities", Some(json!(caps)))])})
    })
}

fn command() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        prop_oneof![
            prop::sample::select(vec!["qmp_capabilities", "query-status", "migrate-pause"])
                .prop_map(str::to_owned),
            json_string(),
        ],
        proptest::option::of(any_object()),
        proptest::option::of(any_value()),
    )
        .prop_map(|(oob, name, arguments, id)| {
            obj(vec![
                (
                    if oob { "exec-oob" } else { "execute" },
                    Some(Value::String(name)),
                ),
                ("arguments", arguments),
                ("id", id),
            ])
        })
}

fn success() -> impl Strategy<Value = Value> {
    (any_value(), proptest::option::of(any_value()))
        .prop_map(|(value, id)| obj(vec![("return", Some(value)), ("id", id)]))
}

fn error() -> impl Strategy<Value = Value> {
    let class = prop_oneof![
        prop::sample::select(vec![
            "GenericError",
            "CommandNotFound",
            "DeviceNotActive",
            "DeviceNotFound",
            "KVMMissingCap",
            "DeviceEncrypted",
            "JSONParsing",
            "MissingParameter",
        ])
        .prop_map(str::to_owned),
        json_string(),
    ];
    (
        class,
        json_string(),
        proptest::option::of(any_value()),
        proptest::option::of(any_value()),
    )
        .prop_map(|(class, desc, data, id)| {
            let error = obj(vec![
                ("class", Some(Value::String(class))),
                ("desc", Some(Value::String(desc))),
                ("data", data),
            ]);
            obj(vec![("id", id), ("error", Some(error))])
        })
}

fn timestamp_part() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-1i64), 0..2_000_000_000i64, any::<i64>()]
}

fn event() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            prop::sample::select(vec![
                "SHUTDOWN",
                "STOP",
                "RESUME",
                "SPICE_CONNECTED",
                "VNC_DISCONNECTED",
                "DEVICE_TRAY_MOVED",
            ])
            .prop_map(str::to_owned),
            json_string(),
        ],
        proptest::option::of(any_object()),
        timestamp_part(),
        timestamp_part(),
    )
        .prop_map(|(name, data, seconds, microseconds)| {
            obj(vec![
                (
                    "timestamp",
                    Some(json!({"seconds": seconds, "microseconds": microseconds})),
                ),
                ("event", Some(Value::String(name))),
                ("data", data),
            ])
        })
}

fn message() -> impl Strategy<Value = Value> {
    prop_oneof![greeting(), command(), success(), error(), event()]
}

// ---------------------------------------------------------------------------------
// Writing JSON text in random styles

/// Whitespace between tokens: mostly none, sometimes any mix of JSON's four.
fn ws(rng: &mut Rng, out: &mut String) {
    out.push_str(match rng.range(0, 9) {
        0..=4 => "",
        5 => " ",
        6 => "\n",
        7 => "\r\n    ",
        _ => "\t ",
    });
}

fn hex4(rng: &mut Rng, out: &mut String, unit: u32) {
    let s = format!("\\u{unit:04x}");
    out.push_str(&if rng.range(0, 1) == 0 {
        s
    } else {
        s.to_uppercase().replace("\\U", "\\u")
    });
}

/// A JSON string: required escapes short or `\u`, other characters raw or escaped
/// (astral ones as surrogate pairs), hex digits in either case. With `plain`, only the
/// required escapes.
fn write_string(s: &str, plain: bool, rng: &mut Rng, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let escape = !plain && rng.range(0, 5) == 0;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if escape => out.push_str("\\/"),
            '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' if !escape => out.push_str(match c {
                '\u{8}' => "\\b",
                '\u{c}' => "\\f",
                '\n' => "\\n",
                '\r' => "\\r",
                _ => "\\t",
            }),
            c if (c as u32) < 0x20 || escape => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    hex4(rng, out, u32::from(*unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number in one of the forms that denote the same value.
fn write_number(n: &Number, rng: &mut Rng, out: &mut String) {
    if let Some(i) = n.as_i64() {
        if i == 0 && rng.range(0, 3) == 0 {
            out.push_str("-0");
        } else {
            out.push_str(&i.to_string());
        }
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else {
        let f = n.as_f64().unwrap();
        // All of Rust's float formats print the shortest digits that round-trip. (Not
        // the plain decimal form of huge values: serde_json refuses a 309-digit
        // integer text such as f64::MAX's as "out of range".)
        let s = match rng.range(0, 3) {
            0 => format!("{f:?}"),
            1 if f.abs() < 1e200 => format!("{f}"),
            2 => format!("{f:e}"),
            _ => format!("{f:E}"),
        };
        out.push_str(&s);
    }
}

/// `v` as JSON text in a random style: whitespace, member order, escapes, number forms.
/// The names of the top-level members are written without optional escapes (see
/// `escaped_top_level_member_names_are_members` for why).
fn write_json(v: &Value, rng: &mut Rng, out: &mut String) {
    write_value(v, true, rng, out);
}

fn write_value(v: &Value, top: bool, rng: &mut Rng, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, rng, out),
        Value::String(s) => write_string(s, false, rng, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    ws(rng, out);
                    out.push(',');
                }
                ws(rng, out);
                write_value(item, false, rng, out);
            }
            ws(rng, out);
            out.push(']');
        }
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> = members.iter().collect();
            // Shuffle (Fisher-Yates): members come in any order.
            for i in (1..members.len()).rev() {
                members.swap(i, rng.range(0, i));
            }
            out.push('{');
            for (i, (key, value)) in members.into_iter().enumerate() {
                if i > 0 {
                    ws(rng, out);
                    out.push(',');
                }
                ws(rng, out);
                write_string(key, top, rng, out);
                ws(rng, out);
                out.push(':');
                ws(rng, out);
                write_value(value, false, rng, out);
            }
            ws(rng, out);
            out.push('}');
        }
    }
}

fn text_of(v: &Value, seed: u64) -> String {
    let mut out = String::new();
    write_json(v, &mut Rng::new(seed), &mut out);
    out
}

// ---------------------------------------------------------------------------------
// The round trip

/// Run the whole round trip on `input`, whose meaning is `generated` (the value it was
/// written from: the reference for exact string and number checks, as serde_json's own
/// float parsing may be one ulp off), and return the encoded bytes.
fn round_trip(input: &str, generated: &Value) -> Result<Vec<u8>, TestCaseError> {
    let reference: Value = serde_json::from_str(input)
        .map_err(|e| TestCaseError::fail(format!("the generator wrote bad JSON: {e}")))?;
    let raw = RawJson::parse(input.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("RawJson::parse: {e}")))?;
    raw_matches(generated, raw).map_err(|e| TestCaseError::fail(format!("input: {e}")))?;

    let message = Message::parse(raw).map_err(|e| TestCaseError::fail(format!("parse: {e}")))?;
    // Straight from a framer, with the outline it noted: the same message.
    let mut framer = Framer::with_config(vec![0u8; input.len() + 1], ScanConfig::json());
    assert_eq!(framer.push(input.as_bytes()), input.len());
    framer.finish();
    match framer.next() {
        Some(Ok(frame)) => prop_assert_eq!(Message::parse(frame), Ok(message)),
        other => return Err(TestCaseError::fail(format!("framer: {other:?}"))),
    }
    let want = expect(&reference).expect("generated messages are messages");
    let got = describe(&message);
    prop_assert!(
        same(&got, &want),
        "parsed:\n ours: {}\n want: {}",
        got,
        want
    );
    if let Message::Event(ev) = &message {
        check_typed_event(ev)?;
    }

    let mut buf = vec![0u8; input.len() * 12 + 128];
    let n = encode::message_to_slice(&message, &mut buf)
        .map_err(|e| TestCaseError::fail(format!("to_slice: {e:?}")))?;
    let out = buf[..n].to_vec();
    compact_ascii(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (first, last) = (out.first().copied(), out.last().copied());
    prop_assert!(first == Some(b'{') && last == Some(b'}'), "not one object");

    // serde_json reads the protocol members of the input.
    let out_value: Value = serde_json::from_slice(&out)
        .map_err(|e| TestCaseError::fail(format!("serde_json rejects the output: {e}")))?;
    let canon = canonical(&reference).unwrap();
    prop_assert!(
        same(&out_value, &canon),
        "encoded:\n got:  {}\n want: {}",
        out_value,
        canon
    );
    // Our accessors read the generated strings and numbers back exactly.
    let out_raw = RawJson::parse(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
    raw_matches(&canonical(generated).unwrap(), out_raw)
        .map_err(|e| TestCaseError::fail(format!("output: {e}")))?;

    // The same message again, and the same bytes when encoded again.
    let again = Message::parse(out_raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(same(&describe(&again), &got), "re-parsed message differs");
    let mut buf2 = vec![0u8; n];
    let n2 = encode::message_to_slice(&again, &mut buf2)
        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(&buf2[..n2], &out[..], "encoding is not idempotent");

    // A buffer that is too small fails honestly.
    for cut in [0, n / 2, n - 1] {
        prop_assert_eq!(
            encode::message_to_slice(&message, &mut buf[..cut]),
            Err(EncodeError::Sink(BufferFull))
        );
    }
    Ok(out)
}

/// The typed decode of an event follows its *unescaped* name: the data-less events
/// always decode, a data-less `SHUTDOWN` too (pre-2.10 form), other names are
/// `Unknown` with the name as on the wire.
fn check_typed_event(ev: &qmp_core::message::EventMessage<'_>) -> Result<(), TestCaseError> {
    let typed = schema::Event::from_message(ev);
    let name = text(ev.name);
    match name.as_str() {
        "STOP" => prop_assert_eq!(typed, Ok(schema::Event::Stop)),
        "RESUME" => prop_assert_eq!(typed, Ok(schema::Event::Resume)),
        "SHUTDOWN" if ev.data.is_none() => prop_assert!(
            matches!(typed, Ok(schema::Event::Shutdown(s)) if s.guest.is_none() && s.reason.is_none())
        ),
        known if EVENT_NAMES.contains(&known) => {
            // Random data may or may not fit; if it decodes, it is the right variant.
            if let Ok(t) = typed {
                prop_assert_eq!(t.name(), known);
            }
        }
        _ => prop_assert!(
            matches!(typed, Ok(schema::Event::Unknown { name, data }) if name == ev.name.raw() && data == ev.data),
            "{:?}",
            typed
        ),
    }
    Ok(())
}

/// Members that are none of the protocol's, as vendors add them (`__com.redhat_...`)
/// or anything else.
fn extra_members() -> impl Strategy<Value = Vec<(String, Value)>> {
    const PROTOCOL: &[&str] = &[
        "QMP",
        "execute",
        "exec-oob",
        "arguments",
        "id",
        "return",
        "error",
        "event",
        "data",
        "timestamp",
        "control",
    ];
    vec(
        (
            prop_oneof![
                json_string().prop_map(|s| format!("__com.example_{s}")),
                json_string()
            ]
            .prop_filter("not a protocol member", |k| !PROTOCOL.contains(&k.as_str())),
            any_value(),
        ),
        1..3,
    )
}

proptest! {
    #![proptest_config(config())]

    /// Any message, written in any style, survives parse → encode → parse.
    #[test]
    fn messages_round_trip(msg in message(), style in any::<u64>()) {
        round_trip(&text_of(&msg, style), &msg)?;
    }

    /// Unknown members are ignored on parsing and not written back.
    #[test]
    fn unknown_members_are_dropped(
        msg in message(),
        extra in extra_members(),
        style in any::<u64>(),
    ) {
        let mut with_extra = msg.clone();
        let members = with_extra.as_object_mut().unwrap();
        for (k, v) in &extra {
            members.insert(k.clone(), v.clone());
        }
        let input = text_of(&with_extra, style);
        // The output is the protocol members of the input (checked in `round_trip`)...
        let out = round_trip(&input, &with_extra)?;
        let out: Value = serde_json::from_slice(&out).unwrap();
        // ...which are those of the message without the extra members.
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        prop_assert_eq!(keys(&out), keys(&canonical(&msg).unwrap()), "{}", input);
    }

    /// QEMU 2.12's out-of-band form, `"control": {"run-oob": true}`, is a command with
    /// `oob` set, written back as `exec-oob`; `run-oob: false` (or anything else) is not.
    #[test]
    fn qemu_2_12_run_oob_becomes_exec_oob(
        name in json_string(),
        run_oob in prop_oneof![any::<bool>().prop_map(Value::Bool), any_value()],
        id in proptest::option::of(any_value()),
        style in any::<u64>(),
    ) {
        let msg = obj(vec![
            ("execute", Some(Value::String(name))),
            ("control", Some(json!({"run-oob": run_oob}))),
            ("id", id),
        ]);
        let out = round_trip(&text_of(&msg, style), &msg)?;
        let out: Value = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(out.get("exec-oob").is_some(), run_oob == json!(true));
        prop_assert!(out.get("control").is_none());
    }

    /// Typed payloads through our own serde `Serializer` (`Ser`) read back exactly:
    /// every string, every integer and every finite `f64` (shortest round-trip digits).
    #[test]
    fn serialized_payloads_read_back_exactly(
        name in json_string(),
        arguments in any_object(),
        value in any_value(),
        id in prop_oneof![
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            json_string().prop_map(Value::String),
            any_value(),
        ],
        id_form in 0..2usize,
        seconds in timestamp_part(),
    ) {
        let id_text = serde_json::to_string(&id).unwrap();
        let id_raw = RawJson::parse(id_text.as_bytes()).unwrap();
        let id_arg = match (&id, id_form) {
            (Value::Number(n), 0) if n.is_u64() => Id::U64(n.as_u64().unwrap()),
            (Value::Number(n), 0) if n.is_i64() => Id::I64(n.as_i64().unwrap()),
            (Value::String(s), 0) => Id::Str(s.as_str()),
            _ => Id::Raw(id_raw),
        };
        let mut buf = vec![0u8; 64 * 1024];

        let mut sink = SliceSink::new(&mut buf);
        encode::command(&mut sink, name.as_str(), Ser(&arguments), Some(id_arg)).unwrap();
        let out = sink.written().to_vec();
        compact_ascii(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(Message::Request(c)) = Message::parse(RawJson::parse(&out).unwrap()) else {
            return Err(TestCaseError::fail("not a command"));
        };
        prop_assert_eq!(text(c.name), name.clone());
        raw_matches(&arguments, c.arguments.unwrap()).map_err(TestCaseError::fail)?;
        raw_matches(&id, c.id.unwrap()).map_err(TestCaseError::fail)?;

        let mut sink = SliceSink::new(&mut buf);
        encode::success(&mut sink, Ser(&value), None).unwrap();
        let out = sink.written().to_vec();
        compact_ascii(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(Message::Return(r)) = Message::parse(RawJson::parse(&out).unwrap()) else {
            return Err(TestCaseError::fail("not a return"));
        };
        raw_matches(&value, r.value).map_err(TestCaseError::fail)?;

        let at = Timestamp { seconds, microseconds: -1 };
        let mut sink = SliceSink::new(&mut buf);
        encode::event(&mut sink, name.as_str(), Ser(&arguments), at).unwrap();
        let out = sink.written().to_vec();
        compact_ascii(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(Message::Event(e)) = Message::parse(RawJson::parse(&out).unwrap()) else {
            return Err(TestCaseError::fail("not an event"));
        };
        prop_assert_eq!(e.timestamp, at);
        raw_matches(&arguments, e.data.unwrap()).map_err(TestCaseError::fail)?;
    }

    /// Any concatenation of encoded messages (with or without CRLF, LF or spaces
    /// between them), in any chunking, by `push` or by `spare_mut`, frames into exactly
    /// those messages; so does a concatenation of the pretty, unencoded inputs with the
    /// plain-JSON settings.
    #[test]
    fn framing_any_chunking_gives_the_messages(
        msgs in vec((message(), any::<u64>()), 1..6),
        separators in vec(prop::sample::select(vec!["", "", "\r\n", "\n", " ", "\r\n\r\n", "\t"]), 6),
        chunks in vec(1usize..80, 1..12),
    ) {
        let mut encoded = Vec::new();
        let mut pretty = Vec::new();
        for (m, style) in &msgs {
            let input = text_of(m, *style);
            let raw = RawJson::parse(input.as_bytes()).unwrap();
            let mut buf = vec![0u8; input.len() * 12 + 128];
            let n = encode::message_to_slice(&Message::parse(raw).unwrap(), &mut buf).unwrap();
            encoded.push(buf[..n].to_vec());
            pretty.push(input.into_bytes());
        }
        for (texts, config) in [(&encoded, ScanConfig::qmp()), (&pretty, ScanConfig::json())] {
            let mut stream = Vec::new();
            let mut want = Vec::new();
            for (i, t) in texts.iter().enumerate() {
                want.push(Item::Frame { offset: stream.len() as u64, bytes: t.clone() });
                stream.extend_from_slice(t);
                stream.extend_from_slice(separators[i % separators.len()].as_bytes());
            }
            let cap = texts.iter().map(Vec::len).max().unwrap() + 16;
            let mut k = 0;
            let mut next = || { k += 1; chunks[k % chunks.len()] };
            let pushed = frame_all(&mut Framer::with_config(vec![0u8; cap], config), &stream, &mut next);
            prop_assert_eq!(&pushed, &want, "push, {:?}", config);
            let read = frame_spare(&mut Framer::with_config(vec![0u8; cap], config), &stream, &mut next);
            prop_assert_eq!(&read, &want, "spare_mut, {:?}", config);
        }
    }
}

/// The generators reach what they promise: a fixed sample of messages covers every
/// kind, every greeting form, astral and control characters, the integer extremes,
/// floats, and negative timestamps. (Guards against a generator silently narrowing.)
#[test]
fn the_generators_cover_the_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::new(config());
    let mut seen = std::collections::BTreeSet::new();
    let mut note = |what: &'static str| {
        seen.insert(what);
    };
    fn walk(v: &Value, note: &mut dyn FnMut(&'static str)) {
        match v {
            Value::String(s) => {
                if s.chars().any(|c| c as u32 > 0xFFFF) {
                    note("astral");
                }
                if s.chars().any(|c| (c as u32) < 0x20) {
                    note("control");
                }
            }
            Value::Number(n) if n.as_i64() == Some(i64::MIN) => note("i64::MIN"),
            Value::Number(n) if n.as_u64() == Some(u64::MAX) => note("u64::MAX"),
            Value::Number(n) if n.is_f64() => note("f64"),
            Value::Array(a) => a.iter().for_each(|v| walk(v, note)),
            Value::Object(o) => o.values().for_each(|v| walk(v, note)),
            _ => {}
        }
    }
    let strategy = message();
    for _ in 0..2000 {
        let m = strategy.new_tree(&mut runner).unwrap().current();
        walk(&m, &mut note);
        let o = m.as_object().unwrap();
        if let Some(q) = o.get("QMP") {
            note(match q.get("version").map(|v| &v["qemu"]) {
                None => "greeting 0.12 dev",
                Some(Value::String(_)) => "greeting 0.12",
                Some(_) => "greeting triple",
            });
        }
        if o.contains_key("execute") || o.contains_key("exec-oob") {
            note("command");
            if o.contains_key("arguments") {
                note("command with arguments");
            }
            if o.get("id")
                .is_some_and(|id| id.is_object() || id.is_array())
            {
                note("structured id");
            }
        }
        if o.contains_key("return") {
            note("return");
        }
        if let Some(e) = o.get("error") {
            note(if e.get("data").is_some() {
                "error with data"
            } else {
                "error"
            });
        }
        if let Some(t) = o.get("timestamp") {
            note(if o.contains_key("data") {
                "event with data"
            } else {
                "event"
            });
            if t["seconds"].as_i64().is_some_and(|s| s < 0) {
                note("negative timestamp");
            }
        }
    }
    for want in [
        "astral",
        "control",
        "i64::MIN",
        "u64::MAX",
        "f64",
        "greeting 0.12 dev",
        "greeting 0.12",
        "greeting triple",
        "command",
        "command with arguments",
        "structured id",
        "return",
        "error",
        "error with data",
        "event",
        "event with data",
        "negative timestamp",
    ] {
        assert!(
            seen.contains(want),
            "the generators never produced {want}: {seen:?}"
        );
    }
}

/// Hand-picked edge cases of the round trip, as plain examples.
#[test]
fn round_trip_examples() {
    let cases = [
        r#"{"QMP": {"capabilities": []}}"#,
        r#"{"QMP": {"version": {"qemu": "0.12.50", "package": ""}, "capabilities": []}}"#,
        r#"{"QMP": {"version": {"qemu": {"micro": 18446744073709551615, "minor": -0, "major": 0}}, "capabilities": ["oob", "\ud83d\ude00"]}}"#,
        r#"{"execute": "\u0000\u001f\u007f\u2028", "id": {"a": [1E+2, -0, 0.5e-0]}}"#,
        r#"{"exec-oob": "yank", "arguments": {}, "id": -0.0}"#,
        r#"{"return": null}"#,
        r#"{"return": -9223372036854775808, "id": 18446744073709551615}"#,
        r#"{"error": {"class": "Gen\u0065ricError", "desc": "\/"}, "id": null}"#,
        r#"{"error": {"class": "x", "desc": "", "data": null}}"#,
        r#"{"event": "SHUT\u0044OWN", "timestamp": {"seconds": -1, "microseconds": -1}}"#,
        r#"{"event": "X", "data": {}, "timestamp": {"seconds": -9223372036854775808, "microseconds": 9223372036854775807}}"#,
    ];
    for input in cases {
        let generated: Value = serde_json::from_str(input).unwrap();
        if let Err(e) = round_trip(input, &generated) {
            panic!("{input}: {e}");
        }
    }
}

/// Sanity: the JSON writer's styles are all valid JSON meaning the same value.
#[test]
fn the_writer_writes_the_value() {
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let strategy = any_value();
    for seed in 0..500u64 {
        use proptest::strategy::ValueTree;
        let v = strategy.new_tree(&mut runner).unwrap().current();
        let text = text_of(&v, seed);
        let back: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(same(&back, &v) || has_float(&v), "{text}");
        raw_matches(&v, RawJson::parse(text.as_bytes()).unwrap())
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

/// Ids nested far deeper than serde_json's recursion limit (128) go through parse and
/// encode unchanged: nothing on this path recurses.
#[test]
fn deeply_nested_ids_round_trip() {
    let depth = 1000;
    let mut id = String::new();
    for i in 0..depth {
        id.push_str(if i % 2 == 0 { "[ " } else { "{\"k\" : " });
    }
    id.push_str("\"\\u00e9\u{1f600}\"");
    for i in (0..depth).rev() {
        id.push_str(if i % 2 == 0 { " ]" } else { " }" });
    }
    let compact = id.replace(' ', "").replace('\u{1f600}', "\\uD83D\\uDE00");
    for template in [
        r#"{"execute": "x", "id": ID}"#,
        r#"{"return": ID, "id": ID}"#,
        r#"{"error": {"class": "c", "desc": "d", "data": ID}, "id": ID}"#,
    ] {
        let input = template.replace("ID", &id);
        let message = Message::parse(RawJson::parse(input.as_bytes()).unwrap()).unwrap();
        let mut buf = vec![0u8; input.len() * 2];
        let n = encode::message_to_slice(&message, &mut buf).unwrap();
        let want = template
            .replace("ID", &compact)
            .replace(": ", ":")
            .replace(", ", ",");
        let out = std::str::from_utf8(&buf[..n]).unwrap();
        let expected = match template {
            t if t.starts_with("{\"error\"") => {
                // QEMU's order: id first.
                format!(r#"{{"id":{compact},"error":{{"class":"c","desc":"d","data":{compact}}}}}"#)
            }
            _ => want,
        };
        assert_eq!(out, expected);
        let again = Message::parse(RawJson::parse(out.as_bytes()).unwrap()).unwrap();
        assert_eq!(again.id().unwrap().as_bytes(), compact.as_bytes());
    }
}

/// serde_json and QEMU read `{"\u0065xecute": "stop"}` as `{"execute": "stop"}`: a
/// member name is compared after unescaping (RFC 8259 §8.3; QEMU's parser unescapes
/// keys before `qdict_get`). `RawJson::get` does, but `Message::parse` and
/// `parse_request` match the top-level names on their *escaped* text, so such a message
/// is `Unrecognised` / refused with "member '\u0065xecute' is unexpected", an `id`
/// written `"\u0069d"` is silently dropped, and a duplicate written with an escape goes
/// undetected. QEMU itself never escapes ASCII in names, so this matters for servers
/// built on `parse_request` and for hostile or unusual clients.
#[test]
fn escaped_top_level_member_names_are_members() {
    let raw = RawJson::parse(br#"{"\u0065xecute": "stop", "\u0069d": 7}"#).unwrap();
    let reference: Value = serde_json::from_slice(raw.as_bytes()).unwrap();
    assert_eq!(reference, json!({"execute": "stop", "id": 7}));
    let message = Message::parse(raw);
    assert!(
        matches!(message, Ok(Message::Request(c)) if c.name == "stop" && c.id.is_some()),
        "Message::parse: {message:?}"
    );
    let request = parse_request(raw, false);
    assert!(
        matches!(request, Ok(c) if c.name == "stop" && c.id.and_then(|i| i.as_u64()) == Some(7)),
        "parse_request: {request:?}"
    );
    let dup = RawJson::parse(br#"{"return": 1, "r\u0065turn": 2}"#).unwrap();
    assert!(
        Message::parse(dup).is_err(),
        "a duplicate `return` went unnoticed"
    );
}
