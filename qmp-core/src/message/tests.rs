//! Message vectors: real QEMU 10 bytes, historical forms and edge cases.

extern crate std;

use super::*;

fn parse(text: &str) -> Result<Message<'_>, MessageError> {
    match RawJson::parse(text.as_bytes()) {
        Ok(json) => Message::parse(json),
        Err(e) => panic!("{text:?}: {e}"),
    }
}

#[test]
fn greetings_of_every_era() {
    let modern = r#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"}, "capabilities": ["oob"]}}"#;
    let Ok(Message::Greeting(g)) = parse(modern) else {
        panic!("modern greeting")
    };
    let v = g.version.unwrap();
    assert_eq!(
        v.qemu,
        QemuVersion::Triple {
            major: 10,
            minor: 0,
            micro: 2
        }
    );
    assert!(v.package.unwrap() == "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1");
    assert!(g.offers("oob"));
    assert!(!g.offers("other"));

    let dev_0_12 = r#"{"QMP": {"capabilities": []}}"#;
    let Ok(Message::Greeting(g)) = parse(dev_0_12) else {
        panic!("0.12 development greeting")
    };
    assert_eq!(g.version, None);
    assert!(!g.offers("oob"));

    let v0_12 = r#"{"QMP": {"version": {"qemu": "0.12.50", "package": ""}, "capabilities": []}}"#;
    let Ok(Message::Greeting(g)) = parse(v0_12) else {
        panic!("0.12 greeting")
    };
    assert!(matches!(g.version.unwrap().qemu, QemuVersion::Text(t) if t == "0.12.50"));

    let v0_13 = r#"{"QMP": {"version": {"qemu": {"micro": 50, "minor": 13, "major": 0}, "package": ""}, "capabilities": []}}"#;
    assert!(matches!(parse(v0_13), Ok(Message::Greeting(_))));
}

#[test]
fn commands_in_all_forms() {
    let Ok(Message::Request(c)) = parse(r#"{"execute":"qmp_capabilities","id":1}"#) else {
        panic!()
    };
    assert!(c.name == "qmp_capabilities" && !c.oob && c.arguments.is_none());
    assert_eq!(c.id.unwrap().as_u64(), Some(1));

    let Ok(Message::Request(c)) = parse(
        r#"{"arguments": {"enable": ["oob"]}, "id": [1, {"a": null}], "execute": "qmp_capabilities"}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        c.arguments
            .unwrap()
            .get("enable")
            .unwrap()
            .elements()
            .count(),
        1
    );
    assert_eq!(c.id.unwrap().as_bytes(), br#"[1, {"a": null}]"#);

    let Ok(Message::Request(c)) = parse(r#"{"exec-oob": "migrate-pause", "id": "p"}"#) else {
        panic!()
    };
    assert!(c.oob && c.name == "migrate-pause");

    // QEMU 2.12's out-of-band form.
    let Ok(Message::Request(c)) =
        parse(r#"{"execute": "migrate-pause", "control": {"run-oob": true}, "id": 3}"#)
    else {
        panic!()
    };
    assert!(c.oob);
}

#[test]
fn replies_errors_and_events() {
    let Ok(Message::Return(r)) = parse(r#"{"return": {}, "id": 1}"#) else {
        panic!()
    };
    assert_eq!(r.value.as_bytes(), b"{}");
    let Ok(Message::Return(r)) = parse(r#"{"return": "kvm support: enabled\r\n"}"#) else {
        panic!()
    };
    assert!(r.value.as_json_str().unwrap() == "kvm support: enabled\r\n" && r.id.is_none());

    let Ok(Message::Error(e)) = parse(
        r#"{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(e.class, ErrorClass::CommandNotFound);
    assert!(e.id.is_none());
    // Pre-1.2 form: free class and a data object.
    let Ok(Message::Error(e)) =
        parse(r#"{"error": {"class": "JSONParsing", "desc": "Invalid JSON syntax", "data": {}}}"#)
    else {
        panic!()
    };
    assert!(matches!(e.class, ErrorClass::Other(c) if c == "JSONParsing"));
    assert_eq!(e.class.name(), "JSONParsing");
    assert_eq!(e.data.unwrap().as_bytes(), b"{}");

    let Ok(Message::Event(ev)) = parse(
        r#"{"timestamp": {"seconds": 1795639779, "microseconds": 510055}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#,
    ) else {
        panic!()
    };
    assert!(ev.name == "SHUTDOWN");
    assert_eq!(ev.timestamp.seconds, 1795639779);
    assert_eq!(
        ev.data
            .unwrap()
            .get("reason")
            .unwrap()
            .as_json_str()
            .unwrap(),
        "host-qmp-quit"
    );
    // No data, and a failed clock.
    let Ok(Message::Event(ev)) =
        parse(r#"{"event": "STOP", "timestamp": {"seconds": -1, "microseconds": -1}}"#)
    else {
        panic!()
    };
    assert_eq!(
        ev.timestamp,
        Timestamp {
            seconds: -1,
            microseconds: -1
        }
    );
    assert!(ev.data.is_none());
}

#[test]
fn an_error_reply_keeps_its_error_object_whole() {
    let text = r#"{"id": 3, "error": {"class": "GenericError", "desc": "no", "hint": [1]}}"#;
    let Ok(Message::Error(e)) = parse(text) else {
        panic!("not an error reply: {text}");
    };
    assert_eq!(
        e.object.as_bytes(),
        br#"{"class": "GenericError", "desc": "no", "hint": [1]}"#
    );
    assert_eq!(
        e.object.get("hint").map(|h| h.as_bytes()),
        Some(&b"[1]"[..])
    );
    // The same through a frame, whose outline places the object without a walk.
    let frame = Frame::parse(text.as_bytes()).unwrap();
    let Ok(Message::Error(f)) = Message::parse(frame) else {
        panic!("not an error reply through a frame: {text}");
    };
    assert_eq!(f.object.as_bytes(), e.object.as_bytes());
}

#[test]
fn timestamp_members_in_any_order_and_spelling() {
    let ts = |json: &str| match parse(json) {
        Ok(Message::Event(ev)) => Ok(ev.timestamp),
        Ok(other) => panic!("not an event: {other:?}"),
        Err(e) => Err(e.kind),
    };
    let expected = Timestamp {
        seconds: 5,
        microseconds: 7,
    };
    assert_eq!(
        ts(r#"{"event": "X", "timestamp": {"microseconds": 7, "seconds": 5}}"#),
        Ok(expected)
    );
    assert_eq!(
        ts(r#"{"event": "X", "timestamp": {"x": [], "seconds": 5, "y": {}, "microseconds": 7}}"#),
        Ok(expected)
    );
    // Escaped names are matched after unescaping.
    assert_eq!(
        ts(r#"{"event": "X", "timestamp": {"\u0073econds": 5, "micro\u0073econds": 7}}"#),
        Ok(expected)
    );
    // The first of a repeated member counts, as with `RawJson::get`.
    assert_eq!(
        ts(r#"{"event": "X", "timestamp": {"seconds": 5, "microseconds": 7, "seconds": 9}}"#),
        Ok(expected)
    );
    assert_eq!(
        ts(r#"{"event": "X", "timestamp": {"seconds": 5}}"#),
        Err(MessageErrorKind::MissingMember("microseconds"))
    );
    assert_eq!(
        ts(r#"{"event": "X", "timestamp": {"microseconds": 7, "second": 5}}"#),
        Err(MessageErrorKind::MissingMember("seconds"))
    );
}

#[test]
fn unknown_members_are_ignored_but_reachable() {
    let text = r#"{"__com.vendor_x": 1, "return": {}, "id": 2}"#;
    let json = RawJson::parse(text.as_bytes()).unwrap();
    assert!(matches!(Message::parse(json), Ok(Message::Return(_))));
    assert_eq!(json.get("__com.vendor_x").unwrap().as_u64(), Some(1));
}

#[test]
fn malformed_messages() {
    use MessageErrorKind::*;
    // What is wrong, where, and what the text holds there.
    let cases: &[(&str, MessageErrorKind, u64, &str)] = &[
        ("[]", NotAnObject, 0, "["),
        ("{}", Unrecognised, 0, "{"),
        (r#"{"foo": 1}"#, Unrecognised, 0, "{"),
        (r#"{"return": {}, "error": {}}"#, Ambiguous, 0, "{"),
        (
            r#"{"execute": "a", "exec-oob": "b"}"#,
            Ambiguous,
            29,
            r#""b""#,
        ),
        (
            r#"{"return": {}, "return": {}}"#,
            DuplicateMember("return"),
            25,
            "{}}",
        ),
        (
            r#"{"id": 1, "return": {}, "id": 2}"#,
            DuplicateMember("id"),
            30,
            "2}",
        ),
        (r#"{"execute": 1}"#, WrongType("execute"), 12, "1}"),
        (
            r#"{"execute": "x", "arguments": []}"#,
            WrongType("arguments"),
            30,
            "[]",
        ),
        (r#"{"error": "x"}"#, WrongType("error"), 10, r#""x""#),
        (
            r#"{"error": {"desc": "x"}}"#,
            MissingMember("class"),
            10,
            r#"{"desc""#,
        ),
        (
            r#"{"error": {"class": "x"}}"#,
            MissingMember("desc"),
            10,
            r#"{"class""#,
        ),
        (r#"{"event": "X"}"#, MissingMember("timestamp"), 0, "{"),
        (
            r#"{"event": "X", "timestamp": {"seconds": 1.5, "microseconds": 0}}"#,
            WrongType("seconds"),
            40,
            "1.5",
        ),
        (
            r#"{"event": "X", "data": [], "timestamp": {"seconds": 1, "microseconds": 0}}"#,
            WrongType("data"),
            23,
            "[]",
        ),
        (
            r#"{"QMP": {"version": {"qemu": 1}, "capabilities": []}}"#,
            WrongType("qemu"),
            29,
            "1}",
        ),
        (r#"{"QMP": {}}"#, MissingMember("capabilities"), 8, "{}"),
    ];
    for &(text, kind, offset, there) in cases {
        assert_eq!(parse(text), Err(MessageError { kind, offset }), "{text}");
        assert!(
            text[offset as usize..].starts_with(there),
            "{text}: {there}"
        );
    }
}

#[test]
fn message_errors_are_absolute_from_a_frame() {
    // Behind 40 bytes of earlier traffic, the offset counts from the stream's start.
    let stream = b"{\"return\": {}, \"id\": 1}\r\n{\"return\": {}}\r\n{\"event\": 1}\r\n";
    let mut framer = crate::frame::Framer::new([0u8; 64]);
    let mut errors = std::vec::Vec::new();
    framer.feed(stream, |item| {
        if let Ok(frame) = item {
            if let Err(e) = Message::parse(frame) {
                errors.push(e);
            }
        }
    });
    assert_eq!(
        errors,
        [MessageError {
            kind: MessageErrorKind::WrongType("event"),
            offset: 51,
        }]
    );
    assert_eq!(&stream[51..52], b"1");
    assert_eq!(
        std::format!("{}", errors[0]),
        "member 'event' has the wrong type at byte 51"
    );
}

#[test]
fn server_side_validation_matches_qemu() {
    fn refuse(text: &str, oob: bool) -> (String, Option<String>) {
        let json = RawJson::parse(text.as_bytes()).unwrap();
        match parse_request(json, oob) {
            Ok(c) => panic!("{text} accepted as {c:?}"),
            Err(r) => (
                format!("{}", r.error),
                r.id.map(|id| id.as_text().to_string()),
            ),
        }
    }
    use std::format;
    use std::string::{String, ToString};
    let cases: &[(&str, bool, &str, Option<&str>)] = &[
        ("[1]", false, "QMP input must be a JSON object", None),
        ("\"x\"", false, "QMP input must be a JSON object", None),
        (
            r#"{"execute": 1, "id": 5}"#,
            false,
            "QMP input member 'execute' must be a string",
            Some("5"),
        ),
        (
            r#"{"id": 45}"#,
            false,
            "QMP input lacks member 'execute'",
            Some("45"),
        ),
        (
            r#"{"execute": "x", "extra-key": 1, "id": 44}"#,
            false,
            "QMP input member 'extra-key' is unexpected",
            Some("44"),
        ),
        (
            r#"{"exec-oob": "x", "id": "oob"}"#,
            false,
            "QMP input member 'exec-oob' is unexpected",
            Some("\"oob\""),
        ),
        // QEMU checks members in its hash table's order (exec-oob before execute), so
        // `execute` is the one that clashes, in either wire order (QEMU 10.0.2, live).
        (
            r#"{"exec-oob": "x", "execute": "y"}"#,
            true,
            "QMP input member 'execute' clashes with 'exec-oob'",
            None,
        ),
        (
            r#"{"execute": "y", "exec-oob": "x"}"#,
            true,
            "QMP input member 'execute' clashes with 'exec-oob'",
            None,
        ),
        // With several faults, the first member in QEMU's order wins, not the first
        // on the wire (all as QEMU 10.0.2 answers them).
        (
            r#"{"execute": 1, "foo": 1}"#,
            false,
            "QMP input member 'execute' must be a string",
            None,
        ),
        (
            r#"{"foo": 1, "execute": 1}"#,
            false,
            "QMP input member 'execute' must be a string",
            None,
        ),
        (
            r#"{"execute": "x", "arguments": [], "foo": 1}"#,
            false,
            "QMP input member 'arguments' must be an object",
            None,
        ),
        (
            r#"{"arguments": []}"#,
            false,
            "QMP input member 'arguments' must be an object",
            None,
        ),
        (
            r#"{"exec-oob": "x", "execute": 1}"#,
            true,
            "QMP input member 'execute' must be a string",
            None,
        ),
        (
            r#"{"extra": 1, "execute": 1}"#,
            false,
            "QMP input member 'extra' is unexpected",
            None,
        ),
        (
            r#"{"execute": "x", "arguments": 1}"#,
            false,
            "QMP input member 'arguments' must be an object",
            None,
        ),
        (
            r#"{"execute": "x", "control": {"run-oob": true}}"#,
            false,
            "QMP input member 'control' is unexpected",
            None,
        ),
    ];
    for &(text, oob, desc, id) in cases {
        let (got_desc, got_id) = refuse(text, oob);
        assert_eq!(got_desc, desc, "{text}");
        assert_eq!(got_id.as_deref(), id, "{text}");
    }
    let ok = RawJson::parse(br#"{"exec-oob": "yank", "id": 1, "arguments": {"instances": []}}"#)
        .unwrap();
    let c = parse_request(ok, true).unwrap();
    assert!(c.oob && c.name == "yank");
}

#[test]
fn refusals_say_where() {
    // The request, where the refusal points, and what the text holds there.
    let cases: &[(&str, u64, &str)] = &[
        ("[1]", 0, "[1]"),
        (r#"{"arguments": {}}"#, 0, "{"),
        (r#"{"execute": 1}"#, 12, "1}"),
        (r#"{"execute": "x", "foo": 1}"#, 17, r#""foo""#),
        (r#"{"execute":"a","arguments":[]}"#, 27, "[]"),
        // The clash is at `execute`, the exec key QEMU reaches second.
        (r#"{"execute": "a", "exec-oob": "b"}"#, 12, r#""a""#),
    ];
    for &(text, offset, there) in cases {
        let json = RawJson::parse(text.as_bytes()).unwrap();
        let refused = parse_request(json, true).unwrap_err();
        assert_eq!(refused.offset, offset, "{text}");
        assert!(text[offset as usize..].starts_with(there), "{text}");
    }
}
