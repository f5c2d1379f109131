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

use crate::describe::{self, Describe};
use core::iter::FusedIterator;

use nom::error::{ErrorKind, ParseError};
use nom::IResult;

use crate::encode::{self, BufferFull, EncodeError, Id, Ser, Sink, SliceSink, Text};
use crate::json::{Kind, RawJson};
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
        match *self {
            Self::Str(text) => encode::value(sink, Text::Str(text)),
            Self::Bool(true) => Ok(sink.write(b"true")?),
            Self::Bool(false) => Ok(sink.write(b"false")?),
            Self::Null => Ok(sink.write(b"null")?),
            Self::Number(json) | Self::Json(json) => encode::value(sink, json),
        }
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
    pub fn segments(&self) -> core::str::Split<'a, char> {
        self.key.split('.')
    }
}

/// The arguments of a [`ShellCommand`], in the order typed.
#[derive(Clone, Debug)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct ShellArguments<'a> {
    line: &'a str,
    rest: &'a str,
}

impl<'a> Iterator for ShellArguments<'a> {
    type Item = ShellArgument<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = skip_blank(self.rest);
        if start.is_empty() {
            self.rest = start;
            return None;
        }
        // Only a checked line reaches here, so the error arm is never taken.
        let Ok((rest, (key, value))) = argument(start) else {
            self.rest = "";
            return None;
        };
        self.rest = rest;
        Some(ShellArgument {
            key,
            value,
            column: column(self.line, start),
        })
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
    /// The line after the name.
    args: &'a str,
}

impl<'a> ShellCommand<'a> {
    /// Parse and check one line: `NAME KEY=VALUE ...`.
    pub fn parse(line: &'a str) -> Result<Self, ShellError> {
        let located = |e| locate(line, e);
        let start = skip_blank(line);
        if start.is_empty() {
            return Err(ShellError {
                kind: ShellErrorKind::Empty,
                column: line.len(),
            });
        }
        let (args, name) = command_name(start).map_err(located)?;
        let command = Self { line, name, args };
        let mut rest = args;
        loop {
            let start = skip_blank(rest);
            if start.is_empty() {
                return Ok(command);
            }
            let (next, (key, _)) = argument(start).map_err(located)?;
            let at = column(line, start);
            for earlier in command.arguments().take_while(|a| a.column < at) {
                let kind = if earlier.key == key {
                    ShellErrorKind::DuplicateKey
                } else if below(key, earlier.key).is_some() || below(earlier.key, key).is_some() {
                    ShellErrorKind::ValueAndObject
                } else {
                    continue;
                };
                return Err(ShellError { kind, column: at });
            }
            rest = next;
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
            rest: self.args,
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
        sink.write(opening)?;
        encode::value(&mut *sink, Text::Str(self.name))?;
        if self.arguments().next().is_some() {
            sink.write(b",\"arguments\":")?;
            self.write_arguments(sink)?;
        }
        if let Some(id) = id {
            sink.write(b",\"id\":")?;
            match id {
                Id::U64(v) => encode::value(&mut *sink, Ser(v))?,
                Id::I64(v) => encode::value(&mut *sink, Ser(v))?,
                Id::Str(s) => encode::value(&mut *sink, Text::Str(s))?,
                Id::Raw(raw) => encode::value(&mut *sink, raw)?,
            }
        }
        sink.write(b"}")?;
        Ok(())
    }

    /// The `arguments` object. Each open object is a [`Level`] on a fixed stack (one per
    /// key segment at most); its members are found by scanning the line from where the
    /// last one was.
    fn write_arguments<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        let mut stack = [Level {
            path: "",
            rest: self.args,
            first: true,
        }; MAX_KEY_SEGMENTS];
        let mut depth = 1usize;
        sink.write(b"{")?;
        while let Some(top) = depth.checked_sub(1) {
            let Some(level) = stack.get_mut(top) else {
                break;
            };
            let first = core::mem::replace(&mut level.first, false);
            let Some(member) = self.next_member(level) else {
                sink.write(b"}")?;
                depth = top;
                continue;
            };
            if !first {
                sink.write(b",")?;
            }
            encode::value(&mut *sink, Text::Str(member.name))?;
            sink.write(b":")?;
            match member.value {
                Some(value) => value.write(sink)?,
                None => {
                    sink.write(b"{")?;
                    match stack.get_mut(depth) {
                        Some(slot) => {
                            *slot = Level {
                                path: member.path,
                                rest: member.from,
                                first: true,
                            };
                            depth += 1;
                        }
                        // Unreachable: parsing refused keys with more segments than
                        // there are levels. Closing keeps the output valid JSON.
                        None => sink.write(b"}")?,
                    }
                }
            }
        }
        Ok(())
    }

    /// The next member of the object at `level` that has not been written yet, moving
    /// `level.rest` past it: the first argument from there inside `level.path` whose
    /// member name no earlier argument used.
    fn next_member(&self, level: &mut Level<'a>) -> Option<Member<'a>> {
        let mut args = ShellArguments {
            line: self.line,
            rest: level.rest,
        };
        while let Some(arg) = args.next() {
            let Some(tail) = below(arg.key, level.path) else {
                continue;
            };
            let (name, value) = match tail.split_once('.') {
                Some((name, _)) => (name, None),
                None => (tail, Some(arg.value)),
            };
            let path_len = arg.key.len() - tail.len() + name.len();
            let path = arg.key.get(..path_len).unwrap_or(arg.key);
            let written = self
                .arguments()
                .take_while(|earlier| earlier.column < arg.column)
                .any(|earlier| earlier.key == path || below(earlier.key, path).is_some());
            if written {
                continue;
            }
            level.rest = args.rest;
            return Some(Member {
                name,
                path,
                value,
                from: self.line.get(arg.column..).unwrap_or_default(),
            });
        }
        level.rest = "";
        None
    }
}

/// An object being written.
#[derive(Clone, Copy)]
struct Level<'a> {
    /// The object's key path (`a.b`); empty for `arguments` itself.
    path: &'a str,
    /// The line from the argument after the last member written.
    rest: &'a str,
    /// Whether no member has been written yet.
    first: bool,
}

/// A member to write, from its first argument.
struct Member<'a> {
    /// The member's name: one key segment.
    name: &'a str,
    /// The member's key path, from the first segment to `name`.
    path: &'a str,
    /// The value, or `None` for an object.
    value: Option<ShellValue<'a>>,
    /// The line from the argument, where the object's members start.
    from: &'a str,
}

/// What follows `path` and a dot in `key`, if `key` is strictly inside the object at
/// `path`; all of `key` for the empty path.
fn below<'k>(key: &'k str, path: &str) -> Option<&'k str> {
    if path.is_empty() {
        return Some(key);
    }
    key.strip_prefix(path)?.strip_prefix('.')
}

// ---------------------------------------------------------------------------------
// The grammar

type Parsed<'a, O> = IResult<&'a str, O, Fail>;

/// A parse failure: the kind, and where as the length of the line after it (every input
/// is a suffix of the line, so this gives the column).
#[derive(Clone, Copy, Debug)]
struct Fail {
    /// `None` for a failure of one of nom's own parsers, which are all given a kind
    /// before it reaches [`locate`].
    kind: Option<ShellErrorKind>,
    rest: usize,
}

impl ParseError<&str> for Fail {
    fn from_error_kind(input: &str, _: ErrorKind) -> Self {
        Self {
            kind: None,
            rest: input.len(),
        }
    }

    fn append(_: &str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// A failure with `kind` at `offset` bytes into `input`.
fn failure(kind: ShellErrorKind, input: &str, offset: usize) -> nom::Err<Fail> {
    nom::Err::Failure(Fail {
        kind: Some(kind),
        rest: input.len().saturating_sub(offset),
    })
}

/// Fail with `kind` at `offset` bytes into `input`.
fn fail_at<O>(kind: ShellErrorKind, input: &str, offset: usize) -> Parsed<'_, O> {
    Err(failure(kind, input, offset))
}

/// The error for a failure in `line`.
fn locate(line: &str, e: nom::Err<Fail>) -> ShellError {
    let fail = match e {
        nom::Err::Error(f) | nom::Err::Failure(f) => f,
        // Unreachable: every parser here reads complete input.
        nom::Err::Incomplete(_) => Fail {
            kind: None,
            rest: 0,
        },
    };
    ShellError {
        // Unreachable `None`: see `Fail::kind`.
        kind: fail.kind.unwrap_or(ShellErrorKind::TrailingGarbage),
        column: line.len().saturating_sub(fail.rest),
    }
}

/// The column of `rest`, a suffix of `line`.
fn column(line: &str, rest: &str) -> usize {
    line.len().saturating_sub(rest.len())
}

/// The parser that takes `input` up to its first character for which `stop` holds (or
/// all of it), as nom's `take_till` does, but splitting `input` at a checked boundary:
/// no panic path (nom slices), which keeps core's slice-error formatting out of
/// binaries.
fn take_till<'a>(stop: impl Fn(char) -> bool) -> impl Fn(&'a str) -> Parsed<'a, &'a str> {
    move |input| {
        let end = input
            .char_indices()
            .find(|&(_, c)| stop(c))
            .map_or(input.len(), |(i, _)| i);
        let (taken, rest) = input.split_at_checked(end).unwrap_or((input, ""));
        Ok((rest, taken))
    }
}

/// The parser that takes `input` while `keep` holds: [`take_till`] of the rest.
fn take_while<'a>(keep: impl Fn(char) -> bool) -> impl Fn(&'a str) -> Parsed<'a, &'a str> {
    take_till(move |c| !keep(c))
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `input` without its leading whitespace.
fn skip_blank(input: &str) -> &str {
    let blank: Parsed<'_, &str> = take_while(is_blank)(input);
    blank.map_or(input, |(rest, _)| rest)
}

/// Succeeds at whitespace or the end of the line; anything else fails as `kind`.
fn boundary(input: &str, kind: ShellErrorKind) -> Parsed<'_, ()> {
    match input.chars().next() {
        Some(c) if !is_blank(c) => fail_at(kind, input, 0),
        _ => Ok((input, ())),
    }
}

/// The command name, up to whitespace or the end of the line.
fn command_name(input: &str) -> Parsed<'_, &str> {
    let (rest, name) = take_while(is_name_char)(input)?;
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return fail_at(ShellErrorKind::BadCommandName, input, 0);
    }
    boundary(rest, ShellErrorKind::BadCommandName)?;
    Ok((rest, name))
}

/// `KEY=VALUE`, from the key's first character.
fn argument(input: &str) -> Parsed<'_, (&str, ShellValue<'_>)> {
    let (rest, key) = take_till(|c| c == '=' || is_blank(c))(input)?;
    if key.is_empty() {
        return fail_at(ShellErrorKind::EmptyKey, input, 0);
    }
    check_segments(input, key)?;
    let rest = rest
        .strip_prefix('=')
        .ok_or_else(|| failure(ShellErrorKind::MissingEquals, input, 0))?;
    let (rest, value) = value(rest)?;
    Ok((rest, (key, value)))
}

/// Checks the segments of `key`, which starts `input`.
fn check_segments<'a>(input: &'a str, key: &str) -> Parsed<'a, ()> {
    let mut offset = 0;
    for (index, segment) in key.split('.').enumerate() {
        if segment.is_empty() {
            return fail_at(ShellErrorKind::EmptyKeySegment, input, offset);
        }
        if index >= MAX_KEY_SEGMENTS {
            return fail_at(ShellErrorKind::TooDeep, input, offset);
        }
        offset += segment.len() + 1;
    }
    Ok((input, ()))
}

/// A value, from its first character (just after the `=`).
fn value(input: &str) -> Parsed<'_, ShellValue<'_>> {
    if input.starts_with(['{', '[', '"']) {
        return json_value(input);
    }
    let (rest, text) = take_till(is_blank)(input)?;
    Ok((rest, plain(text)))
}

/// A value typed as JSON, up to where it closes.
fn json_value(input: &str) -> Parsed<'_, ShellValue<'_>> {
    let len = json_extent(input)?;
    // `len` is at a quote, a bracket or the end, so always a boundary.
    let (text, rest) = input.split_at_checked(len).unwrap_or((input, ""));
    let json = match RawJson::parse(text.as_bytes()) {
        Ok(json) => json,
        Err(e) => {
            let offset = usize::try_from(e.offset).unwrap_or(usize::MAX);
            return fail_at(ShellErrorKind::InvalidJson(e.kind), input, offset);
        }
    };
    boundary(rest, ShellErrorKind::TrailingGarbage)?;
    Ok((rest, ShellValue::Json(json)))
}

/// The length of the JSON value that starts `input` (with `{`, `[` or `"`): up to the
/// bracket that closes the first one, counting brackets outside strings, or the end of
/// its string. A value that never closes runs to the end of the line, where the JSON
/// check will find what is wrong; a string that never closes is
/// [`ShellErrorKind::UnterminatedQuote`] at its opening quote.
fn json_extent(input: &str) -> Result<usize, nom::Err<Fail>> {
    let bytes = input.as_bytes();
    let mut depth = 0usize;
    // The opening quote of the string being read, and whether a backslash came last.
    let mut string: Option<usize> = None;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        match string {
            Some(_) if escaped => escaped = false,
            Some(_) => match b {
                b'\\' => escaped = true,
                b'"' => {
                    string = None;
                    if depth == 0 {
                        return Ok(i + 1);
                    }
                }
                _ => {}
            },
            None => match b {
                b'"' => string = Some(i),
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(i + 1);
                    }
                }
                _ => {}
            },
        }
    }
    match string {
        Some(quote) => Err(failure(ShellErrorKind::UnterminatedQuote, input, quote)),
        None => Ok(bytes.len()),
    }
}

/// What a plain (unquoted, non-JSON) value means.
fn plain(text: &str) -> ShellValue<'_> {
    if text.eq_ignore_ascii_case("true") {
        ShellValue::Bool(true)
    } else if text.eq_ignore_ascii_case("false") {
        ShellValue::Bool(false)
    } else if text.eq_ignore_ascii_case("null") {
        ShellValue::Null
    } else {
        number(text).map_or(ShellValue::Str(text), ShellValue::Number)
    }
}

/// `text` as a number, if it is one by JSON's grammar and in range: an integer in `i64`
/// or `u64`, anything else finite as `f64`.
fn number(text: &str) -> Option<RawJson<'_>> {
    let json = RawJson::parse(text.as_bytes()).ok()?;
    if json.kind() != Kind::Number {
        return None;
    }
    let in_range = if text.contains(['.', 'e', 'E']) {
        crate::json::finite_as_f64(text.as_bytes())
    } else {
        json.as_i64().is_some() || json.as_u64().is_some()
    };
    in_range.then_some(json)
}
