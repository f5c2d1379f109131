//! A blocking QMP driver over [`embedded_io::Read`] + [`embedded_io::Write`]:
//! [`Connection`] reads the greeting, negotiates, sends commands and waits for their
//! replies, and keeps the events that arrive meanwhile.
//!
//! It is the [session](crate::session) client with a transport: each call writes what
//! the client asks for and reads until the answer it waits for has come. Nothing is
//! allocated: the caller gives the framer's buffer (the largest message the connection
//! can read), and the connection holds the client's pending table (`N` entries) and an
//! event queue of `E` bytes inline.
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
//!   ([`Misuse`](Error::Misuse), [`Arguments`](Error::Arguments)).
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
//! flushed. A write that fails may have sent part of a command, so it ends the session
//! (later calls fail with [`Error::Misuse`]): connect again.
//!
//! # Timeouts
//!
//! `embedded_io` has no notion of time; a transport that gives up reports an error whose
//! [kind](embedded_io::Error::kind) is `TimedOut`, which becomes [`Error::Timeout`]. The
//! std transports (`io::std`, feature `std`) set the socket's timeouts. A
//! command whose reply timed out stays pending in the client: its late reply is counted
//! in [`discarded`](Connection::discarded) when it comes.
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

use core::fmt;

use embedded_io::{ErrorKind, Read, Write};

use crate::encode::{EncodeError, Payload, Sink, Text, WriteError};
use crate::frame::{Frame, Framer};
use crate::message::{ErrorReply, EventMessage, Message, Return};
use crate::schema::commands::{Command, ReplyError};
use crate::schema::DecodeError;
use crate::session::{Client, ClientError, ClientMisuse, ClientOutcome, ClientState, Ticket};

#[cfg(feature = "std")]
pub mod std;

mod queue;

use queue::EventQueue;

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

/// Why a [`Connection`] call failed. `E` is the transport's error.
///
/// Grouped by who is at fault: the transport ([`Io`](Self::Io),
/// [`Closed`](Self::Closed), [`Timeout`](Self::Timeout)); the peer's answer
/// ([`Failed`](Self::Failed) — a refusal, the protocol at work —,
/// [`Decode`](Self::Decode), [`NoGreeting`](Self::NoGreeting)); the buffer
/// ([`ReplyTooLarge`](Self::ReplyTooLarge)); the caller ([`Busy`](Self::Busy),
/// [`Misuse`](Self::Misuse), [`Arguments`](Self::Arguments)).
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
    /// The peer answered the command with an error reply (for [`Connection::connect`]:
    /// it refused `qmp_capabilities`).
    Failed(PeerError),
    /// The reply's `return` value does not fit the command's return type.
    Decode(DecodeError),
    /// The first message was not a QMP greeting.
    NoGreeting,
    /// The reply was larger than the framer's buffer and was skipped (the connection
    /// stays in step: the next command works).
    ReplyTooLarge {
        /// The reply's length in bytes.
        len: u64,
    },
    /// Every slot of the pending table is taken by commands whose replies timed out.
    Busy,
    /// The call does not fit the session's state.
    Misuse(ClientMisuse),
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
            Self::ReplyTooLarge { len } => {
                write!(f, "the reply of {len} bytes is larger than the buffer")
            }
            Self::Busy => f.write_str("too many commands await a late reply"),
            Self::Misuse(e) => write!(f, "{e}"),
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
fn io_error<E: embedded_io::Error>(error: E) -> Error<E> {
    if error.kind() == ErrorKind::TimedOut {
        Error::Timeout
    } else {
        Error::Io(error)
    }
}

impl<E: embedded_io::Error> From<ClientError<WriteError<E>>> for Error<E> {
    fn from(error: ClientError<WriteError<E>>) -> Self {
        match error {
            ClientError::Busy => Self::Busy,
            ClientError::Misuse(m) => Self::Misuse(m),
            ClientError::Encode(e) => match e {
                EncodeError::Sink(WriteError::Io(e)) => io_error(e),
                EncodeError::Sink(WriteError::WriteZero) => Self::Closed,
                EncodeError::NonFiniteFloat => Self::Arguments(EncodeError::NonFiniteFloat),
                EncodeError::KeyMustBeString => Self::Arguments(EncodeError::KeyMustBeString),
                EncodeError::NotAnObject => Self::Arguments(EncodeError::NotAnObject),
                EncodeError::NotAnArray => Self::Arguments(EncodeError::NotAnArray),
                EncodeError::Custom => Self::Arguments(EncodeError::Custom),
            },
        }
    }
}

/// A raw reply from [`Connection::execute_raw`]: the success or the error reply, as
/// the [message layer](crate::message) sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawReply<'a> {
    /// `{"return": …}`.
    Return(Return<'a>),
    /// `{"error": …}`.
    Error(ErrorReply<'a>),
}

/// What a read loop waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Greeting,
    Negotiated,
    Reply(Ticket),
    Event,
}

/// A blocking QMP client connection over the transport `T`, reading through a
/// [`Framer`] over the caller's buffer `B`, with `N` pending commands at most and an
/// event queue of `E` bytes. See the [module docs](self).
pub struct Connection<T, B, const N: usize = 8, const E: usize = 1024> {
    transport: T,
    framer: Framer<B>,
    client: Client<N>,
    events: EventQueue<E>,
    discarded: u64,
}

impl<T, B, const N: usize, const E: usize> fmt::Debug for Connection<T, B, N, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.client.state())
            .field("pending", &self.client.pending())
            .field("events_queued", &self.events.len())
            .field("events_dropped", &self.events.dropped())
            .field("discarded", &self.discarded)
            .finish_non_exhaustive()
    }
}

impl<T, B, const N: usize, const E: usize> Connection<T, B, N, E>
where
    T: Read + Write,
    T::Error: 'static,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    /// Read the greeting from `transport`, negotiate (enabling `oob` when the greeting
    /// offers it) and return once commands may be sent. `buf` is the framer's buffer:
    /// the largest message that can be read.
    ///
    /// # Panics
    ///
    /// If `buf` is empty (as [`Framer::new`]).
    pub fn connect(transport: T, buf: B) -> Result<Self, Error<T::Error>> {
        let mut connection = Self {
            transport,
            framer: Framer::new(buf),
            client: Client::new(),
            events: EventQueue::new(),
            discarded: 0,
        };
        connection.wait(Wait::Greeting)?;
        connection.send(|client, sink| client.negotiate(true, sink))?;
        connection.wait(Wait::Negotiated)?;
        Ok(connection)
    }

    /// Send the typed command `command`, read until its reply (queueing the events that
    /// come first) and decode it.
    pub fn execute<C: Command>(&mut self, command: &C) -> Result<C::Returns<'_>, Error<T::Error>> {
        let ticket = self.send(|client, sink| client.execute(command, sink))?;
        self.wait(Wait::Reply(ticket))?;
        let message = self.last_message()?;
        C::decode_reply(&message).map_err(|e| match e {
            ReplyError::Error(e) => Error::Failed(PeerError::new(&e)),
            ReplyError::Decode(e) => Error::Decode(e),
            _ => Error::Internal,
        })
    }

    /// Send the command `name` with `arguments` (any [`Payload`]: `()` for none) and
    /// read until its reply, which comes back raw: an error reply is a
    /// [`RawReply::Error`] here, not an [`Error`].
    pub fn execute_raw<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
    ) -> Result<RawReply<'_>, Error<T::Error>> {
        let name = name.into();
        let ticket = self.send(|client, sink| client.execute_raw(name, arguments, sink))?;
        self.wait(Wait::Reply(ticket))?;
        match self.last_message()? {
            Message::Return(ret) => Ok(RawReply::Return(ret)),
            Message::Error(error) => Ok(RawReply::Error(error)),
            _ => Err(Error::Internal),
        }
    }

    /// The next event: the oldest queued one, else the next to arrive (reading from
    /// the transport until one does).
    pub fn next_event(&mut self) -> Result<EventMessage<'_>, Error<T::Error>> {
        if self.events.is_empty() {
            self.wait(Wait::Event)?;
        }
        self.try_next_event().ok_or(Error::Internal)
    }

    /// The oldest queued event, without reading.
    pub fn try_next_event(&mut self) -> Option<EventMessage<'_>> {
        let bytes = self.events.pop()?;
        match Frame::parse(bytes).ok().map(Message::parse) {
            Some(Ok(Message::Event(event))) => Some(event),
            _ => None,
        }
    }

    /// How many events are queued.
    pub fn events_queued(&self) -> usize {
        self.events.len()
    }

    /// How many events did not fit in the queue and were dropped, since the connection
    /// began.
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// How many messages had no place and were passed over: bad bytes, messages that
    /// are not QMP, replies nobody waits for (late replies after a
    /// [timeout](Error::Timeout) included), errors without an id, messages too large
    /// that were not a reply.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Whether `oob` was enabled by the negotiation.
    pub fn oob_enabled(&self) -> bool {
        self.client.oob_enabled()
    }

    /// The session client, for its state and pending count.
    pub fn client(&self) -> &Client<N> {
        &self.client
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, e.g. to change its timeouts.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The transport and the buffer back.
    pub fn into_parts(self) -> (T, B) {
        (self.transport, self.framer.into_inner())
    }

    /// The message that [`wait`](Self::wait) stopped at, read back from the framer.
    fn last_message(&self) -> Result<Message<'_>, Error<T::Error>> {
        let frame = self.framer.last().ok_or(Error::Internal)?;
        Message::parse(frame).map_err(|_| Error::Internal)
    }

    /// Write what `write` encodes through a staging buffer, and flush.
    fn send<R>(
        &mut self,
        write: impl FnOnce(
            &mut Client<N>,
            &mut Staged<'_, T>,
        ) -> Result<R, ClientError<WriteError<T::Error>>>,
    ) -> Result<R, Error<T::Error>> {
        let mut sink = Staged {
            writer: &mut self.transport,
            buf: [0; STAGE],
            len: 0,
        };
        let result = write(&mut self.client, &mut sink)?;
        if let Err(e) = sink.flush() {
            // Part of the command may have gone out: the stream is in no known state.
            let _unanswered = self.client.handle_close();
            return Err(Error::from(ClientError::Encode(EncodeError::Sink(e))));
        }
        Ok(result)
    }

    /// Hand framer items to the client until `wait` is met, reading when the framer
    /// needs more. Events are queued on the way; everything else without a place is
    /// counted.
    fn wait(&mut self, wait: Wait) -> Result<(), Error<T::Error>> {
        loop {
            while let Some(item) = self.framer.next() {
                let bytes = item.as_ref().ok().map(|frame| frame.as_bytes());
                match self.client.handle(item) {
                    ClientOutcome::Greeting(_) => {
                        if wait == Wait::Greeting {
                            return Ok(());
                        }
                    }
                    ClientOutcome::Negotiated { .. } => return Ok(()),
                    ClientOutcome::NegotiationRefused(e) => {
                        return Err(Error::Failed(PeerError::new(&e)))
                    }
                    ClientOutcome::Reply { ticket, .. } if wait == Wait::Reply(ticket) => {
                        return Ok(())
                    }
                    ClientOutcome::ReplyTooLarge { ticket, error } => {
                        if wait == Wait::Reply(ticket) {
                            return Err(Error::ReplyTooLarge {
                                len: error.skipped(),
                            });
                        }
                        self.discarded += 1;
                    }
                    ClientOutcome::Event(_) => {
                        self.events.push(bytes.unwrap_or_default());
                        if wait == Wait::Event && !self.events.is_empty() {
                            return Ok(());
                        }
                    }
                    ClientOutcome::Unexpected(_) | ClientOutcome::NotQmp(_)
                        if wait == Wait::Greeting =>
                    {
                        return Err(Error::NoGreeting)
                    }
                    _ => self.discarded += 1,
                }
            }
            self.fill()?;
        }
    }

    /// One read from the transport into the framer.
    fn fill(&mut self) -> Result<(), Error<T::Error>> {
        // `next` returned `None`, so the spare room is not empty.
        let spare = self.framer.spare_mut();
        match self.transport.read(spare) {
            Ok(0) => {
                let _unanswered = self.client.handle_close();
                Err(Error::Closed)
            }
            Ok(n) => {
                self.framer.commit(n);
                Ok(())
            }
            Err(e) => Err(io_error(e)),
        }
    }
}

impl<T, B, const N: usize, const E: usize> Connection<T, B, N, E> {
    /// Where the session stands.
    pub fn state(&self) -> ClientState {
        self.client.state()
    }
}

/// The staging buffer's size.
const STAGE: usize = 128;

/// A [`Sink`] that gathers small writes into runs of [`STAGE`] bytes before they go
/// to the transport (the encoder hands over keys, strings and punctuation one by one).
struct Staged<'w, W> {
    writer: &'w mut W,
    buf: [u8; STAGE],
    len: usize,
}

/// Write all of `bytes`, without `write_all`'s panic on a writer that takes none.
fn write_out<W: Write>(writer: &mut W, mut bytes: &[u8]) -> Result<(), WriteError<W::Error>> {
    while !bytes.is_empty() {
        match writer.write(bytes) {
            Ok(0) => return Err(WriteError::WriteZero),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) => return Err(WriteError::Io(e)),
        }
    }
    Ok(())
}

impl<W: Write> Staged<'_, W> {
    fn drain(&mut self) -> Result<(), WriteError<W::Error>> {
        let len = core::mem::take(&mut self.len);
        write_out(self.writer, self.buf.get(..len).unwrap_or_default())
    }

    /// Write what is staged and flush the transport.
    fn flush(&mut self) -> Result<(), WriteError<W::Error>> {
        self.drain()?;
        self.writer.flush().map_err(WriteError::Io)
    }
}

impl<W> Sink for Staged<'_, W>
where
    W: Write,
    W::Error: 'static,
{
    type Error = WriteError<W::Error>;

    fn write(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        if STAGE - self.len < bytes.len() {
            self.drain()?;
        }
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.len += bytes.len();
                Ok(())
            }
            None => write_out(self.writer, bytes),
        }
    }
}

#[cfg(test)]
mod tests;
