//! Human command syntax: one typed line, such as `device_del id=net0`, as a QMP command.
//!
//! [`ShellCommand::parse`] reads the `NAME KEY=VALUE ...` lines that people type at an
//! interactive QMP shell and checks all of them; [`ShellCommand::encode`] (or
//! [`encode_oob`](ShellCommand::encode_oob), [`to_slice`](ShellCommand::to_slice)) then
//! writes the command through the [encoder](crate::encode), so the output is the same
//! compact, ASCII-only JSON that [`encode::command`] writes. The parsed command borrows
//! the line and holds no copy of anything: dotted keys are grouped into nested objects at
//! encoding time, by scanning the line again for each object (quadratic in the number of
//! arguments, which is nothing for a line a person typed; bound the length of lines
//! that come from elsewhere). Nothing allocates, nothing recurses, and no input makes it
//! panic.
//!
//! ```
//! use qmp_core::encode::Id;
//! use qmp_core::shell::{ShellCommand, ShellErrorKind};
//!
//! let line = "blockdev-add driver=qcow2 node-name=d0 file.driver=file file.filename=/tmp/a.qcow2";
//! let command = ShellCommand::parse(line)?;
//! assert_eq!(command.name(), "blockdev-add");
//!
//! let mut buf = [0u8; 256];
//! let n = command.to_slice(&mut buf, Some(Id::U64(1)))?;
//! assert_eq!(
//!     &buf[..n],
//!     br#"{"execute":"blockdev-add","arguments":{"driver":"qcow2","node-name":"d0","file":{"driver":"file","filename":"/tmp/a.qcow2"}},"id":1}"#,
//! );
//!
//! // A quoted value is a JSON string, so it may hold spaces.
//! let n = ShellCommand::parse(r#"human-monitor-command command-line="info version""#)?
//!     .to_slice(&mut buf, None)?;
//! assert_eq!(
//!     &buf[..n],
//!     br#"{"execute":"human-monitor-command","arguments":{"command-line":"info version"}}"#,
//! );
//!
//! // Errors say what is wrong and where: a 0-based byte offset into the line.
//! let error = ShellCommand::parse("device_del id=net0 id=net1").unwrap_err();
//! assert_eq!(error.kind, ShellErrorKind::DuplicateKey);
//! assert_eq!(error.column, 19);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Syntax
//!
//! A line is a command name followed by arguments, separated by whitespace: space, tab,
//! CR or LF (JSON's whitespace, so a line may still end in its newline). Leading and
//! trailing whitespace is ignored.
//!
//! - **The name** starts with an ASCII letter or `_` and goes on with ASCII letters,
//!   digits, `-`, `_` and `.` (QAPI's names, downstream `__com.vendor_` prefixes
//!   included), up to whitespace or the end of the line.
//! - **An argument** is `KEY=VALUE`, split at its first `=`: `command-line=info=x` gives
//!   the key `command-line` and the value `info=x`.
//! - **A key** is any text without whitespace or `=`. Dots split it into a path of
//!   segments, each of them a member of the object named by the one before:
//!   `file.driver=file` is `"file":{"driver":"file"}`, and `a.b.c=1` is
//!   `"a":{"b":{"c":1}}`. The members of one object need not be adjacent: `a.x=1 b=2
//!   a.y=3` is `"a":{"x":1,"y":3},"b":2`. Members are written in the order they first
//!   appear, and an object where its first member appears. A path has at most
//!   [`MAX_KEY_SEGMENTS`] segments, none of them empty.
//! - **A value** is read by its first characters:
//!
//!   | typed                                    | sent as                       |
//!   |------------------------------------------|-------------------------------|
//!   | starts with `{`, `[` or `"`              | that JSON value, compacted    |
//!   | `true`, `false`, `null`, in any case     | the JSON literal              |
//!   | a JSON integer that fits `i64` or `u64`  | that number, as typed         |
//!   | a JSON number with a fraction or exponent, finite as `f64` | that number, as typed |
//!   | anything else, including nothing at all  | a JSON string of the text     |
//!
//!   A plain value ends at the next whitespace. A JSON value ends where it closes, so
//!   whitespace may appear inside its strings and between its tokens
//!   (`options={"driver": "null-co"}`, `command-line="info version"`); it must be strict
//!   JSON, and must be followed by whitespace or the end of the line. To send as a string
//!   text that would be read otherwise (`"true"`, `"42"`, `"{x"`, a string with spaces or
//!   an empty string), quote it as JSON.
//!
//! Numbers must follow JSON's grammar: `+5`, `007`, `1_000`, `.5`, `0x10` and `inf` are
//! strings. So are integers beyond both `i64` and `u64` and numbers beyond `f64`'s range
//! (`1e400`): QEMU would read them as a lossy float at best. A number is sent exactly as
//! typed (`1.50` stays `1.50`).
//!
//! # Out-of-band execution
//!
//! The syntax has no marker for `exec-oob`: the caller picks the form when encoding,
//! with [`encode`](ShellCommand::encode) or [`encode_oob`](ShellCommand::encode_oob), as
//! it also supplies the `id` (QEMU wants one with every out-of-band command). A shell
//! that wants a marker can strip its own prefix before parsing.
//!
//! # Errors
//!
//! [`ShellCommand::parse`] checks the whole line, so that encoding can only fail in the
//! sink. A [`ShellError`] has a [`ShellErrorKind`] and a `column`, the byte offset from
//! the start of the line (leading whitespace included) of:
//!
//! - the end of the line for [`Empty`](ShellErrorKind::Empty) (which a shell may take as
//!   "nothing to send", as qmp-shell does);
//! - the first character that cannot be part of a name for
//!   [`BadCommandName`](ShellErrorKind::BadCommandName);
//! - the start of the argument for [`MissingEquals`](ShellErrorKind::MissingEquals) and
//!   [`EmptyKey`](ShellErrorKind::EmptyKey);
//! - where the offending segment starts for
//!   [`EmptyKeySegment`](ShellErrorKind::EmptyKeySegment) (`a..b=1` → the second `.`)
//!   and [`TooDeep`](ShellErrorKind::TooDeep);
//! - the start of the later key for [`DuplicateKey`](ShellErrorKind::DuplicateKey) and
//!   [`ValueAndObject`](ShellErrorKind::ValueAndObject);
//! - the byte the JSON validator stopped at for
//!   [`InvalidJson`](ShellErrorKind::InvalidJson) (the end of the line for a value that
//!   never closes);
//! - the opening quote for [`UnterminatedQuote`](ShellErrorKind::UnterminatedQuote);
//! - the first character after the value for
//!   [`TrailingGarbage`](ShellErrorKind::TrailingGarbage).
//!
//! When a line has several errors, the one reported is the first the parser meets
//! reading left to right.
//!
//! # Background: QEMU's qmp-shell
//!
//! QEMU's own shell (`scripts/qmp/qmp-shell`, now `qemu.qmp.qmp_shell`) reads the same
//! `NAME KEY=VALUE` lines. This module follows it for the splitting at the first `=`, the
//! dotted keys and their errors (a key given twice, a key used as both a value and an
//! object), `true`/`false` in any case, and the empty value as an empty string. It
//! differs where that shell's behaviour depends on Python or surprises its users:
//!
//! - A quoted value is a JSON string: qmp-shell keeps the quotes as part of the text, so
//!   its `command-line="info version"` sends `"\"info version\""`.
//! - JSON values may contain whitespace between tokens; qmp-shell splits them there.
//! - An invalid JSON value is an error; qmp-shell quietly sends the text as a string, and
//!   also accepts Python literals (`{'a': True}`), which strict JSON does not.
//! - Integers follow JSON's grammar and must fit 64 bits; qmp-shell uses Python's
//!   `int()`, which takes `+5`, `007` and `1_000` and any size.
//! - Fractions, exponents and `null` give numbers and `null`; qmp-shell sends them as
//!   strings.
//! - A command without arguments has no `arguments` member; qmp-shell sends `{}`. QEMU
//!   treats both alike.
//! - A dotted key cannot add members to an object given as a JSON value
//!   (`a={"x":1} a.y=2` is [`ValueAndObject`](ShellErrorKind::ValueAndObject)), and there
//!   is no `transaction(` syntax: each line is one command.
//! - Single quotes are ordinary characters; qmp-shell groups `'a b'` into one argument
//!   as it does `"a b"`, and likewise keeps the quotes in the text.

use core::fmt;
use core::iter::FusedIterator;

use crate::describe::{self, Describe};
use crate::encode::{self, BufferFull, EncodeError, Id, Sink, SliceSink, Text};
use crate::json::RawJson;
use crate::scan::ScanErrorKind;

#[cfg(test)]
mod tests;

/// The most segments a dotted key may have (`a.b.c` has three): the deepest nesting a
/// line can ask for.
pub const MAX_KEY_SEGMENTS: usize = 32;

/// What is wrong with a line; see [`ShellError`] for where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShellErrorKind {
    /// The line is empty or only whitespace.
    Empty,
    /// The command name has a character other than ASCII letters, digits, `-`, `_` and
    /// `.`, or does not start with a letter or `_`.
    BadCommandName,
    /// An argument has no `=`.
    MissingEquals,
    /// An argument has nothing before its `=`.
    EmptyKey,
    /// A dotted key has an empty segment: `a..b`, `.a` or `a.`.
    EmptyKeySegment,
    /// A dotted key has more than [`MAX_KEY_SEGMENTS`] segments.
    TooDeep,
    /// The same key is given twice.
    DuplicateKey,
    /// A key is given a value and also used as an object by a dotted key (`a=1 a.b=2`).
    ValueAndObject,
    /// A value that starts as JSON (`{`, `[` or `"`) is not valid JSON.
    InvalidJson(ScanErrorKind),
    /// A quoted string, on its own or inside a JSON value, is not closed.
    UnterminatedQuote,
    /// A JSON value is followed by more text instead of whitespace.
    TrailingGarbage,
}

impl ShellErrorKind {
    /// A short static description (without the JSON error's detail for
    /// [`InvalidJson`](Self::InvalidJson); [`Display`](fmt::Display) adds it).
    pub const fn description(self) -> &'static str {
        match self {
            Self::Empty => "empty command line",
            Self::BadCommandName => {
                "a command name is ASCII letters, digits, '-', '_' and '.', starting with a \
                 letter or '_'"
            }
            Self::MissingEquals => "an argument must be KEY=VALUE",
            Self::EmptyKey => "an argument's key is empty",
            Self::EmptyKeySegment => "a dotted key has an empty segment",
            Self::TooDeep => "a dotted key has too many segments",
            Self::DuplicateKey => "the same key is given twice",
            Self::ValueAndObject => "a key is used both as a value and as an object",
            Self::InvalidJson(_) => "invalid JSON value",
            Self::UnterminatedQuote => "unterminated quoted string",
            Self::TrailingGarbage => "unexpected text right after a JSON value",
        }
    }
}

impl fmt::Display for ShellErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe::display(self, f)
    }
}

impl Describe for ShellErrorKind {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        out(self.description());
        if let Self::InvalidJson(detail) = self {
            out(": ");
            out(detail.description());
        }
    }
}

/// Why a line is not a command, and where: see the [module docs](self#errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ShellError {
    /// What is wrong.
    pub kind: ShellErrorKind,
    /// The byte offset (0-based) into the line of where it is wrong.
    pub column: usize,
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe::display(self, f)
    }
}

impl Describe for ShellError {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        self.kind.describe(out);
        out(" at column ");
        describe::decimal(self.column as u64, out);
    }
}

impl core::error::Error for ShellError {}

/// An argument's value, as read from the line (see the [module docs](self#syntax)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShellValue<'a> {
    /// Plain text, sent as a JSON string (escaped on output).
    Str(&'a str),
    /// `true` or `false`, in any case.
    Bool(bool),
    /// `null`, in any case.
    Null,
    /// An integer that fits `i64` or `u64`, or a finite number with a fraction or
    /// exponent, exactly as typed.
    Number(RawJson<'a>),
    /// A value typed as JSON: an object, an array or a quoted string.
    Json(RawJson<'a>),
}

impl ShellValue<'_> {
    fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        let literal: &[u8] = match *self {
            Self::Str(text) => return encode::value(sink, Text::Str(text)),
            Self::Number(json) | Self::Json(json) => return encode::value(sink, json),
            Self::Bool(true) => b"true",
            Self::Bool(false) => b"false",
            Self::Null => b"null",
        };
        put(sink, literal)
    }
}

/// One `KEY=VALUE` argument of a parsed line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShellArgument<'a> {
    /// The key as typed, dots included.
    pub key: &'a str,
    /// The value.
    pub value: ShellValue<'a>,
    /// The byte offset (0-based) of the key in the line.
    pub column: usize,
}

impl<'a> ShellArgument<'a> {
    /// The key's dot-separated segments: the path of the value in the `arguments`
    /// object.
    pub fn segments(&self) -> KeySegments<'a> {
        KeySegments {
            rest: Some(self.key),
        }
    }
}

/// The dot-separated segments of a key, from [`ShellArgument::segments`]: `a.b` gives
/// `a` then `b`. (The same as `key.split('.')`, without core's char searcher.)
#[derive(Clone, Debug)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct KeySegments<'a> {
    /// What is left of the key, `None` once its last segment was given.
    rest: Option<&'a str>,
}

impl<'a> Iterator for KeySegments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let (segment, after) = split_at_dot(rest);
        self.rest = after;
        Some(segment)
    }
}

impl FusedIterator for KeySegments<'_> {}

/// The arguments of a [`ShellCommand`], in the order typed.
#[derive(Clone, Debug)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct ShellArguments<'a> {
    line: &'a str,
    /// Where the next argument, or the whitespace before it, starts.
    at: usize,
}

impl<'a> Iterator for ShellArguments<'a> {
    type Item = ShellArgument<'a>;

    // Out of line: the shell walks its arguments in four places.
    #[inline(never)]
    fn next(&mut self) -> Option<Self::Item> {
        // At the end of the line this is an error (an empty key). Only a checked line
        // reaches here, so that is the only error there is.
        let parsed = argument(self.line, skip(self.line.as_bytes(), self.at, is_blank));
        self.at = self.line.len();
        let (argument, end) = parsed.ok()?;
        self.at = end;
        Some(argument)
    }
}

impl FusedIterator for ShellArguments<'_> {}

/// A command line that has passed every check: see the [module docs](self).
///
/// It borrows the line. Encoding writes the full command, with `arguments` only when
/// the line has some, and cannot fail except in the sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShellCommand<'a> {
    line: &'a str,
    name: &'a str,
    /// Where the name ends (and the arguments start).
    args: usize,
}

impl<'a> ShellCommand<'a> {
    /// Parse and check one line: `NAME KEY=VALUE ...`.
    pub fn parse(line: &'a str) -> Result<Self, ShellError> {
        let bytes = line.as_bytes();
        let start = skip(bytes, 0, is_blank);
        let Some(&first) = bytes.get(start) else {
            return Err(error(ShellErrorKind::Empty, line.len()));
        };
        let end = skip(bytes, start, is_name_char);
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return Err(error(ShellErrorKind::BadCommandName, start));
        }
        if bytes.get(end).is_some_and(|&b| !is_blank(b)) {
            return Err(error(ShellErrorKind::BadCommandName, end));
        }
        let command = Self {
            line,
            name: slice(line, start, end),
            args: end,
        };
        let mut at = end;
        loop {
            let start = skip(bytes, at, is_blank);
            if start >= line.len() {
                return Ok(command);
            }
            let (argument, next) = argument(line, start)?;
            // Earlier keys are not related to each other, so the first related to this
            // one is the only one, and says which error it is.
            let key = argument.key;
            for earlier in command.arguments().take_while(|a| a.column < start) {
                if related(key, earlier.key) {
                    let kind = if earlier.key == key {
                        ShellErrorKind::DuplicateKey
                    } else {
                        ShellErrorKind::ValueAndObject
                    };
                    return Err(error(kind, start));
                }
            }
            at = next;
        }
    }

    /// The command name.
    #[must_use]
    pub const fn name(&self) -> &'a str {
        self.name
    }

    /// The line this command was parsed from.
    #[must_use]
    pub const fn line(&self) -> &'a str {
        self.line
    }

    /// The arguments, in the order typed.
    pub fn arguments(&self) -> ShellArguments<'a> {
        ShellArguments {
            line: self.line,
            at: self.args,
        }
    }

    /// Write the command: `{"execute":"NAME","arguments":{…},"id":ID}`, as
    /// [`encode::command`] writes it. `arguments` is left out when the line has none,
    /// `id` when it is `None`. The only possible error is the sink's
    /// ([`EncodeError::Sink`]); after one, the sink holds an unspecified prefix.
    pub fn encode<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        id: Option<Id<'_>>,
    ) -> Result<(), EncodeError<S::Error>> {
        self.encode_as(sink, b"{\"execute\":", id)
    }

    /// As [`encode`](Self::encode), in the out-of-band form: `exec-oob` in place of
    /// `execute`, as [`encode::command_oob`] writes it. QEMU accepts it once the `oob`
    /// capability was negotiated, and then wants an `id`.
    pub fn encode_oob<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        id: Option<Id<'_>>,
    ) -> Result<(), EncodeError<S::Error>> {
        self.encode_as(sink, b"{\"exec-oob\":", id)
    }

    /// [`encode`](Self::encode) into `buf`; returns the length used.
    pub fn to_slice(
        &self,
        buf: &mut [u8],
        id: Option<Id<'_>>,
    ) -> Result<usize, EncodeError<BufferFull>> {
        let mut sink = SliceSink::new(buf);
        self.encode(&mut sink, id)?;
        Ok(sink.len())
    }

    fn encode_as<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        opening: &'static [u8],
        id: Option<Id<'_>>,
    ) -> Result<(), EncodeError<S::Error>> {
        put(sink, opening)?;
        encode::value(&mut *sink, Text::Str(self.name))?;
        // A checked line has arguments where it has more than whitespace after the name.
        if skip(self.line.as_bytes(), self.args, is_blank) < self.line.len() {
            self.write_arguments(sink)?;
        }
        encode::id_member(&mut *sink, id)?;
        put(sink, b"}")
    }

    /// `,"arguments":{…}`, walking the tree of dotted keys depth first without a stack:
    /// the open object is known by its key path, its next member is found by scanning
    /// the line from where the last one was, and on closing it the scan of its parent
    /// (the path without its last segment) goes on after the argument that opened it.
    fn write_arguments<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        // The open object's key path (empty for `arguments` itself) and where its next
        // member is looked for; what goes before the next member: the opening of the
        // object it is the first member of, or a comma. (Every object has members.)
        let mut path = "";
        let mut rest = self.args;
        let mut before: &[u8] = b",\"arguments\":{";
        loop {
            let Some(member) = self.next_member(path, rest) else {
                put(sink, b"}")?;
                if path.is_empty() {
                    return Ok(());
                }
                rest = self.first_within(path).1;
                let parent = path.bytes().rposition(|b| b == b'.').unwrap_or(0);
                path = slice(path, 0, parent);
                continue;
            };
            put(sink, before)?;
            encode::value(&mut *sink, Text::Str(member.name))?;
            put(sink, b":")?;
            match member.value {
                Some(value) => {
                    value.write(sink)?;
                    rest = member.next;
                    before = b",";
                }
                None => {
                    path = member.path;
                    rest = member.column;
                    before = b"{";
                }
            }
        }
    }

    /// The next member of the object at `path` not written yet, from the argument at
    /// `rest` on: the first argument there inside `path` whose member no earlier
    /// argument named.
    fn next_member(&self, path: &str, rest: usize) -> Option<Member<'a>> {
        let mut args = ShellArguments {
            line: self.line,
            at: rest,
        };
        while let Some(arg) = args.next() {
            let Some(tail) = below(arg.key, path) else {
                continue;
            };
            let (name, more) = split_at_dot(tail);
            let path_len = arg.key.len() - tail.len() + name.len();
            let member_path = slice(arg.key, 0, path_len);
            if self.first_within(member_path).0 < arg.column {
                continue;
            }
            return Some(Member {
                name,
                path: member_path,
                value: more.is_none().then_some(arg.value),
                column: arg.column,
                next: args.at,
            });
        }
        None
    }

    /// Where the first argument that is `path` or inside it starts, and where the line
    /// goes on after it (the end of the line for both without one).
    fn first_within(&self, path: &str) -> (usize, usize) {
        let mut args = self.arguments();
        while let Some(arg) = args.next() {
            if within(arg.key, path) {
                return (arg.column, args.at);
            }
        }
        (self.line.len(), self.line.len())
    }
}

/// A member to write, from its first argument.
struct Member<'a> {
    /// The member's name: one key segment.
    name: &'a str,
    /// The member's key path, from the first segment to `name`.
    path: &'a str,
    /// The value, or `None` for an object.
    value: Option<ShellValue<'a>>,
    /// Where the argument starts in the line, and so the object's members.
    column: usize,
    /// Where the line goes on after the argument.
    next: usize,
}

/// `bytes` into `sink`: one out-of-line copy of the sink's write for all the shell's
/// punctuation, rather than one inlined at each place.
#[inline(never)]
fn put<S: Sink + ?Sized>(sink: &mut S, bytes: &[u8]) -> Result<(), EncodeError<S::Error>> {
    Ok(sink.write(bytes)?)
}

/// `key` up to its first dot, and what follows that dot (`None` without one).
fn split_at_dot(key: &str) -> (&str, Option<&str>) {
    let dot = skip(key.as_bytes(), 0, |b| b != b'.');
    let after = (dot < key.len()).then(|| slice(key, dot + 1, key.len()));
    (slice(key, 0, dot), after)
}

/// What follows `path` and a dot in `key`, if `key` is strictly inside the object at
/// `path`; all of `key` for the empty path.
fn below<'k>(key: &'k str, path: &str) -> Option<&'k str> {
    if path.is_empty() {
        return Some(key);
    }
    key.strip_prefix(path)?.strip_prefix('.')
}

/// Whether one of two keys is the other or inside the object it names.
fn related(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    within(long, short)
}

/// Whether `key` is `path` or inside the object at `path` (`path` not empty).
fn within(key: &str, path: &str) -> bool {
    key.as_bytes().starts_with(path.as_bytes())
        && matches!(key.as_bytes().get(path.len()), None | Some(b'.'))
}

// ---------------------------------------------------------------------------------
// The grammar: positions are byte offsets into the line, always at ASCII bytes or its
// ends, so every slice of it is at character boundaries (`get` never fails).

/// `text` from byte `from` to byte `to`, which are character boundaries wherever this is
/// used (empty otherwise): one out-of-line copy of the boundary checks.
#[inline(never)]
fn slice(text: &str, from: usize, to: usize) -> &str {
    text.get(from..to).unwrap_or_default()
}

const fn error(kind: ShellErrorKind, column: usize) -> ShellError {
    ShellError { kind, column }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// The offset of the first byte from `at` on for which `keep` does not hold, or the
/// length of `text`.
fn skip(text: &[u8], mut at: usize, keep: impl Fn(u8) -> bool) -> usize {
    while text.get(at).is_some_and(|&b| keep(b)) {
        at += 1;
    }
    at
}

/// `KEY=VALUE` from `start`, the key's first character, and where it ends. The checks
/// come in reading order: an empty key, then each segment (empty, then one too many),
/// then the `=`, then the value.
fn argument(line: &str, start: usize) -> Result<(ShellArgument<'_>, usize), ShellError> {
    let bytes = line.as_bytes();
    let mut at = start;
    let mut segment = start;
    let mut segments = 0;
    let stop = loop {
        // The end of the line ends the key as whitespace does.
        let b = bytes.get(at).copied().unwrap_or(b' ');
        let key_end = b == b'=' || is_blank(b);
        if key_end || b == b'.' {
            if at == segment {
                let kind = if key_end && at == start {
                    ShellErrorKind::EmptyKey
                } else {
                    ShellErrorKind::EmptyKeySegment
                };
                return Err(error(kind, segment));
            }
            if segments >= MAX_KEY_SEGMENTS {
                return Err(error(ShellErrorKind::TooDeep, segment));
            }
            segments += 1;
            segment = at + 1;
            if key_end {
                break b;
            }
        }
        at += 1;
    };
    if stop != b'=' {
        return Err(error(ShellErrorKind::MissingEquals, start));
    }
    let key = slice(line, start, at);
    let from = at + 1;
    let (value, end) = match bytes.get(from) {
        Some(b'{' | b'[' | b'"') => json_value(line, from)?,
        _ => {
            let end = skip(bytes, from, |b| !is_blank(b));
            (plain(slice(line, from, end)), end)
        }
    };
    let argument = ShellArgument {
        key,
        value,
        column: start,
    };
    Ok((argument, end))
}

/// A value typed as JSON, from `from` (at `{`, `[` or `"`) up to where it closes: the
/// bracket that closes the first one, counting brackets outside strings, or the end of
/// its string. A value that never closes runs to the end of the line, where the JSON
/// check finds what is wrong; a string that never closes is
/// [`ShellErrorKind::UnterminatedQuote`] at its opening quote.
fn json_value(line: &str, from: usize) -> Result<(ShellValue<'_>, usize), ShellError> {
    let bytes = line.as_bytes();
    let mut depth = 0usize;
    // Where the string being read opened, and whether a backslash came last in it.
    let mut quote = None;
    let mut escaped = false;
    let mut end = from;
    while let Some(&b) = bytes.get(end) {
        end += 1;
        if quote.is_some() {
            if !escaped && b == b'"' {
                quote = None;
            }
            escaped = !escaped && b == b'\\';
        } else {
            match b {
                b'"' => quote = Some(end - 1),
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if quote.is_none() && depth == 0 {
            break;
        }
    }
    if let Some(quote) = quote {
        return Err(error(ShellErrorKind::UnterminatedQuote, quote));
    }
    // Valid, it closed at `end`: no whitespace around it.
    let text = slice(line, from, end).as_bytes();
    if let Err(e) = crate::scan::validate(text) {
        // The offset is inside `text`, so it fits.
        let column = from + e.offset as usize;
        return Err(error(ShellErrorKind::InvalidJson(e.kind), column));
    }
    if bytes.get(end).is_some_and(|&b| !is_blank(b)) {
        return Err(error(ShellErrorKind::TrailingGarbage, end));
    }
    Ok((ShellValue::Json(RawJson::trusted(text)), end))
}

/// What a plain (unquoted, non-JSON) value means.
fn plain(text: &str) -> ShellValue<'_> {
    // The text's bytes, each with bit 5 set (which makes an ASCII capital letter
    // lowercase and no other byte a letter), if there are at most five: a word to
    // compare with the literals in any case. No byte becomes 0, so lengths differ.
    let mut word = 0u64;
    if text.len() <= 5 {
        for b in text.bytes() {
            word = (word << 8) | u64::from(b | 0x20);
        }
    }
    let packed = |literal: &[u8]| literal.iter().fold(0u64, |w, &b| (w << 8) | u64::from(b));
    if word == packed(b"true") {
        ShellValue::Bool(true)
    } else if word == packed(b"false") {
        ShellValue::Bool(false)
    } else if word == packed(b"null") {
        ShellValue::Null
    } else if is_number(text.as_bytes()) {
        ShellValue::Number(RawJson::trusted(text.as_bytes()))
    } else {
        ShellValue::Str(text)
    }
}

/// Whether `text` (no literal, nothing JSON's values start with but a number's
/// characters) is a number by JSON's grammar and in range: an integer in `i64` or
/// `u64`, anything else finite as `f64`.
fn is_number(text: &[u8]) -> bool {
    if crate::scan::validate(text).is_err() {
        return false;
    }
    if text.iter().any(|&b| matches!(b, b'.' | b'e' | b'E')) {
        return crate::json::finite_as_f64(text);
    }
    // An integer, without leading zeros: in range when shorter than the limit, or as
    // long and not above it.
    let unsigned = text.strip_prefix(b"-").unwrap_or(text);
    let limit: &[u8] = if unsigned.len() < text.len() {
        b"9223372036854775808"
    } else {
        b"18446744073709551615"
    };
    unsigned.len() < limit.len() || (unsigned.len() == limit.len() && unsigned <= limit)
}
