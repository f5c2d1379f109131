//! What a connection call reports when it fails: [`Error`], and the peer's error reply
//! copied out of the buffer ([`PeerError`]).

use core::fmt;

use embedded_io::ErrorKind;

use crate::encode::{EncodeError, WriteError};
use crate::message::ErrorReply;
use crate::schema::DecodeError;
use crate::session::{ClientError, ClientMisuse, Ticket};

/// The most bytes of an error reply's `desc` that a [`PeerError`] keeps.
pub const PEER_DESC_CAPACITY: usize = 128;
/// The most bytes of an error class name that a [`PeerError`] keeps.
pub const PEER_CLASS_CAPACITY: usize = 32;

/// The peer's error reply, copied out of the buffer so that an [`Error`] borrows
/// nothing (and `?` can take it anywhere): its class and description, the description
/// cut at [`PEER_DESC_CAPACITY`] bytes (on a character boundary) if longer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerError {
    class: heapless::String<PEER_CLASS_CAPACITY>,
    desc: heapless::String<PEER_DESC_CAPACITY>,
    truncated: bool,
}

impl PeerError {
    /// Copy `reply`'s class and description.
    pub fn new(reply: &ErrorReply<'_>) -> Self {
        let mut truncated = false;
        let mut class = heapless::String::new();
        for c in reply.class.name().chars() {
            if class.push(c).is_err() {
                truncated = true;
                break;
            }
        }
        let mut desc = heapless::String::new();
        for c in reply.desc.chars() {
            if desc.push(c).is_err() {
                truncated = true;
                break;
            }
        }
        Self {
            class,
            desc,
            truncated,
        }
    }

    /// The error class, e.g. `GenericError` or `CommandNotFound`.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The human-readable description (never parse it).
    pub fn desc(&self) -> &str {
        &self.desc
    }

    /// Whether the class or the description was cut to fit.
    pub const fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.desc)?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Why a [`Connection`](super::Connection) (or
/// [`AsyncConnection`](super::AsyncConnection)) call failed. `E` is the transport's
/// error.
///
/// Grouped by who is at fault: the transport ([`Io`](Self::Io),
/// [`Closed`](Self::Closed), [`Timeout`](Self::Timeout)); the peer's answer
/// ([`Failed`](Self::Failed) — a refusal, the protocol at work —,
/// [`Decode`](Self::Decode), [`NoGreeting`](Self::NoGreeting)); the buffer
/// ([`ReplyTooLarge`](Self::ReplyTooLarge)); the caller ([`Busy`](Self::Busy),
/// [`Misuse`](Self::Misuse), [`Uncollected`](Self::Uncollected),
/// [`NothingSubmitted`](Self::NothingSubmitted), [`Arguments`](Self::Arguments)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The transport failed.
    Io(E),
    /// The transport reached its end (a read returned 0 bytes, or a write took none).
    Closed,
    /// The transport gave up waiting (its error's kind is `TimedOut`). A command
    /// stays pending; the connection may be used again.
    Timeout,
    /// The peer answered the command with an error reply (when connecting: it refused
    /// `qmp_capabilities`).
    Failed(PeerError),
    /// The reply's `return` value does not fit the command's return type.
    Decode(DecodeError),
    /// The peer's first message was not a QMP greeting (nor an event, which QEMU may
    /// send before its greeting).
    NoGreeting,
    /// The reply was larger than the framer's buffer and was skipped (the connection
    /// stays in step: the next command works).
    ReplyTooLarge {
        /// The command it answered.
        ticket: Ticket,
        /// The reply's length in bytes.
        len: u64,
    },
    /// The pending table is full: `N` commands await their replies (submitted ones to
    /// collect with `next_reply`, or ones whose replies timed out and are still due).
    Busy,
    /// The call does not fit the session's state.
    Misuse(ClientMisuse),
    /// `execute`, `execute_raw`, `execute_oob` and `resync` wait for one answer and
    /// would pass over the replies of commands that were
    /// [submitted](super::Connection::submit) and not yet collected: collect them first
    /// with [`next_reply`](super::Connection::next_reply) (or give them up with
    /// [`abandon_submitted`](super::Connection::abandon_submitted)). Nothing was sent.
    Uncollected {
        /// How many submitted replies are still to be collected.
        count: usize,
    },
    /// [`next_reply`](super::Connection::next_reply) was called with no submitted
    /// command left to answer: it would wait for ever.
    NothingSubmitted,
    /// An earlier write stopped part-way through a command (an async call cancelled
    /// while it wrote): the stream is in no known state and the session has ended.
    /// Connect again.
    Interrupted,
    /// The arguments could not be encoded (nothing was sent in full: see
    /// [`EncodeError`]).
    Arguments(EncodeError<core::convert::Infallible>),
    /// A message checked earlier could not be read back. Never returned in practice;
    /// it stands where a panic would otherwise be.
    Internal,
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Closed => f.write_str("the connection is closed"),
            Self::Timeout => f.write_str("timed out"),
            Self::Failed(e) => write!(f, "the command failed: {e}"),
            Self::Decode(e) => write!(f, "the reply does not fit the command: {e}"),
            Self::NoGreeting => f.write_str("the peer did not greet with QMP"),
            Self::ReplyTooLarge { ticket, len } => {
                write!(
                    f,
                    "the reply to {ticket} ({len} bytes) is larger than the buffer"
                )
            }
            Self::Busy => f.write_str("the pending table is full"),
            Self::Misuse(e) => write!(f, "{e}"),
            Self::Uncollected { count } => write!(
                f,
                "{count} submitted replies are still to be collected with next_reply"
            ),
            Self::NothingSubmitted => f.write_str("no submitted command awaits its reply"),
            Self::Interrupted => {
                f.write_str("an earlier write stopped part-way: the session has ended")
            }
            Self::Arguments(e) => write!(f, "the arguments cannot be encoded: {e}"),
            Self::Internal => f.write_str("internal error: a checked message was lost"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Decode(e) => Some(e),
            Self::Misuse(e) => Some(e),
            Self::Arguments(e) => Some(e),
            _ => None,
        }
    }
}

/// A transport error: `Timeout` for its `TimedOut` kind, `Io` otherwise.
pub(super) fn io_error<E: embedded_io::Error>(error: E) -> Error<E> {
    if error.kind() == ErrorKind::TimedOut {
        Error::Timeout
    } else {
        Error::Io(error)
    }
}

/// A refused or failed client call: the sink's own error through `sink`, the rest as
/// it is.
pub(super) fn client_error<E, S>(
    error: ClientError<S>,
    sink: impl FnOnce(S) -> Error<E>,
) -> Error<E> {
    match error {
        ClientError::Busy => Error::Busy,
        ClientError::Misuse(m) => Error::Misuse(m),
        ClientError::Encode(e) => match e {
            EncodeError::Sink(e) => sink(e),
            EncodeError::NonFiniteFloat => Error::Arguments(EncodeError::NonFiniteFloat),
            EncodeError::KeyMustBeString => Error::Arguments(EncodeError::KeyMustBeString),
            EncodeError::NotAnObject => Error::Arguments(EncodeError::NotAnObject),
            EncodeError::NotAnArray => Error::Arguments(EncodeError::NotAnArray),
            EncodeError::Custom => Error::Arguments(EncodeError::Custom),
        },
    }
}

/// A transport's write error: `Closed` for a write that took nothing.
pub(super) fn write_error<E: embedded_io::Error>(error: WriteError<E>) -> Error<E> {
    match error {
        WriteError::Io(e) => io_error(e),
        WriteError::WriteZero => Error::Closed,
    }
}

impl<E: embedded_io::Error> From<ClientError<WriteError<E>>> for Error<E> {
    fn from(error: ClientError<WriteError<E>>) -> Self {
        client_error(error, write_error)
    }
}
