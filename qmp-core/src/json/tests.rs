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
    // Around the 18 digits that accumulate unchecked, and 19- and 20-digit overflows.
    assert_eq!(
        v("999999999999999999").as_i64(),
        Some(999_999_999_999_999_999)
    );
    assert_eq!(
        v("-999999999999999999").as_i64(),
        Some(-999_999_999_999_999_999)
    );
    assert_eq!(
        v("1000000000000000000").as_i64(),
        Some(1_000_000_000_000_000_000)
    );
    assert_eq!(v("9999999999999999999").as_i64(), None);
    assert_eq!(v("-9999999999999999999").as_i64(), None);
    assert_eq!(v("99999999999999999999").as_i64(), None);
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

/// Member lookup compares names decoded, like `==`: a name byte-equal to an escaped key
/// on the wire is not that key (found by the `shell_syntax` fuzz target).
#[test]
fn member_lookup_decides_by_decoded_name() {
    let obj = v(r#"{"\\": 1, "\\\\": 2, "a\nb": 3, "\u0069d": 4}"#);
    // `"\\"` on the wire is one backslash; `"\\\\"` is two.
    assert_eq!(obj.get("\\").and_then(|x| x.as_u64()), Some(1));
    assert_eq!(obj.get("\\\\").and_then(|x| x.as_u64()), Some(2));
    assert_eq!(obj.get("a\nb").and_then(|x| x.as_u64()), Some(3));
    assert!(obj.get("a\\nb").is_none());
    assert_eq!(obj.get("id").and_then(|x| x.as_u64()), Some(4));
    assert!(obj.get("\\u0069d").is_none());
    let [two, one, id] = obj.get_all(["\\\\", "\\", "id"]);
    assert_eq!(two.and_then(|x| x.as_u64()), Some(2));
    assert_eq!(one.and_then(|x| x.as_u64()), Some(1));
    assert_eq!(id.and_then(|x| x.as_u64()), Some(4));
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

/// `finite_as_f64` agrees with the float parser on the edges of `f64`'s range.
#[test]
fn finite_as_f64_edges() {
    let halfway = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
    let below = halfway.replace("97792", "97791");
    let cases: &[&str] = &[
        "0", "-0", "0.0", "0e999999999999", "1e-400", "-1e-99999999999999999999", "1.5",
        "1e308", "9.99e308", "1e309", "-1e309", "1.7976931348623157e308",
        "1.7976931348623158e308", "1.797693134862315807937289714053e308",
        "1.797693134862315807937289714054e308", "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.99999",
        halfway, &below, "0.000179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792e312",
        "0.5e309", "0.1e310", "0.17976931348623158e309", "10e308", "1e+308", "1E308",
        "123456789e300", "0.0000001e315", "1e99999999999999999999999",
    ];
    for case in cases {
        assert!(RawJson::parse(case.as_bytes()).is_ok(), "{case} is JSON");
        let want = case.parse::<f64>().unwrap().is_finite();
        assert_eq!(finite_as_f64(case.as_bytes()), want, "{case}");
    }
}

proptest::proptest! {
    /// Numbers a few digits away from the halfway point: the same answer as parsing.
    #[test]
    fn finite_as_f64_near_the_edge(
        keep in 0usize..309,
        tail in "[0-9]{0,12}",
        shift in -2i32..3,
    ) {
        let halfway = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
        // 0.DIGITS × 10^(309 + shift)
        let text = std::format!("0.{}{}e{}", &halfway[..keep], tail, 309 + shift);
        let want = text.parse::<f64>().unwrap().is_finite();
        proptest::prop_assert_eq!(finite_as_f64(text.as_bytes()), want, "{}", text);
    }

    /// Any JSON number: the same answer as parsing it.
    #[test]
    fn finite_as_f64_matches_parsing(
        negative in proptest::bool::ANY,
        integer in "(0|[1-9][0-9]{0,320})",
        fraction in proptest::option::of("[0-9]{1,40}"),
        exponent in proptest::option::of(-400i32..400),
    ) {
        let mut text = std::string::String::new();
        if negative { text.push('-'); }
        text.push_str(&integer);
        if let Some(f) = &fraction { text.push('.'); text.push_str(f); }
        if let Some(e) = exponent { text.push_str(&std::format!("e{e}")); }
        let want = text.parse::<f64>().unwrap().is_finite();
        proptest::prop_assert_eq!(finite_as_f64(text.as_bytes()), want, "{}", text);
    }
}
