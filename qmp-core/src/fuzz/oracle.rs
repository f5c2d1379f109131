//! The checks that judge the crate's output, for the fuzz harnesses and the integration
//! tests (`qmp_core::fuzz::oracle`, with the `fuzz` feature): JSON texts compared by
//! meaning ([`json_eq`]), the encoder's compact, ASCII-only form ([`compact_ascii`],
//! [`assert_compact_ascii`]) and its buffer-size contract ([`assert_buffer_sizes`]).
//!
//! They allocate nothing and use only the crate's public API (strings are decoded with
//! `JsonStr::chars`), never its internals. The comparisons take texts already known to
//! be valid JSON; the compact-ASCII check takes any bytes. Where a list of the
//! catalogued event names is needed, it is the crate's own,
//! [`EVENT_NAMES`](crate::schema::events::EVENT_NAMES).

use core::fmt;

use super::utf8_prefix;
use crate::encode::{BufferFull, EncodeError};
use crate::json::{Cursor, Token};
use crate::json::{JsonStr, RawJson};

fn is_number(s: &[u8]) -> bool {
    s.first().is_some_and(|&c| c == b'-' || c.is_ascii_digit())
}

/// Two scalars mean the same: the same text, or numbers of the same `f64` value when one
/// of them is not an integer (serializers lay floats out differently: `1e16`, `1e+16`),
/// or with `f32`, of the same `f32` value.
pub fn scalar_eq(a: &[u8], b: &[u8], f32: bool) -> bool {
    if a == b {
        return true;
    }
    let integer = |s: &[u8]| !s.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
    if !is_number(a) || !is_number(b) || (integer(a) && integer(b)) {
        return false;
    }
    let parse = |s: &[u8]| utf8_prefix(s).parse::<f64>().ok();
    let parse32 = |s: &[u8]| utf8_prefix(s).parse::<f32>().ok();
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
        || (f32 && matches!((parse32(a), parse32(b)), (Some(x), Some(y)) if x == y))
}

/// Two JSON strings have the same text once decoded (escapes aside).
pub fn str_eq(a: JsonStr<'_>, b: JsonStr<'_>) -> bool {
    a.chars().eq(b.chars())
}

/// Whether two valid JSON texts have the same meaning: the same structure and members in
/// the same order, with whitespace and escapes aside (strings are compared decoded) and
/// numbers as [`scalar_eq`] compares them.
pub fn json_eq(a: &[u8], b: &[u8]) -> bool {
    json_eq_f32(a, b, false)
}

/// [`json_eq`], with non-integer numbers also equal when they are the same `f32`.
pub fn json_eq_f32(a: &[u8], b: &[u8], f32: bool) -> bool {
    let mut x = Cursor::at(a, 0);
    let mut y = Cursor::at(b, 0);
    loop {
        match (x.token(), y.token()) {
            (None, None) => return true,
            (Some(Token::Punct(p)), Some(Token::Punct(q))) if p == q => {}
            (Some(Token::Str(p)), Some(Token::Str(q)))
                if str_eq(JsonStr::from_raw(p), JsonStr::from_raw(q)) => {}
            (Some(Token::Scalar(p)), Some(Token::Scalar(q))) if scalar_eq(p, q, f32) => {}
            _ => return false,
        }
    }
}

/// Two optional values: both absent, or both present and [`json_eq`].
pub fn opt_json_eq(a: Option<RawJson<'_>>, b: Option<RawJson<'_>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => json_eq(a.as_bytes(), b.as_bytes()),
        _ => false,
    }
}

/// Where output leaves the compact, ASCII-only form, as [`compact_ascii`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCompactAscii {
    /// A byte outside printable ASCII (below 0x20 or above 0x7E), at offset `at`.
    NotPrintable {
        /// Its offset.
        at: usize,
        /// The byte.
        byte: u8,
    },
    /// A space outside a string, at offset `at`.
    Whitespace {
        /// Its offset.
        at: usize,
    },
}

impl fmt::Display for NotCompactAscii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotPrintable { at, byte } => {
                write!(f, "byte {byte:#04x} at {at}: not printable ASCII")
            }
            Self::Whitespace { at } => write!(f, "whitespace outside a string at {at}"),
        }
    }
}

/// Whether `bytes` is in the encoder's output form: printable ASCII only, and no
/// whitespace outside strings. Returns the first byte that is not. Any bytes will do:
/// this runs on output before anything has validated it.
pub fn compact_ascii(bytes: &[u8]) -> Result<(), NotCompactAscii> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if !(0x20..0x7F).contains(&b) {
            return Err(NotCompactAscii::NotPrintable { at: i, byte: b });
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            if b == b' ' {
                return Err(NotCompactAscii::Whitespace { at: i });
            }
            in_string = b == b'"';
        }
    }
    Ok(())
}

/// [`compact_ascii`], panicking with the first fault ("encoder wrote ...").
pub fn assert_compact_ascii(bytes: &[u8]) {
    if let Err(e) = compact_ascii(bytes) {
        panic!("encoder wrote {e}");
    }
}

/// `encode` into a buffer of exactly `expected.len()` bytes gives the same bytes; one
/// byte less is `BufferFull`, never a panic or another error.
pub fn assert_buffer_sizes(
    scratch: &mut [u8],
    expected: &[u8],
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError<BufferFull>>,
) {
    let n = expected.len();
    let exact = &mut scratch[..n];
    assert_eq!(encode(exact), Ok(n), "an exact-size buffer must do");
    assert_eq!(&exact[..], expected, "encoding is not deterministic");
    if let Some(short) = n.checked_sub(1) {
        assert_eq!(
            encode(&mut scratch[..short]),
            Err(EncodeError::Sink(BufferFull)),
            "a buffer one byte short must be BufferFull"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_eq_compares_by_meaning() {
        assert!(json_eq(b"{ \"a\" : [1, 2.5e0] }", br#"{"a":[1,2.5]}"#));
        assert!(json_eq(br#""caf\u00e9""#, "\"café\"".as_bytes()));
        assert!(json_eq(b"1e16", b"1e+16"));
        assert!(json_eq(b"10", b"1e1"), "floats are compared by value");
        assert!(
            !json_eq(b"12345678901234567890", b"12345678901234567891"),
            "integers are compared as written"
        );
        assert!(!json_eq(br#"{"a":1}"#, br#"{"a":1,"b":2}"#));
        assert!(!json_eq(b"[1]", b"[1,2]"));
        assert!(!json_eq(b"true", b"\"true\""));
    }

    #[test]
    fn compact_ascii_finds_the_first_fault() {
        assert_eq!(compact_ascii(br#"{"a b":"\"x y","c":[1,2]}"#), Ok(()));
        assert_eq!(
            compact_ascii(br#"{"a": 1}"#),
            Err(NotCompactAscii::Whitespace { at: 5 })
        );
        assert_eq!(
            compact_ascii("[\"é\"]".as_bytes()),
            Err(NotCompactAscii::NotPrintable { at: 2, byte: 0xC3 })
        );
        assert_eq!(
            compact_ascii(b"[1,\n2]"),
            Err(NotCompactAscii::NotPrintable { at: 3, byte: b'\n' })
        );
    }
}
