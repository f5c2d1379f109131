//! [`encode_arbitrary`]: messages built from fuzzer bytes encode to compact ASCII JSON
//! that validates, that the reference accepts and that parses back to what was encoded;
//! every refusal has a cause.

use super::generator::{Tree, BAD_KEY, HAS_F32, NON_FINITE};
use super::oracle::{assert_buffer_sizes, assert_compact_ascii, json_eq, json_eq_f32, str_eq};
use super::reader::{Pay, Reader};
use super::{json, json_str, utf8_prefix};
use crate::encode::{self, BufferFull, EmptyObject, EncodeError, Id, Ser, SliceSink, Text};
use crate::json::{JsonStr, Kind, RawJson};
use crate::message::{ErrorClass, Message, QemuVersion, Timestamp, Version};
use crate::scan::validate;

/// Only this much of an [`encode_arbitrary`] input is used, which bounds the output.
const ENCODE_INPUT_MAX: usize = 2048;

/// Room for any message built from [`ENCODE_INPUT_MAX`] bytes: each tree node writes at
/// most about 60 bytes, each input byte of a string at most 6.
const ENCODE_CAPACITY: usize = 96 * 1024;

/// Run `$body` with `$x` bound to the payload `$p` as its concrete `Payload` type.
macro_rules! with_payload {
    ($p:expr, |$x:ident| $body:expr) => {
        match $p {
            Pay::Ser(tree) => {
                let $x = Ser(tree);
                $body
            }
            Pay::Raw(raw) => {
                let $x = *raw;
                $body
            }
            Pay::Text(s) => {
                let $x = Text::Str(*s);
                $body
            }
            Pay::Json(s) => {
                let $x = *s;
                $body
            }
            Pay::Empty => {
                let $x = EmptyObject;
                $body
            }
            Pay::Unit => {
                let $x = ();
                $body
            }
            Pay::Null => {
                let $x = None::<RawJson<'_>>;
                $body
            }
        }
    };
}

/// What a payload should look like once encoded and parsed back.
#[derive(Clone, Copy, Debug)]
enum Want<'b> {
    /// This JSON text (compared by meaning; with `true`, numbers also as `f32`).
    Json(&'b [u8], bool),
    /// A string with this text.
    Str(&'b str),
    /// A string equal to this decoded JSON string.
    JsonStr(JsonStr<'b>),
    /// A value our encoder must refuse: [`NON_FINITE`] / [`BAD_KEY`] flags.
    Refused(u8),
}

impl Want<'_> {
    fn kind(&self) -> Option<Kind> {
        match self {
            Want::Json(b, _) => Some(json(b).kind()),
            Want::Str(_) | Want::JsonStr(_) => Some(Kind::String),
            Want::Refused(_) => None,
        }
    }

    fn matches(&self, got: RawJson<'_>) -> bool {
        match *self {
            Want::Json(b, f32) => json_eq_f32(b, got.as_bytes(), f32),
            Want::Str(s) => got.as_json_str().is_some_and(|g| g.chars().eq(s.chars())),
            Want::JsonStr(s) => got.as_json_str().is_some_and(|g| str_eq(g, s)),
            Want::Refused(_) => false,
        }
    }
}

fn text_matches(want: Text<'_>, got: JsonStr<'_>) -> bool {
    match want {
        Text::Str(s) => got.chars().eq(s.chars()),
        Text::Json(s) => str_eq(got, s),
    }
}

fn id_matches(want: Option<Id<'_>>, got: Option<RawJson<'_>>) -> bool {
    match (want, got) {
        (None, None) => true,
        (Some(Id::U64(v)), Some(g)) => g.as_u64() == Some(v),
        (Some(Id::I64(v)), Some(g)) => g.as_i64() == Some(v),
        (Some(Id::Str(s)), Some(g)) => Want::Str(s).matches(g),
        (Some(Id::Raw(r)), Some(g)) => json_eq(r.as_bytes(), g.as_bytes()),
        _ => false,
    }
}

/// The expected form of payload `p`, rendering trees with the reference serializer into
/// `buf`. Checks our serializer against it on the way.
fn want<'b>(
    p: &'b Pay<'b>,
    render: &impl Fn(&Tree<'_>, &mut [u8]) -> Option<usize>,
    buf: &'b mut [u8],
    scratch: &mut [u8],
    reference: &impl Fn(&[u8]) -> Option<bool>,
) -> Want<'b> {
    let w = match p {
        Pay::Ser(tree) => {
            let rendered = render(tree, buf);
            if tree.flags() & !HAS_F32 != 0 {
                Want::Refused(tree.flags())
            } else {
                let n = rendered.expect("the reference serializer refused a valid value");
                let json = &buf[..n];
                assert!(
                    validate(json).is_ok(),
                    "the reference's output does not validate"
                );
                Want::Json(json, tree.flags() & HAS_F32 != 0)
            }
        }
        Pay::Raw(raw) => Want::Json(raw.as_bytes(), false),
        Pay::Text(s) => Want::Str(s),
        Pay::Json(s) => Want::JsonStr(*s),
        Pay::Empty => Want::Json(b"{}", false),
        Pay::Unit | Pay::Null => Want::Json(b"null", false),
    };
    // The payload on its own: our serializer against the reference.
    let mut sink = SliceSink::new(scratch);
    let ours = with_payload!(p, |x| encode::value(&mut sink, x));
    match (w, ours) {
        (Want::Refused(flags), Err(e)) => assert_refusal(e, flags, false),
        (Want::Refused(flags), Ok(())) => panic!("encoded a value flagged {flags}"),
        (w, Ok(())) => {
            let bytes = sink.written();
            assert_compact_ascii(bytes);
            assert!(validate(bytes).is_ok(), "encoded value does not validate");
            assert_ne!(
                reference(bytes),
                Some(false),
                "the reference rejects our value"
            );
            assert!(
                w.matches(json(bytes)),
                "our encoding of the value differs from the reference's:\n{w:?}\n{:?}",
                utf8_prefix(bytes)
            );
        }
        (w, Err(e)) => panic!("refused {w:?}: {e:?}"),
    }
    w
}

fn assert_refusal(e: EncodeError<BufferFull>, flags: u8, member_kind: bool) {
    let ok = match e {
        EncodeError::NonFiniteFloat => flags & NON_FINITE != 0,
        EncodeError::KeyMustBeString => flags & BAD_KEY != 0,
        EncodeError::NotAnObject | EncodeError::NotAnArray => member_kind,
        _ => false,
    };
    assert!(ok, "unexpected refusal {e:?} (flags {flags})");
}

/// Which member kind a message puts its payload in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// `arguments` or `data`: an object, or `null` to leave it out.
    OptionalObject,
    /// `capabilities`: an array.
    Array,
    /// `return` or error `data`: anything.
    Any,
}

/// Build one message from fuzzer bytes with the encoder, and check it: refused only for a
/// cause, else compact ASCII JSON that validates, that the reference accepts, that fits
/// an exact buffer (and not a shorter one), and that parses back to what was encoded.
///
/// `render` is the reference serializer for [`Tree`] payloads; their encoding by our
/// serializer must mean the same JSON.
pub fn encode_arbitrary(
    input: &[u8],
    reference: impl Fn(&[u8]) -> Option<bool>,
    render: impl Fn(&Tree<'_>, &mut [u8]) -> Option<usize>,
) {
    // Buffers sized to the input (the output grows at most ~100 bytes per input byte),
    // so that small inputs do not pay for zeroing big ones.
    if input.len() <= 64 {
        encode_sized::<{ 8 * 1024 }>(input, reference, render);
    } else if input.len() <= 256 {
        encode_sized::<{ 32 * 1024 }>(input, reference, render);
    } else {
        encode_sized::<ENCODE_CAPACITY>(input, reference, render);
    }
}

fn encode_sized<const N: usize>(
    input: &[u8],
    reference: impl Fn(&[u8]) -> Option<bool>,
    render: impl Fn(&Tree<'_>, &mut [u8]) -> Option<usize>,
) {
    let mut r = Reader {
        data: input.get(..ENCODE_INPUT_MAX).unwrap_or(input),
    };
    let kind = r.byte() % 7;
    let name = r.text();
    let id = r.id();
    let pay = r.payload();
    let mut want_buf = [0u8; N];
    let mut out = [0u8; N];
    let w = want(&pay, &render, &mut want_buf, &mut out, &reference);
    let slot = match kind {
        0 | 1 | 5 => Slot::OptionalObject,
        6 => Slot::Array,
        _ => Slot::Any,
    };
    let desc = r.text();
    let timestamp = Timestamp {
        seconds: r.u64() as i64,
        microseconds: r.u64() as i64,
    };
    let version = match r.byte() % 3 {
        0 => None,
        1 => Some(Version {
            qemu: QemuVersion::Triple {
                major: r.u64(),
                minor: r.u64(),
                micro: r.u64(),
            },
            package: (r.byte() & 1 == 0).then(|| r.text()).and_then(|t| match t {
                Text::Str(s) => JsonStr::from_text(s),
                Text::Json(s) => Some(s),
            }),
        }),
        _ => {
            let text = r.raw().and_then(|v| v.as_json_str());
            Some(Version {
                qemu: QemuVersion::Text(text.unwrap_or(json_str(b"\"0.12.50\""))),
                package: None,
            })
        }
    };

    let encode_into = |buf: &mut [u8]| -> Result<usize, EncodeError<BufferFull>> {
        let mut sink = SliceSink::new(buf);
        let s = &mut sink;
        with_payload!(&pay, |x| match kind {
            0 => encode::command(s, name, x, id),
            1 => encode::command_oob(s, name, x, id),
            2 => encode::success(s, x, id),
            3 => encode::error(s, name, desc, id),
            4 => encode::error_with_data(s, name, desc, x, id),
            5 => encode::event(s, name, x, timestamp),
            _ => encode::greeting(s, version, x),
        })?;
        Ok(sink.len())
    };
    let result = encode_into(&mut out);

    // What must happen: a refusal for a cause, or success.
    let uses_payload = kind != 3;
    let kind_refused = uses_payload
        && match (slot, w.kind()) {
            (Slot::OptionalObject, Some(k)) => !matches!(k, Kind::Object | Kind::Null),
            (Slot::Array, Some(k)) => k != Kind::Array,
            _ => false,
        };
    let flags = match w {
        Want::Refused(flags) if uses_payload => flags,
        _ => 0,
    };
    let n = match result {
        Err(e) => {
            assert!(
                flags != 0 || kind_refused,
                "refused a valid message: {e:?} (payload {w:?})"
            );
            assert_refusal(e, flags, slot != Slot::Any);
            return;
        }
        Ok(n) => {
            assert!(flags == 0, "encoded a value flagged {flags}");
            assert!(
                !kind_refused,
                "encoded {w:?} where the member must be {slot:?}"
            );
            n
        }
    };
    let encoded = &out[..n];
    assert_compact_ascii(encoded);
    assert!(validate(encoded).is_ok(), "the encoding does not validate");
    assert_ne!(
        reference(encoded),
        Some(false),
        "the reference rejects our encoding"
    );
    let mut scratch = [0u8; N];
    assert_buffer_sizes(&mut scratch, encoded, encode_into);

    let message = Message::parse(json(encoded));
    let payload_matches = |got: Option<RawJson<'_>>| match got {
        None => slot == Slot::OptionalObject && w.kind() == Some(Kind::Null),
        Some(g) => w.matches(g),
    };
    let ok = match (kind, message) {
        (0 | 1, Ok(Message::Request(c))) => {
            text_matches(name, c.name)
                && c.oob == (kind == 1)
                && payload_matches(c.arguments)
                && id_matches(id, c.id)
        }
        (2, Ok(Message::Return(ret))) => w.matches(ret.value) && id_matches(id, ret.id),
        (3 | 4, Ok(Message::Error(e))) => {
            let class = match e.class {
                ErrorClass::Other(s) => text_matches(name, s),
                known => match name {
                    Text::Str(s) => s == known.name(),
                    Text::Json(s) => s == known.name(),
                },
            };
            let data = if kind == 3 {
                e.data.is_none()
            } else {
                e.data.is_some_and(|d| w.matches(d))
            };
            class && text_matches(desc, e.desc) && data && id_matches(id, e.id)
        }
        (5, Ok(Message::Event(e))) => {
            text_matches(name, e.name) && payload_matches(e.data) && e.timestamp == timestamp
        }
        (6, Ok(Message::Greeting(g))) => {
            let v = match (version, g.version) {
                (None, None) => true,
                (Some(want), Some(got)) => {
                    let qemu = match (want.qemu, got.qemu) {
                        (QemuVersion::Text(a), QemuVersion::Text(b)) => str_eq(a, b),
                        (a, b) => a == b,
                    };
                    let package = match (want.package, got.package) {
                        (None, None) => true,
                        (Some(a), Some(b)) => str_eq(a, b),
                        _ => false,
                    };
                    qemu && package
                }
                _ => false,
            };
            v && w.matches(g.capabilities)
        }
        _ => false,
    };
    assert!(
        ok,
        "kind {kind}: parsed back differently: {message:?}\nfrom {:?}",
        utf8_prefix(encoded)
    );
}
