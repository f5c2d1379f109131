//! The shell syntax end to end, through the public API:
//!
//! - typed lines become requests that [`parse_request`] accepts, with the typed name,
//!   arguments and id, in both the `execute` and the `exec-oob` form;
//! - property: argument lists generated from a small pool of dotted keys (so that groups
//!   interleave, nest and collide) and values of every kind either fail with the error
//!   a model predicts, at its column, or encode to `arguments` that serde_json reads as
//!   the model's nested object, with members in first-appearance order;
//! - property: any line, garbage included, parses or fails without panicking; an error's
//!   column is a character boundary of the line, and whatever parses encodes to a
//!   request that serde_json and [`parse_request`] accept.
//!
//! Runs are reproducible: the proptest seed is `QMP_TEST_SEED` when set, and the
//! suite's base seed otherwise; `PROPTEST_CASES` sets the number of cases.

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config as ProptestConfig;
use qmp_core::encode::{Id, SliceSink};
use qmp_core::json::RawJson;
use qmp_core::message::parse_request;
use qmp_core::shell::{ShellCommand, ShellErrorKind};
use serde_json::{json, Map, Value};

const CASES: u32 = 512;

fn config() -> ProptestConfig {
    common::proptest_config(CASES)
}

/// `line` encoded with `id`, in the `exec-oob` form if `oob`.
fn encode(command: &ShellCommand<'_>, id: Option<Id<'_>>, oob: bool) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let mut sink = SliceSink::new(&mut buf);
    let result = if oob {
        command.encode_oob(&mut sink, id)
    } else {
        command.encode(&mut sink, id)
    };
    result.unwrap_or_else(|e| panic!("{:?}: {e}", command.line()));
    sink.written().to_vec()
}

/// Checks that `bytes` is a request for `name` with `arguments` (`None`: no member) and
/// the id `7`, as a server with the `oob` capability reads it.
fn check_request(bytes: &[u8], name: &str, arguments: Option<&Value>, oob: bool) {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.is_ascii(), "{text}");
    let raw = RawJson::parse(bytes).unwrap_or_else(|e| panic!("{text}: {e}"));
    let request = parse_request(raw, true).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    assert!(request.name == name, "{text}");
    assert_eq!(request.oob, oob, "{text}");
    assert_eq!(request.id.and_then(|id| id.as_u64()), Some(7), "{text}");
    let got = request
        .arguments
        .map(|a| serde_json::from_str::<Value>(a.as_text()).unwrap());
    assert_eq!(got.as_ref(), arguments, "{text}");
    // A server without the capability refuses the out-of-band form, as QEMU does.
    assert_eq!(parse_request(raw, false).is_ok(), !oob, "{text}");
}

#[test]
fn typed_lines_are_the_requests_they_say() {
    let cases = [
        ("query-status", "query-status", None),
        (
            "device_del id=net0",
            "device_del",
            Some(json!({"id": "net0"})),
        ),
        (
            "block-job-set-speed device=j0 speed=1048576",
            "block-job-set-speed",
            Some(json!({"device": "j0", "speed": 1048576})),
        ),
        (
            "blockdev-add driver=null-co node-name=n0",
            "blockdev-add",
            Some(json!({"driver": "null-co", "node-name": "n0"})),
        ),
        (
            "blockdev-add driver=qcow2 node-name=d0 file.driver=file file.filename=/tmp/a.qcow2",
            "blockdev-add",
            Some(json!({
                "driver": "qcow2",
                "node-name": "d0",
                "file": {"driver": "file", "filename": "/tmp/a.qcow2"},
            })),
        ),
        (
            r#"human-monitor-command command-line="info version""#,
            "human-monitor-command",
            Some(json!({"command-line": "info version"})),
        ),
        (
            "human-monitor-command command-line=info=x",
            "human-monitor-command",
            Some(json!({"command-line": "info=x"})),
        ),
        (
            "x a.x=1 b=2 a.y=3 c.d.e=-1.5 f=TRUE g=null h=",
            "x",
            Some(json!({
                "a": {"x": 1, "y": 3},
                "b": 2,
                "c": {"d": {"e": -1.5}},
                "f": true,
                "g": null,
                "h": "",
            })),
        ),
        (
            r#"migrate-set-parameters tls-creds="" cpu-throttle-initial=20 block-bitmap-mapping=[{"node-name": "n0", "alias": "a", "bitmaps": []}]"#,
            "migrate-set-parameters",
            Some(json!({
                "tls-creds": "",
                "cpu-throttle-initial": 20,
                "block-bitmap-mapping": [{"node-name": "n0", "alias": "a", "bitmaps": []}],
            })),
        ),
        (
            "qom-set path=/machine/peripheral/n0 property=caf\u{e9} value=\u{1F600}",
            "qom-set",
            Some(json!({
                "path": "/machine/peripheral/n0",
                "property": "caf\u{e9}",
                "value": "\u{1F600}",
            })),
        ),
    ];
    for (line, name, arguments) in cases {
        let command = ShellCommand::parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(command.name(), name);
        for oob in [false, true] {
            let bytes = encode(&command, Some(Id::U64(7)), oob);
            check_request(&bytes, name, arguments.as_ref(), oob);
        }
    }
}

// ---------------------------------------------------------------------------------
// Generated argument lists against a model

/// One generated argument: its key's segments, the value as typed, and what the value
/// must mean.
#[derive(Clone, Debug)]
struct Arg {
    segments: Vec<&'static str>,
    typed: String,
    value: Value,
}

/// The model's `arguments` object: members in first-appearance order.
#[derive(Clone, Debug)]
enum Node {
    Leaf(Value),
    Object(Vec<(String, Node)>),
}

fn insert(members: &mut Vec<(String, Node)>, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        members.push(((*first).to_string(), Node::Leaf(value)));
        return;
    }
    let index = match members.iter().position(|(name, _)| name == first) {
        Some(index) => index,
        None => {
            members.push(((*first).to_string(), Node::Object(Vec::new())));
            members.len() - 1
        }
    };
    if let Node::Object(inner) = &mut members[index].1 {
        insert(inner, rest, value);
    }
}

fn to_value(members: &[(String, Node)]) -> Value {
    let mut map = Map::new();
    for (name, node) in members {
        let value = match node {
            Node::Leaf(value) => value.clone(),
            Node::Object(inner) => to_value(inner),
        };
        map.insert(name.clone(), value);
    }
    Value::Object(map)
}

/// Whether the object `json` has exactly `members`, in that order, at every level.
fn same_order(json: RawJson<'_>, members: &[(String, Node)]) -> bool {
    let got: Vec<_> = json.members().collect();
    got.len() == members.len()
        && got.iter().zip(members).all(|((key, value), (name, node))| {
            *key == name.as_str()
                && match node {
                    Node::Leaf(_) => true,
                    Node::Object(inner) => same_order(*value, inner),
                }
        })
}

/// What parsing must give: the nested arguments, or the error at argument `index`.
fn model(args: &[Arg]) -> Result<Vec<(String, Node)>, (ShellErrorKind, usize)> {
    let keys: Vec<String> = args.iter().map(|a| a.segments.join(".")).collect();
    for (i, key) in keys.iter().enumerate() {
        for earlier in &keys[..i] {
            if earlier == key {
                return Err((ShellErrorKind::DuplicateKey, i));
            }
            if key.starts_with(&format!("{earlier}.")) || earlier.starts_with(&format!("{key}.")) {
                return Err((ShellErrorKind::ValueAndObject, i));
            }
        }
    }
    let mut members = Vec::new();
    for arg in args {
        insert(&mut members, &arg.segments, arg.value.clone());
    }
    Ok(members)
}

fn segment() -> impl Strategy<Value = &'static str> {
    select(vec!["a", "b", "c", "node-name", "x_y", "\u{e9}"])
}

/// Small JSON values: scalars of every kind inside arrays and objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|v| json!(v)),
        any::<u64>().prop_map(|v| json!(v)),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| json!(v)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((segment(), inner), 0..4).prop_map(|members| Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect()
            )),
        ]
    })
}

/// A value as typed, and what it must mean.
fn typed_value() -> impl Strategy<Value = (String, Value)> {
    let number = |text: String| {
        let value = serde_json::from_str(&text).unwrap();
        (text, value)
    };
    prop_oneof![
        any::<i64>().prop_map(move |v| number(v.to_string())),
        any::<u64>().prop_map(move |v| number(v.to_string())),
        (
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            0..3usize
        )
            .prop_map(move |(v, form)| number(match form {
                0 => format!("{v:?}"),
                1 => format!("{v:e}"),
                _ => format!("{v:E}"),
            })),
        select(vec![
            "true", "TRUE", "True", "false", "False", "null", "NULL", "nUlL"
        ])
        .prop_map(|text| {
            let value = serde_json::from_str(&text.to_ascii_lowercase()).unwrap();
            (text.to_string(), value)
        }),
        // Plain text: not starting like a number, a literal or JSON.
        "[g-mo-sG-MO-S/:,._@%~^*!?<>|()'][^\\s]{0,12}"
            .prop_map(|text| (text.clone(), Value::String(text))),
        Just((String::new(), Value::String(String::new()))),
        // Quoted strings, anything inside.
        any::<String>().prop_map(|s| (serde_json::to_string(&s).unwrap(), Value::String(s))),
        // JSON values, compact or spread over lines. What they mean is serde_json's
        // reading of the text, since its float parsing can be one unit in the last
        // place off, and the output keeps the typed digits.
        (json_value(), any::<bool>()).prop_map(|(v, pretty)| {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let value = serde_json::from_str(&text).unwrap();
            (text, value)
        }),
    ]
}

fn arg() -> impl Strategy<Value = Arg> {
    (vec(segment(), 1..=3), typed_value()).prop_map(|(segments, (typed, value))| Arg {
        segments,
        typed,
        value,
    })
}

fn blank(min: usize) -> impl Strategy<Value = String> {
    vec(select(vec![' ', '\t', '\r', '\n']), min..=min + 2)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A line and where each argument starts in it.
fn line() -> impl Strategy<Value = (String, &'static str, Vec<Arg>, Vec<usize>)> {
    (
        select(vec!["x", "query-status", "blockdev-add", "__com.redhat_x"]),
        blank(0),
        vec((blank(1), arg()), 0..8),
        blank(0),
    )
        .prop_map(|(name, lead, args, trail)| {
            let mut line = lead + name;
            let mut columns = Vec::new();
            let mut list = Vec::new();
            for (gap, arg) in args {
                line.push_str(&gap);
                columns.push(line.len());
                line.push_str(&arg.segments.join("."));
                line.push('=');
                line.push_str(&arg.typed);
                list.push(arg);
            }
            line.push_str(&trail);
            (line, name, list, columns)
        })
}

/// Lines of mostly syntax: names, keys, `=`, dots, quotes, brackets, escapes, blanks,
/// with any character mixed in.
fn garbage() -> impl Strategy<Value = String> {
    let chars = vec(
        prop_oneof![
            6 => select(vec![
                'a', 'b', '_', '.', '=', '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\t',
                '\n', '1', '0', '-', 'e', 't', 'n', 'u', '\u{e9}',
            ]),
            1 => any::<char>(),
        ],
        0..48,
    );
    (select(vec!["", "x ", "x a=", "x a.b="]), chars)
        .prop_map(|(start, chars)| start.chars().chain(chars).collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_lines_give_what_the_model_says((line, name, args, columns) in line()) {
        let result = ShellCommand::parse(&line);
        match model(&args) {
            Err((kind, index)) => {
                let error = result.expect_err(&line);
                prop_assert_eq!((error.kind, error.column), (kind, columns[index]), "{:?}", line);
            }
            Ok(members) => {
                let command = result.unwrap_or_else(|e| panic!("{line:?}: {e}"));
                prop_assert_eq!(command.name(), name);
                prop_assert_eq!(command.arguments().count(), args.len());
                let expected = (!args.is_empty()).then(|| to_value(&members));
                for oob in [false, true] {
                    let bytes = encode(&command, Some(Id::U64(7)), oob);
                    check_request(&bytes, name, expected.as_ref(), oob);
                    let value: Value = serde_json::from_slice(&bytes).unwrap();
                    prop_assert_eq!(value.get("arguments"), expected.as_ref());
                    if !args.is_empty() {
                        let raw = RawJson::parse(&bytes).unwrap();
                        let arguments = raw.get("arguments").unwrap();
                        prop_assert!(same_order(arguments, &members), "{:?}", line);
                    }
                }
            }
        }
    }

    #[test]
    fn any_line_parses_or_fails_cleanly(line in garbage()) {
        match ShellCommand::parse(&line) {
            Err(error) => {
                prop_assert!(error.column <= line.len(), "{:?}: {:?}", line, error);
                prop_assert!(line.is_char_boundary(error.column), "{:?}: {:?}", line, error);
            }
            Ok(command) => {
                let bytes = encode(&command, Some(Id::U64(7)), false);
                prop_assert!(bytes.is_ascii());
                let value: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{line:?}: {e}"));
                let raw = RawJson::parse(&bytes).unwrap();
                let request = parse_request(raw, false)
                    .unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
                prop_assert!(request.name == command.name());
                // Every argument's first segment is a member, and nothing else is.
                let mut firsts: Vec<&str> = command
                    .arguments()
                    .filter_map(|a| a.segments().next())
                    .collect();
                firsts.sort_unstable();
                firsts.dedup();
                let mut members: Vec<&String> = value
                    .get("arguments")
                    .and_then(Value::as_object)
                    .map(|m| m.keys().collect())
                    .unwrap_or_default();
                members.sort_unstable();
                prop_assert_eq!(members, firsts);
                // Encoding is deterministic.
                prop_assert_eq!(encode(&command, Some(Id::U64(7)), false), bytes);
            }
        }
    }
}
