//! Every frame of every real capture parses into the message kind an independent parse
//! (serde_json) assigns, with the same id and event name.

mod common;

use common::testdata_dir;
use qmp_core::frame::{Frame, Framer};
use qmp_core::json::RawJson;
use qmp_core::message::{parse_request, Message};
use qmp_core::scan::ScanConfig;
use serde_json::Value;

fn expected_kind(v: &Value) -> &'static str {
    let o = v.as_object().expect("QEMU sends objects");
    for (key, kind) in [
        ("QMP", "greeting"),
        ("return", "return"),
        ("error", "error"),
        ("event", "event"),
    ] {
        if o.contains_key(key) {
            return kind;
        }
    }
    panic!("unclassifiable capture frame {v}")
}

#[test]
fn every_capture_frame_parses_as_serde_json_classifies_it() {
    let mut counts = [0usize; 4];
    for (name, data) in testdata_dir("captures") {
        let mut framer = Framer::with_config(vec![0u8; 256 * 1024], ScanConfig::qmp());
        assert_eq!(framer.push(&data), data.len());
        framer.finish();
        while let Some(item) = framer.next() {
            // One capture line is not JSON (QEMU echoes an id of 1e999 as `inf`); the
            // framer reports it and the capture tests pin that.
            let Ok(frame) = item else { continue };
            let reference: Value = serde_json::from_slice(frame.as_bytes()).unwrap();
            let message = Message::parse(frame)
                .unwrap_or_else(|e| panic!("{name} at {}: {e}", frame.offset()));
            // The frame's outline (the ends of its nested members, noted while framing)
            // changes how the message is walked, not what it says.
            assert_eq!(Message::parse(RawJson::from(frame)), Ok(message));
            assert_eq!(
                Frame::parse(frame.as_bytes()).map(Message::parse),
                Ok(Ok(message))
            );
            // Errors from the frame count from the stream's start.
            let from_frame = parse_request(frame, true).map_err(|r| (r.error, r.id, r.offset));
            let from_json = parse_request(RawJson::from(frame), true)
                .map_err(|r| (r.error, r.id, r.offset + frame.offset()));
            assert_eq!(from_frame, from_json);
            let (kind, slot) = match message {
                Message::Greeting(g) => {
                    let caps = reference["QMP"]["capabilities"].as_array().unwrap();
                    assert_eq!(g.offers("oob"), caps.iter().any(|c| c == "oob"));
                    ("greeting", 0)
                }
                Message::Return(r) => {
                    let value: Value = serde_json::from_slice(r.value.as_bytes()).unwrap();
                    assert_eq!(value, reference["return"]);
                    ("return", 1)
                }
                Message::Error(e) => {
                    assert_eq!(e.class.name(), reference["error"]["class"]);
                    let mut buf = [0u8; 512];
                    assert_eq!(
                        e.desc.unescape_into(&mut buf).unwrap(),
                        reference["error"]["desc"]
                    );
                    ("error", 2)
                }
                Message::Event(ev) => {
                    assert!(ev.name == reference["event"].as_str().unwrap());
                    assert_eq!(ev.timestamp.seconds, reference["timestamp"]["seconds"]);
                    assert_eq!(
                        ev.data
                            .map(|d| serde_json::from_slice::<Value>(d.as_bytes()).unwrap()),
                        reference.get("data").cloned()
                    );
                    ("event", 3)
                }
                Message::Request(_) => panic!("{name}: QEMU sent a command?"),
            };
            assert_eq!(
                kind,
                expected_kind(&reference),
                "{name} at {}",
                frame.offset()
            );
            let id = message
                .id()
                .map(|id| serde_json::from_slice::<Value>(id.as_bytes()).unwrap());
            assert_eq!(id.as_ref(), reference.get("id"), "{name}");
            counts[slot] += 1;
        }
    }
    // Greetings, returns, errors and events all occur in the captures.
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
}
