//! The wasm-bindgen-test suite, run in Node (`tests/node.rs`) and in headless Chromium
//! (`tests/browser.rs`): the same tests in both.

use js_sys::{Array, JsString, Reflect};
use qmp_core::encode::EmptyObject;
use qmp_core::frame::Framer;
use qmp_core::json::RawJson;
use qmp_core::message::{Message, Timestamp, Version};
use qmp_core::schema::commands::QmpCapability;
use qmp_core::session::{handler_fn, Server};
use qmp_wasm::{encode_command, encode_line, outcome, record, Client, Decoder};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const UNIX_BASIC: &[u8] = include_bytes!("../../../testdata/captures/unix_basic.rx.bin");
const MON: &[u8] = include_bytes!("../../../testdata/captures/chardev_mon.rx.bin");
const MON_PRETTY: &[u8] = include_bytes!("../../../testdata/captures/chardev_mon_pretty.rx.bin");
const VNC: &[u8] = include_bytes!("../../../testdata/captures/vnc_events.rx.bin");

/// One decoded item, as the npm package's `Decoder` builds it.
#[derive(Debug, PartialEq)]
struct Item {
    kind: f64,
    /// The message's text; for faults, the error's `message`.
    text: String,
    name: Option<String>,
    id: Option<String>,
    payload: Option<String>,
    extra: (f64, f64),
    /// For faults: the error's name, offset and skipped bytes.
    fault: Option<(String, f64, f64)>,
}

fn slice(text: &JsString, records: &[f64], at: usize) -> Option<String> {
    let (start, end) = (records[at], records[at + 1]);
    (start >= 0.0).then(|| String::from(text.slice(start as u32, end as u32)))
}

fn prop(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

/// Drain the decoder's batch into items, reading text through JS string offsets
/// (UTF-16), as JS does.
fn take(decoder: &mut Decoder, out: &mut Vec<Item>) {
    let text = JsString::from(String::from_utf8(decoder.text().to_vec()).unwrap());
    let records = decoder.records().to_vec();
    let errors: Array = JsValue::from(decoder.take_errors()).unchecked_into();
    decoder.clear();
    for r in records.chunks(record::STRIDE) {
        let kind = r[record::KIND];
        if kind == record::KIND_FAULT {
            let error = &errors.get(r[record::OFFSET] as u32);
            let name = prop(error, "name").as_string().unwrap();
            let offset = prop(error, "offset").as_f64().unwrap();
            let skipped = prop(error, "skipped").as_f64().unwrap_or(-1.0);
            out.push(Item {
                kind,
                text: prop(error, "message").as_string().unwrap(),
                name: None,
                id: None,
                payload: None,
                extra: (-1.0, -1.0),
                fault: Some((name, offset, skipped)),
            });
            continue;
        }
        let extra = if kind == record::KIND_ERROR {
            (-2.0, -2.0)
        } else {
            (r[record::EXTRA], r[record::EXTRA + 1])
        };
        out.push(Item {
            kind,
            text: slice(&text, r, record::TEXT).unwrap(),
            name: slice(&text, r, record::NAME),
            id: slice(&text, r, record::ID),
            payload: slice(&text, r, record::PAYLOAD)
                .or_else(|| (kind == record::KIND_ERROR).then(String::new)),
            extra,
            fault: None,
        });
        if kind == record::KIND_ERROR {
            let desc = slice(&text, r, record::EXTRA).unwrap();
            out.last_mut()
                .unwrap()
                .payload
                .as_mut()
                .unwrap()
                .push_str(&desc);
        }
    }
}

fn decode(input: &[u8], chunks: impl Fn(usize) -> usize) -> Vec<Item> {
    let mut decoder = Decoder::new(None);
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks(i).clamp(1, rest.len());
        decoder.push(&rest[..n]);
        // Take the batch at irregular moments too: batches may hold any number of items.
        if i % 3 != 1 {
            take(&mut decoder, &mut out);
        }
        rest = &rest[n..];
        i += 1;
    }
    decoder.finish();
    take(&mut decoder, &mut out);
    out
}

/// A reproducible chunk size from a seed (xorshift).
fn random_chunks(seed: u64, max: usize) -> impl Fn(usize) -> usize {
    move |i| {
        let mut x = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        1 + (x % max as u64) as usize
    }
}

fn kinds(items: &[Item]) -> [usize; 6] {
    let mut counts = [0; 6];
    for item in items {
        counts[item.kind as usize] += 1;
    }
    counts
}

#[wasm_bindgen_test]
fn real_capture_decodes_the_same_in_any_chunking() {
    let whole = decode(UNIX_BASIC, |_| usize::MAX);
    // greeting, returns, errors, events, requests, faults: as the decode example counts.
    assert_eq!(kinds(&whole), [1, 12, 13, 1, 0, 0]);
    let schema = whole.iter().map(|i| i.text.len()).max().unwrap();
    assert_eq!(schema, 235_959);
    let greeting = &whole[0];
    assert!(greeting
        .payload
        .as_ref()
        .unwrap()
        .starts_with("{\"version\""));
    let errors: Vec<_> = whole
        .iter()
        .filter(|i| i.kind == record::KIND_ERROR)
        .collect();
    assert!(errors.iter().all(|e| e.name.is_some()));
    assert!(errors.iter().any(|e| e.id.is_some()));
    for (seed, max) in [(1, 1), (7, 5), (42, 4096), (99, 70_000)] {
        assert_eq!(
            decode(UNIX_BASIC, random_chunks(seed, max)),
            whole,
            "seed {seed}"
        );
    }
}

#[wasm_bindgen_test]
fn pretty_output_gives_the_same_messages() {
    let compact = decode(MON, |_| usize::MAX);
    let pretty = decode(MON_PRETTY, random_chunks(3, 16));
    assert_eq!(kinds(&compact), kinds(&pretty));
    assert!(!compact.is_empty());
    let names = |items: &[Item]| items.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&compact), names(&pretty));
}

#[wasm_bindgen_test]
fn events_carry_name_timestamp_and_data() {
    let items = decode(VNC, random_chunks(5, 64));
    let events: Vec<_> = items
        .iter()
        .filter(|i| i.kind == record::KIND_EVENT)
        .collect();
    assert!(!events.is_empty());
    for event in events {
        let name = event.name.as_ref().unwrap();
        assert!(
            name.starts_with("VNC_") || ["STOP", "RESUME", "SHUTDOWN"].contains(&name.as_str())
        );
        assert!(event.extra.0 > 1.7e9 && event.extra.1 >= 0.0);
        assert!(event.payload.as_ref().is_none_or(|p| p.starts_with('{')));
    }
}

#[wasm_bindgen_test]
fn garbage_is_an_error_with_offsets_and_the_decoder_goes_on() {
    let input = b"{\"return\": {}, \"id\": 1}\r\nnot json\r\n{\"event\": oops}\r\n{\"return\": 5, \"id\": \"x\"}\r\n[1]\r\n";
    let items = decode(input, |_| 3);
    let faults: Vec<_> = items.iter().filter_map(|i| i.fault.clone()).collect();
    assert_eq!(faults.len(), 3, "{items:?}");
    assert_eq!(faults[0].0, "FramingError");
    assert_eq!(faults[0].1, 25.0);
    assert!(faults[0].2 > 0.0);
    assert_eq!(faults[1].0, "FramingError");
    assert_eq!(faults[2].0, "NotQmpError");
    // The messages are qmp-core's error texts, word for word (written without core::fmt
    // in the .wasm; with Display here).
    let mut expected = Vec::new();
    Framer::new([0u8; 256]).feed(input, |item| match item {
        Ok(frame) => {
            if let Err(e) = Message::parse(frame) {
                expected.push(e.to_string());
            }
        }
        Err(e) => expected.push(e.to_string()),
    });
    let messages: Vec<_> = items
        .iter()
        .filter(|i| i.fault.is_some())
        .map(|i| i.text.clone())
        .collect();
    assert_eq!(messages, expected);
    assert_eq!(
        messages[2], "QMP message is not a JSON object at byte 78",
        "{messages:?}"
    );
    let returns: Vec<_> = items
        .iter()
        .filter(|i| i.kind == record::KIND_RETURN)
        .collect();
    assert_eq!(returns.len(), 2);
    assert_eq!(returns[1].id.as_deref(), Some("\"x\""));
    assert_eq!(returns[1].payload.as_deref(), Some("5"));
}

#[wasm_bindgen_test]
fn a_message_larger_than_the_buffer_is_reported_and_skipped() {
    let mut decoder = Decoder::new(Some(64));
    let big = format!(
        "{{\"return\": \"{}\", \"id\": 1}}\r\n{{\"return\": {{}}}}\r\n",
        "a".repeat(200)
    );
    decoder.push(big.as_bytes());
    let mut items = Vec::new();
    take(&mut decoder, &mut items);
    assert_eq!(items.len(), 2);
    let (name, offset, skipped) = items[0].fault.clone().unwrap();
    assert_eq!(
        (name.as_str(), offset, skipped),
        ("FramingError", 0.0, 223.0)
    );
    assert_eq!(items[1].payload.as_deref(), Some("{}"));
}

#[wasm_bindgen_test]
fn escapes_and_non_ascii_text_are_indexed_in_utf16() {
    let input = "{\"event\": \"A\\u00e9B\", \"data\": {\"s\": \"\u{1F600} caf\u{e9}\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\n{\"id\": \"\u{e9}\", \"error\": {\"class\": \"X\\\"Y\", \"desc\": \"d\u{e9}sc \\n\"}}\n";
    let items = decode(input.as_bytes(), random_chunks(11, 7));
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].name.as_deref(), Some("A\u{e9}B"));
    assert_eq!(
        items[0].payload.as_deref(),
        Some("{\"s\": \"\u{1F600} caf\u{e9}\"}")
    );
    assert_eq!(items[0].extra, (1.0, 2.0));
    assert_eq!(items[1].name.as_deref(), Some("X\"Y"));
    assert_eq!(items[1].id.as_deref(), Some("\"\u{e9}\""));
    assert!(items[1].payload.as_ref().unwrap().ends_with("d\u{e9}sc \n"));
}

fn string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[wasm_bindgen_test]
fn commands_encode_from_objects_text_and_lines() {
    let args = js_sys::JSON::parse(r#"{"id": "net0", "x": [1, "é"]}"#).unwrap();
    assert_eq!(
        string(encode_command("device_del", args, 7.into(), None).unwrap()),
        r#"{"execute":"device_del","arguments":{"id":"net0","x":[1,"\u00E9"]},"id":7}"#
    );
    assert_eq!(
        string(encode_command("query-status", JsValue::UNDEFINED, "a".into(), Some(true)).unwrap()),
        r#"{"exec-oob":"query-status","id":"a"}"#
    );
    assert_eq!(
        string(
            encode_command(
                "qom-get",
                r#" {"path": "/machine"} "#.into(),
                JsValue::NULL,
                None
            )
            .unwrap()
        ),
        r#"{"execute":"qom-get","arguments":{"path":"/machine"}}"#
    );
    let error = encode_command("x", "[1]".into(), JsValue::UNDEFINED, None).unwrap_err();
    assert_eq!(prop(&error, "name"), "ArgumentsError");
    let error = encode_command("x", "{\"a\": tru}".into(), JsValue::UNDEFINED, None).unwrap_err();
    assert_eq!(prop(&error, "name"), "ArgumentsError");
    assert_eq!(prop(&error, "offset"), 9);
    assert_eq!(prop(&error, "message"), "invalid literal at byte 9");
    // Offsets count from the start of the text as given, whitespace included.
    let error =
        encode_command("x", "\n  {\"a\": tru}".into(), JsValue::UNDEFINED, None).unwrap_err();
    assert_eq!(prop(&error, "offset"), 12);

    assert_eq!(
        string(
            encode_line(
                "blockdev-add driver=null-co node-name=d0 size=1024 read-zeroes=true",
                3.into(),
                None
            )
            .unwrap()
        ),
        r#"{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"d0","size":1024,"read-zeroes":true},"id":3}"#
    );
    let error = encode_line("device_del id=net0 id=net1", JsValue::UNDEFINED, None).unwrap_err();
    assert_eq!(prop(&error, "name"), "ShellSyntaxError");
    assert_eq!(prop(&error, "column"), 19);
    assert_eq!(prop(&error, "reason"), "the same key is given twice");
    assert_eq!(
        prop(&error, "message"),
        "the same key is given twice at column 19"
    );
    assert!(error.is_instance_of::<js_sys::Error>());
}

/// One outcome of the client's batch, its spans read as strings.
#[derive(Debug)]
struct Outcome {
    kind: f64,
    text: Option<String>,
    name: Option<String>,
    payload: Option<String>,
    numbers: [f64; 4],
}

/// Push `bytes` into the client and read its batch, as the npm package's client does.
fn push(client: &mut Client, bytes: &[u8]) -> Vec<Outcome> {
    client.push(bytes);
    let text = client.text();
    let part = |r: &[f64], at: usize| {
        (r[at] >= 0.0)
            .then(|| String::from_utf8(text[r[at] as usize..r[at + 1] as usize].to_vec()).unwrap())
    };
    client
        .outcomes()
        .chunks(outcome::STRIDE)
        .map(|r| Outcome {
            kind: r[outcome::KIND],
            text: part(r, outcome::TEXT),
            name: part(r, outcome::NAME),
            payload: part(r, outcome::PAYLOAD),
            numbers: r[outcome::NUMBERS..outcome::NUMBERS + 4]
                .try_into()
                .unwrap(),
        })
        .collect()
}

/// The client against qmp-core's sans-IO server: greeting, negotiation with oob, a
/// command line, an event, a reply, an error reply, close.
#[wasm_bindgen_test]
fn client_drives_a_session() {
    type Wire = heapless::Vec<u8, 1024>;
    let mut to_client = Wire::new();
    let mut server_framer = Framer::new([0u8; 512]);
    let mut server = Server::new(Some(Version::new(10, 0, 2)), &[QmpCapability::Oob]);
    let status = RawJson::parse(br#"{"status": "running", "running": true}"#).unwrap();
    let mut handler = handler_fn(|request, responder| match request.name.as_str() {
        Some("query-status") => responder.success(status),
        Some("cont") => responder.success(EmptyObject),
        _ => responder.command_not_found(),
    });
    let mut client = Client::new(None);
    macro_rules! serve {
        () => {
            server_framer.feed(&client.take_output(), |item| {
                server.handle(item, &mut handler, &mut to_client).unwrap();
            })
        };
    }

    // The greeting, byte by byte.
    let mut greeting = Wire::new();
    Server::new(Some(Version::new(10, 0, 2)), &[QmpCapability::Oob])
        .greet(&mut greeting)
        .unwrap();
    server.greet(&mut Wire::new()).unwrap();
    let mut outcomes = Vec::new();
    for byte in greeting.iter() {
        outcomes.extend(push(&mut client, &[*byte]));
    }
    assert_eq!(outcomes.len(), 1);
    let greeted = &outcomes[0];
    assert_eq!(greeted.kind, outcome::KIND_GREETING);
    // oob offered (1), a version (2): 10.0.2, package "".
    assert_eq!(greeted.numbers, [3.0, 10.0, 0.0, 2.0]);
    assert_eq!(greeted.name.as_deref(), Some(""));
    assert_eq!(
        greeted.text.as_deref(),
        Some(core::str::from_utf8(&greeting).unwrap().trim())
    );
    assert_eq!(client.state(), "greeted");

    assert!(client.negotiate(true).unwrap());
    serve!();
    let out = push(&mut client, &to_client);
    to_client.clear();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, outcome::KIND_NEGOTIATED);
    assert_eq!(out[0].numbers[0], 1.0);
    assert_eq!(client.state(), "ready");
    assert!(client.oob_enabled());

    let status_id = client.execute_line("query-status", None).unwrap();
    let bad_id = client
        .execute("no-such-command", JsValue::UNDEFINED, None)
        .unwrap();
    assert_eq!(client.pending(), 2);
    serve!();
    server
        .event(
            "RESUME",
            (),
            Timestamp {
                seconds: 5,
                microseconds: 6,
            },
            &mut to_client,
        )
        .unwrap();
    // A reply split across two pushes: the second batch holds it whole.
    assert!(push(&mut client, &to_client[..10]).is_empty());
    let out = push(&mut client, &to_client[10..]);
    to_client.clear();
    assert_eq!(out.len(), 3);
    let reply = &out[0];
    assert_eq!(reply.kind, outcome::KIND_RETURN);
    assert_eq!(reply.numbers[0], status_id);
    assert_eq!(
        reply.payload.as_deref(),
        Some(r#"{"status":"running","running":true}"#)
    );
    let refused = &out[1];
    assert_eq!(refused.kind, outcome::KIND_ERROR);
    assert_eq!(refused.numbers[0], bad_id);
    assert_eq!(refused.name.as_deref(), Some("CommandNotFound"));
    assert_eq!(
        refused.payload.as_deref(),
        Some("The command no-such-command has not been found")
    );
    let event = &out[2];
    assert_eq!(event.kind, outcome::KIND_EVENT);
    assert_eq!(event.name.as_deref(), Some("RESUME"));
    assert_eq!(event.payload, None);
    assert_eq!(event.numbers[..2], [5.0, 6.0]);
    assert!(event
        .text
        .as_deref()
        .unwrap()
        .contains(r#""event":"RESUME""#));
    assert_eq!(client.pending(), 0);

    let error = client.execute_line("cont x", None).unwrap_err();
    assert_eq!(prop(&error, "name"), "ShellSyntaxError");
    let error = client.execute("x", "[]".into(), None).unwrap_err();
    assert_eq!(prop(&error, "name"), "ArgumentsError");
    assert!(client.take_output().is_empty());

    client
        .execute("cont", JsValue::UNDEFINED, Some(true))
        .unwrap();
    assert_eq!(client.pending(), 1);
    assert_eq!(client.handle_close(), 1);
    assert_eq!(client.pending(), 0);
    assert_eq!(client.state(), "closed");
    let error = client
        .execute("cont", JsValue::UNDEFINED, None)
        .unwrap_err();
    assert_eq!(prop(&error, "name"), "ClientError");
    assert_eq!(prop(&error, "reason"), "misuse");
    assert_eq!(
        prop(&error, "message"),
        "commands need a negotiated session (state: closed)"
    );
}

/// The client's other outcomes: an id-less error with escapes (unescaped, placed after
/// the frames), the one a resync asks for, a reply too large for the buffer, bytes that
/// are not JSON (a JS error), and a reply to no command.
#[wasm_bindgen_test]
fn client_reports_the_rest() {
    let mut client = Client::new(Some(200));
    let greeting = br#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 9}, "package": "v9.2.0-\u00e9"}, "capabilities": []}}"#;
    let out = push(&mut client, greeting);
    assert_eq!(out[0].kind, outcome::KIND_GREETING);
    assert_eq!(out[0].numbers, [2.0, 9.0, 2.0, 0.0]);
    assert_eq!(out[0].name.as_deref(), Some("v9.2.0-\u{e9}"));
    assert!(!client.negotiate(true).unwrap());
    assert_eq!(
        client.take_output(),
        br#"{"execute":"qmp_capabilities","id":0}"#
    );
    let out = push(&mut client, br#"{"return": {}, "id": 0}"#);
    assert_eq!(
        (out[0].kind, out[0].numbers[0]),
        (outcome::KIND_NEGOTIATED, 0.0)
    );

    let idless = br#"{"error": {"class": "GenericError", "desc": "caf\u00e9 \"x\""}}"#;
    client.resync().unwrap();
    assert_eq!(client.take_output(), [0xFF]);
    let mut bytes = idless.to_vec();
    bytes.extend_from_slice(idless);
    let out = push(&mut client, &bytes);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].kind, outcome::KIND_RESYNCED);
    assert_eq!(out[1].kind, outcome::KIND_IDLESS_ERROR);
    assert_eq!(out[1].name.as_deref(), Some("GenericError"));
    assert_eq!(out[1].payload.as_deref(), Some("caf\u{e9} \"x\""));
    assert_eq!(out[1].text.as_deref().map(str::as_bytes), Some(&idless[..]));

    let id = client
        .execute("query-qmp-schema", JsValue::UNDEFINED, None)
        .unwrap();
    let mut big = br#"{"return": ""#.to_vec();
    big.resize(300, b'x');
    big.extend_from_slice(br#"", "id": 1}"#);
    let reply_len = big.len();
    big.extend_from_slice(b"}\n{\"return\": {}, \"id\": 77}");
    let out = push(&mut client, &big);
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(out[0].kind, outcome::KIND_TOO_LARGE);
    assert_eq!(out[0].numbers[..2], [id, reply_len as f64]);
    assert_eq!(
        (out[1].kind, out[1].text.as_deref()),
        (outcome::KIND_FAULT, None)
    );
    let errors: Array = JsValue::from(client.take_errors()).unchecked_into();
    let error = &errors.get(out[1].numbers[0] as u32);
    assert_eq!(prop(error, "name"), "FramingError");
    let offset = greeting.len() + 23 + 2 * idless.len() + reply_len;
    assert_eq!(prop(error, "offset"), offset as f64);
    assert_eq!(out[2].kind, outcome::KIND_UNKNOWN_REPLY);
    assert_eq!(out[2].text.as_deref(), Some(r#"{"return": {}, "id": 77}"#));
    assert_eq!(client.pending(), 0);
}
