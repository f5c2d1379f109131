//! [`message_roundtrip`]: parse → encode → frame → parse gives back an equal message,
//! and the encoding is compact ASCII that fits an exact buffer.

use super::for_each_frame;
use super::oracle::{assert_buffer_sizes, assert_compact_ascii, json_eq, opt_json_eq, str_eq};
use crate::encode;
use crate::frame::{Frame, Framer};
use crate::json::RawJson;
use crate::message::{self, ErrorClass, Message, QemuVersion};

/// Encoding at most triples a frame (a 2- or 4-byte UTF-8 character becomes a 6- or
/// 12-byte escape) and adds a few members: `E` is `3 * N + 512` for frames of `N`.
const fn enc_capacity(n: usize) -> usize {
    3 * n + 512
}

/// Frame the input, and round-trip every frame that is a QMP message: parse → encode →
/// frame → parse must give an equal message (payloads compared by meaning).
pub fn message_roundtrip(input: &[u8]) {
    // Buffers sized to the input (a frame is never longer), so that small inputs do not
    // pay for zeroing big ones.
    const S: usize = 1024;
    const M: usize = 8 * 1024;
    const L: usize = 64 * 1024;
    if input.len() <= S {
        roundtrip_all::<S, { enc_capacity(S) }>(input);
    } else if input.len() <= M {
        roundtrip_all::<M, { enc_capacity(M) }>(input);
    } else {
        roundtrip_all::<L, { enc_capacity(L) }>(input);
    }
}

fn roundtrip_all<const N: usize, const E: usize>(input: &[u8]) {
    let mut framer = Framer::new([0u8; N]);
    let mut bufs = [[0u8; E]; 3];
    for_each_frame(&mut framer, input, |frame| roundtrip(frame, &mut bufs));
}

fn roundtrip<const E: usize>(frame: Frame<'_>, bufs: &mut [[u8; E]; 3]) {
    let [enc, scratch, framer_buf] = bufs;
    let json = RawJson::from(frame);
    // A frame's outline changes how the message is walked, never what it says.
    // Errors from a frame count from the stream's start, from a RawJson from its own.
    let base = frame.offset();
    let request = message::parse_request(frame, true);
    let relative = request.map_err(|r| message::Refused {
        offset: r.offset - base,
        ..r
    });
    assert_eq!(relative, message::parse_request(json, true));
    let parsed = Message::parse(frame);
    let relative = parsed.map_err(|e| message::MessageError {
        offset: e.offset - base,
        ..e
    });
    assert_eq!(relative, Message::parse(json));
    let Ok(first) = parsed else {
        return;
    };
    if let (Ok(req), Message::Request(cmd)) = (request, first) {
        // Both accept it: QEMU's server-side rules and the client-side classification
        // must see the same command.
        assert_eq!(req.name.raw(), cmd.name.raw());
        assert_eq!(req.oob, cmd.oob);
        assert!(opt_json_eq(req.arguments, cmd.arguments));
        assert!(opt_json_eq(req.id, cmd.id));
    }
    let n = encode::message_to_slice(&first, enc)
        .expect("a parsed message must encode into 3x its size");
    let encoded = &enc[..n];
    assert_compact_ascii(encoded);
    assert_buffer_sizes(scratch, encoded, |buf| {
        encode::message_to_slice(&first, buf)
    });

    let mut framer = Framer::new(&mut framer_buf[..]);
    assert_eq!(framer.push(encoded), n);
    framer.finish();
    let frame = match framer.next() {
        Some(Ok(frame)) => frame,
        other => panic!("the encoding does not frame: {other:?}"),
    };
    assert_eq!(frame.as_bytes(), encoded, "the encoding frames differently");
    let second = Message::parse(frame).expect("the encoding must parse back");
    assert_same_message(&first, &second);
    let n2 = encode::message_to_slice(&second, scratch).expect("must encode again");
    assert!(
        json_eq(encoded, &scratch[..n2]),
        "re-encoding changed the meaning"
    );
    assert!(
        framer.next().is_none(),
        "the encoding frames as more than one text"
    );
}

fn class_eq(a: ErrorClass<'_>, b: ErrorClass<'_>) -> bool {
    match (a, b) {
        (ErrorClass::Other(x), ErrorClass::Other(y)) => str_eq(x, y),
        (x, y) => x == y,
    }
}

fn assert_same_message(a: &Message<'_>, b: &Message<'_>) {
    let same = match (a, b) {
        (Message::Greeting(x), Message::Greeting(y)) => {
            let version = match (x.version, y.version) {
                (None, None) => true,
                (Some(v), Some(w)) => {
                    let qemu = match (v.qemu, w.qemu) {
                        (QemuVersion::Text(s), QemuVersion::Text(t)) => str_eq(s, t),
                        (s, t) => s == t,
                    };
                    let package = match (v.package, w.package) {
                        (None, None) => true,
                        (Some(p), Some(q)) => str_eq(p, q),
                        _ => false,
                    };
                    qemu && package
                }
                _ => false,
            };
            version && json_eq(x.capabilities.as_bytes(), y.capabilities.as_bytes())
        }
        (Message::Request(x), Message::Request(y)) => {
            str_eq(x.name, y.name)
                && x.oob == y.oob
                && opt_json_eq(x.arguments, y.arguments)
                && opt_json_eq(x.id, y.id)
        }
        (Message::Return(x), Message::Return(y)) => {
            json_eq(x.value.as_bytes(), y.value.as_bytes()) && opt_json_eq(x.id, y.id)
        }
        (Message::Error(x), Message::Error(y)) => {
            class_eq(x.class, y.class)
                && str_eq(x.desc, y.desc)
                && opt_json_eq(x.data, y.data)
                && opt_json_eq(x.id, y.id)
        }
        (Message::Event(x), Message::Event(y)) => {
            str_eq(x.name, y.name) && opt_json_eq(x.data, y.data) && x.timestamp == y.timestamp
        }
        _ => false,
    };
    assert!(same, "round trip changed the message:\n{a:?}\n{b:?}");
}
