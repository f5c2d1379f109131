//! QMP drivers: the [session](crate::session) client with a transport.
//! [`Connection`] is blocking, over [`embedded_io::Read`] + [`embedded_io::Write`];
//! [`AsyncConnection`] (feature `async`) is the same over `embedded_io_async`, for any
//! executor (tokio through `embedded-io-adapters`). Both read the greeting, negotiate,
//! send commands and read until their replies, and keep the events that arrive
//! meanwhile; [`std`] (feature `std`) connects to unix and TCP sockets.
//!
//! Nothing is allocated: the caller gives the framer's buffer (the largest message the
//! connection can read), and the connection holds the client's pending table (`N`
//! entries) and an event queue of `E` bytes inline.
//!
//! # Calls
//!
//! - **One command at a time**: [`execute`](Connection::execute) (typed, decoded into
//!   the command's return type), [`execute_oob`](Connection::execute_oob) (`exec-oob`),
//!   [`execute_raw`](Connection::execute_raw) (by name, any [`Payload`](crate::encode::Payload)
//!   as arguments, the reply raw) write the command and read until its reply.
//! - **Pipelining**: [`submit`](Connection::submit) (and `submit_oob`, `submit_raw`,
//!   `submit_raw_oob`) write a command and return its [`Ticket`] at once;
//!   [`next_reply`](Connection::next_reply) reads until the next reply to a submitted
//!   command and hands it out as a [`Reply`] with its ticket, in the order the peer
//!   answers (out-of-band replies overtake in-band ones). Up to `N` commands may be
//!   pending; one more is [`Error::Busy`], never queued. While submitted replies are
//!   uncollected, the calls that wait for one answer (`execute*`, `resync`) refuse with
//!   [`Error::Uncollected`] rather than pass over them.
//! - **Events**: [`next_event`](Connection::next_event) (reading until one comes) and
//!   [`try_next_event`](Connection::try_next_event) (queued ones only).
//! - **Resync**: [`resync`](Connection::resync) writes `0xFF`, which resets the peer's
//!   JSON parser, and absorbs the error without an id that answers it.
//!
//! # Guarantees
//!
//! - **Nothing is dropped silently.** An event that arrives while a command waits for
//!   its reply is copied into the event queue; one that does not fit is counted
//!   ([`events_dropped`](Connection::events_dropped)). Messages that have no place
//!   (bad bytes, replies nobody waits for, an error without an id) are counted too
//!   ([`discarded`](Connection::discarded)).
//! - **No panics** on anything the peer sends or the transport does. A reply larger
//!   than the buffer is [`Error::ReplyTooLarge`]; the connection stays in step and the
//!   next command works.
//! - **Errors say whose fault** ([`Error`]): the transport's ([`Io`](Error::Io),
//!   [`Closed`](Error::Closed), [`Timeout`](Error::Timeout)), the peer's answer
//!   ([`Failed`](Error::Failed), [`Decode`](Error::Decode)), the buffer's
//!   ([`ReplyTooLarge`](Error::ReplyTooLarge)), or the caller's
//!   ([`Busy`](Error::Busy), [`Misuse`](Error::Misuse),
//!   [`Uncollected`](Error::Uncollected), [`Arguments`](Error::Arguments)).
//!
//! # The event queue
//!
//! Events are stored as their bytes, one after the other, in a byte array of `E` bytes
//! (each takes its length plus 4), and handed out in order by
//! [`next_event`](Connection::next_event), which reads from the transport only when the
//! queue is empty. QEMU's common events take 80 to 200 bytes. An event larger than the
//! room left is not stored and is counted in
//! [`events_dropped`](Connection::events_dropped); the events already queued stay.
//!
//! # Writes
//!
//! A command is encoded into a 128-byte staging buffer on the stack and written to the
//! transport in runs of that size (one write for most commands), then the transport is
//! flushed ([`AsyncConnection`] uses a 256-byte window, see there). A write that fails
//! may have sent part of a command, so it ends the session (later calls fail with
//! [`Error::Misuse`]): connect again. Arguments that cannot be encoded (a NaN, say)
//! are found before anything is written when the command fits the staging buffer;
//! when they fail after part of a longer command went out, the connection writes
//! `0xFF` so that the peer drops that part (and absorbs its answer), and the session
//! goes on.
//!
//! # Timeouts
//!
//! `embedded_io` has no notion of time; a transport that gives up reports an error whose
//! [kind](embedded_io::Error::kind) is `TimedOut`, which becomes [`Error::Timeout`]. The
//! std transports (`io::std`, feature `std`) set the socket's timeouts. A
//! command whose reply timed out stays pending in the client: its late reply is counted
//! in [`discarded`](Connection::discarded) when it comes. After a timeout in
//! [`next_reply`](Connection::next_reply) nothing is lost: call it again, or give the
//! submitted commands up with [`abandon_submitted`](Connection::abandon_submitted).
//! [`AsyncConnection`] leaves time to the executor (e.g. `tokio::time::timeout`), with
//! the same outcome.
//!
//! # Example
//!
//! A scripted peer stands in for QEMU: an event arrives before the reply of the command
//! that caused it, and waits in the queue.
//!
//! ```
//! use qmp_core::io::{Connection, Error};
//! use qmp_core::schema::commands::{QueryStatus, RunState, Stop};
//!
//! /// Reads come from `input`; writes are kept.
//! struct Scripted { input: &'static [u8], output: Vec<u8> }
//! impl embedded_io::ErrorType for Scripted { type Error = core::convert::Infallible; }
//! impl embedded_io::Read for Scripted {
//!     fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
//!         let n = buf.len().min(self.input.len());
//!         buf[..n].copy_from_slice(&self.input[..n]);
//!         self.input = &self.input[n..];
//!         Ok(n)
//!     }
//! }
//! impl embedded_io::Write for Scripted {
//!     fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
//!         self.output.extend_from_slice(buf);
//!         Ok(buf.len())
//!     }
//!     fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
//! }
//!
//! let peer = Scripted {
//!     input: b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \
//!               \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n\
//!              {\"return\": {}, \"id\": 0}\r\n\
//!              {\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n\
//!              {\"return\": {}, \"id\": 1}\r\n\
//!              {\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 2}\r\n",
//!     output: Vec::new(),
//! };
//! let mut qmp: Connection<_, _> = Connection::connect(peer, [0u8; 1024])?;
//! assert!(qmp.oob_enabled());
//! qmp.execute(&Stop)?;
//! assert_eq!(qmp.execute(&QueryStatus)?.status, RunState::Paused);
//! assert!(qmp.next_event()?.name == "STOP");
//! assert_eq!(qmp.events_dropped(), 0);
//!
//! // The peer has nothing more to say.
//! assert!(matches!(qmp.next_event(), Err(Error::Closed)));
//! assert_eq!(
//!     qmp.transport().output,
//!     br#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":0}{"execute":"stop","id":1}{"execute":"query-status","id":2}"#,
//! );
//! # Ok::<(), Error<core::convert::Infallible>>(())
//! ```

// An `Error` carries the peer's error text (a [`PeerError`], about 170 bytes) so that
// it borrows nothing and `?` takes it anywhere; there is no heap to box it in.
#![allow(clippy::result_large_err)]

use crate::message::{ErrorReply, Message, Return};
use crate::schema::commands::{Command, ReplyError};
use crate::session::Ticket;

#[cfg(feature = "async")]
mod async_connection;
mod connection;
mod driver;
mod error;
mod queue;
#[cfg(feature = "std")]
pub mod std;

#[cfg(feature = "async")]
pub use async_connection::AsyncConnection;
pub use connection::Connection;
pub use error::{Error, PeerError, PEER_CLASS_CAPACITY, PEER_DESC_CAPACITY};

/// A raw reply from [`Connection::execute_raw`]: the success or the error reply, as
/// the [message layer](crate::message) sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawReply<'a> {
    /// `{"return": …}`.
    Return(Return<'a>),
    /// `{"error": …}`.
    Error(ErrorReply<'a>),
}

impl<'a> RawReply<'a> {
    /// The reply read back from the message that carries it.
    fn from_message<E>(message: Message<'a>) -> Result<Self, Error<E>> {
        match message {
            Message::Return(ret) => Ok(Self::Return(ret)),
            Message::Error(error) => Ok(Self::Error(error)),
            _ => Err(Error::Internal),
        }
    }

    /// The reply as a [`Message`].
    pub const fn to_message(self) -> Message<'a> {
        match self {
            Self::Return(ret) => Message::Return(ret),
            Self::Error(error) => Message::Error(error),
        }
    }
}

/// The reply to a [submitted](Connection::submit) command, from
/// [`next_reply`](Connection::next_reply): which command it answers, and the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The command it answers, as `submit` returned it.
    pub ticket: Ticket,
    /// The reply itself.
    pub reply: RawReply<'a>,
}

impl<'a> Reply<'a> {
    /// The typed result of the command `C`, which the caller knows from the ticket:
    /// the decoded `return` value, or why there is none.
    pub fn decode<C: Command>(&self) -> Result<C::Returns<'a>, ReplyError<'a>> {
        C::decode_reply(&self.reply.to_message())
    }
}

#[cfg(test)]
mod tests;
