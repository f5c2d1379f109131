//! [`Cursor`]: the one walker over validated JSON bytes that every layer above the
//! scanner uses to step over whitespace, strings, values, members and tokens.
//!
//! The bytes it walks have passed the [scanner](crate::scan), so it has no error paths:
//! a string ends at the first unescaped quote, a container at the bracket that brings
//! the depth back to where it started (brackets inside strings do not count), a number
//! or literal at the first delimiter. It never recurses and never panics, whatever the
//! bytes: every read is checked, and running off the end reads as "end of input". On
//! bytes that are not valid JSON its answers are unspecified but still in range.

use crate::scan::{is_delim, is_ws, skip_plain};

/// A position in validated JSON bytes. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// A token of a JSON text, insignificant whitespace skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// One of `{ } [ ] : ,`.
    Punct(u8),
    /// A string: the escaped bytes between its quotes.
    Str(&'a [u8]),
    /// A number or literal, as written.
    Scalar(&'a [u8]),
}

impl<'a> Cursor<'a> {
    /// A cursor at `pos` in `bytes`.
    #[inline]
    pub(crate) const fn at(bytes: &'a [u8], pos: usize) -> Self {
        Self { bytes, pos }
    }

    /// The position: the index of the next byte to look at.
    pub(crate) const fn pos(&self) -> usize {
        self.pos
    }

    /// The byte at the position, if any.
    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Step over one byte (a `:` or `,` seen with [`peek`](Self::peek)).
    #[inline]
    pub(crate) fn bump(&mut self) {
        self.pos += 1;
    }

    /// Step over whitespace.
    #[inline]
    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// Step over the string whose opening quote is at the position; returns the escaped
    /// bytes between its quotes.
    pub(crate) fn string(&mut self) -> &'a [u8] {
        let start = self.pos + 1;
        let mut i = start;
        let end = loop {
            i = skip_plain(self.bytes, i);
            match self.bytes.get(i) {
                Some(b'"') => break i,
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
                None => break self.bytes.len(),
            }
        };
        self.pos = end + 1;
        self.bytes.get(start..end).unwrap_or_default()
    }

    /// Step over the value that starts at the position; returns its bytes.
    #[inline]
    pub(crate) fn value(&mut self) -> &'a [u8] {
        let start = self.pos;
        self.skip_value();
        self.slice(start)
    }

    /// Step over the value that starts at the position.
    #[inline]
    fn skip_value(&mut self) {
        match self.peek() {
            Some(b'"') => {
                self.string();
            }
            Some(b'{' | b'[') => self.container(),
            Some(_) => self.scalar(),
            None => {}
        }
    }

    /// Step over the object or array that opens at the position.
    fn container(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    self.string();
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// Step over the number or literal at the position.
    #[inline]
    fn scalar(&mut self) {
        while self.peek().is_some_and(|b| !is_delim(b)) {
            self.pos += 1;
        }
    }

    /// Move to `pos`, a position found by other means (the scanner's outline).
    #[inline]
    pub(crate) fn jump(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The bytes from `start` to the position.
    #[inline]
    pub(crate) fn slice(&self, start: usize) -> &'a [u8] {
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    /// The next token, or `None` at the end.
    pub(crate) fn token(&mut self) -> Option<Token<'a>> {
        self.skip_ws();
        Some(match self.peek()? {
            b'"' => Token::Str(self.string()),
            punct @ (b'{' | b'}' | b'[' | b']' | b':' | b',') => {
                self.pos += 1;
                Token::Punct(punct)
            }
            _ => {
                let start = self.pos;
                self.scalar();
                Token::Scalar(self.bytes.get(start..self.pos).unwrap_or_default())
            }
        })
    }

    /// Whether the value at the position nests objects and arrays deeper than `limit`
    /// (the cursor is left past what it read).
    pub(crate) fn nests_deeper(&mut self, limit: usize) -> bool {
        let mut depth = 0usize;
        while let Some(token) = self.token() {
            match token {
                Token::Punct(b'{' | b'[') => {
                    depth += 1;
                    if depth > limit {
                        return true;
                    }
                }
                Token::Punct(b'}' | b']') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return false;
                    }
                }
                _ if depth == 0 => return false,
                _ => {}
            }
        }
        false
    }
}
