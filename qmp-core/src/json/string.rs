//! [`JsonStr`]: a JSON string as it appears on the wire, decoded only on request.

use core::fmt;

/// [`JsonStr::unescape_into`] was given a buffer too small for the decoded string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferTooSmall {
    /// The buffer size the decoded string needs, in bytes.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the decoded string needs a buffer of {} bytes",
            self.needed
        )
    }
}

impl core::error::Error for BufferTooSmall {}

/// A validated JSON string, still escaped: the text between the quotes.
///
/// Borrowed as `&str` when it has no escapes ([`as_str`](JsonStr::as_str)), decoded
/// into a caller buffer ([`unescape_into`](JsonStr::unescape_into)) or as an iterator
/// ([`chars`](JsonStr::chars)), and compared with `&str` without allocating.
///
/// ```
/// use qmp_core::json::RawJson;
///
/// let v = RawJson::parse(br#""caf\u00E9 \uD83D\uDE00""#)?;
/// let s = v.as_json_str().unwrap();
/// assert_eq!(s.as_str(), None); // has escapes
/// assert!(s == "café 😀");
/// let mut buf = [0u8; 16];
/// assert_eq!(s.unescape_into(&mut buf), Ok("café 😀"));
/// # Ok::<(), qmp_core::scan::ScanError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonStr<'a> {
    raw: &'a [u8],
}

impl<'a> JsonStr<'a> {
    /// Wrap the text between the quotes of a validated string.
    pub(crate) const fn from_raw(raw: &'a [u8]) -> Self {
        Self { raw }
    }

    /// The empty string.
    pub const EMPTY: JsonStr<'static> = JsonStr { raw: b"" };

    /// `text` as a JSON string, if it needs no escaping: no `"`, no backslash and no control
    /// character. Other characters, non-ASCII included, are allowed as they are (the
    /// [encoder](crate::encode) writes them as `\\uXXXX`).
    ///
    /// ```
    /// use qmp_core::json::JsonStr;
    ///
    /// assert!(JsonStr::from_text("Debian 1:10.0.2+ds-2").is_some());
    /// assert!(JsonStr::from_text("say \"hi\"").is_none());
    /// ```
    pub fn from_text(text: &'a str) -> Option<Self> {
        let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        plain.then_some(Self {
            raw: text.as_bytes(),
        })
    }

    /// The escaped text between the quotes, as on the wire. It is made into a `&str`
    /// on each call (a UTF-8 check of the string's bytes, which cannot fail for a
    /// validated string); [`raw_bytes`](Self::raw_bytes) is free.
    pub fn raw(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }

    /// The escaped bytes between the quotes, as on the wire.
    pub const fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the string contains escapes.
    pub fn has_escapes(&self) -> bool {
        // A plain loop: names and values are short, and `contains` brings in memchr
        // (186 bytes of firmware against 52).
        #[allow(clippy::manual_contains)]
        self.raw.iter().any(|&b| b == b'\\')
    }

    /// The string itself, borrowed, when it has no escapes.
    pub fn as_str(&self) -> Option<&'a str> {
        if self.has_escapes() {
            return None;
        }
        core::str::from_utf8(self.raw).ok()
    }

    /// The decoded characters.
    pub fn chars(&self) -> Chars<'a> {
        Chars { rest: self.raw }
    }

    /// The index of the first of `names` that this string equals once decoded, trying
    /// `names[start]` first and going round from there (callers that match members in
    /// their usual order pass the next expected index). Names are compared as raw
    /// bytes first; the string is decoded only when that fails and it has escapes,
    /// which QEMU never sends in names. A raw match counts only when the bytes hold no
    /// backslash: the name `\\` (two backslashes) is byte-equal to the wire's `\\`,
    /// which is one.
    pub(crate) fn find_in(&self, names: &[&str], start: usize) -> Option<usize> {
        let raw = self.raw;
        let mut i = start;
        for _ in 0..names.len() {
            if i >= names.len() {
                i = 0;
            }
            if names
                .get(i)
                .is_some_and(|name| same_unescaped(name.as_bytes(), raw))
            {
                return Some(i);
            }
            i += 1;
        }
        self.find_decoded(names)
    }

    /// The index of the first of `names` that this string equals once decoded, if it
    /// has escapes (`None` without: the raw comparison has already said no). Out of
    /// line: hand-made input only.
    #[inline(never)]
    pub(crate) fn find_decoded(&self, names: &[&str]) -> Option<usize> {
        if !self.has_escapes() {
            return None;
        }
        names
            .iter()
            .position(|name| self.eq_decoded(name.as_bytes()))
    }

    /// The length of the decoded string in UTF-8 bytes.
    pub fn unescaped_len(&self) -> usize {
        self.chars().map(char::len_utf8).sum()
    }

    /// Whether the decoded string is `other`, compared as UTF-8 bytes (no decoding of
    /// `other`).
    fn eq_decoded(&self, other: &[u8]) -> bool {
        let raw = self.raw;
        let (mut i, mut rest) = (0, other);
        while let Some(byte) = raw.get(i) {
            let mut utf8 = [0; 4];
            let (decoded, len): (&[u8], usize) = if *byte == b'\\' {
                let (c, len) = unescape(raw.get(i..).unwrap_or_default());
                (c.encode_utf8(&mut utf8).as_bytes(), len)
            } else {
                // Unescaped text is compared byte for byte, UTF-8 as it is.
                (core::slice::from_ref(byte), 1)
            };
            match rest.strip_prefix(decoded) {
                Some(tail) => rest = tail,
                None => return false,
            }
            i += len;
        }
        rest.is_empty()
    }

    /// Decode into `buf` and return the decoded text. A buffer that is too small is
    /// an error that says how large it must be ([`unescaped_len`](Self::unescaped_len)).
    pub fn unescape_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, BufferTooSmall> {
        let mut n = 0;
        for c in self.chars() {
            let len = c.len_utf8();
            let Some(dst) = buf.get_mut(n..n + len) else {
                return Err(BufferTooSmall {
                    needed: self.unescaped_len(),
                });
            };
            c.encode_utf8(dst);
            n += len;
        }
        let done = buf.get(..n).unwrap_or_default();
        Ok(core::str::from_utf8(done).unwrap_or_default())
    }
}

impl PartialEq<str> for JsonStr<'_> {
    /// Compares the decoded string. Unescaping never lengthens a string, so the text is
    /// only decoded when it is longer than `other`; otherwise the bytes decide.
    fn eq(&self, other: &str) -> bool {
        let raw = self.raw;
        if raw.len() > other.len() {
            // Equal only if escapes make up the difference.
            return self.has_escapes() && self.eq_decoded(other.as_bytes());
        }
        // Not longer: equal only if byte-equal with no escape, since an escape would
        // make the decoded string shorter than `other`.
        raw == other.as_bytes() && !self.has_escapes()
    }
}

impl PartialEq<&str> for JsonStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.raw())
    }
}

impl fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(plain) => f.write_str(plain),
            None => self.chars().try_for_each(|c| fmt::Write::write_char(f, c)),
        }
    }
}

/// The decoded characters of a [`JsonStr`]. An invalid escape (impossible in a
/// validated string) decodes as U+FFFD.
#[derive(Clone, Debug)]
pub struct Chars<'a> {
    rest: &'a [u8],
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (c, len) = match *self.rest.first()? {
            b'\\' => unescape(self.rest),
            lead => {
                // Validated UTF-8: the lead byte says how long the character is.
                let len = match lead {
                    0x00..=0x7F => 1,
                    0xC0..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    _ => 4,
                };
                let text = self.rest.get(..len).map(core::str::from_utf8);
                let c = match text {
                    Some(Ok(text)) => text.chars().next().unwrap_or('\u{FFFD}'),
                    _ => '\u{FFFD}',
                };
                (c, len)
            }
        };
        self.rest = self.rest.get(len..).unwrap_or_default();
        Some(c)
    }
}

/// The character of the escape at the start of `raw` (which begins with `\`), and the
/// escape's length: two bytes, six for `\uXXXX`, twelve for a surrogate pair. Invalid
/// escapes (impossible in a validated string) give U+FFFD. Out of line: shared by
/// [`Chars`] and the comparisons, and rare in QMP.
#[inline(never)]
fn unescape(raw: &[u8]) -> (char, usize) {
    let simple = match raw.get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let Some(unit) = hex4(raw, 2) else {
                return ('\u{FFFD}', raw.len().min(6));
            };
            if !(0xD800..0xDC00).contains(&unit) {
                return (char::from_u32(unit).unwrap_or('\u{FFFD}'), 6);
            }
            // A high surrogate: the low half follows as a second escape.
            let low = match raw.get(6..8) {
                Some(b"\\u") => hex4(raw, 8).filter(|low| (0xDC00..0xE000).contains(low)),
                _ => None,
            };
            return match low {
                Some(low) => {
                    let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    (char::from_u32(c).unwrap_or('\u{FFFD}'), 12)
                }
                None => ('\u{FFFD}', 6),
            };
        }
        _ => '\u{FFFD}',
    };
    (simple, raw.len().clamp(1, 2))
}

/// Byte equality of short strings without a backslash (so without escapes: then the
/// raw bytes are the text), and without a call to `memcmp`.
#[inline]
fn same_unescaped(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| x == y && x != b'\\')
}

/// The four hex digits at `raw[at..]` as a number.
fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let digit = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u32::from(digit))
    })
}
