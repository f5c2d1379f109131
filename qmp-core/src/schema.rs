//! Typed payloads: events, commands and introspection, decoded from [`RawJson`] views
//! without allocating.
//!
//! This layer sits on top of [`json`](crate::json): a message's `data` or `return` value
//! (a [`RawJson`]) decodes into borrowed Rust types that point into the frame.
//!
//! - [`events`] — one [`Event`] enum over the common QMP events (SPICE, VNC, run state,
//!   block jobs, migration, …), chosen by name with [`Event::decode`]; any other name
//!   comes back as [`Event::Unknown`] with its raw data.
//! - [`commands`] — the [`Command`] trait (name, `Serialize` arguments, borrowed return
//!   type, out-of-band flag) and the common commands from `qmp_capabilities` to `yank`.
//! - [`introspect`] — a zero-copy walk over the `query-qmp-schema` reply
//!   ([`Schema`], [`SchemaInfo`](introspect::SchemaInfo)).
//! - [`spice`] — [`SpiceSessions`], a bounded, allocation-free tracker that turns SPICE
//!   connection events into session outcomes.
//!
//! # Guarantees
//!
//! - Nothing here allocates or panics, whatever the input: malformed payloads are a
//!   [`DecodeError`], never a panic.
//! - Fields added by newer QEMU versions (or missing from historical ones) are `Option`.
//!   Unknown members are ignored.
//! - Every QAPI enum is open: a value this crate does not know decodes as the enum's
//!   `Other(JsonStr)` arm instead of failing the whole message. (Several QAPI enums have
//!   a real value called `unknown`, so the catch-all arm is called `Other`.)
//!
//! # Strings
//!
//! Decoded string fields are [`JsonStr`]: the string as it appears on the wire, still
//! escaped, borrowed from the frame. QEMU's output is ASCII and escapes every non-ASCII
//! character (`"vm-\u00E9"`), so a plain `&str` field cannot be both borrowed and
//! correct. serde-json-core without an unescape buffer even hands a `&str` field the
//! *escaped* text (`vm-\u00E9`, backslash included) without complaint, which is why no
//! decoded type here uses `&str`. Compare a [`JsonStr`] with `==` against a `&str`,
//! borrow it with [`JsonStr::as_str`] when it has no escapes, or decode it with
//! [`JsonStr::unescape_into`] or [`JsonStr::chars`]. Command *arguments* are the other
//! direction: they are plain `&str`, escaped by the serializer.
//!
//! # Decoding
//!
//! Every struct here decodes directly from its [`RawJson`] object through [`FromJson`]:
//! one walk over the object's members, matching names and converting each known value
//! with the `RawJson` accessors (strings as [`JsonStr`], integers, booleans, open enums,
//! nested structs). Unknown members are skipped without being decoded, at any depth
//! and without recursion. A missing required member, a member of the wrong type or a
//! repeated member is a [`DecodeError`] that names the member. Lists are read lazily
//! through [`RawList`], a list without an allocator.
//!
//! QAPI unions are decoded as flat structs with optional members (see
//! [`GuestPanicInformation`](events::GuestPanicInformation)), which keeps every payload
//! `Copy` and small.
//!
//! [`FromJson`] is also implemented for every `serde::Deserialize` type, through
//! serde-json-core, for payloads this crate does not model: a [`Command`] of your own
//! can return any `Deserialize` type. The open enums (and
//! [`QmpCapability`](commands::QmpCapability)) implement `Deserialize` for use in such
//! types; the schema's structs do not.
//!
//! ```
//! use qmp_core::json::RawJson;
//! use qmp_core::schema::commands::{Command, QueryStatus, RunState};
//! use qmp_core::schema::events::ShutdownCause;
//! use qmp_core::schema::Event;
//!
//! let msg = RawJson::parse(
//!     br#"{"timestamp": {"seconds": 1795639852, "microseconds": 349927}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#,
//! )?;
//! let name = msg.get("event").and_then(|n| n.as_str());
//! match Event::decode(name.unwrap_or_default(), msg.get("data"))? {
//!     Event::Shutdown(shutdown) => {
//!         assert_eq!(shutdown.guest, Some(false));
//!         assert_eq!(shutdown.reason, Some(ShutdownCause::HostQmpQuit));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // A reply to `query-status`, with a run state this crate has never heard of.
//! let reply = RawJson::parse(br#"{"return": {"status": "hibernating", "running": false}}"#)?;
//! let status = QueryStatus::decode_return(reply.get("return").unwrap())?;
//! assert!(!status.running);
//! assert!(matches!(status.status, RunState::Other(s) if s == "hibernating"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::marker::PhantomData;

use crate::json::{Cursor, DeserializeError, Elements, JsonStr, Kind, RawJson};

/// Defines an open QAPI enum: known wire values as unit variants plus an
/// `Other(JsonStr)` catch-all, with `from_json_str`, `as_str`, `is_known`, `Display`, a
/// borrowing `Deserialize` that never fails on an unknown value, and the direct member
/// decoding of [`fields`].
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name<'a> {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know (newer or downstream QEMU), as on the
            /// wire.
            Other($crate::json::JsonStr<'a>),
        }

        impl<'a> $name<'a> {
            /// Classify a wire value (escapes are decoded before matching); unknown
            /// values become `Other`.
            #[allow(unused_assignments)] // the last `i -= 1`
            pub fn from_json_str(value: $crate::json::JsonStr<'a>) -> Self {
                const WIRES: &[&str] = &[$($wire),+];
                // The variant at index `i` of WIRES: a chain that the optimiser turns
                // into arithmetic on the discriminant (a table of variants would cost
                // more flash).
                let mut i = match value.find_in(WIRES, 0) {
                    Some(i) => i,
                    None => return Self::Other(value),
                };
                $(
                    if i == 0 {
                        return Self::$variant;
                    }
                    i -= 1;
                )+
                Self::Other(value)
            }

            /// The wire name of a known value; `None` for `Other`.
            pub const fn as_str(&self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($wire), )+
                    Self::Other(_) => None,
                }
            }

            /// Whether this is a value this crate knows (not `Other`).
            pub const fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl ::core::fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    Self::Other(value) => ::core::fmt::Display::fmt(value, f),
                    known => f.write_str(known.as_str().unwrap_or_default()),
                }
            }
        }

        impl<'de: 'a, 'a> ::serde::Deserialize<'de> for $name<'a> {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::schema::de::json_str(d).map(Self::from_json_str)
            }
        }

        impl<'a> $crate::schema::fields::Value<'a> for $name<'a> {
            fn value(
                raw: $crate::json::RawJson<'a>,
                fields: &mut $crate::schema::fields::Fields<'a, '_>,
            ) -> Self {
                Self::from_json_str(
                    <$crate::json::JsonStr<'a> as $crate::schema::fields::Value<'a>>::value(
                        raw, fields,
                    ),
                )
            }

            fn placeholder() -> Self {
                Self::Other($crate::json::JsonStr::from_raw(b""))
            }
        }
    };
}

#[macro_use]
mod fields;

pub mod commands;
pub mod events;
pub mod introspect;
pub mod spice;

pub use commands::Command;
pub use events::Event;
pub use introspect::Schema;
pub use spice::SpiceSessions;

/// A payload did not have the expected shape, and where. The peer is at fault (or
/// speaks a QEMU version this crate does not model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// Where, counted from the start of the value handed to the decoder (an event's
    /// `data`, a reply's `return`): the member value at fault, the object that lacks a
    /// member, or 0 for the value as a whole. Add
    /// [`Frame::offset_of`](crate::frame::Frame::offset_of) of that value for the
    /// absolute stream offset.
    pub offset: usize,
}

impl DecodeError {
    /// The error `kind` at `offset`.
    pub(crate) const fn at(kind: DecodeErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// The same error, attributed to `what` (an event or command name).
    pub(crate) fn context(self, name: &'static str) -> Self {
        Self {
            kind: self.kind.context(name),
            ..self
        }
    }
}

impl From<DecodeErrorKind> for DecodeError {
    /// The error at offset 0: about the value as a whole.
    fn from(kind: DecodeErrorKind) -> Self {
        Self::at(kind, 0)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl core::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.kind {
            DecodeErrorKind::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// What is wrong with a payload that does not fit its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The event has no `data` member, but its payload has required members.
    MissingData {
        /// The event name.
        event: &'static str,
    },
    /// serde-json-core rejected the value of a `Deserialize` type decoded through
    /// [`FromJson`] (wrong member type, missing required member, duplicate member, …).
    /// The schema's own types report [`MissingMember`](Self::MissingMember),
    /// [`InvalidMember`](Self::InvalidMember) and
    /// [`DuplicateMember`](Self::DuplicateMember) instead.
    Invalid {
        /// What was being decoded: an event name, a command name or a type name.
        what: &'static str,
        /// What the deserializer said.
        error: DeserializeError,
    },
    /// The value is of the wrong JSON kind (e.g. an object where a list belongs).
    WrongKind {
        /// What was being decoded.
        what: &'static str,
        /// The kind required.
        expected: Kind,
        /// The kind found.
        found: Kind,
    },
    /// The value nests deeper than [`MAX_DECODE_DEPTH`] and is decoded through
    /// serde-json-core, which recurses once per level (even through members it
    /// ignores), so it is refused before decoding to bound stack use. The schema's own
    /// types skip unknown members without recursing and never report this.
    TooDeep {
        /// What was being decoded.
        what: &'static str,
    },
    /// A required member is missing (for [`SchemaInfo`](introspect::SchemaInfo): or
    /// is not a string).
    MissingMember {
        /// What was being decoded.
        what: &'static str,
        /// The member's name.
        member: &'static str,
    },
    /// A member's value is of the wrong kind (`null` for a required member included),
    /// or, when both kinds are [`Number`](Kind::Number), not an integer in the member's
    /// range.
    InvalidMember {
        /// What was being decoded.
        what: &'static str,
        /// The member's name (the innermost one, for a member of a nested struct).
        member: &'static str,
        /// The kind required.
        expected: Kind,
        /// The kind found.
        found: Kind,
    },
    /// A member appears more than once.
    DuplicateMember {
        /// What was being decoded.
        what: &'static str,
        /// The member's name.
        member: &'static str,
    },
}

impl DecodeErrorKind {
    /// The same error, attributed to `what` (an event or command name). Not inlined: it
    /// is on the error path of every event and command decoder.
    #[inline(never)]
    fn context(self, name: &'static str) -> Self {
        match self {
            Self::Invalid { error, .. } => Self::Invalid { what: name, error },
            Self::WrongKind {
                expected, found, ..
            } => Self::WrongKind {
                what: name,
                expected,
                found,
            },
            Self::MissingMember { member, .. } => Self::MissingMember { what: name, member },
            Self::InvalidMember {
                member,
                expected,
                found,
                ..
            } => Self::InvalidMember {
                what: name,
                member,
                expected,
                found,
            },
            Self::DuplicateMember { member, .. } => Self::DuplicateMember { what: name, member },
            Self::TooDeep { .. } => Self::TooDeep { what: name },
            other => other,
        }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingData { event } => write!(f, "event {event} has no data"),
            Self::Invalid { what, error } => write!(f, "invalid {what}: {error}"),
            Self::WrongKind {
                what,
                expected,
                found,
            } => write!(f, "invalid {what}: expected {expected:?}, found {found:?}"),
            Self::TooDeep { what } => {
                write!(f, "invalid {what}: nested deeper than {MAX_DECODE_DEPTH}")
            }
            Self::MissingMember { what, member } => {
                write!(f, "invalid {what}: member `{member}` missing")
            }
            Self::InvalidMember {
                what,
                member,
                expected: Kind::Number,
                found: Kind::Number,
            } => write!(
                f,
                "invalid {what}: member `{member}` is not an integer in range"
            ),
            Self::InvalidMember {
                what,
                member,
                expected,
                found,
            } => write!(
                f,
                "invalid {what}: member `{member}`: expected {expected:?}, found {found:?}"
            ),
            Self::DuplicateMember { what, member } => {
                write!(f, "invalid {what}: member `{member}` repeated")
            }
        }
    }
}

/// Decoding from a borrowed [`RawJson`] value.
///
/// Implemented directly (one walk over the members, see the [module docs](self)) for
/// every struct of this module: event payloads, their shared types and command
/// returns; for [`RawList`], [`RawJson`], [`JsonStr`] and the introspection views; and,
/// through serde-json-core, for every `serde::Deserialize<'a>` type (your own types,
/// the open enums on their own, [`QmpCapability`](commands::QmpCapability)).
pub trait FromJson<'a>: Sized {
    /// Decode `raw`.
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError>;
}

impl<'a, T: serde::Deserialize<'a>> FromJson<'a> for T {
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        let what = core::any::type_name::<T>();
        if Cursor::at(raw.as_bytes(), 0).nests_deeper(MAX_DECODE_DEPTH) {
            return Err(DecodeErrorKind::TooDeep { what }.into());
        }
        raw.decode()
            .map_err(|error| DecodeErrorKind::Invalid { what, error }.into())
    }
}

/// The deepest nesting (objects and arrays) that [`FromJson`] hands to serde-json-core
/// for `Deserialize` types. The limit bounds the stack that serde-json-core's recursion
/// can use on hostile input (QEMU's own limit is 1024). The schema's own types do not
/// go through serde-json-core and accept any depth in members they ignore.
pub const MAX_DECODE_DEPTH: usize = 32;

impl<'a> FromJson<'a> for RawJson<'a> {
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        Ok(raw)
    }
}

impl<'a> FromJson<'a> for JsonStr<'a> {
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        raw.as_json_str()
            .ok_or(DecodeError::from(DecodeErrorKind::WrongKind {
                what: "string",
                expected: Kind::String,
                found: raw.kind(),
            }))
    }
}

/// Check that `raw` is of kind `expected`.
pub(crate) fn expect_kind(
    raw: RawJson<'_>,
    what: &'static str,
    expected: Kind,
) -> Result<(), DecodeError> {
    let found = raw.kind();
    if found == expected {
        Ok(())
    } else {
        Err(DecodeErrorKind::WrongKind {
            what,
            expected,
            found,
        }
        .into())
    }
}

/// A JSON array of `T`, kept as its raw bytes and decoded element by element on
/// iteration: a list without an allocator.
///
/// Each element decodes on demand, so a bad element is an `Err` item and does not hide
/// the others. [`len`](RawList::len) walks the array (no decoding).
///
/// ```
/// use qmp_core::json::RawJson;
/// use qmp_core::schema::commands::{Command, QueryCommands};
///
/// let reply = RawJson::parse(br#"[{"name": "query-status"}, {"name": "quit"}]"#)?;
/// let list = QueryCommands::decode_return(reply)?;
/// assert_eq!(list.len(), 2);
/// assert!(list.iter().flatten().any(|c| c.name == "quit"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RawList<'a, T> {
    raw: RawJson<'a>,
    marker: PhantomData<fn() -> T>,
}

impl<T> Clone for RawList<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for RawList<'_, T> {}

impl<T> PartialEq for RawList<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<T> Eq for RawList<'_, T> {}

impl<T> fmt::Debug for RawList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawList").field(&self.raw).finish()
    }
}

impl<'a, T> RawList<'a, T> {
    /// View `raw` as a list; it must be a JSON array.
    pub fn new(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        expect_kind(raw, "list", Kind::Array)?;
        Ok(Self::trusted(raw))
    }

    /// View `raw`, known to be an array, as a list.
    pub(crate) const fn trusted(raw: RawJson<'a>) -> Self {
        Self {
            raw,
            marker: PhantomData,
        }
    }

    /// The array's JSON text.
    pub const fn raw(&self) -> RawJson<'a> {
        self.raw
    }

    /// The number of elements (walks the array).
    pub fn len(&self) -> usize {
        self.raw.elements().count()
    }

    /// Whether the array is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.elements().next().is_none()
    }
}

impl<'a, T: FromJson<'a>> RawList<'a, T> {
    /// The elements, each decoded on demand.
    pub fn iter(&self) -> RawListIter<'a, T> {
        RawListIter {
            elements: self.raw.elements(),
            marker: PhantomData,
        }
    }
}

impl<'a, T: FromJson<'a>> IntoIterator for RawList<'a, T> {
    type Item = Result<T, DecodeError>;
    type IntoIter = RawListIter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: FromJson<'a>> IntoIterator for &RawList<'a, T> {
    type Item = Result<T, DecodeError>;
    type IntoIter = RawListIter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> FromJson<'a> for RawList<'a, T> {
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        Self::new(raw)
    }
}

/// Iterator over a [`RawList`]: each element decoded, or the reason it could not be.
pub struct RawListIter<'a, T> {
    elements: Elements<'a>,
    marker: PhantomData<fn() -> T>,
}

impl<T> Clone for RawListIter<'_, T> {
    fn clone(&self) -> Self {
        Self {
            elements: self.elements.clone(),
            marker: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RawListIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawListIter").field(&self.elements).finish()
    }
}

impl<'a, T: FromJson<'a>> Iterator for RawListIter<'a, T> {
    type Item = Result<T, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.elements.next().map(T::from_json)
    }
}

/// serde helpers that borrow strings as [`JsonStr`] (escaped, as on the wire).
pub(crate) mod de {
    use serde::{Deserialize, Deserializer};
    use serde_json_core::str::EscapedStr;

    use crate::json::JsonStr;

    /// A string, borrowed with its escapes. serde-json-core hands `EscapedStr` the raw
    /// text between the quotes whatever its mode; other deserializers can borrow only
    /// strings without escapes, whose raw and decoded forms are the same.
    pub(crate) fn json_str<'de: 'a, 'a, D: Deserializer<'de>>(
        d: D,
    ) -> Result<JsonStr<'a>, D::Error> {
        EscapedStr::deserialize(d).map(|s| JsonStr::from_raw(s.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests;
