//! Primitive writers: escaped strings (as QEMU's `json-writer.c` escapes them),
//! compacted raw JSON, integers and floats.

use core::fmt::{self, Write as _};

use super::{EncodeError, Sink};

/// Byte class: copied as is.
const PASS: u8 = 0;
/// Byte class: the lead byte of a non-ASCII UTF-8 sequence (or a continuation byte).
const NON_ASCII: u8 = 1;
/// Byte class: written as `\u00XX`.
const UNICODE: u8 = b'u';

/// How each byte of a string is written: [`PASS`], [`NON_ASCII`], [`UNICODE`], or the
/// letter of its short escape (`"` `\` `b` `f` `n` `r` `t`).
const ESCAPE: [u8; 256] = escape_table();

const fn escape_table() -> [u8; 256] {
    let mut table = [PASS; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if i < 0x20 || i == 0x7F {
            UNICODE
        } else if i >= 0x80 {
            NON_ASCII
        } else {
            PASS
        };
        i += 1;
    }
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[0x08] = b'b';
    table[0x0C] = b'f';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// One escape as written: `\X`, `\uXXXX` or a surrogate pair `\uXXXX\uXXXX`.
///
/// Built by plain functions, not generic over the sink, so that every sink type shares
/// one copy of the escaping code: only the write of the finished escape is generic.
struct Escape {
    buf: [u8; 12],
    len: u8,
}

impl Escape {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// `\uXXXX` for one UTF-16 unit, uppercase hex, into `buf[at..at + 6]`.
fn unit(buf: &mut [u8; 12], at: usize, u: u32) {
    let h = |shift: u32| HEX[((u >> shift) & 0xF) as usize];
    if let Some(slot) = buf.get_mut(at..at + 6) {
        slot.copy_from_slice(&[b'\\', b'u', h(12), h(8), h(4), h(0)]);
    }
}

/// `\uXXXX`, or a surrogate pair `\uXXXX\uXXXX` above U+FFFF.
#[inline(never)]
fn unicode_escape(c: u32) -> Escape {
    let mut buf = [0; 12];
    if c < 0x1_0000 {
        unit(&mut buf, 0, c);
        return Escape { buf, len: 6 };
    }
    let c = c - 0x1_0000;
    unit(&mut buf, 0, 0xD800 | (c >> 10));
    unit(&mut buf, 6, 0xDC00 | (c & 0x3FF));
    Escape { buf, len: 12 }
}

/// The escape for an ASCII byte whose class is not [`PASS`].
fn ascii_escape(byte: u8, class: u8) -> Escape {
    if class == UNICODE || class == NON_ASCII {
        unicode_escape(u32::from(byte))
    } else {
        let mut buf = [0; 12];
        buf[0] = b'\\';
        buf[1] = class;
        Escape { buf, len: 2 }
    }
}

/// The escape for the character starting at `s[i..]` (non-ASCII), and its length.
#[inline(never)]
fn char_escape(s: &str, i: usize) -> (Escape, usize) {
    match s.get(i..).and_then(|rest| rest.chars().next()) {
        Some(c) => (unicode_escape(u32::from(c)), c.len_utf8()),
        // Not a char boundary: impossible for `&str`, written as QEMU writes bad UTF-8.
        None => (unicode_escape(0xFFFD), 1),
    }
}

/// The escape for the byte at `s[i]` of class `class` (not [`PASS`]), and how many
/// bytes of `s` it stands for.
#[inline(never)]
fn escape_at(s: &str, i: usize, byte: u8, class: u8) -> (Escape, usize) {
    if class == NON_ASCII {
        char_escape(s, i)
    } else {
        (ascii_escape(byte, class), 1)
    }
}

fn run<S: Sink + ?Sized>(
    sink: &mut S,
    bytes: &[u8],
    start: usize,
    end: usize,
) -> Result<(), S::Error> {
    match bytes.get(start..end) {
        Some(run) if !run.is_empty() => sink.write(run),
        _ => Ok(()),
    }
}

/// The body of a JSON string (no quotes), escaped to ASCII as QEMU does: short escapes
/// for `"` `\` BS FF LF CR HT, `\u00XX` for other controls and DEL, `\uXXXX` (a pair
/// above U+FFFF) for everything non-ASCII, `/` as is. Unescaped runs go out in one write.
pub(crate) fn string_body<S: Sink + ?Sized>(sink: &mut S, s: &str) -> Result<(), S::Error> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let class = ESCAPE[usize::from(byte)];
        if class == PASS {
            i += 1;
            continue;
        }
        run(sink, bytes, start, i)?;
        let (escape, len) = escape_at(s, i, byte, class);
        sink.write(escape.as_bytes())?;
        i += len;
        start = i;
    }
    run(sink, bytes, start, i)
}

/// A quoted, escaped JSON string.
pub(crate) fn string<S: Sink + ?Sized>(sink: &mut S, s: &str) -> Result<(), S::Error> {
    sink.write(b"\"")?;
    string_body(sink, s)?;
    sink.write(b"\"")
}

/// Walks validated JSON, dropping insignificant whitespace and escaping raw non-ASCII
/// (and DEL, and any raw control character) inside strings. Escapes already present are
/// kept as they are: they are valid JSON and ASCII.
struct Compactor {
    in_string: bool,
    escaped: bool,
}

impl Compactor {
    // `from_utf8` rather than `utf8_chunks`, whose iterator is 0.5 KB more code in
    // images that link `from_utf8` anyway.
    fn walk<S: Sink + ?Sized>(&mut self, sink: &mut S, mut bytes: &[u8]) -> Result<(), S::Error> {
        loop {
            let error = match core::str::from_utf8(bytes) {
                Ok(s) => return self.walk_str(sink, s),
                Err(error) => error,
            };
            let (valid, rest) = bytes
                .split_at_checked(error.valid_up_to())
                .unwrap_or_default();
            self.walk_str(sink, core::str::from_utf8(valid).unwrap_or_default())?;
            // Impossible in validated JSON; written as QEMU writes bad UTF-8.
            self.escaped = false;
            if self.in_string {
                sink.write(unicode_escape(0xFFFD).as_bytes())?;
            }
            let bad = error.error_len().map_or(rest.len(), usize::from);
            bytes = rest.get(bad..).unwrap_or_default();
        }
    }

    fn walk_str<S: Sink + ?Sized>(&mut self, sink: &mut S, s: &str) -> Result<(), S::Error> {
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            if !self.in_string {
                match byte {
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        run(sink, bytes, start, i)?;
                        start = i + 1;
                    }
                    b'"' => self.in_string = true,
                    _ => {}
                }
                i += 1;
                continue;
            }
            if self.escaped {
                self.escaped = false;
                i += 1;
                continue;
            }
            match byte {
                b'\\' => self.escaped = true,
                b'"' => self.in_string = false,
                0x20..=0x7E => {}
                _ => {
                    run(sink, bytes, start, i)?;
                    let (escape, len) = escape_at(s, i, byte, ESCAPE[usize::from(byte)]);
                    sink.write(escape.as_bytes())?;
                    i += len;
                    start = i;
                    continue;
                }
            }
            i += 1;
        }
        run(sink, bytes, start, i)
    }
}

/// A validated JSON value, compacted and made ASCII-only.
pub(crate) fn raw<S: Sink + ?Sized>(sink: &mut S, json: &[u8]) -> Result<(), S::Error> {
    Compactor {
        in_string: false,
        escaped: false,
    }
    .walk(sink, json)
}

/// A validated string's escaped body, re-quoted and made ASCII-only.
pub(crate) fn raw_string<S: Sink + ?Sized>(sink: &mut S, body: &[u8]) -> Result<(), S::Error> {
    sink.write(b"\"")?;
    Compactor {
        in_string: true,
        escaped: false,
    }
    .walk(sink, body)?;
    sink.write(b"\"")
}

/// Decimal digits of `v` at the end of `buf`, with a leading `-` if `negative`;
/// returns where they start. `N` must hold every digit plus the sign; `$div10` gives
/// `(v / 10, v % 10)`.
macro_rules! digits {
    ($name:ident, $ty:ty, $n:expr, $div10:expr) => {
        fn $name(buf: &mut [u8; $n], mut v: $ty, negative: bool) -> &[u8] {
            let mut start = buf.len();
            for slot in buf.iter_mut().rev() {
                let (q, r): ($ty, u8) = $div10(v);
                *slot = b'0' + r;
                v = q;
                start -= 1;
                if v == 0 {
                    break;
                }
            }
            if negative {
                if let Some(slot) = start.checked_sub(1).and_then(|s| buf.get_mut(s)) {
                    *slot = b'-';
                    start -= 1;
                }
            }
            buf.get(start..).unwrap_or_default()
        }
    };
}

digits!(digits64, u64, 21, div10);
digits!(digits128, u128, 40, |v: u128| (v / 10, (v % 10) as u8));

/// `(v / 10, v % 10)`.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn div10(v: u64) -> (u64, u8) {
    (v / 10, (v % 10) as u8)
}

/// `(v / 10, v % 10)`. On 32-bit targets a 64-bit division is a call into about a
/// kilobyte of compiler runtime, the only one in a firmware image; this is the same
/// long division in 32-bit steps.
#[cfg(not(target_pointer_width = "64"))]
#[inline(always)]
fn div10(v: u64) -> (u64, u8) {
    div10_halves(v)
}

/// Long division of `v` by 10 in base 2^16 with 32-bit arithmetic: the high word,
/// then each 16-bit half of the low word with the remainder carried in (every partial
/// dividend stays below 10 · 2^16, so each quotient digit fits 16 bits).
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
#[inline(always)]
fn div10_halves(v: u64) -> (u64, u8) {
    let (hi, lo) = ((v >> 32) as u32, v as u32);
    let (q_hi, r_hi) = (hi / 10, hi % 10);
    let mid = (r_hi << 16) | (lo >> 16);
    let (q_mid, r_mid) = (mid / 10, mid % 10);
    let low = (r_mid << 16) | (lo & 0xFFFF);
    let (q_low, r) = (low / 10, low % 10);
    let q = (u64::from(q_hi) << 32) | (u64::from(q_mid) << 16) | u64::from(q_low);
    (q, r as u8)
}

/// An unsigned integer; `negative` puts a `-` in front (for signed magnitudes).
pub(crate) fn u64<S: Sink + ?Sized>(sink: &mut S, v: u64, negative: bool) -> Result<(), S::Error> {
    sink.write(digits64(&mut [0; 21], v, negative))
}

/// A signed integer.
pub(crate) fn i64<S: Sink + ?Sized>(sink: &mut S, v: i64) -> Result<(), S::Error> {
    u64(sink, v.unsigned_abs(), v < 0)
}

/// A 128-bit unsigned integer, the 64-bit path when it fits.
pub(crate) fn u128<S: Sink + ?Sized>(
    sink: &mut S,
    v: u128,
    negative: bool,
) -> Result<(), S::Error> {
    match u64::try_from(v) {
        Ok(small) => u64(sink, small, negative),
        Err(_) => sink.write(digits128(&mut [0; 40], v, negative)),
    }
}

/// A 128-bit signed integer.
pub(crate) fn i128<S: Sink + ?Sized>(sink: &mut S, v: i128) -> Result<(), S::Error> {
    u128(sink, v.unsigned_abs(), v < 0)
}

/// A float's text, formatted on the stack. 40 bytes hold the longest form written:
/// 17 significant digits, a sign, a point, `.0`, and up to 4 leading zeros or an
/// exponent.
struct FloatText {
    buf: [u8; 40],
    len: usize,
}

impl fmt::Write for FloatText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Shortest round-trip digits (Rust's formatter), in serde_json's layout: plain decimal
/// with at least one fractional digit for zero and, for `f64`, 1e-5 <= |v| < 1e16
/// (`1.0`, `0.5`, `-0.0`), otherwise exponent form with a signed exponent (`1e+16`,
/// `1.5e-7`, as C's `%g` and so QEMU's `%.17g`). `decimal` says which. Where two shortest
/// digit strings tie, Rust and serde_json may pick different ones (`3988696.3` against
/// `3988696.2` for an `f32`); both read back as the same value.
fn float<S: Sink + ?Sized>(
    sink: &mut S,
    finite: bool,
    decimal: bool,
    format: impl FnOnce(&mut FloatText, bool) -> fmt::Result,
) -> Result<(), EncodeError<S::Error>> {
    if !finite {
        return Err(EncodeError::NonFiniteFloat);
    }
    let mut text = FloatText {
        buf: [0; 40],
        len: 0,
    };
    // Cannot fail: the buffer holds every form (see `FloatText`).
    format(&mut text, decimal).map_err(|_| EncodeError::Custom)?;
    let digits = text.buf.get(..text.len).unwrap_or_default();
    if decimal {
        sink.write(digits)?;
        if !digits.contains(&b'.') {
            sink.write(b".0")?;
        }
        return Ok(());
    }
    // Rust writes `1e16`; JSON allows both, serde_json and QEMU write `1e+16`.
    match digits.iter().position(|&b| b == b'e') {
        Some(e) if digits.get(e + 1) != Some(&b'-') => {
            let (mantissa, exponent) = digits.split_at(e + 1);
            sink.write(mantissa)?;
            sink.write(b"+")?;
            sink.write(exponent)?;
        }
        _ => sink.write(digits)?,
    }
    Ok(())
}

/// A finite `f64` (see [`float`]); NaN and infinities are an error.
pub(crate) fn f64<S: Sink + ?Sized>(sink: &mut S, v: f64) -> Result<(), EncodeError<S::Error>> {
    let a = v.abs();
    let decimal = a == 0.0 || (1e-5..1e16).contains(&a);
    float(sink, v.is_finite(), decimal, |t, decimal| {
        if decimal {
            write!(t, "{v}")
        } else {
            write!(t, "{v:e}")
        }
    })
}

/// A finite `f32`, with the shortest digits that round-trip as `f32`; plain decimal for
/// 1e-6 <= |v| < 1e13 (serde_json's range for `f32`), exponent form otherwise.
pub(crate) fn f32<S: Sink + ?Sized>(sink: &mut S, v: f32) -> Result<(), EncodeError<S::Error>> {
    let a = v.abs();
    let decimal = a == 0.0 || (1e-6..1e13).contains(&a);
    float(sink, v.is_finite(), decimal, |t, decimal| {
        if decimal {
            write!(t, "{v}")
        } else {
            write!(t, "{v:e}")
        }
    })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::{digits64, div10_halves};

    #[test]
    fn division_by_ten_in_halves_matches_u64_division() {
        let mut values = std::vec![0, 1, 9, 10, 11, 99, 100, u64::MAX, u64::MAX - 1];
        for shift in 0..64 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1, p.wrapping_mul(10), u64::MAX >> shift]);
        }
        let mut p = 1u64;
        while let Some(next) = p.checked_mul(10) {
            values.extend([p - 1, p, p + 1]);
            p = next;
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x);
            values.push(x >> (x % 64));
        }
        for v in values {
            assert_eq!(div10_halves(v), (v / 10, (v % 10) as u8), "{v}");
            let mut buf = [0; 21];
            assert_eq!(digits64(&mut buf, v, false), std::format!("{v}").as_bytes());
        }
    }
}
