//! The QMP message model: a frame becomes a [`Message`] without allocating.
//!
//! [`Message::parse`] classifies a validated JSON object by its top-level key, as QEMU's
//! own clients do: `QMP` → [`Greeting`], `execute`/`exec-oob` → [`Request`], `return` →
//! [`Return`], `error` → [`ErrorReply`], `event` → [`EventMessage`]. Members may come in any
//! order; unknown members are ignored but stay reachable through the frame's [`RawJson`]; a
//! repeated protocol member is rejected. Every part borrows the frame.
//!
//! [`parse_request`] is the server side: it applies QEMU's exact rules for incoming
//! commands and says, as a [`RequestError`], what QEMU would answer to bad ones.
//!
//! ```
//! use qmp_core::message::{Message, ErrorClass};
//! use qmp_core::json::RawJson;
//!
//! let json = RawJson::parse(br#"{"id": 42, "error": {"class": "CommandNotFound",
//!     "desc": "The command no-such-command has not been found"}}"#)?;
//! let Ok(Message::Error(e)) = Message::parse(json) else { panic!() };
//! assert_eq!(e.class, ErrorClass::CommandNotFound);
//! assert_eq!(e.id.and_then(|id| id.as_u64()), Some(42));
//! # Ok::<(), qmp_core::scan::ScanError>(())
//! ```

use core::fmt;

use crate::describe::{self, Describe};
use crate::frame::Frame;
use crate::json::{leading_integer, JsonStr, Kind, RawJson};
use crate::scan::Outline;
use MessageErrorKind::{
    Ambiguous, DuplicateMember, MissingMember, NotAnObject, Unrecognised, WrongType,
};

/// What [`Message::parse`] and [`parse_request`] read: a [`Frame`] straight from the
/// framer, or any [`RawJson`].
///
/// From a frame, parsing is cheaper: the framer noted where the message's nested
/// members (`data`, `timestamp`, `return`, `arguments`, …) end while it validated them,
/// so parsing does not walk them a second time. For a large reply, what is left is the
/// frame's one UTF-8 check, which any [`RawJson`] needs. The result is the same either
/// way.
///
/// Errors say where: from a frame, their offsets are absolute stream offsets, as the
/// framer's are; from a `RawJson`, they count from the start of its text.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    json: RawJson<'a>,
    outline: Outline,
    /// The stream offset of the text's first byte (0 for a `RawJson`).
    base: u64,
}

impl<'a> From<RawJson<'a>> for Source<'a> {
    fn from(json: RawJson<'a>) -> Self {
        Self {
            json,
            outline: Outline::EMPTY,
            base: 0,
        }
    }
}

impl<'a> From<Frame<'a>> for Source<'a> {
    fn from(frame: Frame<'a>) -> Self {
        Self {
            json: RawJson::from(frame),
            outline: frame.outline(),
            base: frame.offset(),
        }
    }
}

impl<'a> Source<'a> {
    /// The error `kind`, found at `at` (a part of the text: a member's value, or the
    /// object that lacks a member).
    #[cold]
    fn error(&self, fault: Fault<'_>) -> MessageError {
        MessageError {
            kind: fault.kind,
            offset: self.offset(fault.at.as_bytes()),
        }
    }

    /// The offset of `part` of the text, counted as this source's errors count.
    fn offset(&self, part: &[u8]) -> u64 {
        self.base + self.json.offset_of(part).unwrap_or(0) as u64
    }
}

/// A [`MessageErrorKind`] and the part of the text it was found at, before it becomes
/// a [`MessageError`] with an offset.
struct Fault<'a> {
    kind: MessageErrorKind,
    at: RawJson<'a>,
}

/// A fault of `kind` at `at`.
fn fault(kind: MessageErrorKind, at: RawJson<'_>) -> Fault<'_> {
    Fault { kind, at }
}

/// A QMP message. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// The server's greeting.
    Greeting(Greeting<'a>),
    /// A command from a client.
    Request(Request<'a>),
    /// A successful reply.
    Return(Return<'a>),
    /// An error reply.
    Error(ErrorReply<'a>),
    /// An asynchronous event.
    Event(EventMessage<'a>),
}

/// The greeting, in any of its historical forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Greeting<'a> {
    /// The version, absent in the 0.12 development form.
    pub version: Option<Version<'a>>,
    /// The offered capabilities (a JSON array; `["oob"]` on modern QEMU).
    pub capabilities: RawJson<'a>,
}

impl Greeting<'_> {
    /// Whether the server offers capability `name`.
    pub fn offers(&self, name: &str) -> bool {
        self.capabilities
            .elements()
            .any(|c| c.as_json_str().is_some_and(|c| c == name))
    }
}

/// The `version` member of a greeting (also `query-version`'s reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version<'a> {
    /// The QEMU version.
    pub qemu: QemuVersion<'a>,
    /// The downstream package string (`""` upstream), if present.
    pub package: Option<JsonStr<'a>>,
}

impl<'a> Version<'a> {
    /// The modern form, `{"qemu": {"micro": .., "minor": .., "major": ..}, "package": ""}`,
    /// as an upstream QEMU announces it. Give a package string with
    /// [`with_package`](Self::with_package).
    pub const fn new(major: u64, minor: u64, micro: u64) -> Self {
        Self {
            qemu: QemuVersion::Triple {
                major,
                minor,
                micro,
            },
            package: Some(JsonStr::EMPTY),
        }
    }

    /// The same version with another package string (a distribution's, or `git
    /// describe`'s); `None` leaves the member out. Make one from Rust text with
    /// [`JsonStr::from_text`].
    pub const fn with_package(mut self, package: Option<JsonStr<'a>>) -> Self {
        self.package = package;
        self
    }
}

/// QEMU's version: a triple since 0.13, a string in 0.12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QemuVersion<'a> {
    /// `{"major": .., "minor": .., "micro": ..}`.
    Triple {
        /// Major version.
        major: u64,
        /// Minor version.
        minor: u64,
        /// Micro version (50 = development, ≥ 90 = release candidate).
        micro: u64,
    },
    /// The 0.12 string form, e.g. `"0.12.50"`.
    Text(JsonStr<'a>),
}

/// A command as it travels: `{"execute": NAME, "arguments": {...}, "id": ANY}` or the
/// `exec-oob` form, its arguments still raw JSON. (A command as a Rust type is a
/// [`schema::Command`](crate::schema::Command).)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The command name.
    pub name: JsonStr<'a>,
    /// Sent as `exec-oob` (or with the QEMU 2.12 `control: {"run-oob": true}` form).
    pub oob: bool,
    /// The arguments object, if given.
    pub arguments: Option<RawJson<'a>>,
    /// The id, any JSON value, if given.
    pub id: Option<RawJson<'a>>,
}

/// A success reply: `{"return": VALUE, "id": ANY}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Return<'a> {
    /// The returned value (usually an object or array, `{}` for "nothing").
    pub value: RawJson<'a>,
    /// The echoed id, if the command had one.
    pub id: Option<RawJson<'a>>,
}

/// An error reply: `{"id": ANY, "error": {"class": ..., "desc": ...}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorReply<'a> {
    /// The error class.
    pub class: ErrorClass<'a>,
    /// The human-readable description (never parse it).
    pub desc: JsonStr<'a>,
    /// The pre-1.2 `data` object, if present.
    pub data: Option<RawJson<'a>>,
    /// The echoed id; absent when the input could not be parsed as an object.
    pub id: Option<RawJson<'a>>,
    /// The `error` object itself, as received: `class`, `desc` and any other member.
    pub object: RawJson<'a>,
}

/// An error class: the known ones, and any other as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass<'a> {
    /// `GenericError`: almost every error since QEMU 1.2.
    GenericError,
    /// `CommandNotFound`.
    CommandNotFound,
    /// `DeviceNotActive`.
    DeviceNotActive,
    /// `DeviceNotFound`.
    DeviceNotFound,
    /// `KVMMissingCap`.
    KvmMissingCap,
    /// `DeviceEncrypted` (QEMU 1.2 to the 2.x era).
    DeviceEncrypted,
    /// Any other class (e.g. the free-form classes before 1.2).
    Other(JsonStr<'a>),
}

impl<'a> ErrorClass<'a> {
    /// Classify a class name.
    pub fn from_name(name: JsonStr<'a>) -> Self {
        const KNOWN: [(&str, ErrorClass<'static>); 6] = [
            ("GenericError", ErrorClass::GenericError),
            ("CommandNotFound", ErrorClass::CommandNotFound),
            ("DeviceNotActive", ErrorClass::DeviceNotActive),
            ("DeviceNotFound", ErrorClass::DeviceNotFound),
            ("KVMMissingCap", ErrorClass::KvmMissingCap),
            ("DeviceEncrypted", ErrorClass::DeviceEncrypted),
        ];
        const NAMES: [&str; KNOWN.len()] = {
            let mut names = [""; KNOWN.len()];
            let mut i = 0;
            while i < KNOWN.len() {
                names[i] = KNOWN[i].0;
                i += 1;
            }
            names
        };
        match name.find_in(&NAMES, 0).and_then(|i| KNOWN.get(i)) {
            Some(&(_, class)) => class,
            None => ErrorClass::Other(name),
        }
    }

    /// The class name as sent on the wire (escaped form for [`Other`](Self::Other)).
    pub fn name(&self) -> &'a str {
        match self {
            Self::GenericError => "GenericError",
            Self::CommandNotFound => "CommandNotFound",
            Self::DeviceNotActive => "DeviceNotActive",
            Self::DeviceNotFound => "DeviceNotFound",
            Self::KvmMissingCap => "KVMMissingCap",
            Self::DeviceEncrypted => "DeviceEncrypted",
            Self::Other(name) => name.raw(),
        }
    }
}

/// An event: `{"timestamp": {...}, "event": NAME, "data": {...}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventMessage<'a> {
    /// The event name.
    pub name: JsonStr<'a>,
    /// The payload; absent for events without data.
    pub data: Option<RawJson<'a>>,
    /// When it happened.
    pub timestamp: Timestamp,
}

/// An event timestamp: host wall-clock time since the Unix epoch. Both fields are -1
/// when QEMU could not read the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Timestamp {
    /// Seconds.
    pub seconds: i64,
    /// Microseconds.
    pub microseconds: i64,
}

/// Why a frame is not a QMP message (client side), and where.
///
/// The peer is at fault: the frame is valid JSON, but not a QMP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MessageError {
    /// What is wrong.
    pub kind: MessageErrorKind,
    /// Where: the offset of the member at fault (its value), of the object that lacks a
    /// member, or of the message for the first three kinds. An absolute stream offset
    /// when parsed from a [`Frame`], else counted from the start of the
    /// [`RawJson`]'s text (see [`Source`]).
    pub offset: u64,
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe::display(self, f)
    }
}

impl Describe for MessageError {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        self.kind.describe(out);
        out(" at byte ");
        describe::decimal(self.offset, out);
    }
}

impl core::error::Error for MessageError {}

/// What is wrong with a frame that is not a QMP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageErrorKind {
    /// The frame is not a JSON object.
    NotAnObject,
    /// None of `QMP`, `execute`, `exec-oob`, `return`, `error`, `event` is present.
    Unrecognised,
    /// More than one of those is present.
    Ambiguous,
    /// A protocol member appears twice.
    DuplicateMember(&'static str),
    /// A protocol member has the wrong JSON type.
    WrongType(&'static str),
    /// A required member is missing.
    MissingMember(&'static str),
}

impl fmt::Display for MessageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe::display(self, f)
    }
}

impl Describe for MessageErrorKind {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        let (member, what) = match *self {
            Self::NotAnObject => return out("QMP message is not a JSON object"),
            Self::Unrecognised => return out("QMP message of unknown kind"),
            Self::Ambiguous => return out("QMP message has the keys of several kinds"),
            Self::DuplicateMember(m) => (m, "' appears twice"),
            Self::WrongType(m) => (m, "' has the wrong type"),
            Self::MissingMember(m) => (m, "' is missing"),
        };
        out("member '");
        out(member);
        out(what);
    }
}

/// The protocol member names that [`Message::parse`] and [`parse_request`] know, in
/// the order of [`ProtocolMembers`]' slots.
const PROTOCOL_MEMBERS: [&str; 11] = [
    "QMP",
    "execute",
    "exec-oob",
    "arguments",
    "id",
    "return",
    "error",
    "event",
    "data",
    "timestamp",
    "control",
];
const QMP: usize = 0;
const EXECUTE: usize = 1;
const EXEC_OOB: usize = 2;
const ARGUMENTS: usize = 3;
const ID: usize = 4;
const RETURN: usize = 5;
const ERROR: usize = 6;
const EVENT: usize = 7;
const DATA: usize = 8;
const TIMESTAMP: usize = 9;
const CONTROL: usize = 10;

/// The index in [`PROTOCOL_MEMBERS`] of a member name: compared as sent, and decoded
/// only when it has escapes (QEMU never escapes ASCII; `"\u0069d"` is still `id`, as
/// QEMU and serde_json read it).
#[inline]
fn protocol_member(name: JsonStr<'_>) -> Option<usize> {
    Some(match name.raw_bytes() {
        b"QMP" => QMP,
        b"execute" => EXECUTE,
        b"exec-oob" => EXEC_OOB,
        b"arguments" => ARGUMENTS,
        b"id" => ID,
        b"return" => RETURN,
        b"error" => ERROR,
        b"event" => EVENT,
        b"data" => DATA,
        b"timestamp" => TIMESTAMP,
        b"control" => CONTROL,
        _ => return name.find_decoded(&PROTOCOL_MEMBERS),
    })
}

/// The top-level members a message can have, collected in one pass: one slot per
/// [`PROTOCOL_MEMBERS`] name.
struct ProtocolMembers<'a> {
    slots: [Option<RawJson<'a>>; PROTOCOL_MEMBERS.len()],
}

impl<'a> ProtocolMembers<'a> {
    /// Fill the slots in place (returning them by value would copy them).
    fn collect(&mut self, json: RawJson<'a>, outline: Outline) -> Result<(), Fault<'a>> {
        if json.kind() != Kind::Object {
            return Err(fault(NotAnObject, json));
        }
        for (name, value) in json.members_outlined(outline) {
            let Some(i) = protocol_member(name) else {
                continue;
            };
            let Some(slot) = self.slots.get_mut(i) else {
                continue;
            };
            if slot.replace(value).is_some() {
                return Err(fault(DuplicateMember(PROTOCOL_MEMBERS[i]), value));
            }
        }
        Ok(())
    }

    fn get(&self, i: usize) -> Option<RawJson<'a>> {
        self.slots.get(i).copied().flatten()
    }
}

fn string<'a>(value: RawJson<'a>, member: &'static str) -> Result<JsonStr<'a>, Fault<'a>> {
    value
        .as_json_str()
        .ok_or_else(|| fault(WrongType(member), value))
}

fn object<'a>(value: RawJson<'a>, member: &'static str) -> Result<RawJson<'a>, Fault<'a>> {
    if value.kind() == Kind::Object {
        Ok(value)
    } else {
        Err(fault(WrongType(member), value))
    }
}

/// The member `member` of the object `of`, found as `value`, which is required.
fn required<'a>(
    value: Option<RawJson<'a>>,
    member: &'static str,
    of: RawJson<'a>,
) -> Result<RawJson<'a>, Fault<'a>> {
    value.ok_or_else(|| fault(MissingMember(member), of))
}

fn int<'a>(
    value: Option<RawJson<'a>>,
    member: &'static str,
    of: RawJson<'a>,
) -> Result<i64, Fault<'a>> {
    let value = required(value, member, of)?;
    value
        .as_i64()
        .ok_or_else(|| fault(WrongType(member), value))
}

impl<'a> Message<'a> {
    /// Classify and check a message: a [`Frame`] (the cheaper way, see [`Source`]) or a
    /// [`RawJson`]. See the [module docs](self).
    pub fn parse(source: impl Into<Source<'a>>) -> Result<Self, MessageError> {
        let source = source.into();
        Self::classify(source.json, source.outline).map_err(|f| source.error(f))
    }

    fn classify(json: RawJson<'a>, outline: Outline) -> Result<Self, Fault<'a>> {
        let mut m = ProtocolMembers {
            slots: [None; PROTOCOL_MEMBERS.len()],
        };
        m.collect(json, outline)?;
        let kinds = u8::from(m.get(QMP).is_some())
            + u8::from(m.get(EXECUTE).is_some() || m.get(EXEC_OOB).is_some())
            + u8::from(m.get(RETURN).is_some())
            + u8::from(m.get(ERROR).is_some())
            + u8::from(m.get(EVENT).is_some());
        match kinds {
            0 => return Err(fault(Unrecognised, json)),
            1 => {}
            _ => return Err(fault(Ambiguous, json)),
        }
        if let Some(qmp) = m.get(QMP) {
            return parse_greeting(object(qmp, "QMP")?).map(Message::Greeting);
        }
        if m.get(EXECUTE).is_some() || m.get(EXEC_OOB).is_some() {
            return parse_command(&m, json).map(Message::Request);
        }
        if let Some(value) = m.get(RETURN) {
            return Ok(Message::Return(Return {
                value,
                id: m.get(ID),
            }));
        }
        if let Some(error) = m.get(ERROR) {
            let error = object(error, "error")?;
            let [class, desc, data] = error.get_all(["class", "desc", "data"]);
            return Ok(Message::Error(ErrorReply {
                class: ErrorClass::from_name(string(required(class, "class", error)?, "class")?),
                desc: string(required(desc, "desc", error)?, "desc")?,
                data,
                id: m.get(ID),
                object: error,
            }));
        }
        let name = string(required(m.get(EVENT), "event", json)?, "event")?;
        let data = m.get(DATA).map(|d| object(d, "data")).transpose()?;
        let ts = object(required(m.get(TIMESTAMP), "timestamp", json)?, "timestamp")?;
        let timestamp = match qemu_timestamp(ts.as_bytes()) {
            Some(timestamp) => timestamp,
            None => {
                let [seconds, microseconds] = ts.get_all(["seconds", "microseconds"]);
                Timestamp {
                    seconds: int(seconds, "seconds", ts)?,
                    microseconds: int(microseconds, "microseconds", ts)?,
                }
            }
        };
        Ok(Message::Event(EventMessage {
            name,
            data,
            timestamp,
        }))
    }
}

/// The timestamp in the layouts QEMU and this crate's encoder write,
/// `{"seconds": S, "microseconds": U}` and `{"seconds":S,"microseconds":U}`, read in one
/// pass; `None` for any other layout (member order, whitespace, escapes, a fraction, a
/// number out of range), which the general member walk then reads.
fn qemu_timestamp(bytes: &[u8]) -> Option<Timestamp> {
    let rest = space(bytes.strip_prefix(b"{\"seconds\":")?);
    let (seconds, rest) = leading_integer(rest)?;
    let rest = space(rest.strip_prefix(b",")?);
    let rest = space(rest.strip_prefix(b"\"microseconds\":")?);
    let (microseconds, rest) = leading_integer(rest)?;
    (rest == b"}").then_some(Timestamp {
        seconds,
        microseconds,
    })
}

/// `bytes` without one leading space.
fn space(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b" ").unwrap_or(bytes)
}

fn parse_greeting(qmp: RawJson<'_>) -> Result<Greeting<'_>, Fault<'_>> {
    let [version, capabilities] = qmp.get_all(["version", "capabilities"]);
    let capabilities = required(capabilities, "capabilities", qmp)?;
    if capabilities.kind() != Kind::Array {
        return Err(fault(WrongType("capabilities"), capabilities));
    }
    let version = match version {
        None => None,
        Some(v) => {
            let v = object(v, "version")?;
            let [qemu, package] = v.get_all(["qemu", "package"]);
            let qemu = required(qemu, "qemu", v)?;
            let qemu = match qemu.kind() {
                Kind::String => QemuVersion::Text(string(qemu, "qemu")?),
                Kind::Object => {
                    const PARTS: [&str; 3] = ["major", "minor", "micro"];
                    let parts = qemu.get_all(PARTS);
                    let mut triple = [0; 3];
                    for ((value, part), name) in triple.iter_mut().zip(parts).zip(PARTS) {
                        let part = required(part, name, qemu)?;
                        *value = part.as_u64().ok_or_else(|| fault(WrongType(name), part))?;
                    }
                    let [major, minor, micro] = triple;
                    QemuVersion::Triple {
                        major,
                        minor,
                        micro,
                    }
                }
                _ => return Err(fault(WrongType("qemu"), qemu)),
            };
            let package = package.map(|p| string(p, "package")).transpose()?;
            Some(Version { qemu, package })
        }
    };
    Ok(Greeting {
        version,
        capabilities,
    })
}

fn parse_command<'a>(m: &ProtocolMembers<'a>, json: RawJson<'a>) -> Result<Request<'a>, Fault<'a>> {
    let (name, oob) = match (m.get(EXECUTE), m.get(EXEC_OOB)) {
        (Some(name), None) => (string(name, "execute")?, run_oob(m.get(CONTROL))),
        (None, Some(name)) => (string(name, "exec-oob")?, true),
        (Some(_), Some(second)) => return Err(fault(Ambiguous, second)),
        (None, None) => return Err(fault(Unrecognised, json)),
    };
    let arguments = m
        .get(ARGUMENTS)
        .map(|a| object(a, "arguments"))
        .transpose()?;
    Ok(Request {
        name,
        oob,
        arguments,
        id: m.get(ID),
    })
}

/// The QEMU 2.12 out-of-band request: `"control": {"run-oob": true}`.
fn run_oob(control: Option<RawJson<'_>>) -> bool {
    control
        .and_then(|c| c.get("run-oob"))
        .and_then(|r| r.as_bool())
        .unwrap_or(false)
}

impl<'a> Message<'a> {
    /// The id of a command or reply, if any.
    pub fn id(&self) -> Option<RawJson<'a>> {
        match self {
            Self::Request(r) => r.id,
            Self::Return(r) => r.id,
            Self::Error(e) => e.id,
            Self::Greeting(_) | Self::Event(_) => None,
        }
    }
}

/// Why QEMU would refuse a request, with the exact `GenericError` text it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError<'a> {
    /// "QMP input must be a JSON object".
    NotAnObject,
    /// "QMP input member 'M' must be a string".
    NotAString(&'static str),
    /// "QMP input member 'arguments' must be an object".
    ArgumentsNotObject,
    /// "QMP input member 'execute' clashes with 'exec-oob'" (QEMU reaches `exec-oob`
    /// first in its member order, and reports the second).
    Clash,
    /// "QMP input member 'NAME' is unexpected" (also `exec-oob` without the `oob`
    /// capability).
    Unexpected(JsonStr<'a>),
    /// "QMP input lacks member 'execute'".
    MissingExecute,
}

impl fmt::Display for RequestError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => f.write_str("QMP input must be a JSON object"),
            Self::NotAString(m) => write!(f, "QMP input member '{m}' must be a string"),
            Self::ArgumentsNotObject => {
                f.write_str("QMP input member 'arguments' must be an object")
            }
            Self::Clash => f.write_str("QMP input member 'execute' clashes with 'exec-oob'"),
            Self::Unexpected(m) => write!(f, "QMP input member '{m}' is unexpected"),
            Self::MissingExecute => f.write_str("QMP input lacks member 'execute'"),
        }
    }
}

/// A request refused by [`parse_request`], with the id QEMU would echo (it reads the
/// id before validating, so every refused object keeps its id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused<'a> {
    /// What is wrong (the `desc` of QEMU's `GenericError` reply).
    pub error: RequestError<'a>,
    /// The id to echo, if the request was an object with one.
    pub id: Option<RawJson<'a>>,
    /// Where: the offset of the member at fault (the key's opening quote for an
    /// unexpected member, else the value), or of the request when a member is missing
    /// or the request is not an object. Counted as [`MessageError::offset`] is.
    pub offset: u64,
}

/// Validate an incoming request as QEMU does (server side). `oob_enabled` says whether
/// the session negotiated the `oob` capability: without it, `exec-oob` is an unexpected
/// member. Duplicate members are not checked here (QEMU's parser rejects them before
/// dispatch, as a JSON error).
///
/// A request with several faults gets the refusal QEMU gives it: QEMU checks the members
/// in the order of its dictionary's hash table, not in wire order, and reports the first
/// faulty one (a second `execute`/`exec-oob` key is a clash at that key); "lacks member
/// 'execute'" comes only when every member passed.
pub fn parse_request<'a>(
    source: impl Into<Source<'a>>,
    oob_enabled: bool,
) -> Result<Request<'a>, Refused<'a>> {
    let source = source.into();
    let Source { json, outline, .. } = source;
    let whole = json.as_bytes();
    if json.kind() != Kind::Object {
        return Err(Refused {
            error: RequestError::NotAnObject,
            id: None,
            offset: source.offset(whole),
        });
    }
    let (mut execute, mut exec_oob, mut arguments, mut id) = (None, None, None, None);
    // The first fault in QEMU's member order: (rank, what, where).
    let mut first: Option<((u32, usize), RequestError<'a>, u64)> = None;
    let mut fault = |rank, error, at: u64| {
        if first.is_none_or(|(r, _, _)| rank < r) {
            first = Some((rank, error, at));
        }
    };
    // The exec keys seen so far, with their ranks, for the clash.
    let mut exec_keys: [Option<(u32, usize)>; 2] = [None, None];
    for (index, (name, value)) in json.members_outlined(outline).enumerate() {
        let rank = qdict_rank(name, index);
        let at = source.offset(value.as_bytes());
        match protocol_member(name) {
            Some(member @ (EXECUTE | EXEC_OOB)) if member == EXECUTE || oob_enabled => {
                let (slot, label, key) = if member == EXECUTE {
                    (&mut execute, "execute", 0)
                } else {
                    (&mut exec_oob, "exec-oob", 1)
                };
                *slot = Some(value);
                exec_keys[key] = Some(rank);
                if value.as_json_str().is_none() {
                    fault(rank, RequestError::NotAString(label), at);
                }
            }
            Some(ARGUMENTS) => {
                arguments = Some(value);
                if value.kind() != Kind::Object {
                    fault(rank, RequestError::ArgumentsNotObject, at);
                }
            }
            Some(ID) => id = Some(value),
            _ => {
                // The key's opening quote.
                let key = source.offset(name.raw_bytes()).saturating_sub(1);
                fault(rank, RequestError::Unexpected(name), key);
            }
        }
    }
    // Both exec keys, both strings: the one QEMU reaches second clashes with the other.
    if let (Some(e), Some(o), [Some(e_rank), Some(o_rank)]) = (execute, exec_oob, exec_keys) {
        let (rank, value) = if e_rank > o_rank {
            (e_rank, e)
        } else {
            (o_rank, o)
        };
        if value.as_json_str().is_some() {
            fault(rank, RequestError::Clash, source.offset(value.as_bytes()));
        }
    }
    if let Some((_, error, offset)) = first {
        return Err(Refused { error, id, offset });
    }
    let (name, oob) = match (
        execute.and_then(|e| e.as_json_str()),
        exec_oob.and_then(|e| e.as_json_str()),
    ) {
        (Some(name), None) => (name, false),
        (None, Some(name)) => (name, true),
        _ => {
            return Err(Refused {
                error: RequestError::MissingExecute,
                id,
                offset: source.offset(whole),
            })
        }
    };
    Ok(Request {
        name,
        oob,
        arguments,
        id,
    })
}

/// Where QEMU's dictionary puts the member `name`, the `index`-th on the wire, when it
/// iterates: by bucket (the name's `tdb_hash` modulo 512, ascending), and within a
/// bucket the member inserted last first. Smaller ranks come first. The hash is of the
/// decoded name, as QEMU stores it.
fn qdict_rank(name: JsonStr<'_>, index: usize) -> (u32, usize) {
    let len = name.unescaped_len() as u32;
    let mut hash = 0x238F_13AFu32.wrapping_mul(len);
    let mut i = 0u32;
    let mut utf8 = [0u8; 4];
    for c in name.chars() {
        for &byte in c.encode_utf8(&mut utf8).as_bytes() {
            hash = hash.wrapping_add(u32::from(byte).wrapping_shl(i * 5 % 24));
            i = i.wrapping_add(1);
        }
    }
    let hash = 1_103_515_243u32.wrapping_mul(hash).wrapping_add(12345);
    (hash % 512, usize::MAX - index)
}

#[cfg(test)]
mod tests;
