//! Walks over valid JSON text: its tokens (to compare texts by meaning) and the arrays
//! nested in it. Every input has been validated before, so these only find boundaries
//! (quotes, backslash escapes, brackets) and never judge.
//!
//! The fuzz code's tokenizer and bracket counting are all here, so that they can be
//! replaced in one place. (The oracle's compact-ASCII check tracks strings byte by byte
//! on its own: it must judge encoder output before anything has validated it.)

use super::{is_ws, json_str};
use crate::json::{JsonStr, RawJson};

/// At most this many arrays per frame are viewed as a schema.
const ARRAYS_MAX: usize = 32;

/// A token of a valid JSON text: insignificant whitespace is skipped.
#[derive(Clone, Copy, Debug)]
pub(super) enum Token<'a> {
    /// `{ } [ ] : ,`
    Punct(u8),
    /// A string, still escaped.
    Str(JsonStr<'a>),
    /// A number or literal, as written.
    Scalar(&'a [u8]),
}

/// The tokens of a valid JSON text, to compare texts by meaning rather than by bytes.
pub(super) struct Tokens<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let b = self.bytes;
        while b.get(self.pos).is_some_and(|&c| is_ws(c)) {
            self.pos += 1;
        }
        let start = self.pos;
        let first = *b.get(start)?;
        match first {
            b'"' => {
                let mut i = start + 1;
                while let Some(&c) = b.get(i) {
                    match c {
                        b'"' => break,
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                self.pos = (i + 1).min(b.len());
                let token = b.get(start..self.pos).unwrap_or_default();
                Some(Token::Str(json_str(token)))
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                self.pos += 1;
                Some(Token::Punct(first))
            }
            _ => {
                let mut i = start;
                while b
                    .get(i)
                    .is_some_and(|&c| !is_ws(c) && !b"{}[]:,\"".contains(&c))
                {
                    i += 1;
                }
                self.pos = i;
                Some(Token::Scalar(&b[start..i]))
            }
        }
    }
}

/// Call `f` with every array in the valid JSON text `bytes` (the first [`ARRAYS_MAX`]).
pub(super) fn for_each_array(bytes: &[u8], mut f: impl FnMut(RawJson<'_>)) {
    let mut found = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' => {
                let end = container_end(bytes, i);
                let array = RawJson::parse(&bytes[i..end]).expect("a nested array is valid");
                f(array);
                found += 1;
                if found == ARRAYS_MAX {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// Index just past the container that opens at `start` in valid JSON.
fn container_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    bytes.len()
}
