//! Vectors for the encoder: exact bytes for every message kind and escape class, every
//! truncation length, the serde data model checked against serde_json, raw passthrough,
//! and writers.

extern crate std;

use std::collections::BTreeMap;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use serde::ser::{Error as _, Serializer as _};
use serde::Serialize;
use serde_json::Value;

use super::*;

type Dyn<'s> = dyn Sink<Error = BufferFull> + 's;
type Res = Result<(), EncodeError<BufferFull>>;
/// What QEMU sends when it cannot read the clock.
const UNKNOWN: Timestamp = Timestamp {
    seconds: -1,
    microseconds: -1,
};
/// An encoding and the text it must give.
type Case<'a> = (&'a dyn Fn(&mut Dyn<'_>) -> Res, &'a str);

fn raw(text: &str) -> RawJson<'_> {
    RawJson::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn json_str(raw_json: &str) -> JsonStr<'_> {
    raw(raw_json)
        .as_json_str()
        .unwrap_or_else(|| panic!("{raw_json} is not a string"))
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compact and ASCII-only: printable ASCII, no whitespace outside strings (compacting
/// again changes nothing), and valid JSON for us and for serde_json.
fn check_compact_ascii(out: &[u8]) {
    assert!(
        out.iter().all(|b| (0x20..0x7F).contains(b)),
        "not printable ASCII: {}",
        show(out)
    );
    let parsed = RawJson::parse(out).unwrap_or_else(|e| panic!("{}: {e}", show(out)));
    let mut again = [0u8; 8192];
    let mut sink = SliceSink::new(&mut again);
    value(&mut sink, parsed).unwrap();
    assert_eq!(show(sink.written()), show(out), "not compact");
    if let Err(e) = serde_json::from_slice::<Value>(out) {
        panic!("serde_json rejects {}: {e}", show(out));
    }
}

/// Encode with `f`; check that every shorter buffer fails with `BufferFull` after writing
/// a prefix of the output, that the exact size and a `heapless::Vec` work, and that the
/// output is compact, ASCII-only JSON.
fn encoded(f: impl Fn(&mut Dyn<'_>) -> Res) -> Vec<u8> {
    let mut buf = [0u8; 8192];
    let mut sink = SliceSink::new(&mut buf);
    if let Err(e) = f(&mut sink) {
        panic!("{e}");
    }
    let out = sink.written().to_vec();
    for len in 0..out.len() {
        let mut small = vec![0u8; len];
        let mut sink = SliceSink::new(&mut small);
        assert_eq!(
            f(&mut sink),
            Err(EncodeError::Sink(BufferFull)),
            "len {len}"
        );
        assert!(out.starts_with(sink.written()), "len {len}");
    }
    let mut exact = vec![0u8; out.len()];
    let mut sink = SliceSink::new(&mut exact);
    assert_eq!(f(&mut sink), Ok(()));
    assert_eq!(sink.remaining(), 0);
    assert_eq!(sink.into_written(), &out[..]);
    let mut vec = heapless::Vec::<u8, 8192>::new();
    assert_eq!(f(&mut vec), Ok(()));
    assert_eq!(&vec[..], &out[..]);
    check_compact_ascii(&out);
    out
}

/// `encoded`, as text.
fn enc(f: impl Fn(&mut Dyn<'_>) -> Res) -> String {
    show(&encoded(f))
}

// ---------------------------------------------------------------------------------------
// Strings

/// (input, expected body between the quotes), as QEMU's `json-writer.c` writes it.
const ESCAPES: &[(&str, &str)] = &[
    ("", ""),
    ("query-status", "query-status"),
    (
        "/machine/peripheral</script>",
        "/machine/peripheral</script>",
    ),
    (
        " ~!#$%&'()*+,-.:;<=>?@[]^_`{|}",
        " ~!#$%&'()*+,-.:;<=>?@[]^_`{|}",
    ),
    ("\"", "\\\""),
    ("\\", "\\\\"),
    ("\u{8}", "\\b"),
    ("\u{c}", "\\f"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\0", "\\u0000"),
    ("\u{1}", "\\u0001"),
    ("\u{b}", "\\u000B"),
    ("\u{1b}", "\\u001B"),
    ("\u{1f}", "\\u001F"),
    ("\u{7f}", "\\u007F"),
    ("\u{80}", "\\u0080"),
    ("\u{9f}", "\\u009F"),
    ("\u{a0}", "\\u00A0"),
    ("é", "\\u00E9"),
    ("\u{ff}", "\\u00FF"),
    ("\u{100}", "\\u0100"),
    ("€", "\\u20AC"),
    ("\u{fffd}", "\\uFFFD"),
    ("\u{fffe}", "\\uFFFE"),
    ("\u{ffff}", "\\uFFFF"),
    ("\u{10000}", "\\uD800\\uDC00"),
    ("😀", "\\uD83D\\uDE00"),
    ("\u{10ffff}", "\\uDBFF\\uDFFF"),
    (
        "a\"b\\c/d\u{7f}é😀\r\nend",
        "a\\\"b\\\\c/d\\u007F\\u00E9\\uD83D\\uDE00\\r\\nend",
    ),
    ("café crème", "caf\\u00E9 cr\\u00E8me"),
];

#[test]
fn strings_escape_as_qemu_does() {
    for &(input, body) in ESCAPES {
        let expected = format!("\"{body}\"");
        assert_eq!(enc(|s| value(s, Text::Str(input))), expected, "{input:?}");
        assert_eq!(enc(|s| value(s, Ser(input))), expected, "{input:?}");
        let mut chars = input.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            assert_eq!(enc(|s| value(s, Ser(c))), expected, "{c:?}");
        }
        // The same text arriving as raw UTF-8 JSON (serde_json writes it unescaped).
        let json = serde_json::to_string(input).unwrap();
        let from_raw = enc(|s| value(s, raw(&json)));
        let from_json_str = enc(|s| value(s, json_str(&json)));
        assert_eq!(from_raw, from_json_str);
        let back: String = serde_json::from_str(&from_raw).unwrap();
        assert_eq!(back, input);
    }
}

/// QEMU's `quoted_str`, transcribed as directly as possible.
fn reference_escape(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7F => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04X}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A small xorshift64* PRNG: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn char(&mut self) -> char {
        let c = match self.below(6) {
            0 => self.below(0x20) as u32,
            1 | 2 => 0x20 + self.below(0x60) as u32,
            3 => 0x80 + self.below(0x780) as u32,
            4 => self.below(0x1_0000) as u32,
            _ => 0x1_0000 + self.below(0x10_0000) as u32,
        };
        char::from_u32(c).unwrap_or('\u{FFFD}')
    }

    fn string(&mut self) -> String {
        let len = self.below(12);
        (0..len).map(|_| self.char()).collect()
    }
}

#[test]
fn random_strings_match_the_reference_and_round_trip() {
    let mut rng = Rng(0x51AB_1E5E_ED00_0001);
    let mut buf = [0u8; 1024];
    for _ in 0..20_000 {
        let s = rng.string();
        let mut sink = SliceSink::new(&mut buf);
        value(&mut sink, Text::Str(&s)).unwrap();
        let out = sink.written();
        assert_eq!(show(out), reference_escape(&s));
        assert_eq!(serde_json::from_slice::<String>(out).unwrap(), s);
        // Raw UTF-8 JSON strings (from serde_json) come out the same once decoded.
        let json = serde_json::to_string(&s).unwrap();
        let mut sink = SliceSink::new(&mut buf);
        value(&mut sink, raw(&json)).unwrap();
        let out = sink.written();
        assert!(out.is_ascii(), "{}", show(out));
        assert_eq!(serde_json::from_slice::<String>(out).unwrap(), s);
    }
}

// ---------------------------------------------------------------------------------------
// Messages

#[derive(Serialize)]
struct Eject<'a> {
    device: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    force: Option<bool>,
}

#[derive(Serialize)]
struct NoArgs;

#[test]
fn commands() {
    let eject = Eject {
        device: "ide1-cd0",
        force: Some(true),
    };
    let cases: &[Case<'_>] = &[
        (
            &|s| command(s, "query-status", (), None),
            r#"{"execute":"query-status"}"#,
        ),
        (
            &|s| command(s, "qmp_capabilities", (), Some(Id::U64(0))),
            r#"{"execute":"qmp_capabilities","id":0}"#,
        ),
        (
            &|s| command(s, "eject", Ser(&eject), Some(Id::U64(u64::MAX))),
            r#"{"execute":"eject","arguments":{"device":"ide1-cd0","force":true},"id":18446744073709551615}"#,
        ),
        (
            &|s| {
                let args = Eject {
                    device: "cd",
                    force: None,
                };
                command(s, "eject", Ser(args), Some(Id::I64(i64::MIN)))
            },
            r#"{"execute":"eject","arguments":{"device":"cd"},"id":-9223372036854775808}"#,
        ),
        (
            &|s| command(s, "stop", Ser(NoArgs), Some(Id::I64(-1))),
            r#"{"execute":"stop","id":-1}"#,
        ),
        (
            &|s| command(s, "stop", Ser(()), Some(Id::Str("libvirt-1"))),
            r#"{"execute":"stop","id":"libvirt-1"}"#,
        ),
        (
            &|s| command(s, "stop", None::<RawJson<'_>>, Some(Id::Str("é\"1"))),
            r#"{"execute":"stop","id":"\u00E9\"1"}"#,
        ),
        (
            &|s| command(s, "stop", raw("null"), None),
            r#"{"execute":"stop"}"#,
        ),
        (
            &|s| command(s, "cont", EmptyObject, None),
            r#"{"execute":"cont","arguments":{}}"#,
        ),
        (
            &|s| command(s, "cont", Ser(BTreeMap::<&str, u8>::new()), None),
            r#"{"execute":"cont","arguments":{}}"#,
        ),
        (
            &|s| {
                command(
                    s,
                    "qom-get",
                    Some(raw(
                        "{ \"path\" : \"/machine\",\n  \"property\": \"type\" }",
                    )),
                    Some(Id::Raw(raw("{ \"seq\": [1, 2],\n \"tag\": \"é\" }"))),
                )
            },
            r#"{"execute":"qom-get","arguments":{"path":"/machine","property":"type"},"id":{"seq":[1,2],"tag":"\u00E9"}}"#,
        ),
        (
            &|s| command(s, json_str(r#""query-\u0073tatus""#), (), Some(1u32.into())),
            r#"{"execute":"query-\u0073tatus","id":1}"#,
        ),
        (
            &|s| command_oob(s, "migrate-pause", (), Some(Id::Str("oob-1"))),
            r#"{"exec-oob":"migrate-pause","id":"oob-1"}"#,
        ),
        (
            &|s| command_oob(s, "x-oob-test", Ser(&eject), Some(Id::from(-3))),
            r#"{"exec-oob":"x-oob-test","arguments":{"device":"ide1-cd0","force":true},"id":-3}"#,
        ),
    ];
    for (i, (f, expected)) in cases.iter().enumerate() {
        assert_eq!(enc(f), *expected, "case {i}");
    }
}

#[test]
fn success_responses() {
    #[derive(Serialize)]
    struct Status {
        status: &'static str,
        running: bool,
    }
    let cases: &[Case<'_>] = &[
        (&|s| success(s, EmptyObject, None), r#"{"return":{}}"#),
        (
            &|s| success(s, EmptyObject, Some(Id::U64(7))),
            r#"{"return":{},"id":7}"#,
        ),
        (
            &|s| {
                let status = Status {
                    status: "running",
                    running: true,
                };
                success(s, Ser(status), Some(Id::Str("a")))
            },
            r#"{"return":{"status":"running","running":true},"id":"a"}"#,
        ),
        (
            &|s| success(s, raw("[ {\"name\": \"vm\"} , 2 ]"), None),
            r#"{"return":[{"name":"vm"},2]}"#,
        ),
        (
            &|s| success(s, Text::Str("info\r\n"), Some(Id::I64(-1))),
            r#"{"return":"info\r\n","id":-1}"#,
        ),
        (&|s| success(s, (), None), r#"{"return":null}"#),
        (&|s| success(s, Ser(1.5), None), r#"{"return":1.5}"#),
        (
            &|s| success(s, Ser([1u8, 2]), Some(Id::Raw(raw("null")))),
            r#"{"return":[1,2],"id":null}"#,
        ),
    ];
    for (i, (f, expected)) in cases.iter().enumerate() {
        assert_eq!(enc(f), *expected, "case {i}");
    }
}

#[test]
fn error_responses() {
    let cases: &[Case<'_>] = &[
        (
            &|s| {
                error(
                    s,
                    "GenericError",
                    "JSON parse error, stray '\u{FFFD}'",
                    None,
                )
            },
            r#"{"error":{"class":"GenericError","desc":"JSON parse error, stray '\uFFFD'"}}"#,
        ),
        (
            &|s| {
                let desc = "The command foo has not been found";
                error(s, ErrorClass::CommandNotFound, desc, Some(Id::U64(3)))
            },
            r#"{"id":3,"error":{"class":"CommandNotFound","desc":"The command foo has not been found"}}"#,
        ),
        (
            &|s| error(s, ErrorClass::KvmMissingCap, "", Some(Id::I64(-3))),
            r#"{"id":-3,"error":{"class":"KVMMissingCap","desc":""}}"#,
        ),
        (
            &|s| {
                let class = ErrorClass::Other(json_str(r#""X-\u00e9""#));
                error(s, class, "d\u{e9}", Some(Id::Raw(raw("null"))))
            },
            r#"{"id":null,"error":{"class":"X-\u00e9","desc":"d\u00E9"}}"#,
        ),
        (
            &|s| {
                let desc = "Invalid JSON syntax";
                error_with_data(s, "JSONParsing", desc, EmptyObject, Some(Id::Str("x")))
            },
            r#"{"id":"x","error":{"class":"JSONParsing","desc":"Invalid JSON syntax","data":{}}}"#,
        ),
        (
            &|s| {
                error_with_data(
                    s,
                    json_str(r#""CommandNotFound""#),
                    json_str(r#""The command \"f\u00f6\" has not been found""#),
                    raw(r#"{ "name": "fö" }"#),
                    Some(Id::Raw(raw("[1]"))),
                )
            },
            r#"{"id":[1],"error":{"class":"CommandNotFound","desc":"The command \"f\u00f6\" has not been found","data":{"name":"f\u00F6"}}}"#,
        ),
        (
            &|s| error_with_data(s, "C", "D", raw("[ ]"), None),
            r#"{"error":{"class":"C","desc":"D","data":[]}}"#,
        ),
        (
            &|s| error_with_data(s, "C", "D", (), None),
            r#"{"error":{"class":"C","desc":"D","data":null}}"#,
        ),
        (
            // A formatted desc quoting a decoded name: escaped again on the way out.
            &|s| {
                let name = json_str(r#""f\u00f6\"o""#);
                let desc = format_args!("The command {name} has not been found");
                error_fmt(s, ErrorClass::CommandNotFound, desc, Some(Id::U64(1)))
            },
            r#"{"id":1,"error":{"class":"CommandNotFound","desc":"The command f\u00F6\"o has not been found"}}"#,
        ),
        (
            &|s| error_fmt(s, "GenericError", 'x', None),
            r#"{"error":{"class":"GenericError","desc":"x"}}"#,
        ),
    ];
    for (i, (f, expected)) in cases.iter().enumerate() {
        assert_eq!(enc(f), *expected, "case {i}");
    }
}

#[test]
fn events() {
    #[derive(Serialize)]
    struct Shutdown {
        guest: bool,
        reason: &'static str,
    }
    let at = Timestamp {
        seconds: 1_755_977_653,
        microseconds: 248_749,
    };
    let cases: &[Case<'_>] = &[
        (
            &|s| event(s, "RESUME", (), at),
            r#"{"timestamp":{"seconds":1755977653,"microseconds":248749},"event":"RESUME"}"#,
        ),
        (
            &|s| {
                let data = Shutdown {
                    guest: true,
                    reason: "guest-shutdown",
                };
                event(s, "SHUTDOWN", Ser(data), at)
            },
            r#"{"timestamp":{"seconds":1755977653,"microseconds":248749},"event":"SHUTDOWN","data":{"guest":true,"reason":"guest-shutdown"}}"#,
        ),
        (
            &|s| event(s, "STOP", None::<Ser<u8>>, UNKNOWN),
            r#"{"timestamp":{"seconds":-1,"microseconds":-1},"event":"STOP"}"#,
        ),
        (
            &|s| {
                event(
                    s,
                    json_str(r#""DEVICE_DELETED""#),
                    raw("{\"path\": \"/machine/peripheral/d\u{e9}v\"}"),
                    Timestamp {
                        seconds: 0,
                        microseconds: 0,
                    },
                )
            },
            r#"{"timestamp":{"seconds":0,"microseconds":0},"event":"DEVICE_DELETED","data":{"path":"/machine/peripheral/d\u00E9v"}}"#,
        ),
    ];
    for (i, (f, expected)) in cases.iter().enumerate() {
        assert_eq!(enc(f), *expected, "case {i}");
    }
}

#[test]
fn greetings() {
    let modern = Version::new(10, 0, 2).with_package(JsonStr::from_text("v10.0.0-530-g88d6459dae"));
    let cases: &[Case<'_>] = &[
        (
            &|s| greeting(s, Some(modern), Ser(["oob"])),
            r#"{"QMP":{"version":{"qemu":{"micro":2,"minor":0,"major":10},"package":"v10.0.0-530-g88d6459dae"},"capabilities":["oob"]}}"#,
        ),
        (
            &|s| greeting(s, Some(Version::new(0, 13, 50)), Ser([""; 0])),
            r#"{"QMP":{"version":{"qemu":{"micro":50,"minor":13,"major":0},"package":""},"capabilities":[]}}"#,
        ),
        (
            &|s| {
                let distro = Version {
                    package: Some(json_str(r#""Debian 1:8.2+dfsg-1 \u00e9""#)),
                    ..modern
                };
                greeting(s, Some(distro), Ser(["oob", "x-é"]))
            },
            r#"{"QMP":{"version":{"qemu":{"micro":2,"minor":0,"major":10},"package":"Debian 1:8.2+dfsg-1 \u00e9"},"capabilities":["oob","x-\u00E9"]}}"#,
        ),
        (
            &|s| greeting(s, Some(modern), raw("[ \"oob\" ]")),
            r#"{"QMP":{"version":{"qemu":{"micro":2,"minor":0,"major":10},"package":"v10.0.0-530-g88d6459dae"},"capabilities":["oob"]}}"#,
        ),
        // QEMU 0.12: `qemu` is a string.
        (
            &|s| {
                let version = Version {
                    qemu: QemuVersion::Text(json_str(r#""0.12.50""#)),
                    package: Some(JsonStr::EMPTY),
                };
                greeting(s, Some(version), raw("[]"))
            },
            r#"{"QMP":{"version":{"qemu":"0.12.50","package":""},"capabilities":[]}}"#,
        ),
        // The 0.12 development form: no version at all.
        (
            &|s| greeting(s, None, Ser([""; 0])),
            r#"{"QMP":{"capabilities":[]}}"#,
        ),
        (
            &|s| {
                let version = Version {
                    package: None,
                    ..modern
                };
                greeting(s, Some(version), Ser(["oob"]))
            },
            r#"{"QMP":{"version":{"qemu":{"micro":2,"minor":0,"major":10}},"capabilities":["oob"]}}"#,
        ),
    ];
    for (i, (f, expected)) in cases.iter().enumerate() {
        assert_eq!(enc(f), *expected, "case {i}");
    }
    let mut buf = [0u8; 256];
    for bad in [raw("{}"), raw("null"), raw("\"oob\""), raw("1")] {
        let mut sink = SliceSink::new(&mut buf);
        assert_eq!(
            greeting(&mut sink, Some(modern), bad),
            Err(EncodeError::NotAnArray),
            "{bad}"
        );
    }
    let mut sink = SliceSink::new(&mut buf);
    assert_eq!(greeting(&mut sink, None, ()), Err(EncodeError::NotAnArray));
    assert_eq!(
        greeting(&mut SliceSink::new(&mut buf), None, EmptyObject),
        Err(EncodeError::NotAnArray)
    );
}

#[test]
fn encoded_messages_parse_back_to_the_same_values() {
    let args = raw("{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null, \"d\": \"ü😀\"}}");
    let mut buf = [0u8; 256];
    let mut sink = SliceSink::new(&mut buf);
    command(&mut sink, "x", args, Some(Id::Raw(raw("\"ß\"")))).unwrap();
    let out: Value = serde_json::from_slice(sink.written()).unwrap();
    assert_eq!(out["execute"], "x");
    assert_eq!(
        out["arguments"],
        serde_json::from_slice::<Value>(args.as_bytes()).unwrap()
    );
    assert_eq!(out["id"], "ß");
}

#[test]
fn optional_object_members_refuse_non_objects_before_writing_the_key() {
    let cases: &[Case<'_>] = &[
        (&|s| command(s, "x", raw("[1]"), None), r#"{"execute":"x""#),
        (
            &|s| command(s, "x", raw("\"s\""), None),
            r#"{"execute":"x""#,
        ),
        (&|s| command(s, "x", raw("0"), None), r#"{"execute":"x""#),
        (&|s| command(s, "x", raw("true"), None), r#"{"execute":"x""#),
        (&|s| command(s, "x", Ser([1, 2]), None), r#"{"execute":"x""#),
        (&|s| command(s, "x", Ser("args"), None), r#"{"execute":"x""#),
        (
            &|s| command(s, "x", Ser(Some(5)), None),
            r#"{"execute":"x""#,
        ),
        (
            &|s| command(s, "x", Text::Str("x"), None),
            r#"{"execute":"x""#,
        ),
        (
            &|s| command_oob(s, "x", Ser(1.5), None),
            r#"{"exec-oob":"x""#,
        ),
        (
            &|s| event(s, "E", Ser(false), UNKNOWN),
            r#"{"timestamp":{"seconds":-1,"microseconds":-1},"event":"E""#,
        ),
    ];
    for (i, (f, written)) in cases.iter().enumerate() {
        let mut buf = [0u8; 256];
        let mut sink = SliceSink::new(&mut buf);
        assert_eq!(f(&mut sink), Err(EncodeError::NotAnObject), "case {i}");
        assert_eq!(show(sink.written()), *written, "case {i}");
    }
}

#[test]
fn resync_writes_one_0xff_byte() {
    let mut buf = [0u8; 4];
    let mut sink = SliceSink::new(&mut buf);
    resync(&mut sink).unwrap();
    assert_eq!(sink.written(), &[0xFF]);
    let mut empty = [0u8; 0];
    assert_eq!(resync(&mut SliceSink::new(&mut empty)), Err(BufferFull));
}

#[test]
fn a_line_ending_is_the_callers_choice() {
    let mut buf = [0u8; 64];
    let mut sink = SliceSink::new(&mut buf);
    command(&mut sink, "stop", (), None).unwrap();
    sink.write(b"\r\n").unwrap();
    command(&mut sink, "cont", (), None).unwrap();
    assert_eq!(
        sink.written(),
        b"{\"execute\":\"stop\"}\r\n{\"execute\":\"cont\"}"
    );
}

// ---------------------------------------------------------------------------------------
// Raw passthrough

#[test]
fn raw_passthrough_compacts_and_escapes_to_ascii() {
    let pretty = "{\r\n    \"return\": {\r\n        \"name\" : \"caf\u{e9} \u{1F600}\",\n\
                  \t\"spaces in string\": \"a  b\\t\",\n        \"quote\": \"x\\\"y\\\\\",\n\
                  \"keep\": \"\\u00e9\\/\\n\",\n        \"del\": \"\u{7f}\",\n\
                  \"list\": [ 1 , -2.5e+3 , true , false , null , [ ] , { } ]\n    }\n}\r\n";
    let input = raw(pretty);
    let out = enc(|s| value(s, input));
    assert_eq!(
        out,
        r#"{"return":{"name":"caf\u00E9 \uD83D\uDE00","spaces in string":"a  b\t","quote":"x\"y\\","keep":"\u00e9\/\n","del":"\u007F","list":[1,-2.5e+3,true,false,null,[],{}]}}"#
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::from_str::<Value>(pretty).unwrap()
    );
    for scalar in ["0", "-1.5E-7", "true", "null", "\"\"", "\"\u{10ffff}\""] {
        let out = enc(|s| value(s, raw(scalar)));
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            serde_json::from_str::<Value>(scalar).unwrap()
        );
    }
}

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::from(rng.next() as i64 >> rng.below(64)),
        3 => {
            let f = f64::from_bits(rng.next());
            if f.is_finite() {
                Value::from(f)
            } else {
                Value::from(rng.next() >> rng.below(64))
            }
        }
        4 => Value::String(rng.string()),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| (rng.string(), random_value(rng, depth - 1)))
                .collect(),
        ),
    }
}

#[test]
fn random_values_pass_through_raw_and_serde_unchanged() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let mut buf = [0u8; 8192];
    for _ in 0..3000 {
        let v = random_value(&mut rng, 4);
        for text in [
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string_pretty(&v).unwrap(),
        ] {
            let mut sink = SliceSink::new(&mut buf);
            value(&mut sink, raw(&text)).unwrap();
            let out = sink.written();
            assert!(out.is_ascii() && !out.contains(&b'\n'));
            // Compared with serde_json's reading of the same digits: its default float
            // parser may be off by one ulp.
            let expected: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                serde_json::from_slice::<Value>(out).unwrap(),
                expected,
                "{text}"
            );
        }
        let n = to_slice(&v, &mut buf).unwrap();
        let out = &buf[..n];
        check_compact_ascii(out);
        let expected: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(out).unwrap(), expected);
    }
}

// ---------------------------------------------------------------------------------------
// serde

#[derive(Serialize, Clone, Copy)]
struct UnitStruct;

#[derive(Serialize)]
struct Newtype(u16);

#[derive(Serialize)]
struct TupleStruct(i8, &'static str);

#[derive(Serialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    UnitVariant,
    Newtype(u8),
    Tuple(u8, bool),
    Struct { a: u8, b: Option<u8> },
}

struct Bytes(&'static [u8]);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

#[derive(Serialize)]
struct All {
    t: bool,
    f: bool,
    i8: i8,
    i16: i16,
    i32: i32,
    i64: i64,
    i128: i128,
    u8: u8,
    u16: u16,
    u32: u32,
    u64: u64,
    u128: u128,
    f32: f32,
    f64: f64,
    float_int: f64,
    ch: char,
    s: &'static str,
    bytes: Bytes,
    none: Option<u8>,
    some: Option<u8>,
    unit: (),
    unit_struct: UnitStruct,
    newtype: Newtype,
    tuple: (u8, &'static str, [bool; 0]),
    tuple_struct: TupleStruct,
    seq: &'static [u32],
    map: BTreeMap<&'static str, i32>,
    int_keys: BTreeMap<i64, u8>,
    variants: [Kind; 4],
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    #[serde(rename = "renamed-field")]
    renamed: u8,
}

fn all() -> All {
    All {
        t: true,
        f: false,
        i8: i8::MIN,
        i16: i16::MIN,
        i32: i32::MIN,
        i64: i64::MIN,
        i128: -5,
        u8: u8::MAX,
        u16: u16::MAX,
        u32: u32::MAX,
        u64: u64::MAX,
        u128: 6,
        f32: 0.15625,
        f64: -0.1,
        float_int: 3.0,
        ch: 'c',
        s: "tab\there \"q\" \\ /",
        bytes: Bytes(&[0, 1, 255]),
        none: None,
        some: Some(0),
        unit: (),
        unit_struct: UnitStruct,
        newtype: Newtype(9),
        tuple: (1, "two", []),
        tuple_struct: TupleStruct(-1, "x"),
        seq: &[],
        map: [("b", 2), ("a", -1)].into_iter().collect(),
        int_keys: [(-1, 1), (10, 2)].into_iter().collect(),
        variants: [
            Kind::UnitVariant,
            Kind::Newtype(1),
            Kind::Tuple(2, true),
            Kind::Struct { a: 3, b: None },
        ],
        skipped: None,
        renamed: 4,
    }
}

const ALL: &str = concat!(
    r#"{"t":true,"f":false,"i8":-128,"i16":-32768,"i32":-2147483648,"#,
    r#""i64":-9223372036854775808,"i128":-5,"u8":255,"u16":65535,"u32":4294967295,"#,
    r#""u64":18446744073709551615,"u128":6,"f32":0.15625,"f64":-0.1,"float_int":3.0,"#,
    r#""ch":"c","s":"tab\there \"q\" \\ /","bytes":[0,1,255],"none":null,"some":0,"#,
    r#""unit":null,"unit_struct":null,"newtype":9,"tuple":[1,"two",[]],"#,
    r#""tuple_struct":[-1,"x"],"seq":[],"map":{"a":-1,"b":2},"int_keys":{"-1":1,"10":2},"#,
    r#""variants":["unit-variant",{"newtype":1},{"tuple":[2,true]},{"struct":{"a":3,"b":null}}],"#,
    r#""renamed-field":4}"#,
);

#[test]
fn serde_data_model_as_serde_json_writes_it() {
    let value = all();
    let out = enc(|s| super::value(s, Ser(&value)));
    assert_eq!(out, ALL);
    // ASCII-only content: byte-identical to serde_json, and the same value.
    assert_eq!(out, serde_json::to_string(&value).unwrap());
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::to_value(&value).unwrap()
    );
}

#[test]
fn non_ascii_serde_values_equal_serde_json_values() {
    #[derive(Serialize)]
    struct Texts {
        chars: [char; 4],
        strings: BTreeMap<String, String>,
    }
    let value = Texts {
        chars: ['\0', '\u{7f}', 'é', '😀'],
        strings: [("ключ".to_string(), "значение\u{1}".to_string())]
            .into_iter()
            .collect(),
    };
    let out = enc(|s| super::value(s, Ser(&value)));
    assert_eq!(
        out,
        r#"{"chars":["\u0000","\u007F","\u00E9","\uD83D\uDE00"],"strings":{"\u043A\u043B\u044E\u0447":"\u0437\u043D\u0430\u0447\u0435\u043D\u0438\u0435\u0001"}}"#
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::to_value(&value).unwrap()
    );
}

#[test]
fn integers_cover_128_bits() {
    let cases: &[(i128, &str)] = &[
        (0, "0"),
        (-1, "-1"),
        (i128::from(i64::MIN) - 1, "-9223372036854775809"),
        (i128::from(u64::MAX) + 1, "18446744073709551616"),
        (i128::MIN, "-170141183460469231731687303715884105728"),
        (i128::MAX, "170141183460469231731687303715884105727"),
    ];
    for &(v, expected) in cases {
        assert_eq!(enc(|s| value(s, Ser(v))), expected);
        assert_eq!(enc(|s| value(s, Ser([v]))), format!("[{expected}]"));
    }
    assert_eq!(
        enc(|s| value(s, Ser(u128::MAX))),
        "340282366920938463463374607431768211455"
    );
    for v in [0u64, 9, 10, 99, 100, u64::from(u32::MAX), u64::MAX] {
        assert_eq!(enc(|s| value(s, Ser(v))), v.to_string());
        assert_eq!(
            enc(|s| success(s, (), Some(Id::U64(v)))),
            format!("{{\"return\":null,\"id\":{v}}}")
        );
    }
}

#[test]
fn floats_use_shortest_round_trip_digits_as_serde_json() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (-1.0, "-1.0"),
        (0.1, "0.1"),
        (1.5, "1.5"),
        (0.42, "0.42"),
        (-32.12313, "-32.12313"),
        (1e15, "1000000000000000.0"),
        (9007199254740993.0, "9007199254740992.0"),
        (1e16, "1e+16"),
        (1.8446744073709552e19, "1.8446744073709552e+19"),
        (1e300, "1e+300"),
        (1e-5, "0.00001"),
        (1.2345e-5, "0.000012345"),
        (1e-6, "1e-6"),
        (-3.22e-9, "-3.22e-9"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
    ];
    for &(v, expected) in cases {
        assert_eq!(enc(|s| value(s, Ser(v))), expected, "{v:e}");
        assert_eq!(serde_json::to_string(&v).unwrap(), expected);
    }
    let cases32: &[(f32, &str)] = &[
        (0.1, "0.1"),
        (1.0, "1.0"),
        (16777216.0, "16777216.0"),
        (9.999999e12, "9999999000000.0"),
        (1e13, "1e+13"),
        (1e16, "1e+16"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (f32::MAX, "3.4028235e+38"),
        (1e-45, "1e-45"),
    ];
    for &(v, expected) in cases32 {
        assert_eq!(enc(|s| value(s, Ser(v))), expected, "{v:e}");
        assert_eq!(serde_json::to_string(&v).unwrap(), expected);
    }
}

/// Our text for a float against serde_json's: identical, except where the value lies
/// exactly halfway between the two nearest shortest candidates (f32 1551971.25: core's
/// formatter rounds the tie up to "1551971.3", serde_json's to even, "1551971.2"). Then
/// both have the same length and layout and read back as the same value.
fn same_as_serde_json<F: core::str::FromStr + PartialEq + core::fmt::Debug>(
    ours: &str,
    theirs: &str,
) {
    if ours == theirs {
        return;
    }
    assert_eq!(ours.len(), theirs.len(), "{ours} vs {theirs}");
    assert!(
        ours.bytes()
            .zip(theirs.bytes())
            .all(|(a, b)| a == b || (a.is_ascii_digit() && b.is_ascii_digit())),
        "{ours} vs {theirs}"
    );
    assert_eq!(ours.parse::<F>().ok(), theirs.parse::<F>().ok());
}

#[test]
fn random_floats_match_serde_json_and_round_trip() {
    let mut rng = Rng(0xF10A_7F10_A7F1_0A7F);
    let mut buf = [0u8; 64];
    for i in 0..200_000u32 {
        // Every other value from a narrow exponent range, to cover the decimal layout.
        let bits = rng.next();
        let bits = if i % 2 == 0 {
            bits
        } else {
            (bits & 0x800F_FFFF_FFFF_FFFF) | ((1023 - 24 + rng.below(80)) << 52)
        };
        let v = f64::from_bits(bits);
        if !v.is_finite() {
            assert_eq!(to_slice(&v, &mut buf), Err(EncodeError::NonFiniteFloat));
            continue;
        }
        let n = to_slice(&v, &mut buf).unwrap();
        let out = show(&buf[..n]);
        same_as_serde_json::<f64>(&out, &serde_json::to_string(&v).unwrap());
        // serde_json's default float parser may be off by one ulp: use core's.
        assert_eq!(out.parse::<f64>().unwrap().to_bits(), bits, "{out}");
        let v32 = if i % 2 == 0 {
            f32::from_bits(bits as u32)
        } else {
            v as f32
        };
        if v32.is_finite() {
            let n = to_slice(&v32, &mut buf).unwrap();
            let out = show(&buf[..n]);
            same_as_serde_json::<f32>(&out, &serde_json::to_string(&v32).unwrap());
            assert_eq!(
                out.parse::<f32>().unwrap().to_bits(),
                v32.to_bits(),
                "{out}"
            );
        }
    }
}

#[test]
fn non_finite_floats_are_errors() {
    #[derive(Serialize)]
    struct Reading {
        ok: f64,
        bad: f64,
    }
    let mut buf = [0u8; 64];
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN] {
        assert_eq!(to_slice(&v, &mut buf), Err(EncodeError::NonFiniteFloat));
        assert_eq!(
            to_slice(&[1.0, v], &mut buf),
            Err(EncodeError::NonFiniteFloat)
        );
        let reading = Reading { ok: 1.0, bad: v };
        let mut sink = SliceSink::new(&mut buf);
        assert_eq!(
            command(&mut sink, "x", Ser(&reading), None),
            Err(EncodeError::NonFiniteFloat)
        );
    }
    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(to_slice(&v, &mut buf), Err(EncodeError::NonFiniteFloat));
    }
}

#[test]
fn map_keys() {
    let cases: &[Case<'_>] = &[
        (
            &|s| value(s, Ser(BTreeMap::from([(true, 1), (false, 0)]))),
            r#"{"false":0,"true":1}"#,
        ),
        (
            &|s| value(s, Ser(BTreeMap::from([('é', 1)]))),
            r#"{"\u00E9":1}"#,
        ),
        (
            &|s| value(s, Ser(BTreeMap::from([(i128::MIN, 1), (0, 2)]))),
            r#"{"-170141183460469231731687303715884105728":1,"0":2}"#,
        ),
        (
            &|s| value(s, Ser(BTreeMap::from([(u128::MAX, 1)]))),
            r#"{"340282366920938463463374607431768211455":1}"#,
        ),
        (
            &|s| value(s, Ser(BTreeMap::from([(u8::MAX, 1)]))),
            r#"{"255":1}"#,
        ),
        (
            &|s| value(s, Ser(BTreeMap::from([(Kind::UnitVariant, 1)]))),
            r#"{"unit-variant":1}"#,
        ),
        (
            &|s| {
                #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
                struct Name(&'static str);
                value(s, Ser(BTreeMap::from([(Name("n"), ())])))
            },
            r#"{"n":null}"#,
        ),
        (
            &|s| {
                struct Display;
                impl core::fmt::Display for Display {
                    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str("d\u{e9}")?;
                        f.write_str("\"x")
                    }
                }
                struct Key;
                impl Serialize for Key {
                    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        s.collect_str(&Display)
                    }
                }
                value(s, Ser(Pairs(vec![(Key, Key)])))
            },
            r#"{"d\u00E9\"x":"d\u00E9\"x"}"#,
        ),
    ];
    for (i, (f, expected)) in cases.iter().enumerate() {
        assert_eq!(enc(f), *expected, "case {i}");
    }
    let mut buf = [0u8; 64];
    assert_eq!(
        to_slice(&BTreeMap::from([((1, 2), 0)]), &mut buf),
        Err(EncodeError::KeyMustBeString)
    );
    assert_eq!(
        to_slice(&BTreeMap::from([(Some(1), 0)]), &mut buf),
        Err(EncodeError::KeyMustBeString)
    );
    assert_eq!(
        to_slice(&BTreeMap::from([(Kind::Newtype(1), 0)]), &mut buf),
        Err(EncodeError::KeyMustBeString)
    );
    assert_eq!(
        to_slice(&Pairs(vec![(1.5, 0)]), &mut buf),
        Err(EncodeError::KeyMustBeString)
    );
    assert_eq!(
        to_slice(&Pairs(vec![((), 0)]), &mut buf),
        Err(EncodeError::KeyMustBeString)
    );
}

/// A map with any key type, in the given order.
struct Pairs<K, V>(Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for Pairs<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[test]
fn custom_errors_and_failing_display() {
    struct Refuses;
    impl Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("refused"))
        }
    }
    struct BadDisplay;
    impl core::fmt::Display for BadDisplay {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("partial")?;
            Err(core::fmt::Error)
        }
    }
    struct CollectsBad;
    impl Serialize for CollectsBad {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&BadDisplay)
        }
    }
    let mut buf = [0u8; 64];
    assert_eq!(to_slice(&Refuses, &mut buf), Err(EncodeError::Custom));
    assert_eq!(to_slice(&[Refuses], &mut buf), Err(EncodeError::Custom));
    assert_eq!(to_slice(&CollectsBad, &mut buf), Err(EncodeError::Custom));
    assert_eq!(
        to_slice(&Pairs(vec![(CollectsBad, 1)]), &mut buf),
        Err(EncodeError::Custom)
    );
    let mut sink = SliceSink::new(&mut buf);
    assert_eq!(
        command(&mut sink, "x", Ser(Refuses), None),
        Err(EncodeError::Custom)
    );
    // A Display that is fine but does not fit reports the sink's error.
    struct Long;
    impl Serialize for Long {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("{}", "x".repeat(100)))
        }
    }
    assert_eq!(
        to_slice(&Long, &mut buf),
        Err(EncodeError::Sink(BufferFull))
    );
    assert_eq!(enc(|s| value(s, Ser(Long))).len(), 102);
}

#[test]
fn serializer_and_slice_sink_api() {
    let mut buf = [0u8; 16];
    let mut sink = SliceSink::new(&mut buf);
    assert!(sink.is_empty());
    assert_eq!(sink.remaining(), 16);
    let mut ser = Serializer::new(&mut sink);
    ser.serialize_bool(true).unwrap();
    ser.into_inner().write(b",").unwrap();
    [1u8].serialize(&mut Serializer::new(&mut sink)).unwrap();
    assert_eq!(sink.len(), 8);
    assert_eq!(sink.written(), b"true,[1]");
    assert_eq!(sink.remaining(), 8);
    assert_eq!(to_slice("\u{0}", &mut buf), Ok(8));
    assert_eq!(&buf[..8], b"\"\\u0000\"");
}

#[test]
fn errors_display_and_chain() {
    use core::error::Error as _;
    let e: EncodeError<BufferFull> = EncodeError::Sink(BufferFull);
    assert_eq!(
        e.to_string(),
        "cannot write the encoded output: buffer full"
    );
    assert!(e.source().is_some());
    let e: EncodeError<BufferFull> = EncodeError::NotAnObject;
    assert!(e.source().is_none());
    for e in [
        EncodeError::<BufferFull>::NonFiniteFloat,
        EncodeError::KeyMustBeString,
        EncodeError::NotAnObject,
        EncodeError::Custom,
    ] {
        assert!(!e.to_string().is_empty());
    }
    let w: WriteError<embedded_io::ErrorKind> = WriteError::Io(embedded_io::ErrorKind::Other);
    assert!(w.source().is_some());
    assert_eq!(
        embedded_io::Error::kind(&WriteError::<embedded_io::ErrorKind>::WriteZero),
        embedded_io::ErrorKind::WriteZero
    );
    assert_eq!(
        WriteError::<embedded_io::ErrorKind>::WriteZero.to_string(),
        "the writer accepted no bytes"
    );
}

// ---------------------------------------------------------------------------------------
// Writers

/// Accepts at most `chunk` bytes per write into a fixed array; full is an error.
struct Chunky {
    buf: [u8; 1024],
    len: usize,
    chunk: usize,
}

impl Chunky {
    fn new(chunk: usize) -> Self {
        Self {
            buf: [0; 1024],
            len: 0,
            chunk,
        }
    }

    fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl embedded_io::ErrorType for Chunky {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Chunky {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(self.chunk).min(self.buf.len() - self.len);
        if n == 0 {
            return Err(embedded_io::ErrorKind::OutOfMemory);
        }
        self.buf[self.len..self.len + n].copy_from_slice(&buf[..n]);
        self.len += n;
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Breaks the `Write` contract: accepts nothing and says so with `Ok(0)`.
struct Zero;

impl embedded_io::ErrorType for Zero {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Zero {
    fn write(&mut self, _buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(0)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn writers_receive_the_same_bytes() {
    let value = all();
    for chunk in [1, 2, 3, 7, 512] {
        let mut w = Chunky::new(chunk);
        to_writer(&value, &mut w).unwrap();
        assert_eq!(show(w.written()), ALL);

        let mut w = Chunky::new(chunk);
        let mut sink = WriterSink::new(&mut w);
        command(&mut sink, "eject", Ser(&value.map), Some(Id::Str("é"))).unwrap();
        sink.write(b"\r\n").unwrap();
        sink.flush().unwrap();
        assert_eq!(
            show(w.written()),
            "{\"execute\":\"eject\",\"arguments\":{\"a\":-1,\"b\":2},\"id\":\"\\u00E9\"}\r\n"
        );
    }
    // `&mut [u8]` is an embedded-io writer too; its own error says when it is full.
    let mut buf = [0u8; 64];
    let mut slice: &mut [u8] = &mut buf;
    to_writer(&[1, 2, 3], &mut slice).unwrap();
    let left = slice.len();
    assert_eq!(&buf[..64 - left], b"[1,2,3]");
    let mut small = [0u8; 4];
    assert_eq!(
        to_writer(&[1, 2, 3], &mut small[..]),
        Err(EncodeError::Sink(WriteError::Io(
            embedded_io::SliceWriteError::Full
        )))
    );
    let mut w = Chunky::new(3);
    w.len = 1024 - 5;
    assert_eq!(
        to_writer(&"long string", &mut w),
        Err(EncodeError::Sink(WriteError::Io(
            embedded_io::ErrorKind::OutOfMemory
        )))
    );
    let mut sink = WriterSink::new(Zero);
    assert_eq!(
        command(&mut sink, "x", (), None),
        Err(EncodeError::Sink(WriteError::WriteZero))
    );
    let _: &mut Zero = sink.get_mut();
    let Zero = sink.into_inner();
}

#[test]
fn heapless_vec_is_a_sink() {
    let mut v = heapless::Vec::<u8, 20>::new();
    command(&mut v, "stop", (), None).unwrap();
    assert_eq!(&v[..], b"{\"execute\":\"stop\"}");
    assert_eq!(
        command(&mut v, "stop", (), None),
        Err(EncodeError::Sink(BufferFull))
    );
}

// ---------------------------------------------------------------------------------------
// The message model

fn encode_message<S: Sink + ?Sized>(
    sink: &mut S,
    message: &Message<'_>,
) -> Result<(), EncodeError<S::Error>> {
    super::message(sink, message)
}

#[test]
fn parsed_messages_encode_back_to_the_same_message() {
    let inputs = [
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 3}, \"package\": \"v3.0.0\"}, \"capabilities\": [\"oob\"]}}",
        "{\"QMP\": {\"version\": {\"qemu\": \"0.12.50\", \"package\": \"\"}, \"capabilities\": []}}",
        "{\"QMP\": {\"capabilities\": []}}",
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 50, \"minor\": 13, \"major\": 0}}, \"capabilities\": []}}",
        "{\"execute\": \"qmp_capabilities\"}",
        "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}, \"id\": {\"x\": [1, \"é\"]}}",
        "{\"exec-oob\": \"migrate-pause\", \"id\": \"oob-1\"}",
        "{\"id\": 1, \"arguments\": {}, \"execute\": \"qu\\u00e9ry\"}",
        "{\"return\": {}}",
        "{\"return\": \"Ünïcode\\r\\n\", \"id\": -1}",
        "{\"return\": [{\"name\": \"a\"}, 1.5e300, null], \"id\": \"libvirt-1\"}",
        "{\"id\": 3, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command foo has not been found\"}}",
        "{\"error\": {\"class\": \"JSONParsing\", \"desc\": \"Invalid JSON syntax\", \"data\": {}}}",
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}",
        "{\"timestamp\": {\"seconds\": 1755977653, \"microseconds\": 248749}, \"event\": \"RESUME\"}",
        "{\"timestamp\": {\"seconds\": -1, \"microseconds\": -1}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}",
        "{\r\n    \"event\": \"DEVICE_DELETED\",\r\n    \"data\": {\r\n        \"path\": \"/machine/peripheral/dév\"\r\n    },\r\n    \"timestamp\": {\"seconds\": 0, \"microseconds\": 1}\r\n}",
    ];
    for input in inputs {
        let parsed = Message::parse(raw(input)).unwrap();
        let out = enc(|s| encode_message(s, &parsed));
        let again = Message::parse(raw(&out)).unwrap();
        assert_eq!(
            core::mem::discriminant(&parsed),
            core::mem::discriminant(&again)
        );
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            serde_json::from_str::<Value>(input).unwrap(),
            "{input}"
        );
        // Re-encoding the re-parsed message changes nothing.
        assert_eq!(enc(|s| encode_message(s, &again)), out);
    }
}

/// Bytes that are not UTF-8 cannot come from validated JSON; if they reach the compactor
/// anyway, each bad sequence inside a string becomes one U+FFFD escape (as QEMU writes bad
/// UTF-8), and outside a string it is dropped.
#[test]
fn compactor_replaces_bytes_that_are_not_utf8() {
    for (input, expected) in [
        (&b"{\"a\": \"x\xFFy\"}"[..], r#"{"a":"x\uFFFDy"}"#),
        (b"[\"\xC3\", 1 \xFF]", r#"["\uFFFD",1]"#),
        (b"\"\xE2\x82", r#""\uFFFD"#),
        (
            b"\"\xE2\x82\xAC \xF0\x9F\x98\x80\"",
            r#""\u20AC \uD83D\uDE00""#,
        ),
    ] {
        let mut buf = [0u8; 64];
        let mut sink = SliceSink::new(&mut buf);
        write::raw(&mut sink, input).unwrap();
        assert_eq!(
            core::str::from_utf8(sink.written()).unwrap(),
            expected,
            "{input:?}"
        );
    }
}
