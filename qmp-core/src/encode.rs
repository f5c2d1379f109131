//! The encoder: compact, ASCII-only JSON for every QMP message kind.
//!
//! Each message function ([`command`], [`command_oob`], [`success`], [`error`],
//! [`error_fmt`], [`error_with_data`], [`event`], [`greeting`]) writes exactly one JSON
//! object into a [`Sink`]: a [`SliceSink`] over a caller's buffer (which counts the
//! bytes used and fails with [`BufferFull`] when full), a [`WriterSink`] over any
//! [`embedded_io::Write`], or a `heapless::Vec`. [`resync`] writes the byte that resets QEMU's parser.
//!
//! # Guarantees
//!
//! - **Compact and ASCII-only**, as QEMU's own writer (`qobject/json-writer.c`) escapes
//!   strings: short escapes for `"` `\` BS FF LF CR HT; `\u00XX` for every other control
//!   character and DEL; `\uXXXX` with uppercase hex for every non-ASCII character, as a
//!   surrogate pair above U+FFFF (`😀` → `\uD83D\uDE00`); `/` unescaped. No whitespace
//!   anywhere, no raw CR or LF, so the output is safe for line-based peers too.
//! - **Valid JSON**: every successful call writes one complete JSON text that
//!   serde_json, QEMU and the [framer](crate::frame) accept. NaN and infinities are
//!   refused ([`EncodeError::NonFiniteFloat`]), never written as `inf`/`nan`.
//! - **QEMU's member order**: `execute`, `arguments`, `id`; `return`, `id`; `id`,
//!   `error` (`class`, `desc`, `data`); `timestamp` (`seconds`, `microseconds`), `event`,
//!   `data`; the greeting's `micro`, `minor`, `major` — the order in which QEMU 10's
//!   dictionaries hand out these keys, as in the captures under `testdata/captures`.
//!   Peers must not depend on order, but byte-exact fixtures can.
//! - **No allocation, no `unsafe`, no panics**, whatever the input; stack use is bounded
//!   except for serde values, whose nesting the value itself decides.
//! - **Errors are honest**: [`EncodeError::Sink`] carries the sink's own error
//!   ([`BufferFull`], or the writer's error in [`WriteError`]). After an error the sink
//!   holds an unspecified prefix of the message; discard it.
//!
//! # Payloads
//!
//! Arguments, return values, event data, error data and capabilities are [`Payload`]s:
//!
//! - [`Ser`]`(value)` for any `T: Serialize`, written by this module's own
//!   [`Serializer`] (serde-json-core's serializer writes raw UTF-8, so it cannot give
//!   ASCII-only output);
//! - [`RawJson`] for pre-encoded JSON (e.g. straight from a received frame), copied
//!   without its insignificant whitespace and with any raw non-ASCII inside its strings
//!   escaped, so the output stays compact and ASCII-only; escapes already present are
//!   kept as they are;
//! - [`JsonStr`] and [`Text`] for strings, [`EmptyObject`] for `{}` (what QEMU returns
//!   for commands that return nothing), `()` and `None` for `null` (meaning "absent",
//!   below), and `Option` / references of all of these.
//!
//! `Payload` is a trait of its own rather than `Serialize` because raw passthrough cannot
//! go through serde's data model without re-parsing the value. It is sealed so that
//! every payload keeps the guarantees above.
//!
//! A command's `arguments` and an event's `data` are optional members whose value must be
//! an object: a payload that is `null` (`()`, `None`, a unit struct, `Ser(())`) leaves
//! the member out, so argument-less commands can use `()` as their arguments type; any
//! other non-object is [`EncodeError::NotAnObject`], detected from the payload's first
//! byte before the member's key is written. A greeting's `capabilities` must likewise be
//! an array ([`EncodeError::NotAnArray`]).
//!
//! The parts of a [`Message`] fit these parameters as they are:
//! `JsonStr` names and descriptions, `Option<RawJson>` arguments and data, ids as
//! [`Id::Raw`], an [`ErrorClass`] as the class, the [`Version`], the raw `capabilities`
//! array, and the [`Timestamp`]; [`message()`] writes a whole [`Message`].
//!
//! # No trailing newline
//!
//! QEMU frames its input by JSON structure, not by lines, and QEMU's Python client sends
//! each command with no delimiter, so messages are written without one (every message
//! is an object, complete at its closing brace, so no lookahead byte is needed either).
//! On the server side, follow each message with `sink.write(b"\r\n")` as QEMU does:
//! libvirt, Python's `qemu.qmp` and most other clients read replies line by line.
//!
//! # Example
//!
//! ```
//! use qmp_core::encode::{self, Id, Ser, SliceSink};
//! use qmp_core::json::RawJson;
//!
//! #[derive(serde::Serialize)]
//! struct Eject<'a> {
//!     device: &'a str,
//!     #[serde(skip_serializing_if = "Option::is_none")]
//!     force: Option<bool>,
//! }
//!
//! let mut buf = [0u8; 256];
//! let mut sink = SliceSink::new(&mut buf);
//! let args = Eject { device: "cd0", force: None };
//! encode::command(&mut sink, "eject", Ser(&args), Some(Id::U64(1)))?;
//! assert_eq!(sink.written(), br#"{"execute":"eject","arguments":{"device":"cd0"},"id":1}"#);
//!
//! // Pre-encoded JSON passes through compacted and ASCII-only.
//! let raw = RawJson::parse("{ \"name\": \"café\" }".as_bytes()).unwrap();
//! let mut sink = SliceSink::new(&mut buf);
//! encode::command(&mut sink, "qom-get", raw, Some(Id::Str("a")))?;
//! assert_eq!(
//!     sink.written(),
//!     br#"{"execute":"qom-get","arguments":{"name":"caf\u00E9"},"id":"a"}"#,
//! );
//!
//! // Argument-less commands take `()`.
//! let mut sink = SliceSink::new(&mut buf);
//! encode::command(&mut sink, "qmp_capabilities", (), None)?;
//! assert_eq!(sink.written(), br#"{"execute":"qmp_capabilities"}"#);
//! # Ok::<(), encode::EncodeError<qmp_core::encode::BufferFull>>(())
//! ```

mod ser;
mod sink;
mod write;

use core::fmt;

use serde::Serialize;

pub use ser::{Compound, Serializer};
pub use sink::{BufferFull, Sink, SliceSink, WriteError, WriterSink};

use crate::describe::Describe;
use crate::json::{JsonStr, RawJson};
use crate::message::{ErrorClass, Message, QemuVersion, Timestamp, Version};

/// Why encoding failed.
///
/// [`Sink`](EncodeError::Sink) is the destination's fault (full buffer, I/O error);
/// every other variant is a value JSON or QMP cannot express, i.e. the caller's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError<E> {
    /// The sink failed: [`BufferFull`] for buffers, [`WriteError`] for writers.
    Sink(E),
    /// A float was NaN or infinite, which JSON cannot express.
    NonFiniteFloat,
    /// A map key was not a string, char, integer or boolean.
    KeyMustBeString,
    /// A command's `arguments` or an event's `data` was given a value that is neither
    /// an object nor `null` (which means "leave the member out").
    NotAnObject,
    /// A greeting's `capabilities` was given a value that is not an array.
    NotAnArray,
    /// A `Serialize` implementation reported an error of its own (its message is not
    /// kept: there is nowhere to store it without allocating).
    Custom,
}

impl<E> From<E> for EncodeError<E> {
    fn from(e: E) -> Self {
        Self::Sink(e)
    }
}

impl<E> EncodeError<EncodeError<E>> {
    /// Merge the errors of a sink that itself reports `EncodeError`s.
    fn flatten(self) -> EncodeError<E> {
        match self {
            Self::Sink(inner) => inner,
            Self::NonFiniteFloat => EncodeError::NonFiniteFloat,
            Self::KeyMustBeString => EncodeError::KeyMustBeString,
            Self::NotAnObject => EncodeError::NotAnObject,
            Self::NotAnArray => EncodeError::NotAnArray,
            Self::Custom => EncodeError::Custom,
        }
    }
}

impl<E> EncodeError<E> {
    /// The text of every error but [`Sink`](Self::Sink), whose text is the sink error's.
    const fn static_text(&self) -> &'static str {
        match self {
            Self::Sink(_) => "cannot write the encoded output: ",
            Self::NonFiniteFloat => "JSON cannot express NaN or infinite numbers",
            Self::KeyMustBeString => {
                "JSON object keys must be strings, chars, integers or booleans"
            }
            Self::NotAnObject => "`arguments` and `data` must be JSON objects",
            Self::NotAnArray => "`capabilities` must be a JSON array",
            Self::Custom => "the value's Serialize implementation failed",
        }
    }
}

impl<E: fmt::Display> fmt::Display for EncodeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.static_text())?;
        match self {
            Self::Sink(e) => fmt::Display::fmt(e, f),
            _ => Ok(()),
        }
    }
}

impl<E: Describe> Describe for EncodeError<E> {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        out(self.static_text());
        if let Self::Sink(e) = self {
            e.describe(out);
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for EncodeError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Sink(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: core::error::Error + 'static> serde::ser::Error for EncodeError<E> {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Self::Custom
    }
}

/// A string to encode: Rust text, or a [`JsonStr`] from a received frame (re-escaped to
/// ASCII without being decoded). Functions take `impl Into<Text>`, so `&str` works
/// directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Text<'a> {
    /// Plain text, escaped on output.
    Str(&'a str),
    /// A validated, still-escaped JSON string.
    Json(JsonStr<'a>),
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Self::Str(s)
    }
}

impl<'a> From<&&'a str> for Text<'a> {
    fn from(s: &&'a str) -> Self {
        Self::Str(s)
    }
}

impl<'a> From<JsonStr<'a>> for Text<'a> {
    fn from(s: JsonStr<'a>) -> Self {
        Self::Json(s)
    }
}

impl<'a> From<&JsonStr<'a>> for Text<'a> {
    fn from(s: &JsonStr<'a>) -> Self {
        Self::Json(*s)
    }
}

/// A known class by its name, any other as received.
impl<'a> From<ErrorClass<'a>> for Text<'a> {
    fn from(class: ErrorClass<'a>) -> Self {
        match class {
            ErrorClass::Other(name) => Self::Json(name),
            known => Self::Str(known.name()),
        }
    }
}

/// A command id. QEMU echoes any JSON value back unchanged; simple integers and ASCII
/// strings are the safest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Id<'a> {
    /// A non-negative integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A string, escaped on output.
    Str(&'a str),
    /// Any JSON value, e.g. an id taken from a received message (compacted, ASCII-only).
    Raw(RawJson<'a>),
}

impl From<u64> for Id<'_> {
    fn from(v: u64) -> Self {
        Self::U64(v)
    }
}

impl From<u32> for Id<'_> {
    fn from(v: u32) -> Self {
        Self::U64(v.into())
    }
}

impl From<i64> for Id<'_> {
    fn from(v: i64) -> Self {
        Self::I64(v)
    }
}

impl From<i32> for Id<'_> {
    fn from(v: i32) -> Self {
        Self::I64(v.into())
    }
}

impl<'a> From<&'a str> for Id<'a> {
    fn from(v: &'a str) -> Self {
        Self::Str(v)
    }
}

impl<'a> From<RawJson<'a>> for Id<'a> {
    fn from(v: RawJson<'a>) -> Self {
        Self::Raw(v)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A JSON value to embed in a message: see the [module docs](self#payloads).
///
/// Implemented for [`Ser`], [`RawJson`], [`JsonStr`], [`Text`], [`EmptyObject`], `()`,
/// `Option<P>` and `&P`. Sealed, so that every payload writes compact, ASCII-only,
/// valid JSON.
pub trait Payload: sealed::Sealed {
    /// Write the value as one compact, ASCII-only JSON value.
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>>;
}

/// A `T: Serialize` as a [`Payload`], written by this module's [`Serializer`].
/// Wrap a reference (`Ser(&args)`) to keep ownership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ser<T>(pub T);

impl<T: Serialize> sealed::Sealed for Ser<T> {}

impl<T: Serialize> Payload for Ser<T> {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        self.0.serialize(&mut Serializer::new(sink))
    }
}

/// The empty object `{}`: what QEMU returns for commands that return nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct EmptyObject;

impl sealed::Sealed for EmptyObject {}

impl Payload for EmptyObject {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        Ok(sink.write(b"{}")?)
    }
}

impl sealed::Sealed for RawJson<'_> {}

/// Compacted, with raw non-ASCII in strings escaped.
impl Payload for RawJson<'_> {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        Ok(write::raw(sink, self.as_bytes())?)
    }
}

impl sealed::Sealed for JsonStr<'_> {}

/// Re-quoted, with raw non-ASCII escaped.
impl Payload for JsonStr<'_> {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        Ok(write::raw_string(sink, self.raw_bytes())?)
    }
}

impl sealed::Sealed for Text<'_> {}

impl Payload for Text<'_> {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        Ok(text(sink, *self)?)
    }
}

impl sealed::Sealed for () {}

/// `null`.
impl Payload for () {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        Ok(sink.write(b"null")?)
    }
}

impl<P: Payload> sealed::Sealed for Option<P> {}

/// `None` is `null`.
impl<P: Payload> Payload for Option<P> {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        match self {
            Some(p) => p.write_json(sink),
            None => Ok(sink.write(b"null")?),
        }
    }
}

impl<P: Payload + ?Sized> sealed::Sealed for &P {}

impl<P: Payload + ?Sized> Payload for &P {
    fn write_json<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError<S::Error>> {
        (**self).write_json(sink)
    }
}

#[inline(always)]
fn text<S: Sink + ?Sized>(sink: &mut S, t: Text<'_>) -> Result<(), S::Error> {
    match t {
        Text::Str(s) => write::string(sink, s),
        Text::Json(s) => write::raw_string(sink, s.raw_bytes()),
    }
}

#[inline(always)]
fn id<S: Sink + ?Sized>(sink: &mut S, id: Id<'_>) -> Result<(), S::Error> {
    match id {
        Id::U64(v) => write::u64(sink, v, false),
        Id::I64(v) => write::i64(sink, v),
        Id::Str(s) => write::string(sink, s),
        Id::Raw(raw) => write::raw(sink, raw.as_bytes()),
    }
}

/// `,"id":ID` if there is one (also the human syntax's, in [`crate::shell`]).
#[inline(always)]
pub(crate) fn id_member<S: Sink + ?Sized>(
    sink: &mut S,
    value: Option<Id<'_>>,
) -> Result<(), S::Error> {
    match value {
        Some(value) => {
            sink.write(b",\"id\":")?;
            id(sink, value)
        }
        None => Ok(()),
    }
}

/// What a member's value must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An object, or `null` for "leave the member out".
    OptionalObject,
    /// An array.
    Array,
}

impl Expect {
    fn error<E>(self) -> EncodeError<E> {
        match self {
            Self::OptionalObject => EncodeError::NotAnObject,
            Self::Array => EncodeError::NotAnArray,
        }
    }
}

/// Where a checked member stands after its payload's first bytes.
#[derive(Clone, Copy)]
enum Member {
    /// Nothing seen yet.
    Start,
    /// The right kind: the prefix has been written and bytes pass through.
    Pass,
    /// This many bytes of `null` seen: the member is left out.
    Null(usize),
}

/// Checks a payload's kind from its first byte, before anything of the member is
/// written: the right kind gets `prefix` (e.g. `,"arguments":`) and passes through, a
/// `null` optional object is dropped, anything else is refused.
struct Checked<'a, S: ?Sized> {
    sink: &'a mut S,
    prefix: &'static [u8],
    expect: Expect,
    state: Member,
}

impl<S: Sink + ?Sized> Sink for Checked<'_, S> {
    type Error = EncodeError<S::Error>;

    fn write(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        loop {
            match self.state {
                Member::Pass => return Ok(self.sink.write(bytes)?),
                Member::Start => match (bytes.first(), self.expect) {
                    (None, _) => return Ok(()),
                    (Some(b'{'), Expect::OptionalObject) | (Some(b'['), Expect::Array) => {
                        self.sink.write(self.prefix)?;
                        self.state = Member::Pass;
                    }
                    (Some(b'n'), Expect::OptionalObject) => self.state = Member::Null(0),
                    _ => return Err(self.expect.error()),
                },
                Member::Null(seen) => {
                    let end = seen.saturating_add(bytes.len());
                    if b"null".get(seen..end) != Some(bytes) {
                        return Err(self.expect.error());
                    }
                    self.state = Member::Null(end);
                    return Ok(());
                }
            }
        }
    }
}

/// `prefix` + the payload if it is of the `expect`ed kind; nothing if it is a `null`
/// optional object.
fn checked<S: Sink + ?Sized, P: Payload + ?Sized>(
    sink: &mut S,
    prefix: &'static [u8],
    expect: Expect,
    payload: &P,
) -> Result<(), EncodeError<S::Error>> {
    let mut member = Checked {
        sink,
        prefix,
        expect,
        state: Member::Start,
    };
    payload
        .write_json(&mut member)
        .map_err(EncodeError::flatten)?;
    match (member.state, expect) {
        (Member::Pass | Member::Null(4), _) | (Member::Start, Expect::OptionalObject) => Ok(()),
        _ => Err(expect.error()),
    }
}

fn command_as<S: Sink + ?Sized, P: Payload + ?Sized>(
    sink: &mut S,
    opening: &'static [u8],
    name: Text<'_>,
    arguments: &P,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    sink.write(opening)?;
    text(sink, name)?;
    checked(sink, b",\"arguments\":", Expect::OptionalObject, arguments)?;
    id_member(sink, id)?;
    sink.write(b"}")?;
    Ok(())
}

/// A command: `{"execute":"NAME","arguments":{…},"id":ID}`.
///
/// `arguments` is left out when the payload is `null` (e.g. `()`); it must otherwise be
/// an object ([`EncodeError::NotAnObject`]). `id` is left out when `None`.
///
/// ```
/// use qmp_core::encode::{self, Id, SliceSink};
/// use qmp_core::json::RawJson;
///
/// let mut buf = [0u8; 64];
/// let mut sink = SliceSink::new(&mut buf);
/// let args = RawJson::parse(br#"{"path": "/machine"}"#).unwrap();
/// encode::command(&mut sink, "qom-list", args, Some(Id::U64(7)))?;
/// assert_eq!(sink.written(), br#"{"execute":"qom-list","arguments":{"path":"/machine"},"id":7}"#);
/// # Ok::<(), encode::EncodeError<qmp_core::encode::BufferFull>>(())
/// ```
pub fn command<'n, S: Sink + ?Sized>(
    sink: &mut S,
    name: impl Into<Text<'n>>,
    arguments: impl Payload,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    command_as(sink, b"{\"execute\":", name.into(), &arguments, id)
}

/// An out-of-band command: as [`command`], with `exec-oob` in place of `execute`.
/// QEMU accepts it only once the `oob` capability was negotiated, and then wants an `id`.
pub fn command_oob<'n, S: Sink + ?Sized>(
    sink: &mut S,
    name: impl Into<Text<'n>>,
    arguments: impl Payload,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    command_as(sink, b"{\"exec-oob\":", name.into(), &arguments, id)
}

/// A success response: `{"return":VALUE,"id":ID}`.
///
/// `value` may be any JSON value (`null` is written as `null`); QEMU sends `{}`
/// ([`EmptyObject`]) for commands that return nothing.
pub fn success<S: Sink + ?Sized>(
    sink: &mut S,
    value: impl Payload,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    sink.write(b"{\"return\":")?;
    value.write_json(sink)?;
    id_member(sink, id)?;
    sink.write(b"}")?;
    Ok(())
}

/// An error response: `{"id":ID,"error":{"class":"CLASS","desc":"DESC"}}`, the form of
/// QEMU 1.2 and later.
///
/// `id` is left out when `None` (QEMU's replies to unparsable input have none). `class`
/// also takes an [`ErrorClass`].
///
/// ```
/// use qmp_core::encode::{self, Id, SliceSink};
///
/// let mut buf = [0u8; 128];
/// let mut sink = SliceSink::new(&mut buf);
/// encode::error(&mut sink, "CommandNotFound", "The command foo has not been found", Some(Id::Str("x")))?;
/// assert_eq!(
///     sink.written(),
///     br#"{"id":"x","error":{"class":"CommandNotFound","desc":"The command foo has not been found"}}"#,
/// );
/// # Ok::<(), encode::EncodeError<qmp_core::encode::BufferFull>>(())
/// ```
pub fn error<'c, 'd, S: Sink + ?Sized>(
    sink: &mut S,
    class: impl Into<Text<'c>>,
    desc: impl Into<Text<'d>>,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    error_as(sink, class.into(), Desc::Text(desc.into()), None::<&()>, id)
}

/// An error response as [`error`] writes it, with a `desc` formatted from any
/// [`Display`](fmt::Display) value and escaped as it is written, without a buffer: for
/// descriptions that quote part of a request, as many of QEMU's do (`The command NAME
/// has not been found`).
///
/// ```
/// use qmp_core::encode::{self, Id, SliceSink};
///
/// let mut buf = [0u8; 128];
/// let mut sink = SliceSink::new(&mut buf);
/// let name = "caf\u{e9}";
/// let desc = format_args!("The command {name} has not been found");
/// encode::error_fmt(&mut sink, "CommandNotFound", desc, Some(Id::U64(1)))?;
/// assert_eq!(
///     sink.written(),
///     br#"{"id":1,"error":{"class":"CommandNotFound","desc":"The command caf\u00E9 has not been found"}}"#,
/// );
/// # Ok::<(), encode::EncodeError<qmp_core::encode::BufferFull>>(())
/// ```
pub fn error_fmt<'c, S: Sink + ?Sized>(
    sink: &mut S,
    class: impl Into<Text<'c>>,
    desc: impl fmt::Display,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    error_as(sink, class.into(), Desc::Display(&desc), None::<&()>, id)
}

/// An error response of QEMU 0.13 to 1.1, with class-specific `data`:
/// `{"id":ID,"error":{"class":"CLASS","desc":"DESC","data":DATA}}`.
///
/// `data` is written as given, whatever its kind (an object in every QEMU that sent it).
pub fn error_with_data<'c, 'd, S: Sink + ?Sized>(
    sink: &mut S,
    class: impl Into<Text<'c>>,
    desc: impl Into<Text<'d>>,
    data: impl Payload,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    error_as(sink, class.into(), Desc::Text(desc.into()), Some(&data), id)
}

/// An error response's `desc`: text, or a value formatted as it is written.
#[derive(Clone, Copy)]
enum Desc<'a> {
    Text(Text<'a>),
    Display(&'a dyn fmt::Display),
}

fn error_as<S: Sink + ?Sized, P: Payload + ?Sized>(
    sink: &mut S,
    class: Text<'_>,
    desc: Desc<'_>,
    data: Option<&P>,
    id: Option<Id<'_>>,
) -> Result<(), EncodeError<S::Error>> {
    sink.write(b"{")?;
    if let Some(value) = id {
        sink.write(b"\"id\":")?;
        self::id(sink, value)?;
        sink.write(b",")?;
    }
    sink.write(b"\"error\":{\"class\":")?;
    text(sink, class)?;
    sink.write(b",\"desc\":")?;
    match desc {
        Desc::Text(desc) => text(sink, desc)?,
        Desc::Display(desc) => ser::collect_str(sink, desc)?,
    }
    if let Some(data) = data {
        sink.write(b",\"data\":")?;
        data.write_json(sink)?;
    }
    sink.write(b"}}")?;
    Ok(())
}

/// An event: `{"timestamp":{"seconds":S,"microseconds":U},"event":"NAME","data":{…}}`.
///
/// `data` is left out when the payload is `null` (e.g. `()`), as QEMU leaves it out for
/// events without payload; it must otherwise be an object. The [`Timestamp`] is the
/// message model's (`-1`, `-1` when QEMU cannot read the clock).
///
/// ```
/// use qmp_core::encode::{self, SliceSink};
/// use qmp_core::message::Timestamp;
///
/// let mut buf = [0u8; 128];
/// let mut sink = SliceSink::new(&mut buf);
/// let at = Timestamp { seconds: 1755977653, microseconds: 248749 };
/// encode::event(&mut sink, "RESUME", (), at)?;
/// assert_eq!(
///     sink.written(),
///     br#"{"timestamp":{"seconds":1755977653,"microseconds":248749},"event":"RESUME"}"#,
/// );
/// # Ok::<(), encode::EncodeError<qmp_core::encode::BufferFull>>(())
/// ```
pub fn event<'n, S: Sink + ?Sized>(
    sink: &mut S,
    name: impl Into<Text<'n>>,
    data: impl Payload,
    timestamp: Timestamp,
) -> Result<(), EncodeError<S::Error>> {
    sink.write(b"{\"timestamp\":{\"seconds\":")?;
    write::i64(sink, timestamp.seconds)?;
    sink.write(b",\"microseconds\":")?;
    write::i64(sink, timestamp.microseconds)?;
    sink.write(b"},\"event\":")?;
    text(sink, name.into())?;
    checked(sink, b",\"data\":", Expect::OptionalObject, &data)?;
    sink.write(b"}")?;
    Ok(())
}

/// The server's greeting:
/// `{"QMP":{"version":{"qemu":{"micro":U,"minor":U,"major":U},"package":"P"},"capabilities":[…]}}`.
///
/// `version` is left out when `None` (the 0.12 development form); its `qemu` may also be
/// the 0.12 string form, and its `package` may be absent. `capabilities` must be an array
/// ([`EncodeError::NotAnArray`]): `Ser(["oob"])`, `Ser([""; 0])`, or the raw array of a
/// received greeting.
///
/// ```
/// use qmp_core::encode::{self, Ser, SliceSink};
/// use qmp_core::message::Version;
///
/// let mut buf = [0u8; 128];
/// let mut sink = SliceSink::new(&mut buf);
/// encode::greeting(&mut sink, Some(Version::new(10, 0, 2)), Ser(["oob"]))?;
/// assert_eq!(
///     sink.written(),
///     br#"{"QMP":{"version":{"qemu":{"micro":2,"minor":0,"major":10},"package":""},"capabilities":["oob"]}}"#,
/// );
/// # Ok::<(), encode::EncodeError<qmp_core::encode::BufferFull>>(())
/// ```
pub fn greeting<S: Sink + ?Sized>(
    sink: &mut S,
    version: Option<Version<'_>>,
    capabilities: impl Payload,
) -> Result<(), EncodeError<S::Error>> {
    sink.write(b"{\"QMP\":{")?;
    if let Some(version) = version {
        sink.write(b"\"version\":{\"qemu\":")?;
        match version.qemu {
            QemuVersion::Triple {
                major,
                minor,
                micro,
            } => {
                sink.write(b"{\"micro\":")?;
                write::u64(sink, micro, false)?;
                sink.write(b",\"minor\":")?;
                write::u64(sink, minor, false)?;
                sink.write(b",\"major\":")?;
                write::u64(sink, major, false)?;
                sink.write(b"}")?;
            }
            QemuVersion::Text(s) => write::raw_string(sink, s.raw_bytes())?,
        }
        if let Some(package) = version.package {
            sink.write(b",\"package\":")?;
            write::raw_string(sink, package.raw_bytes())?;
        }
        sink.write(b"},")?;
    }
    checked(sink, b"\"capabilities\":", Expect::Array, &capabilities)?;
    sink.write(b"}}")?;
    Ok(())
}

/// Any [`Message`], as the function for its kind writes it: in QEMU's member order,
/// compact and ASCII-only. [`Message::parse`] of the output gives back an equal message.
///
/// ```
/// use qmp_core::encode::{self, SliceSink};
/// use qmp_core::message::Message;
/// use qmp_core::json::RawJson;
///
/// let json = RawJson::parse(br#"{ "id": 3, "return": { "running": true } }"#).unwrap();
/// let mut buf = [0u8; 64];
/// let mut sink = SliceSink::new(&mut buf);
/// encode::message(&mut sink, &Message::parse(json).unwrap())?;
/// assert_eq!(sink.written(), br#"{"return":{"running":true},"id":3}"#);
/// # Ok::<(), encode::EncodeError<encode::BufferFull>>(())
/// ```
pub fn message<S: Sink + ?Sized>(
    sink: &mut S,
    message: &Message<'_>,
) -> Result<(), EncodeError<S::Error>> {
    match *message {
        Message::Greeting(g) => greeting(sink, g.version, g.capabilities),
        Message::Request(r) if r.oob => command_oob(sink, r.name, r.arguments, r.id.map(Id::Raw)),
        Message::Request(r) => command(sink, r.name, r.arguments, r.id.map(Id::Raw)),
        Message::Return(r) => success(sink, r.value, r.id.map(Id::Raw)),
        Message::Error(e) => match e.data {
            Some(data) => error_with_data(sink, e.class, e.desc, data, e.id.map(Id::Raw)),
            None => error(sink, e.class, e.desc, e.id.map(Id::Raw)),
        },
        Message::Event(e) => event(sink, e.name, e.data, e.timestamp),
    }
}

/// [`message()`] into `buf`; returns the length written.
pub fn message_to_slice(
    message: &Message<'_>,
    buf: &mut [u8],
) -> Result<usize, EncodeError<BufferFull>> {
    let mut sink = SliceSink::new(buf);
    self::message(&mut sink, message)?;
    Ok(sink.len())
}

/// The byte that forces QEMU's JSON parser back into a known state: `0xFF`.
///
/// It is invalid anywhere in JSON (inside strings too, and in every QEMU version, unlike
/// the control characters the spec also suggests), so the lexer reports an error and
/// drops any partial input: QMP's specification names this as the way to force the
/// parser into a known-good state. QEMU answers with one error **without
/// an id** (`{"error": {"class": "GenericError", "desc": "JSON parse error, …"}}`), which
/// the client must expect and discard. QGA's `guest-sync-delimited` uses the same byte
/// in the other direction.
pub fn resync<S: Sink + ?Sized>(sink: &mut S) -> Result<(), S::Error> {
    sink.write(&[0xFF])
}

/// Any [`Payload`] on its own, as one compact, ASCII-only JSON value.
pub fn value<S: Sink + ?Sized>(
    sink: &mut S,
    value: impl Payload,
) -> Result<(), EncodeError<S::Error>> {
    value.write_json(sink)
}

/// Serialize `value` into `buf` as compact, ASCII-only JSON; returns the length used.
///
/// ```
/// let mut buf = [0u8; 32];
/// let n = qmp_core::encode::to_slice(&("a/b", 1.5, None::<u8>), &mut buf)?;
/// assert_eq!(&buf[..n], br#"["a/b",1.5,null]"#);
/// # Ok::<(), qmp_core::encode::EncodeError<qmp_core::encode::BufferFull>>(())
/// ```
pub fn to_slice<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut [u8],
) -> Result<usize, EncodeError<BufferFull>> {
    let mut sink = SliceSink::new(buf);
    value.serialize(&mut Serializer::new(&mut sink))?;
    Ok(sink.len())
}

/// Serialize `value` into `writer` as compact, ASCII-only JSON. The writer is not
/// flushed.
pub fn to_writer<T, W>(value: &T, writer: W) -> Result<(), EncodeError<WriteError<W::Error>>>
where
    T: Serialize + ?Sized,
    W: embedded_io::Write,
    W::Error: 'static,
{
    value.serialize(&mut Serializer::new(WriterSink::new(writer)))
}

#[cfg(test)]
mod tests;
