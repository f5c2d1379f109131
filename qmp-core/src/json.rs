//! Zero-copy views into validated JSON.
//!
//! [`RawJson`] is a JSON value whose bytes have passed the strict [scanner](crate::scan):
//! a [`Frame`] converts into one for free, and [`RawJson::parse`]
//! validates any other slice. Its accessors walk the bytes on demand, borrow everything
//! and never allocate: member and element iteration, numbers as `i64`, `u64` or `f64`,
//! strings as [`JsonStr`], and [`decode`](RawJson::decode) into any `Deserialize` type
//! through serde-json-core.
//!
//! Because the bytes are known to be valid, walking them needs no error handling and no
//! recursion: skipping a nested value only counts brackets outside strings. Accessors
//! still index defensively, so even a misuse cannot panic.
//!
//! ```
//! use qmp_core::json::{Kind, RawJson};
//!
//! let v = RawJson::parse(br#"{"return": {"status": "running", "running": true}, "id": 7}"#)?;
//! assert_eq!(v.kind(), Kind::Object);
//! let ret = v.get("return").unwrap();
//! assert_eq!(ret.get("status").and_then(|s| s.as_str()).unwrap(), "running");
//! assert_eq!(ret.get("running").and_then(|b| b.as_bool()), Some(true));
//! assert_eq!(v.get("id").and_then(|id| id.as_u64()), Some(7));
//! # Ok::<(), qmp_core::scan::ScanError>(())
//! ```

mod string;

use core::fmt;

pub use string::{BufferTooSmall, Chars, JsonStr};

use crate::frame::Frame;
use crate::scan::{is_delim, skip_plain, validate, Outline, ScanError};

/// The kind of a JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `{...}`
    Object,
    /// `[...]`
    Array,
    /// `"..."`
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// A validated JSON value, borrowed. See the [module docs](self).
///
/// It holds the value's text as `&str`: a frame is checked as UTF-8 once, when it
/// becomes a `RawJson`, and every member, element and string below it is then a plain
/// sub-slice, never checked again.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawJson<'a> {
    text: &'a str,
}

impl fmt::Debug for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.text)
    }
}

impl fmt::Display for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_text())
    }
}

impl<'a> From<Frame<'a>> for RawJson<'a> {
    /// Frames are validated UTF-8 JSON, so this only checks UTF-8 once (a fast ASCII
    /// pass); were that ever to fail, the result would be `null`.
    fn from(frame: Frame<'a>) -> Self {
        Self::trusted_str(core::str::from_utf8(frame.as_bytes()).unwrap_or("null"))
    }
}

impl<'a> RawJson<'a> {
    /// Validate `bytes` as exactly one JSON text (surrounding whitespace allowed and
    /// trimmed).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ScanError> {
        validate(bytes)?;
        let text = core::str::from_utf8(bytes).unwrap_or_default();
        Ok(Self::trusted_str(
            text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n')),
        ))
    }

    /// Wrap text already known to be one valid JSON value without surrounding
    /// whitespace.
    pub(crate) const fn trusted_str(text: &'a str) -> Self {
        Self { text }
    }

    /// [`trusted_str`](Self::trusted_str) for bytes; invalid UTF-8 (impossible for a
    /// validated value) gives `null`.
    #[allow(dead_code)] // used by the fuzz module
    pub(crate) fn trusted(bytes: &'a [u8]) -> Self {
        Self::trusted_str(core::str::from_utf8(bytes).unwrap_or("null"))
    }

    /// The value's JSON text.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The value's JSON text as `&str`.
    pub const fn as_text(&self) -> &'a str {
        self.text
    }

    /// The kind of value.
    pub fn kind(&self) -> Kind {
        match self.text.as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// The members of an object in wire order (empty for other kinds). Duplicate keys
    /// are all returned.
    pub fn members(&self) -> Members<'a> {
        let pos = if self.kind() == Kind::Object {
            1
        } else {
            self.text.len()
        };
        Members {
            text: self.text,
            pos,
            outline: Outline::EMPTY,
            containers: 0,
        }
    }

    /// [`members`](Self::members), finding the ends of the containers recorded in
    /// `outline` there instead of by walking them.
    pub(crate) fn members_outlined(&self, outline: Outline) -> Members<'a> {
        Members {
            outline,
            ..self.members()
        }
    }

    /// The first member named `key` (compared after unescaping), if this is an object.
    pub fn get(&self, key: &str) -> Option<RawJson<'a>> {
        self.members().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The elements of an array (empty for other kinds).
    pub fn elements(&self) -> Elements<'a> {
        let pos = if self.kind() == Kind::Array {
            1
        } else {
            self.text.len()
        };
        Elements {
            text: self.text,
            pos,
        }
    }

    /// The string's text, borrowed, if this is a string without escapes (`None` for
    /// other kinds and for strings with escapes: decode those through
    /// [`as_json_str`](Self::as_json_str)).
    pub fn as_str(&self) -> Option<&'a str> {
        self.as_json_str()?.as_str()
    }

    /// The string, still escaped, if this is one.
    pub fn as_json_str(&self) -> Option<JsonStr<'a>> {
        if self.kind() != Kind::String {
            return None;
        }
        let inner = self.text.get(1..self.text.len().saturating_sub(1))?;
        Some(JsonStr::from_raw(inner))
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.text {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        self.text == "null"
    }

    /// The number as `i64`, if it is an integer (no fraction or exponent) in range.
    pub fn as_i64(&self) -> Option<i64> {
        let bytes = self.text.as_bytes();
        let (negative, digits) = match bytes.split_first()? {
            (b'-', rest) => (true, rest),
            _ => (false, bytes),
        };
        let magnitude = parse_digits(digits)?;
        if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// The number as `u64`, if it is a non-negative integer (no fraction or exponent) in
    /// range. `-0` is 0.
    pub fn as_u64(&self) -> Option<u64> {
        let bytes = self.text.as_bytes();
        match bytes.split_first()? {
            (b'-', b"0") => Some(0),
            (b'-', _) => None,
            _ => parse_digits(bytes),
        }
    }

    /// The number as `f64` (nearest value; integers beyond 2^53 lose precision, as in
    /// QEMU). `None` for other kinds and for numbers too large for `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        if self.kind() != Kind::Number {
            return None;
        }
        let v: f64 = self.as_text().parse().ok()?;
        v.is_finite().then_some(v)
    }

    /// Deserialize into `T` with serde-json-core, borrowing from the frame where `T`
    /// does (`&'a str` fields need strings without escapes; use [`JsonStr`] otherwise).
    pub fn decode<T: serde::Deserialize<'a>>(&self) -> Result<T, serde_json_core::de::Error> {
        serde_json_core::from_slice(self.text.as_bytes()).map(|(value, _)| value)
    }
}

/// Parse ASCII digits as `u64`, `None` on anything else or overflow.
fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Iterator over an object's members: `(name, value)`.
#[derive(Clone, Debug)]
pub struct Members<'a> {
    text: &'a str,
    pos: usize,
    /// Where the object's container members end, when known (see [`Outline`]).
    outline: Outline,
    /// How many container members were passed.
    containers: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, RawJson<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.text.as_bytes();
        let mut i = skip_ws(b, self.pos);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
        if b.get(i) != Some(&b'"') {
            self.pos = b.len();
            return None;
        }
        let key_end = string_end(b, i);
        let key = self.text.get(i + 1..key_end.saturating_sub(1))?;
        let colon = skip_ws(b, key_end);
        let start = skip_ws(b, colon + 1);
        // The n-th container member ends where the scanner recorded it.
        let recorded = match b.get(start) {
            Some(b'{' | b'[') => {
                self.containers += 1;
                self.outline.end(self.containers - 1)
            }
            _ => None,
        };
        let end = match recorded {
            Some(end) if end > start => end,
            _ => value_end(b, start),
        };
        self.pos = end;
        let value = RawJson::trusted_str(self.text.get(start..end)?);
        Some((JsonStr::from_raw(key), value))
    }
}

/// Iterator over an array's elements.
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = RawJson<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.text.as_bytes();
        let mut i = skip_ws(b, self.pos);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
        match b.get(i) {
            None | Some(b']') => {
                self.pos = b.len();
                None
            }
            Some(_) => {
                let end = value_end(b, i);
                self.pos = end;
                self.text.get(i..end).map(RawJson::trusted_str)
            }
        }
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

/// Index just past the string whose opening quote is at `i`.
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    loop {
        i = skip_plain(b, i);
        match b.get(i) {
            Some(b'"') => return i + 1,
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
            None => return b.len(),
        }
    }
}

/// Index just past the valid value that starts at `i`.
fn value_end(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        Some(_) => {
            let mut j = i;
            // A number or literal ends at the first delimiter.
            while b.get(j).is_some_and(|&c| !is_delim(c)) {
                j += 1;
            }
            j
        }
        None => i,
    }
}

#[cfg(test)]
mod tests;
