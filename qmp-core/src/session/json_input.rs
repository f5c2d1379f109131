//! QEMU's JSON input engine, followed byte by byte, for the server: which bytes QEMU
//! takes as one message, which messages it refuses before they reach the dispatcher,
//! and the exact error it answers ([`JsonRefusal`]).
//!
//! QEMU reads a request in three stages (`qobject/json-lexer.c`, `json-streamer.c`,
//! `json-parser.c`): a lexer cuts bytes into tokens (and on a bad byte emits an error
//! token, then skips to the next structural character, control character or `0xFE`/
//! `0xFF`); a streamer counts braces and brackets and hands the tokens of one message
//! to the parser once neither count is positive (or one is negative), answering a
//! lexer error or the nesting limit at once and dropping the message; the parser
//! reports the first fault in token order. [`JsonInput`] does the same in constant
//! memory: the lexer is the same state machine, the streamer keeps its two counts, and
//! the parser is a push-down automaton over a bit-stack (one bit per open container,
//! 1024 deep as QEMU's limit), which finds the same first fault without keeping the
//! tokens. Only the fault's text is kept: the token QEMU quotes, up to [`TEXT_MAX`]
//! bytes.
//!
//! What it does not follow: QEMU's parser refuses a key repeated in one object, which
//! needs the keys seen so far; [`repeats_a_key`] looks for one in a whole message
//! instead, once it is in the framer's buffer. The limits of 64 MiB per token and
//! message and of 2 Mi tokens per message are not counted.

use core::fmt::{self, Write as _};

use crate::json::RawJson;

/// How many bytes of a token a [`JsonRefusal`] quotes; QEMU quotes it whole.
pub const TEXT_MAX: usize = 64;

/// QEMU's nesting limit: braces plus brackets open in one message.
const MAX_NESTING: i64 = 1024;

const STACK_WORDS: usize = MAX_NESTING as usize / 64;

/// The start of a token, or of a `\u` escape, as QEMU quotes it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quoted {
    bytes: [u8; TEXT_MAX],
    len: u8,
}

impl Quoted {
    const EMPTY: Self = Self {
        bytes: [0; TEXT_MAX],
        len: 0,
    };

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(usize::from(self.len)) {
            *slot = b;
            self.len += 1;
        }
    }

    fn one(b: u8) -> Self {
        let mut q = Self::EMPTY;
        q.push(b);
        q
    }

    /// The bytes as received (at most [`TEXT_MAX`]).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl fmt::Debug for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_text())
    }
}

impl Quoted {
    fn to_text(self) -> QuotedText {
        QuotedText(self)
    }
}

/// The bytes as QEMU writes them into a desc: each sequence that is not (modified)
/// UTF-8 becomes U+FFFD (`util/unicode.c mod_utf8_codepoint`), `C0 80` is U+0000.
struct QuotedText(Quoted);

impl fmt::Display for QuotedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // QEMU formats the token as a C string: it ends at a NUL byte.
        let bytes = self.0.as_bytes();
        let bytes = bytes.split(|&b| b == 0).next().unwrap_or_default();
        let mut i = 0;
        while i < bytes.len() {
            let (cp, used) = mod_utf8_codepoint(bytes.get(i..).unwrap_or_default());
            f.write_char(cp.and_then(char::from_u32).unwrap_or('\u{FFFD}'))?;
            i += used.max(1);
        }
        Ok(())
    }
}

impl fmt::Debug for QuotedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// QEMU's `is_valid_codepoint`: not a surrogate, not a noncharacter, at most U+10FFFF.
fn is_valid_codepoint(cp: u32) -> bool {
    cp <= 0x10_FFFF
        && cp & 0xFFFF_F800 != 0xD800
        && !(0xFDD0..=0xFDEF).contains(&cp)
        && cp & 0xFFFE != 0xFFFE
}

/// QEMU's `mod_utf8_codepoint` on `s`: the code point (`None`: invalid) and how many
/// bytes it took.
fn mod_utf8_codepoint(s: &[u8]) -> (Option<u32>, usize) {
    let Some(&lead) = s.first() else {
        return (None, 0);
    };
    if lead < 0x80 {
        return (Some(u32::from(lead)), 1);
    }
    if lead >= 0xFE || lead & 0x40 == 0 {
        return (None, 1);
    }
    let len = lead.leading_ones() as usize;
    let mut cp = u32::from(lead) & (0x7F >> len);
    for i in 1..len {
        match s.get(i) {
            Some(&b) if b & 0xC0 == 0x80 => cp = (cp << 6) | u32::from(b & 0x3F),
            _ => return (None, i),
        }
    }
    (valid_sequence(cp, len).then_some(cp), len)
}

/// Whether `cp`, read from a sequence of `len` bytes, is accepted: a valid code point,
/// not overlong, except `C0 80` for U+0000.
fn valid_sequence(cp: u32, len: usize) -> bool {
    const MIN: [u32; 5] = [0x80, 0x800, 0x1_0000, 0x20_0000, 0x400_0000];
    let min = MIN.get(len.wrapping_sub(2)).copied().unwrap_or(0);
    is_valid_codepoint(cp) && (cp >= min || (cp == 0 && len == 2))
}

/// What QEMU refuses in the JSON input, each with its desc (the `Display` text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonFault {
    /// A byte its lexer cannot take: `JSON parse error, stray 'TOKEN'`, the token so far
    /// with the byte.
    Stray,
    /// A lowercase word other than `true`, `false`, `null`: `JSON parse error, invalid
    /// keyword 'WORD'`.
    InvalidKeyword,
    /// A structural character where a value belongs: `JSON parse error, expecting
    /// value`.
    ExpectingValue,
    /// A key that is not a string: `JSON parse error, key is not a string in object`.
    KeyNotString,
    /// `JSON parse error, missing : in object pair`.
    MissingColon,
    /// `JSON parse error, expected separator in dict`.
    DictSeparator,
    /// `JSON parse error, expected separator in list`.
    ListSeparator,
    /// `JSON parse error, invalid escape sequence in string`.
    InvalidEscape,
    /// A `\u` escape that is not a valid character (lone surrogate, noncharacter, not
    /// hex): `JSON parse error, \uXXXX is not a valid Unicode character`, the escape as
    /// written.
    InvalidUnicode,
    /// `JSON parse error, invalid UTF-8 sequence in string`.
    InvalidUtf8,
    /// The message ended before its value: `JSON parse error, premature EOI`.
    PrematureEnd,
    /// More than 1024 braces and brackets open: `JSON nesting depth limit exceeded`.
    TooDeep,
    /// A key repeated in one object: `JSON parse error, duplicate key`.
    DuplicateKey,
}

/// One error reply of QEMU's JSON input engine: a [`JsonFault`] and the text it quotes.
/// `Display` writes QEMU's desc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JsonRefusal {
    /// What is wrong.
    pub fault: JsonFault,
    /// The token (or `\u` escape) quoted by [`Stray`](JsonFault::Stray),
    /// [`InvalidKeyword`](JsonFault::InvalidKeyword) and
    /// [`InvalidUnicode`](JsonFault::InvalidUnicode); its first [`TEXT_MAX`] bytes.
    pub quoted: Quoted,
}

impl JsonRefusal {
    pub(crate) fn new(fault: JsonFault) -> Self {
        Self {
            fault,
            quoted: Quoted::EMPTY,
        }
    }
}

impl fmt::Display for JsonRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.quoted.to_text();
        match self.fault {
            JsonFault::TooDeep => return f.write_str("JSON nesting depth limit exceeded"),
            _ => f.write_str("JSON parse error, ")?,
        }
        match self.fault {
            JsonFault::Stray => write!(f, "stray '{text}'"),
            JsonFault::InvalidKeyword => write!(f, "invalid keyword '{text}'"),
            JsonFault::InvalidUnicode => write!(f, "{text} is not a valid Unicode character"),
            fault => f.write_str(match fault {
                JsonFault::ExpectingValue => "expecting value",
                JsonFault::KeyNotString => "key is not a string in object",
                JsonFault::MissingColon => "missing : in object pair",
                JsonFault::DictSeparator => "expected separator in dict",
                JsonFault::ListSeparator => "expected separator in list",
                JsonFault::InvalidEscape => "invalid escape sequence in string",
                JsonFault::InvalidUtf8 => "invalid UTF-8 sequence in string",
                JsonFault::DuplicateKey => "duplicate key",
                _ => "premature EOI",
            }),
        }
    }
}

/// What one byte completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// QEMU answers this error (no id).
    Refused(JsonRefusal),
    /// A message QEMU parses, `start..end` in the stream; `object` tells whether it is
    /// a JSON object (else QEMU answers that it must be one).
    Message { start: u64, end: u64, object: bool },
}

/// The lexer's states (`json-lexer.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex {
    Start,
    /// In a string quoted with `quote`; `escape` after a backslash.
    Str {
        quote: u8,
        escape: bool,
    },
    Zero,
    NonZero,
    Minus,
    Dot,
    Fraction,
    Exp,
    ExpSign,
    ExpDigits,
    Keyword,
    Recovery,
}

/// A string's contents as QEMU's parser checks them (`parse_string`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StrCheck {
    Plain,
    Backslash,
    /// In `\uXXXX`: `got` characters after the `u`; `low` when it is the second half
    /// of a pair (then `escape` keeps the first half's text).
    Hex {
        got: u8,
        cp: u32,
        bad: bool,
        low: bool,
    },
    /// After a high surrogate's escape: `step` 0 wants `\`, 1 wants `u`.
    Pair {
        step: u8,
    },
    /// Inside a raw multi-byte sequence of `len` bytes, `left` to come.
    Utf8 {
        left: u8,
        len: u8,
        cp: u32,
    },
    /// The first fault is found; the rest does not matter.
    Failed,
}

/// A token as the streamer and parser see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// `{ } [ ] : ,`
    Structural(u8),
    /// A string, with the fault its contents have, if any.
    Str(Option<JsonRefusal>),
    Number,
    /// A lowercase word: whether it is `true`, `false` or `null`.
    Keyword(bool),
}

/// The parser's position in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parse {
    Value,
    ObjKeyOrEnd,
    ObjKey,
    ObjColon,
    ObjValue,
    ObjCommaOrEnd,
    ArrValueOrEnd,
    ArrValue,
    ArrCommaOrEnd,
    Done,
}

/// QEMU's JSON input engine as a state machine; see the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct JsonInput {
    /// Absolute offset of the next byte.
    offset: u64,
    lex: Lex,
    /// The current token's text (its first [`TEXT_MAX`] bytes) and start.
    token: Quoted,
    token_start: u64,
    check: StrCheck,
    /// The `\u` escape being read, as written.
    escape: Quoted,
    /// The first fault of the current string.
    str_fault: Option<JsonRefusal>,
    // The streamer.
    braces: i64,
    brackets: i64,
    /// Where the current message began, if it has a token.
    message: Option<u64>,
    object: bool,
    // The parser.
    parse: Parse,
    depth: u16,
    stack: [u64; STACK_WORDS],
    /// The depth of the deepest container opened in a key's place: closing it is the
    /// fault "key is not a string".
    key_container: Option<u16>,
    fault: Option<JsonRefusal>,
}

impl JsonInput {
    pub(crate) const fn new() -> Self {
        Self {
            offset: 0,
            lex: Lex::Start,
            token: Quoted::EMPTY,
            token_start: 0,
            check: StrCheck::Plain,
            escape: Quoted::EMPTY,
            str_fault: None,
            braces: 0,
            brackets: 0,
            message: None,
            object: false,
            parse: Parse::Value,
            depth: 0,
            stack: [0; STACK_WORDS],
            key_container: None,
            fault: None,
        }
    }

    /// Take the next byte of the stream; `out` gets what it completes (at most two:
    /// a token it ends and the one it starts or the error it is).
    pub(crate) fn push(&mut self, b: u8, out: &mut impl FnMut(Verdict)) {
        let at = self.offset;
        self.offset += 1;
        loop {
            match self.lex {
                Lex::Start => {
                    self.token = Quoted::one(b);
                    self.token_start = at;
                    self.lex = match b {
                        b' ' | b'\t' | b'\r' | b'\n' => return,
                        b'"' | b'\'' => {
                            self.check = StrCheck::Plain;
                            self.str_fault = None;
                            Lex::Str {
                                quote: b,
                                escape: false,
                            }
                        }
                        b'0' => Lex::Zero,
                        b'1'..=b'9' => Lex::NonZero,
                        b'-' => Lex::Minus,
                        b'a'..=b'z' => Lex::Keyword,
                        b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                            self.token(Token::Structural(b), at + 1, out);
                            return;
                        }
                        _ => return self.lex_error(out),
                    };
                    return;
                }
                Lex::Str { quote, escape } => {
                    self.token.push(b);
                    if !(0x20..=0xFD).contains(&b) {
                        return self.lex_error(out);
                    }
                    if escape {
                        self.lex = Lex::Str {
                            quote,
                            escape: false,
                        };
                    } else if b == quote {
                        self.end_string();
                        self.lex = Lex::Start;
                        self.token(Token::Str(self.str_fault), at + 1, out);
                        return;
                    } else if b == b'\\' {
                        self.lex = Lex::Str {
                            quote,
                            escape: true,
                        };
                    }
                    self.check_string(b);
                    return;
                }
                Lex::Recovery => {
                    let resume = matches!(b, b'{' | b'}' | b'[' | b']' | b':' | b',')
                        || (b < 0x20 && b != b'\t')
                        || b >= 0xFE;
                    if !resume {
                        return;
                    }
                    self.lex = Lex::Start;
                }
                Lex::Keyword => {
                    if b.is_ascii_lowercase() {
                        self.token.push(b);
                        return;
                    }
                    let word = self.token.as_bytes();
                    let valid = matches!(word, b"true" | b"false" | b"null");
                    self.lex = Lex::Start;
                    self.token(Token::Keyword(valid), at, out);
                }
                number => {
                    // `Some(next)`: the byte continues the number; `None`: it ends the
                    // number here (and is read again); an error otherwise.
                    let next = match (number, b) {
                        (Lex::Minus, b'0') => Ok(Lex::Zero),
                        (Lex::Minus, b'1'..=b'9') => Ok(Lex::NonZero),
                        (Lex::Zero, b'.') | (Lex::NonZero, b'.') => Ok(Lex::Dot),
                        (Lex::Zero, b'0'..=b'9') => Err(()),
                        (Lex::NonZero, b'0'..=b'9') => Ok(Lex::NonZero),
                        (Lex::NonZero | Lex::Fraction, b'e' | b'E') => Ok(Lex::Exp),
                        (Lex::Dot | Lex::Fraction, b'0'..=b'9') => Ok(Lex::Fraction),
                        (Lex::Exp, b'+' | b'-') => Ok(Lex::ExpSign),
                        (Lex::Exp | Lex::ExpSign | Lex::ExpDigits, b'0'..=b'9') => {
                            Ok(Lex::ExpDigits)
                        }
                        (Lex::Zero | Lex::NonZero | Lex::Fraction | Lex::ExpDigits, _) => {
                            self.lex = Lex::Start;
                            self.token(Token::Number, at, out);
                            continue;
                        }
                        _ => Err(()),
                    };
                    self.token.push(b);
                    match next {
                        Ok(next) => self.lex = next,
                        Err(()) => self.lex_error(out),
                    }
                    return;
                }
            }
        }
    }

    /// The lexer's error token: QEMU answers it at once, drops the message and skips
    /// to a structural or control character.
    fn lex_error(&mut self, out: &mut impl FnMut(Verdict)) {
        out(Verdict::Refused(JsonRefusal {
            fault: JsonFault::Stray,
            quoted: self.token,
        }));
        self.reset_message();
        self.lex = Lex::Recovery;
    }

    fn reset_message(&mut self) {
        self.braces = 0;
        self.brackets = 0;
        self.message = None;
        self.parse = Parse::Value;
        self.depth = 0;
        self.key_container = None;
        self.fault = None;
    }

    /// One byte of a string's contents (after the opening quote, the closing one
    /// excluded), checked as `parse_string` does.
    fn check_string(&mut self, b: u8) {
        let fail = |s: &mut Self, fault: JsonFault, quoted: Quoted| {
            s.str_fault = Some(JsonRefusal { fault, quoted });
            s.check = StrCheck::Failed;
        };
        self.check = match self.check {
            StrCheck::Failed => StrCheck::Failed,
            StrCheck::Plain => match b {
                b'\\' => {
                    self.escape = Quoted::one(b);
                    StrCheck::Backslash
                }
                0..=0x7F => StrCheck::Plain,
                0x80..=0xBF => return fail(self, JsonFault::InvalidUtf8, Quoted::EMPTY),
                _ => {
                    let len = b.leading_ones() as u8;
                    StrCheck::Utf8 {
                        left: len - 1,
                        len,
                        cp: u32::from(b) & (0x7F >> len),
                    }
                }
            },
            StrCheck::Utf8 { left, len, cp } => {
                if b & 0xC0 != 0x80 {
                    return fail(self, JsonFault::InvalidUtf8, Quoted::EMPTY);
                }
                let cp = (cp << 6) | u32::from(b & 0x3F);
                if left > 1 {
                    StrCheck::Utf8 {
                        left: left - 1,
                        len,
                        cp,
                    }
                } else if valid_sequence(cp, usize::from(len)) {
                    StrCheck::Plain
                } else {
                    return fail(self, JsonFault::InvalidUtf8, Quoted::EMPTY);
                }
            }
            StrCheck::Backslash => match b {
                b'u' => {
                    self.escape.push(b);
                    StrCheck::Hex {
                        got: 0,
                        cp: 0,
                        bad: false,
                        low: false,
                    }
                }
                b'"' | b'\'' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => StrCheck::Plain,
                _ => return fail(self, JsonFault::InvalidEscape, Quoted::EMPTY),
            },
            StrCheck::Hex { got, cp, bad, low } => {
                if !low {
                    self.escape.push(b);
                }
                let digit = char::from(b).to_digit(16);
                let (cp, bad) = (cp << 4 | digit.unwrap_or(0), bad || digit.is_none());
                if got < 3 {
                    StrCheck::Hex {
                        got: got + 1,
                        cp,
                        bad,
                        low,
                    }
                } else if low {
                    if bad || !(0xDC00..=0xDFFF).contains(&cp) {
                        return fail(self, JsonFault::InvalidUnicode, self.escape);
                    }
                    StrCheck::Plain
                } else if bad {
                    return fail(self, JsonFault::InvalidUnicode, self.escape);
                } else if (0xD800..=0xDBFF).contains(&cp) {
                    StrCheck::Pair { step: 0 }
                } else if is_valid_codepoint(cp) {
                    StrCheck::Plain
                } else {
                    return fail(self, JsonFault::InvalidUnicode, self.escape);
                }
            }
            StrCheck::Pair { step } => match (step, b) {
                (0, b'\\') => StrCheck::Pair { step: 1 },
                (1, b'u') => StrCheck::Hex {
                    got: 0,
                    cp: 0,
                    bad: false,
                    low: true,
                },
                _ => return fail(self, JsonFault::InvalidUnicode, self.escape),
            },
        };
    }

    /// The closing quote: a sequence or escape cut short is a fault.
    fn end_string(&mut self) {
        let fault = match self.check {
            StrCheck::Plain | StrCheck::Failed => return,
            StrCheck::Utf8 { .. } => JsonFault::InvalidUtf8,
            // The quote was taken as a hex digit or as part of a pair.
            StrCheck::Hex { low: false, .. } => {
                self.escape
                    .push(self.token.as_bytes().last().copied().unwrap_or(b'"'));
                JsonFault::InvalidUnicode
            }
            StrCheck::Hex { .. } | StrCheck::Pair { .. } => JsonFault::InvalidUnicode,
            StrCheck::Backslash => JsonFault::InvalidEscape,
        };
        let quoted = if fault == JsonFault::InvalidUnicode {
            self.escape
        } else {
            Quoted::EMPTY
        };
        self.str_fault = Some(JsonRefusal { fault, quoted });
        self.check = StrCheck::Failed;
    }

    /// The streamer: count, check the nesting limit, parse, and end the message when
    /// neither count is positive or one is negative.
    fn token(&mut self, token: Token, end: u64, out: &mut impl FnMut(Verdict)) {
        match token {
            Token::Structural(b'{') => self.braces += 1,
            Token::Structural(b'}') => self.braces -= 1,
            Token::Structural(b'[') => self.brackets += 1,
            Token::Structural(b']') => self.brackets -= 1,
            _ => {}
        }
        if self.braces + self.brackets > MAX_NESTING {
            out(Verdict::Refused(JsonRefusal::new(JsonFault::TooDeep)));
            self.reset_message();
            return;
        }
        if self.message.is_none() {
            self.message = Some(self.token_start);
            self.object = token == Token::Structural(b'{');
        }
        if self.fault.is_none() {
            if let Err(refusal) = self.parse(token) {
                self.fault = Some(refusal);
            }
        }
        let open = (self.braces > 0 || self.brackets > 0) && self.braces >= 0 && self.brackets >= 0;
        if open {
            return;
        }
        let verdict = match (self.fault, self.parse) {
            (Some(refusal), _) => Verdict::Refused(refusal),
            (None, Parse::Done) => Verdict::Message {
                start: self.message.unwrap_or(self.token_start),
                end,
                object: self.object,
            },
            (None, _) => Verdict::Refused(JsonRefusal::new(JsonFault::PrematureEnd)),
        };
        out(verdict);
        self.reset_message();
    }

    /// The parser's step for `token`; `Err` is its first fault.
    fn parse(&mut self, token: Token) -> Result<(), JsonRefusal> {
        use Parse::*;
        let fault = |f| Err(JsonRefusal::new(f));
        match (self.parse, token) {
            (Done, _) => fault(JsonFault::PrematureEnd),
            (ObjColon, Token::Structural(b':')) => {
                self.parse = ObjValue;
                Ok(())
            }
            (ObjColon, _) => fault(JsonFault::MissingColon),
            (ObjCommaOrEnd, Token::Structural(b',')) => {
                self.parse = ObjKey;
                Ok(())
            }
            (ArrCommaOrEnd, Token::Structural(b',')) => {
                self.parse = ArrValue;
                Ok(())
            }
            (ObjKeyOrEnd | ObjCommaOrEnd, Token::Structural(b'}'))
            | (ArrValueOrEnd | ArrCommaOrEnd, Token::Structural(b']')) => self.close(),
            (ObjCommaOrEnd, _) => fault(JsonFault::DictSeparator),
            (ArrCommaOrEnd, _) => fault(JsonFault::ListSeparator),
            // A key: parsed as a value, then it must be a string.
            (ObjKeyOrEnd | ObjKey, Token::Str(None)) => {
                self.parse = ObjColon;
                Ok(())
            }
            (ObjKeyOrEnd | ObjKey, Token::Number | Token::Keyword(true)) => {
                fault(JsonFault::KeyNotString)
            }
            (ObjKeyOrEnd | ObjKey, Token::Structural(b @ (b'{' | b'['))) => {
                self.open(b)?;
                self.key_container = Some(self.depth);
                Ok(())
            }
            // A value.
            (_, Token::Structural(b @ (b'{' | b'['))) => self.open(b),
            (_, Token::Structural(_)) => fault(JsonFault::ExpectingValue),
            (_, Token::Str(Some(refusal))) => Err(refusal),
            (_, Token::Keyword(false)) => Err(JsonRefusal {
                fault: JsonFault::InvalidKeyword,
                quoted: self.token,
            }),
            (_, Token::Str(None) | Token::Number | Token::Keyword(true)) => {
                self.after_value();
                Ok(())
            }
        }
    }

    fn open(&mut self, b: u8) -> Result<(), JsonRefusal> {
        let d = usize::from(self.depth);
        let Some(word) = self.stack.get_mut(d / 64) else {
            return Err(JsonRefusal::new(JsonFault::TooDeep));
        };
        let bit = 1u64 << (d % 64);
        if b == b'{' {
            *word |= bit;
            self.parse = Parse::ObjKeyOrEnd;
        } else {
            *word &= !bit;
            self.parse = Parse::ArrValueOrEnd;
        }
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<(), JsonRefusal> {
        if self.key_container == Some(self.depth) {
            return Err(JsonRefusal::new(JsonFault::KeyNotString));
        }
        self.depth = self.depth.saturating_sub(1);
        self.after_value();
        Ok(())
    }

    /// A value is complete at the current depth: what the enclosing container wants
    /// next.
    fn after_value(&mut self) {
        self.parse = match self.depth.checked_sub(1) {
            None => Parse::Done,
            Some(d) => {
                let d = usize::from(d);
                let object = self
                    .stack
                    .get(d / 64)
                    .is_some_and(|word| word & (1 << (d % 64)) != 0);
                if object {
                    Parse::ObjCommaOrEnd
                } else {
                    Parse::ArrCommaOrEnd
                }
            }
        };
    }
}

/// Whether an object in `json`, a validated JSON text, repeats a key (decoded: `"a"` and
/// `"\u0061"` are the same key), which QEMU's parser refuses. Each object is found by
/// one pass over the text and its keys are compared pairwise: no memory, and time
/// quadratic in the number of keys of one object.
pub(crate) fn repeats_a_key(json: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        match b {
            b'"' => {
                // Past the string: to the quote that no backslash escapes.
                i += 1;
                while let Some(&c) = json.get(i) {
                    i += if c == b'\\' { 2 } else { 1 };
                    if c == b'"' {
                        break;
                    }
                }
                continue;
            }
            b'{' => {
                let object = RawJson::trusted(json.get(i..).unwrap_or_default());
                for (n, (key, _)) in object.members().enumerate() {
                    if object
                        .members()
                        .take(n)
                        .any(|(earlier, _)| earlier.chars().eq(key.chars()))
                    {
                        return true;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}
