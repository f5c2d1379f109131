//! The checks that judge the crate's output, for the fuzz harnesses and the integration
//! tests: JSON texts compared by meaning ([`json_eq`]), the encoder's compact,
//! ASCII-only form ([`assert_compact_ascii`]) and its buffer-size contract
//! ([`assert_buffer_sizes`]).
//!
//! They allocate nothing and use only the crate's public API on input that is already
//! known to be valid JSON, so they do not share the code they check. The catalogued
//! event names are the crate's own list, [`EVENT_NAMES`](crate::schema::events::EVENT_NAMES).

use super::tokens::{Token, Tokens};
use super::utf8_prefix;
use crate::encode::{BufferFull, EncodeError};
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

pub fn str_eq(a: JsonStr<'_>, b: JsonStr<'_>) -> bool {
    a.chars().eq(b.chars())
}

/// Whether two valid JSON texts have the same meaning: the same structure, member order
/// and escapes aside (strings are compared decoded).
pub fn json_eq(a: &[u8], b: &[u8]) -> bool {
    json_eq_f32(a, b, false)
}

/// [`json_eq`], with non-integer numbers also equal when they are the same `f32`.
pub fn json_eq_f32(a: &[u8], b: &[u8], f32: bool) -> bool {
    let mut x = Tokens::new(a);
    let mut y = Tokens::new(b);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(Token::Punct(p)), Some(Token::Punct(q))) if p == q => {}
            (Some(Token::Str(p)), Some(Token::Str(q))) if str_eq(p, q) => {}
            (Some(Token::Scalar(p)), Some(Token::Scalar(q))) if scalar_eq(p, q, f32) => {}
            _ => return false,
        }
    }
}

pub fn opt_json_eq(a: Option<RawJson<'_>>, b: Option<RawJson<'_>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => json_eq(a.as_bytes(), b.as_bytes()),
        _ => false,
    }
}

/// Encoder output: printable ASCII only, and no whitespace outside strings.
pub fn assert_compact_ascii(bytes: &[u8]) {
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        assert!(
            (0x20..0x7F).contains(&b),
            "encoder wrote byte {b:#04x} at {i}: not printable ASCII"
        );
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            assert!(
                b != b' ',
                "encoder wrote whitespace outside a string at {i}"
            );
            in_string = b == b'"';
        }
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
}
