//! Vectors for the shell syntax: lines and the exact command they give, every error kind
//! with its column, byte identity with `encode::command`, and short buffers.

extern crate std;

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::*;
use crate::scan::ScanErrorKind as Scan;

/// A line and the command it must encode to (without an id).
const EXAMPLES: &[(&str, &str)] = &[
    // The examples people type most.
    ("query-status", r#"{"execute":"query-status"}"#),
    (
        "device_del id=net0",
        r#"{"execute":"device_del","arguments":{"id":"net0"}}"#,
    ),
    (
        "block-job-set-speed device=j0 speed=1048576",
        r#"{"execute":"block-job-set-speed","arguments":{"device":"j0","speed":1048576}}"#,
    ),
    (
        "blockdev-add driver=null-co node-name=n0",
        r#"{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"n0"}}"#,
    ),
    (
        "blockdev-add driver=qcow2 node-name=d0 file.driver=file file.filename=/tmp/a.qcow2",
        r#"{"execute":"blockdev-add","arguments":{"driver":"qcow2","node-name":"d0","file":{"driver":"file","filename":"/tmp/a.qcow2"}}}"#,
    ),
    (
        r#"human-monitor-command command-line="info version""#,
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info version"}}"#,
    ),
    (
        "human-monitor-command command-line=info=x",
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info=x"}}"#,
    ),
    ("x id=1abc", r#"{"execute":"x","arguments":{"id":"1abc"}}"#),
    // Nesting: deep, interleaved, groups where their first key appears.
    (
        "x a.b.c=1",
        r#"{"execute":"x","arguments":{"a":{"b":{"c":1}}}}"#,
    ),
    (
        "x a.x=1 b=2 a.y=3",
        r#"{"execute":"x","arguments":{"a":{"x":1,"y":3},"b":2}}"#,
    ),
    (
        "x a.b=1 c=2 a.d.e=3 a.b2=4 c2.x=5 a.d.f=6",
        r#"{"execute":"x","arguments":{"a":{"b":1,"d":{"e":3,"f":6},"b2":4},"c":2,"c2":{"x":5}}}"#,
    ),
    (
        "x b.y=1 a=2 b.x=3",
        r#"{"execute":"x","arguments":{"b":{"y":1,"x":3},"a":2}}"#,
    ),
    // A key that is a prefix of another, but not at a dot, is a different key.
    (
        "x a=1 ab.c=2 a2=3",
        r#"{"execute":"x","arguments":{"a":1,"ab":{"c":2},"a2":3}}"#,
    ),
    // Literals in any case.
    (
        "x a=true b=FALSE c=True d=null e=NULL",
        r#"{"execute":"x","arguments":{"a":true,"b":false,"c":true,"d":null,"e":null}}"#,
    ),
    // Integers in i64 or u64; beyond both, strings.
    (
        "x a=-5 b=0 c=-0 d=18446744073709551615 e=-9223372036854775808",
        r#"{"execute":"x","arguments":{"a":-5,"b":0,"c":-0,"d":18446744073709551615,"e":-9223372036854775808}}"#,
    ),
    (
        "x d=18446744073709551616 e=-9223372036854775809",
        r#"{"execute":"x","arguments":{"d":"18446744073709551616","e":"-9223372036854775809"}}"#,
    ),
    // Other numbers as typed; out of f64's range, strings.
    (
        "x a=1.5 b=-2e3 c=1.50 d=1E-400 e=0.0 f=1e400 g=-1e309",
        r#"{"execute":"x","arguments":{"a":1.5,"b":-2e3,"c":1.50,"d":1E-400,"e":0.0,"f":"1e400","g":"-1e309"}}"#,
    ),
    // What JSON's number grammar refuses is text.
    (
        "x a=+5 b=007 c=1_000 d=.5 e=0x10 f=inf g=- h=1. i=NaN j=1e",
        r#"{"execute":"x","arguments":{"a":"+5","b":"007","c":"1_000","d":".5","e":"0x10","f":"inf","g":"-","h":"1.","i":"NaN","j":"1e"}}"#,
    ),
    // An empty value is an empty string.
    ("x a= b=1", r#"{"execute":"x","arguments":{"a":"","b":1}}"#),
    ("x a=", r#"{"execute":"x","arguments":{"a":""}}"#),
    // JSON values: compacted, whitespace inside allowed.
    (
        r#"x a={"x": [1, 2], "y": {}} b=[] c="" d="  " e=[ "a b" , null ]"#,
        r#"{"execute":"x","arguments":{"a":{"x":[1,2],"y":{}},"b":[],"c":"","d":"  ","e":["a b",null]}}"#,
    ),
    (
        "x a={\"k\":\n1}\tb=2",
        r#"{"execute":"x","arguments":{"a":{"k":1},"b":2}}"#,
    ),
    // To send as strings what would be read otherwise, quote them.
    (
        r#"x a="true" b="42" c="{x" d="null""#,
        r#"{"execute":"x","arguments":{"a":"true","b":"42","c":"{x","d":"null"}}"#,
    ),
    // Escapes in JSON strings are kept; brackets inside strings do not count.
    (
        r#"x a="say \"hi\"\\" b=["]", "\"["] c={"}":"{"}"#,
        r#"{"execute":"x","arguments":{"a":"say \"hi\"\\","b":["]","\"["],"c":{"}":"{"}}}"#,
    ),
    // Non-ASCII is escaped, in plain values, JSON values and keys alike.
    (
        "x a=\"caf\u{e9}\" b=caf\u{e9} \u{e9}t\u{e9}=\u{1F600}",
        r#"{"execute":"x","arguments":{"a":"caf\u00E9","b":"caf\u00E9","\u00E9t\u00E9":"\uD83D\uDE00"}}"#,
    ),
    // Quotes inside plain text are text; single quotes are ordinary.
    (
        "x a=x\"y b='q' c=a{b",
        r#"{"execute":"x","arguments":{"a":"x\"y","b":"'q'","c":"a{b"}}"#,
    ),
    (
        "x k\"ey=1 p/q=2",
        r#"{"execute":"x","arguments":{"k\"ey":1,"p/q":2}}"#,
    ),
    // Whitespace: leading, trailing, tabs, a final newline.
    ("  query-status  \r\n", r#"{"execute":"query-status"}"#),
    (
        "x\ta=1 \t b=2\n",
        r#"{"execute":"x","arguments":{"a":1,"b":2}}"#,
    ),
    // Names: downstream prefixes, underscores, digits after the first character.
    (
        "__com.redhat_drive_add id=d0",
        r#"{"execute":"__com.redhat_drive_add","arguments":{"id":"d0"}}"#,
    ),
    (
        "x-debug2 a=1",
        r#"{"execute":"x-debug2","arguments":{"a":1}}"#,
    ),
    // Near misses of the literals are text, whatever their case or length.
    (
        "x a=truex b=TRU c=nulL d=fALSE e=\u{e9}\u{e9} f=nu11 g=false.",
        r#"{"execute":"x","arguments":{"a":"truex","b":"TRU","c":null,"d":false,"e":"\u00E9\u00E9","f":"nu11","g":"false."}}"#,
    ),
    // Integers at and past the limits, signs and leading zeros.
    (
        "x a=9223372036854775807 b=-9223372036854775807 c=10000000000000000000 d=99999999999999999999 e=-09 f=-0.0e-0",
        r#"{"execute":"x","arguments":{"a":9223372036854775807,"b":-9223372036854775807,"c":10000000000000000000,"d":"99999999999999999999","e":"-09","f":-0.0e-0}}"#,
    ),
    // A JSON value ending the line, backslashes before a closing quote.
    (
        r#"x a="\\" b="\\\"" c=[1, 2]"#,
        r#"{"execute":"x","arguments":{"a":"\\","b":"\\\"","c":[1,2]}}"#,
    ),
    // An object closed, then more members of its parent and of a sibling.
    (
        "x a.b.c=1 a.d=2 e.f=3 a.b.g=4 h=5",
        r#"{"execute":"x","arguments":{"a":{"b":{"c":1,"g":4},"d":2},"e":{"f":3},"h":5}}"#,
    ),
    // A JSON object value next to keys with the same first letters.
    (
        r#"x a={"b":1} a2.b=2"#,
        r#"{"execute":"x","arguments":{"a":{"b":1},"a2":{"b":2}}}"#,
    ),
];

/// A line, what is wrong with it, and where.
const ERRORS: &[(&str, ShellErrorKind, usize)] = &[
    ("", ShellErrorKind::Empty, 0),
    ("   ", ShellErrorKind::Empty, 3),
    ("\t\r\n", ShellErrorKind::Empty, 3),
    ("1abc", ShellErrorKind::BadCommandName, 0),
    ("-x", ShellErrorKind::BadCommandName, 0),
    ("query-status!", ShellErrorKind::BadCommandName, 12),
    ("device_del=x", ShellErrorKind::BadCommandName, 10),
    (r#"{"execute":"x"}"#, ShellErrorKind::BadCommandName, 0),
    ("transaction( a=1", ShellErrorKind::BadCommandName, 11),
    ("  caf\u{e9}", ShellErrorKind::BadCommandName, 5),
    ("\u{e9}", ShellErrorKind::BadCommandName, 0),
    ("device_del net0", ShellErrorKind::MissingEquals, 11),
    ("x a=1 b", ShellErrorKind::MissingEquals, 6),
    ("x a=1 b c=2", ShellErrorKind::MissingEquals, 6),
    ("x =1", ShellErrorKind::EmptyKey, 2),
    ("x a=1  ==", ShellErrorKind::EmptyKey, 7),
    ("x a..b=1", ShellErrorKind::EmptyKeySegment, 4),
    ("x .a=1", ShellErrorKind::EmptyKeySegment, 2),
    ("x a.=1", ShellErrorKind::EmptyKeySegment, 4),
    ("x .=1", ShellErrorKind::EmptyKeySegment, 2),
    ("x a..b", ShellErrorKind::EmptyKeySegment, 4),
    ("x a=1 a=2", ShellErrorKind::DuplicateKey, 6),
    ("x a.b=1 c=2 a.b=3", ShellErrorKind::DuplicateKey, 12),
    ("x a=1 b=2 a=\"1\"", ShellErrorKind::DuplicateKey, 10),
    ("x a=1 a.b=2", ShellErrorKind::ValueAndObject, 6),
    ("x a.b=2 a=1", ShellErrorKind::ValueAndObject, 8),
    ("x a.b=1 a.b.c=2", ShellErrorKind::ValueAndObject, 8),
    ("x a.b.c=1 a.b=2", ShellErrorKind::ValueAndObject, 10),
    (r#"x a={"b":1} a.c=2"#, ShellErrorKind::ValueAndObject, 12),
    (
        "x a={x}",
        ShellErrorKind::InvalidJson(Scan::UnexpectedByte),
        5,
    ),
    (
        "x a=[1 b=2",
        ShellErrorKind::InvalidJson(Scan::UnexpectedByte),
        7,
    ),
    (
        r#"x a={"b":1"#,
        ShellErrorKind::InvalidJson(Scan::UnexpectedEnd),
        10,
    ),
    (
        r#"x a={"b":1 "#,
        ShellErrorKind::InvalidJson(Scan::UnexpectedEnd),
        11,
    ),
    (
        "x a=[01]",
        ShellErrorKind::InvalidJson(Scan::InvalidNumber),
        6,
    ),
    (
        "x a=[tru]",
        ShellErrorKind::InvalidJson(Scan::InvalidLiteral),
        8,
    ),
    (
        "x a=\"\t\"",
        ShellErrorKind::InvalidJson(Scan::ControlCharacter),
        5,
    ),
    (
        r#"x a="\q""#,
        ShellErrorKind::InvalidJson(Scan::InvalidEscape),
        6,
    ),
    (
        r#"x a="\u12""#,
        ShellErrorKind::InvalidJson(Scan::InvalidHexEscape),
        9,
    ),
    (
        r#"x a="\uD800""#,
        ShellErrorKind::InvalidJson(Scan::LoneSurrogate),
        11,
    ),
    (
        "x a=[1}",
        ShellErrorKind::InvalidJson(Scan::UnexpectedByte),
        6,
    ),
    ("x a=\"abc", ShellErrorKind::UnterminatedQuote, 4),
    ("x a=[\"abc", ShellErrorKind::UnterminatedQuote, 5),
    (r#"x a="abc\""#, ShellErrorKind::UnterminatedQuote, 4),
    ("x a=\"\u{e9}", ShellErrorKind::UnterminatedQuote, 4),
    ("x a=\"x\"y", ShellErrorKind::TrailingGarbage, 7),
    ("x a=[1]] b=2", ShellErrorKind::TrailingGarbage, 7),
    ("x a={}x", ShellErrorKind::TrailingGarbage, 6),
    ("x a=\"\"\"\"", ShellErrorKind::TrailingGarbage, 6),
    // Segments are checked before the `=`, at the end of the line too.
    ("x a.", ShellErrorKind::EmptyKeySegment, 4),
    ("x a", ShellErrorKind::MissingEquals, 2),
    ("x a.b", ShellErrorKind::MissingEquals, 2),
    ("x a=1\tb.=2", ShellErrorKind::EmptyKeySegment, 8),
    // An unterminated string wins over what is wrong inside it.
    (r#"x a="\q"#, ShellErrorKind::UnterminatedQuote, 4),
    (r#"x a=["\"]"#, ShellErrorKind::UnterminatedQuote, 5),
    // The first error from the left wins.
    ("x a..b=1 =2", ShellErrorKind::EmptyKeySegment, 4),
    ("x =1 a..b=2", ShellErrorKind::EmptyKey, 2),
    ("x a=1 a=2 b", ShellErrorKind::DuplicateKey, 6),
];

fn encoded(command: &ShellCommand<'_>, id: Option<Id<'_>>, oob: bool) -> String {
    let mut buf = [0u8; 4096];
    let mut sink = SliceSink::new(&mut buf);
    let result = if oob {
        command.encode_oob(&mut sink, id)
    } else {
        command.encode(&mut sink, id)
    };
    result.unwrap_or_else(|e| panic!("{:?}: {e}", command.line()));
    String::from_utf8(sink.written().to_vec()).expect("ASCII output")
}

fn parse(line: &str) -> ShellCommand<'_> {
    ShellCommand::parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[test]
fn examples_encode_to_the_expected_commands() {
    for &(line, expected) in EXAMPLES {
        let command = parse(line);
        assert_eq!(encoded(&command, None, false), expected, "{line:?}");
        let mut buf = [0u8; 4096];
        let n = command.to_slice(&mut buf, None).unwrap();
        assert_eq!(&buf[..n], expected.as_bytes(), "{line:?}");
    }
}

#[test]
fn errors_have_their_kind_and_column() {
    for &(line, kind, column) in ERRORS {
        let error = ShellCommand::parse(line).unwrap_err();
        assert_eq!((error.kind, error.column), (kind, column), "{line:?}");
        assert!(line.is_char_boundary(error.column), "{line:?}");
    }
}

#[test]
fn every_error_kind_is_covered() {
    let kinds: Vec<ShellErrorKind> = ERRORS.iter().map(|&(_, kind, _)| kind).collect();
    for kind in [
        ShellErrorKind::Empty,
        ShellErrorKind::BadCommandName,
        ShellErrorKind::MissingEquals,
        ShellErrorKind::EmptyKey,
        ShellErrorKind::EmptyKeySegment,
        ShellErrorKind::DuplicateKey,
        ShellErrorKind::ValueAndObject,
        ShellErrorKind::InvalidJson(Scan::UnexpectedByte),
        ShellErrorKind::UnterminatedQuote,
        ShellErrorKind::TrailingGarbage,
    ] {
        assert!(kinds.contains(&kind), "{kind:?}");
    }
    // TooDeep is in `key_depth_is_bounded`.
}

#[test]
fn key_depth_is_bounded() {
    let segments: Vec<String> = (0..=MAX_KEY_SEGMENTS).map(|i| format!("s{i}")).collect();
    // The deepest key allowed.
    let key = segments[..MAX_KEY_SEGMENTS].join(".");
    let line = format!("x {key}=1");
    let mut expected = String::from("1");
    for segment in segments[..MAX_KEY_SEGMENTS].iter().rev() {
        expected = format!("{{\"{segment}\":{expected}}}");
    }
    assert_eq!(
        encoded(&parse(&line), None, false),
        format!("{{\"execute\":\"x\",\"arguments\":{expected}}}")
    );
    // One more segment is refused where it starts.
    let line = format!("x a=1 {}=1", segments.join("."));
    let error = ShellCommand::parse(&line).unwrap_err();
    assert_eq!(error.kind, ShellErrorKind::TooDeep);
    assert_eq!(error.column, line.rfind(".s").unwrap() + 1);
    // Reading left to right, the extra segment comes before the empty one after it.
    let line = format!("x {}..y=1", segments.join("."));
    let error = ShellCommand::parse(&line).unwrap_err();
    assert_eq!(error.kind, ShellErrorKind::TooDeep);
}

#[test]
fn many_interleaved_groups_at_full_depth() {
    // Two deep groups, interleaved member by member, each path one segment short of
    // the limit plus a leaf: every level of the stack is used, twice.
    let base: Vec<String> = (0..MAX_KEY_SEGMENTS - 1).map(|i| format!("k{i}")).collect();
    let mut line = String::from("x");
    for leaf in ["p", "q"] {
        for group in ["g", "h"] {
            line.push_str(&format!(
                " {group}.{}.{leaf}={}",
                base[1..].join("."),
                leaf.len()
            ));
        }
    }
    let out = encoded(&parse(&line), None, false);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    for group in ["g", "h"] {
        let mut node = &value["arguments"][group];
        for segment in &base[1..] {
            node = &node[segment];
        }
        assert_eq!(node, &serde_json::json!({"p": 1, "q": 1}), "{out}");
    }
    assert!(out.find("\"g\"").unwrap() < out.find("\"h\"").unwrap());
}

#[test]
fn output_is_what_encode_command_writes() {
    let ids = [
        None,
        Some(Id::U64(0)),
        Some(Id::U64(u64::MAX)),
        Some(Id::I64(i64::MIN)),
        Some(Id::Str("caf\u{e9} \"1\"")),
        Some(Id::Raw(
            RawJson::parse(b" [1, {\"x\": \"\xc3\xa9\"}] ").unwrap(),
        )),
    ];
    for &(line, expected) in EXAMPLES {
        let command = parse(line);
        let value = RawJson::parse(expected.as_bytes()).unwrap();
        let arguments = value.get("arguments");
        for id in ids {
            for oob in [false, true] {
                let mut buf = [0u8; 4096];
                let mut sink = SliceSink::new(&mut buf);
                if oob {
                    encode::command_oob(&mut sink, command.name(), arguments, id).unwrap();
                } else {
                    encode::command(&mut sink, command.name(), arguments, id).unwrap();
                }
                let reference = core::str::from_utf8(sink.written()).unwrap();
                assert_eq!(encoded(&command, id, oob), reference, "{line:?} {id:?}");
            }
        }
    }
}

#[test]
fn every_short_buffer_is_buffer_full() {
    for &(line, expected) in EXAMPLES {
        let command = parse(line);
        let mut buf = vec![0u8; expected.len()];
        for len in 0..expected.len() {
            assert_eq!(
                command.to_slice(&mut buf[..len], Some(Id::U64(7))),
                Err(EncodeError::Sink(BufferFull)),
                "{line:?} in {len} bytes"
            );
        }
    }
}

#[test]
fn arguments_are_listed_as_typed() {
    let command = parse(r#" x  a.b=1 c="d e"	f= g=[1] h=TRUE i=null j=-1.5 "#);
    assert_eq!(command.name(), "x");
    let arguments: Vec<ShellArgument<'_>> = command.arguments().collect();
    let json = |text: &'static str| RawJson::parse(text.as_bytes()).unwrap();
    assert_eq!(
        arguments,
        vec![
            ShellArgument {
                key: "a.b",
                value: ShellValue::Number(json("1")),
                column: 4,
            },
            ShellArgument {
                key: "c",
                value: ShellValue::Json(json("\"d e\"")),
                column: 10,
            },
            ShellArgument {
                key: "f",
                value: ShellValue::Str(""),
                column: 18,
            },
            ShellArgument {
                key: "g",
                value: ShellValue::Json(json("[1]")),
                column: 21,
            },
            ShellArgument {
                key: "h",
                value: ShellValue::Bool(true),
                column: 27,
            },
            ShellArgument {
                key: "i",
                value: ShellValue::Null,
                column: 34,
            },
            ShellArgument {
                key: "j",
                value: ShellValue::Number(json("-1.5")),
                column: 41,
            },
        ]
    );
    assert_eq!(arguments[0].segments().collect::<Vec<_>>(), vec!["a", "b"]);
    let mut iter = command.arguments();
    iter.by_ref().for_each(drop);
    assert_eq!(iter.next(), None);
    assert_eq!(parse("query-status").arguments().next(), None);
}

#[test]
fn messages_are_static_and_located() {
    for &(line, kind, column) in ERRORS {
        let error = ShellCommand::parse(line).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with(kind.description()), "{message}");
        assert!(
            message.ends_with(&format!(" at column {column}")),
            "{message}"
        );
    }
    assert_eq!(
        ShellErrorKind::InvalidJson(Scan::InvalidNumber).to_string(),
        "invalid JSON value: invalid number"
    );
    let error: &dyn core::error::Error = &ShellCommand::parse("").unwrap_err();
    assert!(error.source().is_none());
}

#[test]
fn integer_ids_are_what_encode_command_writes() {
    let command = parse("x a=1");
    let ids = [0, 9, 10, 1_234_567_890, u64::MAX]
        .map(Id::U64)
        .into_iter()
        .chain([0, -1, -10, i64::MIN, i64::MAX, i64::MIN + 1].map(Id::I64));
    for id in ids {
        let mut buf = [0u8; 128];
        let mut sink = SliceSink::new(&mut buf);
        let arguments = RawJson::parse(b"{\"a\":1}").unwrap();
        encode::command(&mut sink, "x", arguments, Some(id)).unwrap();
        let reference = core::str::from_utf8(sink.written()).unwrap();
        assert_eq!(encoded(&command, Some(id), false), reference, "{id:?}");
    }
}

#[test]
fn key_segments_split_at_every_dot() {
    let command = parse("x a=1 b.cd.e=2 f.g=3");
    let keys: Vec<Vec<&str>> = command
        .arguments()
        .map(|a| a.segments().collect())
        .collect();
    assert_eq!(keys, vec![vec!["a"], vec!["b", "cd", "e"], vec!["f", "g"]]);
    let mut segments = command.arguments().nth(1).unwrap().segments();
    assert_eq!(segments.next(), Some("b"));
    let copy = segments.clone();
    assert_eq!(segments.by_ref().count(), 2);
    assert_eq!(segments.next(), None);
    assert_eq!(copy.collect::<Vec<_>>(), vec!["cd", "e"]);
    assert!(format!("{segments:?}").starts_with("KeySegments"));
}
