//! Vectors for the JSON views.

use super::*;

fn v(text: &str) -> RawJson<'_> {
    match RawJson::parse(text.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

#[test]
fn kinds_and_scalars() {
    assert_eq!(v(" {} ").kind(), Kind::Object);
    assert_eq!(v("[]").kind(), Kind::Array);
    assert_eq!(v("\"\"").kind(), Kind::String);
    assert_eq!(v("-1").kind(), Kind::Number);
    assert_eq!(v("true").as_bool(), Some(true));
    assert_eq!(v("false").as_bool(), Some(false));
    assert!(v("null").is_null());
    assert_eq!(v("null").as_bool(), None);
    assert_eq!(v(" 1 ").as_bytes(), b"1");
}

#[test]
fn integers_cover_the_full_i64_and_u64_ranges() {
    assert_eq!(v("-9223372036854775808").as_i64(), Some(i64::MIN));
    assert_eq!(v("9223372036854775807").as_i64(), Some(i64::MAX));
    assert_eq!(v("9223372036854775808").as_i64(), None);
    assert_eq!(v("-9223372036854775809").as_i64(), None);
    assert_eq!(v("18446744073709551615").as_u64(), Some(u64::MAX));
    assert_eq!(v("18446744073709551616").as_u64(), None);
    assert_eq!(v("-1").as_u64(), None);
    assert_eq!(v("-1").as_i64(), Some(-1));
    assert_eq!(v("-0").as_u64(), Some(0));
    assert_eq!(v("-0").as_i64(), Some(0));
    assert_eq!(v("1.0").as_i64(), None);
    assert_eq!(v("1e3").as_u64(), None);
    assert_eq!(v("\"1\"").as_u64(), None);
}

#[test]
fn doubles_as_qemu_prints_them() {
    assert_eq!(v("0.41999999999999998").as_f64(), Some(0.42));
    assert_eq!(v("-32.123130000000003").as_f64(), Some(-32.12313));
    assert_eq!(v("-3.22e-09").as_f64(), Some(-3.22e-9));
    assert_eq!(
        v("1.8446744073709552e+19").as_f64(),
        Some(1.8446744073709552e19)
    );
    assert_eq!(v("7").as_f64(), Some(7.0));
    assert_eq!(v("1e400").as_f64(), None);
    assert_eq!(v("true").as_f64(), None);
}

#[test]
fn members_in_wire_order_with_nesting() {
    let obj = v(
        r#"{"id": [1, {"a": "}"}], "error": {"class": "GenericError", "desc": "x\"]"}, "k\u0065y": 3}"#,
    );
    let names: [&str; 3] = ["id", "error", "k\\u0065y"];
    let mut n = 0;
    for (i, (k, _)) in obj.members().enumerate() {
        assert_eq!(k.raw(), names[i]);
        n += 1;
    }
    assert_eq!(n, 3);
    let err = obj.get("error").unwrap();
    assert_eq!(
        err.get("class").unwrap().as_json_str().unwrap(),
        "GenericError"
    );
    assert_eq!(err.get("desc").unwrap().as_bytes(), br#""x\"]""#);
    assert_eq!(obj.get("key").and_then(|k| k.as_u64()), Some(3));
    assert!(obj.get("missing").is_none());
    let id = obj.get("id").unwrap();
    let mut elems = id.elements();
    assert_eq!(elems.next().unwrap().as_u64(), Some(1));
    assert_eq!(
        elems
            .next()
            .unwrap()
            .get("a")
            .unwrap()
            .as_json_str()
            .unwrap(),
        "}"
    );
    assert!(elems.next().is_none());
    assert_eq!(v("{}").members().count(), 0);
    assert_eq!(v("[]").elements().count(), 0);
    assert_eq!(v("[1]").members().count(), 0);
    assert_eq!(v("{\"a\":1}").elements().count(), 0);
}

#[test]
fn pretty_printed_values_walk_the_same() {
    let obj = v("{\r\n    \"return\": [\r\n        1,\r\n        {\r\n        }\r\n    ],\r\n    \"id\" : 2\r\n}");
    assert_eq!(obj.get("return").unwrap().elements().count(), 2);
    assert_eq!(obj.get("id").unwrap().as_u64(), Some(2));
}

#[test]
fn strings_unescape() {
    let s = v(r#""a\"\\\/\b\f\n\r\t\u00e9\u00E9\uD83D\uDE00z""#);
    let s = s.as_json_str().unwrap();
    assert!(s.has_escapes());
    assert_eq!(s.as_str(), None);
    let expected = "a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{e9}\u{1f600}z";
    assert!(s == expected);
    assert!(s != "a");
    assert_eq!(s.unescaped_len(), expected.len());
    let mut buf = [0u8; 64];
    assert_eq!(s.unescape_into(&mut buf), Ok(expected));
    let mut small = [0u8; 4];
    assert_eq!(
        s.unescape_into(&mut small),
        Err(BufferTooSmall {
            needed: expected.len()
        })
    );
    let plain = v("\"plain\"");
    assert_eq!(plain.as_json_str().unwrap().as_str(), Some("plain"));
    assert!(plain.as_json_str().unwrap() == "plain");
}

#[test]
fn string_comparison_decides_by_decoded_text() {
    fn s(json: &str) -> JsonStr<'_> {
        v(json).as_json_str().unwrap()
    }
    // Escaped text longer than the other side: decoded, then compared.
    assert!(s(r#""\u0069d""#) == "id");
    assert!(s(r#""\u0069d""#) != "ix");
    assert!(s(r#""\u0069d""#) != "i");
    // Byte-equal to the other side but escaped: the decoded text is shorter.
    assert!(s(r#""a\\b""#) != "a\\\\b");
    assert!(s(r#""a\\b""#) == "a\\b");
    assert!(s(r#""\n""#) != "\\n");
    // Not longer and not byte-equal.
    assert!(s(r#""ab""#) != "abc");
    assert!(s(r#""ab""#) != "ac");
    assert!(s(r#""""#) == "");
    assert!(s(r#""""#) != "a");
    // Non-ASCII, raw and escaped.
    assert!(s("\"caf\u{e9}\"") == "caf\u{e9}");
    assert!(s(r#""caf\u00e9""#) == "caf\u{e9}");
    assert!(s(r#""\uD83D\uDE00""#) == "\u{1f600}");
    assert!(s(r#""\uD83D\uDE00""#) != "\u{1f601}");
}

#[test]
fn decode_through_serde_json_core() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Status<'a> {
        status: &'a str,
        running: bool,
    }
    let ret = v(r#"{"return": {"status": "running", "running": true}, "id": 1}"#);
    let status: Status<'_> = ret.get("return").unwrap().decode().unwrap();
    assert_eq!(
        status,
        Status {
            status: "running",
            running: true
        }
    );
    assert!(ret.decode::<Status<'_>>().is_err());
}

#[test]
fn frames_convert_for_free() {
    let mut framer = crate::frame::Framer::new([0u8; 64]);
    let stop = b"{\"event\": \"STOP\"}\r\n";
    assert_eq!(framer.push(stop), stop.len());
    let frame = framer.next().unwrap().unwrap();
    let json = RawJson::from(frame);
    assert_eq!(json.get("event").unwrap().as_json_str().unwrap(), "STOP");
}
