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
//! recursion: one cursor steps over strings, values and members for every layer above
//! (skipping a nested value only counts brackets outside strings), and accessors index
//! defensively, so even a misuse cannot panic. A `RawJson` holds bytes, not `&str`: the
//! scanner has already checked UTF-8, so nothing is checked again until a caller asks
//! for a `&str` ([`RawJson::as_str`], [`JsonStr::as_str`]), and then only for that
//! string.
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

mod cursor;
mod string;

use core::fmt;

pub(crate) use cursor::Cursor;
#[cfg(any(test, feature = "fuzz"))]
pub(crate) use cursor::Token;
pub use string::{BufferTooSmall, Chars, JsonStr};

use crate::frame::Frame;
use crate::scan::{is_ws, validate, Outline, ScanError};

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
/// It holds the value's bytes: a frame becomes a `RawJson` for free, and every member,
/// element and string below it is a plain sub-slice. The scanner checked UTF-8 once;
/// only the strings a caller asks for as `&str` are made into one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawJson<'a> {
    bytes: &'a [u8],
}

impl fmt::Debug for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.as_text())
    }
}

impl fmt::Display for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_text())
    }
}

impl<'a> From<Frame<'a>> for RawJson<'a> {
    /// Free: a frame is one validated JSON value.
    fn from(frame: Frame<'a>) -> Self {
        Self::trusted(frame.as_bytes())
    }
}

impl<'a> RawJson<'a> {
    /// Validate `bytes` as exactly one JSON text (surrounding whitespace allowed and
    /// trimmed).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ScanError> {
        validate(bytes)?;
        let start = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
        let end = bytes
            .iter()
            .rposition(|&b| !is_ws(b))
            .map_or(start, |i| i + 1);
        Ok(Self::trusted(bytes.get(start..end).unwrap_or_default()))
    }

    /// Wrap bytes already known to be one valid JSON value without surrounding
    /// whitespace.
    pub(crate) const fn trusted(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The value's JSON text.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The value's JSON text as `&str`. This checks the bytes as UTF-8 (in O(n); it
    /// cannot fail for a validated value): use [`as_bytes`](Self::as_bytes) where bytes
    /// do.
    pub fn as_text(&self) -> &'a str {
        core::str::from_utf8(self.bytes).unwrap_or_default()
    }

    /// Where `part`, the bytes of a member, element or string taken from this value at
    /// any depth, starts in this value's text; `None` if it is not a part of it. Errors
    /// of the layers above count their offsets this way.
    ///
    /// ```
    /// use qmp_core::json::RawJson;
    ///
    /// let reply = RawJson::parse(br#"{"return": {"status": "running"}, "id": 1}"#)?;
    /// let status = reply.get("return").and_then(|r| r.get("status")).unwrap();
    /// assert_eq!(reply.offset_of(status.as_bytes()), Some(22));
    /// # Ok::<(), qmp_core::scan::ScanError>(())
    /// ```
    pub fn offset_of(&self, part: &[u8]) -> Option<usize> {
        let start = part
            .as_ptr()
            .addr()
            .checked_sub(self.bytes.as_ptr().addr())?;
        (start.checked_add(part.len())? <= self.bytes.len()).then_some(start)
    }

    /// The kind of value.
    pub fn kind(&self) -> Kind {
        match self.bytes.first() {
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
            self.bytes.len()
        };
        Members {
            cursor: Cursor::at(self.bytes, pos),
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
        let [value] = self.get_all([key]);
        value
    }

    /// The first member of each name in `keys` (compared after unescaping), found in one
    /// walk over the object: several [`get`](Self::get)s for the price of one.
    ///
    /// ```
    /// use qmp_core::json::RawJson;
    ///
    /// let error = RawJson::parse(br#"{"class": "GenericError", "desc": "no such device"}"#)?;
    /// let [class, desc, data] = error.get_all(["class", "desc", "data"]);
    /// assert_eq!(class.and_then(|c| c.as_str()), Some("GenericError"));
    /// assert_eq!(desc.and_then(|d| d.as_str()), Some("no such device"));
    /// assert!(data.is_none());
    /// # Ok::<(), qmp_core::scan::ScanError>(())
    /// ```
    pub fn get_all<const N: usize>(&self, keys: [&str; N]) -> [Option<RawJson<'a>>; N] {
        let mut found = [None; N];
        self.find_members(&keys, &mut found);
        found
    }

    /// [`get_all`](Self::get_all) without the const generic: one copy of the walk.
    fn find_members(&self, keys: &[&str], found: &mut [Option<RawJson<'a>>]) {
        let mut missing = keys.len();
        let mut next = 0;
        for (name, value) in self.members() {
            let Some(i) = name.find_in(keys, next) else {
                continue;
            };
            if let Some(slot @ None) = found.get_mut(i) {
                *slot = Some(value);
                missing -= 1;
                if missing == 0 {
                    return;
                }
            }
            next = i + 1;
        }
    }

    /// The elements of an array (empty for other kinds).
    pub fn elements(&self) -> Elements<'a> {
        let pos = if self.kind() == Kind::Array {
            1
        } else {
            self.bytes.len()
        };
        Elements {
            cursor: Cursor::at(self.bytes, pos),
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
        let inner = self.bytes.get(1..self.bytes.len().saturating_sub(1))?;
        Some(JsonStr::from_raw(inner))
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.bytes {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        self.bytes == b"null"
    }

    /// The number as `i64`, if it is an integer (no fraction or exponent) in range.
    pub fn as_i64(&self) -> Option<i64> {
        match leading_integer(self.bytes)? {
            (value, []) => Some(value),
            _ => None,
        }
    }

    /// The number as `u64`, if it is a non-negative integer (no fraction or exponent) in
    /// range. `-0` is 0.
    pub fn as_u64(&self) -> Option<u64> {
        let bytes = self.bytes;
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
    pub fn decode<T: serde::Deserialize<'a>>(&self) -> Result<T, DeserializeError> {
        serde_json_core::from_slice(self.bytes)
            .map(|(value, _)| value)
            .map_err(|error| DeserializeError { error })
    }
}

/// Whether the JSON number `number` (checked grammar) is finite as an `f64`, that is,
/// rounds to a finite value: decided on its digits, without converting it (which would
/// bring the float parser into every image that only needs the answer).
///
/// A number is `0.DIGITS × 10^p` with a nonzero first digit; it is finite when
/// `p < 309` and infinite when `p > 309`. At `p = 309` it rounds to `f64::MAX` below
/// `2^1024 − 2^970` (halfway between `f64::MAX` and `2^1024`) and to infinity from
/// there on (the tie goes to the even `2^1024`).
pub(crate) fn finite_as_f64(number: &[u8]) -> bool {
    /// `2^1024 − 2^970`, all 309 digits.
    const HALFWAY: &[u8] = b"179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
    // One pass, in one small loop (this is only for the human syntax's numbers): `p`
    // less the exponent is the count of digits before the point from the first nonzero
    // digit on, less the zeros after the point before that digit.
    let mut point: i64 = 0;
    let mut first = None;
    let mut fraction = false;
    // `Some(negative)` once in the exponent, and its magnitude, capped far beyond any
    // threshold below (a capped multiply is a 64-bit one; a checked one, 128-bit).
    let mut exponent = None;
    let mut magnitude: i64 = 0;
    for (i, &b) in number.iter().enumerate() {
        match (b, exponent) {
            (b'e' | b'E', _) => exponent = Some(false),
            (b'-', Some(_)) => exponent = Some(true),
            (b'-' | b'+', _) => {}
            (b'.', _) => fraction = true,
            (_, Some(_)) => {
                let digit = i64::from(b.wrapping_sub(b'0'));
                magnitude = (magnitude * 10 + digit).min(1 << 59);
            }
            (b'0', None) if first.is_none() => point -= i64::from(fraction),
            _ => {
                first = first.or(Some(i));
                point += i64::from(!fraction);
            }
        }
    }
    let Some(first) = first else {
        return true; // zero
    };
    let point = match exponent {
        Some(true) => point.saturating_sub(magnitude),
        _ => point.saturating_add(magnitude),
    };
    match point.cmp(&309) {
        core::cmp::Ordering::Less => true,
        core::cmp::Ordering::Greater => false,
        core::cmp::Ordering::Equal => {
            let mut significant = number
                .get(first..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&b| b != b'e' && b != b'E')
                .filter(|&&b| b != b'.');
            for &h in HALFWAY {
                let d = significant.next().copied().unwrap_or(b'0');
                if d != h {
                    return d < h;
                }
            }
            // Equal to the halfway point (rounds to infinity), or longer: any nonzero
            // digit left makes it larger still.
            false
        }
    }
}

/// The JSON integer at the start of `bytes` and the rest, read in one pass; `None` if it
/// does not fit `i64` or is followed by a fraction or exponent.
pub(crate) fn leading_integer(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let (negative, mut rest) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    let mut value: i64 = 0;
    let mut digits = 0;
    while let [digit @ b'0'..=b'9', tail @ ..] = rest {
        let digit = i64::from(digit - b'0');
        // Negative numbers accumulate downwards, so that i64::MIN fits. The first 18
        // digits cannot overflow (|value| < 10^17 before each step), so only later ones
        // are checked: a checked 64-bit multiply is a 128-bit one on 32-bit targets.
        value = match (negative, digits < 18) {
            (false, true) => value * 10 + digit,
            (true, true) => value * 10 - digit,
            (false, false) => value.checked_mul(10)?.checked_add(digit)?,
            (true, false) => value.checked_mul(10)?.checked_sub(digit)?,
        };
        digits += 1;
        rest = tail;
    }
    if digits == 0 || matches!(rest.first(), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some((value, rest))
}

/// The value does not fit the type [`RawJson::decode`] was asked for: a member of the
/// wrong type, a missing required member, a duplicate member, an unknown enum value, …
///
/// Its `Display` says which; the deserializer (serde-json-core) does not report
/// positions, so the error is about the value as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeserializeError {
    pub(crate) error: serde_json_core::de::Error,
}

impl fmt::Display for DeserializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the value does not fit the type: {}", self.error)
    }
}

impl core::error::Error for DeserializeError {}

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
    cursor: Cursor<'a>,
    /// Where the object's container members end, when known (see [`Outline`]).
    outline: Outline,
    /// How many container members were passed.
    containers: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, RawJson<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let c = &mut self.cursor;
        c.skip_ws();
        if c.peek() == Some(b',') {
            c.bump();
            c.skip_ws();
        }
        if c.peek() != Some(b'"') {
            c.jump(usize::MAX);
            return None;
        }
        let key = c.string();
        c.skip_ws();
        c.bump(); // the colon
        c.skip_ws();
        let start = c.pos();
        // The n-th container member ends where the scanner recorded it.
        let value = match c.peek() {
            Some(b'{' | b'[') => {
                self.containers += 1;
                match self.outline.end(self.containers - 1) {
                    Some(end) if end > start => {
                        c.jump(end);
                        c.slice(start)
                    }
                    _ => c.value(),
                }
            }
            _ => c.value(),
        };
        Some((JsonStr::from_raw(key), RawJson::trusted(value)))
    }
}

/// Iterator over an array's elements.
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for Elements<'a> {
    type Item = RawJson<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = &mut self.cursor;
        c.skip_ws();
        if c.peek() == Some(b',') {
            c.bump();
            c.skip_ws();
        }
        match c.peek() {
            None | Some(b']') => {
                c.jump(usize::MAX);
                None
            }
            Some(_) => Some(RawJson::trusted(c.value())),
        }
    }
}

#[cfg(test)]
mod tests;
