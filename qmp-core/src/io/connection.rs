//! The blocking connection.

use core::fmt;

use embedded_io::{Read, Write};

use super::driver::{Core, Outgoing, Raw, Shell, Typed, Wait};
use super::error::{client_error, io_error, write_error, Error};
use super::{RawReply, Reply};
use crate::encode::{EncodeError, Payload, Sink, Text, WriteError};
use crate::message::EventMessage;
use crate::schema::commands::Command;
use crate::session::{Client, ClientError, Ticket};
use crate::shell::ShellCommand;

/// A blocking QMP client connection over the transport `T`, reading through a
/// [`Framer`](crate::frame::Framer) over the caller's buffer `B`, with `N` pending
/// commands at most and an event queue of `E` bytes. See the [module docs](super).
pub struct Connection<T, B, const N: usize = 8, const E: usize = 1024> {
    transport: T,
    core: Core<B, N, E>,
}

impl<T, B, const N: usize, const E: usize> fmt::Debug for Connection<T, B, N, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.debug("Connection", f)
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
    /// If `buf` is empty (as [`Framer::new`](crate::frame::Framer::new)).
    pub fn connect(transport: T, buf: B) -> Result<Self, Error<T::Error>> {
        let mut connection = Self {
            transport,
            core: Core::new(buf),
        };
        connection.wait(Wait::Greeting)?;
        connection.send(|client, sink| client.negotiate(true, sink))?;
        connection.wait(Wait::Negotiated)?;
        Ok(connection)
    }

    /// Send the typed command `command`, read until its reply (queueing the events that
    /// come first) and decode it.
    ///
    /// [`Error::Uncollected`] if submitted replies are still to be collected.
    pub fn execute<C: Command>(&mut self, command: &C) -> Result<C::Returns<'_>, Error<T::Error>> {
        self.execute_typed(command, false)
    }

    /// [`execute`](Self::execute) out of band (`exec-oob`): needs `oob` enabled (it is
    /// whenever QEMU offers it) and a command that
    /// [allows it](Command::ALLOW_OOB), else [`Error::Misuse`] and nothing is sent.
    pub fn execute_oob<C: Command>(
        &mut self,
        command: &C,
    ) -> Result<C::Returns<'_>, Error<T::Error>> {
        self.execute_typed(command, true)
    }

    /// Send the command `name` with `arguments` (any [`Payload`]: `()` for none) and
    /// read until its reply, which comes back raw: an error reply is a
    /// [`RawReply::Error`] here, not an [`Error`].
    pub fn execute_raw<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
    ) -> Result<RawReply<'_>, Error<T::Error>> {
        self.exchange(&Raw {
            name: name.into(),
            arguments,
            oob: false,
        })?;
        self.core.raw_reply()
    }

    /// Send a command typed in the [human syntax](crate::shell) and read until its
    /// reply, which comes back raw (as [`execute_raw`](Self::execute_raw)).
    ///
    /// ```
    /// # use qmp_core::io::{Connection, RawReply};
    /// use qmp_core::shell::ShellCommand;
    /// # fn run<T: embedded_io::Read + embedded_io::Write>(qmp: &mut Connection<T, [u8; 4096]>)
    /// # -> Result<(), qmp_core::io::Error<T::Error>> where T::Error: 'static {
    /// let line = ShellCommand::parse(r#"human-monitor-command command-line="info version""#)
    ///     .expect("a valid line");
    /// if let RawReply::Return(ret) = qmp.execute_shell(&line)? {
    ///     println!("{}", ret.value.as_json_str().map(|s| s.to_string()).unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn execute_shell(
        &mut self,
        command: &ShellCommand<'_>,
    ) -> Result<RawReply<'_>, Error<T::Error>> {
        self.exchange(&Shell {
            command,
            oob: false,
        })?;
        self.core.raw_reply()
    }

    /// [`submit`](Self::submit) a command typed in the human syntax.
    pub fn submit_shell(&mut self, command: &ShellCommand<'_>) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Shell {
            command,
            oob: false,
        })
    }

    /// Send the typed command `command` without waiting for its reply: pipelining.
    /// Collect the reply with [`next_reply`](Self::next_reply), which tells it by the
    /// ticket returned here. Up to `N` commands may await their replies; one more is
    /// [`Error::Busy`] and nothing is sent.
    ///
    /// ```
    /// # use qmp_core::io::Connection;
    /// # use qmp_core::schema::commands::QueryStatus;
    /// # fn run<T: embedded_io::Read + embedded_io::Write>(qmp: &mut Connection<T, [u8; 4096]>)
    /// # -> Result<(), qmp_core::io::Error<T::Error>> where T::Error: 'static {
    /// // Keep 8 commands in flight, 1000 in all.
    /// let (mut sent, mut answered) = (0, 0);
    /// while answered < 1000 {
    ///     while sent < 1000 && qmp.submitted() < 8 {
    ///         qmp.submit(&QueryStatus)?;
    ///         sent += 1;
    ///     }
    ///     let reply = qmp.next_reply()?;
    ///     let status = reply.decode::<QueryStatus>().map_err(|_| qmp_core::io::Error::Internal)?;
    ///     answered += 1;
    /// #   let _ = status;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn submit<C: Command>(&mut self, command: &C) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Typed {
            command,
            oob: false,
        })
    }

    /// [`submit`](Self::submit) out of band: its reply may overtake the replies of
    /// in-band commands submitted before it.
    pub fn submit_oob<C: Command>(&mut self, command: &C) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Typed { command, oob: true })
    }

    /// [`submit`](Self::submit) the command `name` with `arguments`.
    pub fn submit_raw<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
    ) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Raw {
            name: name.into(),
            arguments,
            oob: false,
        })
    }

    /// [`submit_raw`](Self::submit_raw) out of band.
    pub fn submit_raw_oob<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
    ) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Raw {
            name: name.into(),
            arguments,
            oob: true,
        })
    }

    /// The next reply to a submitted command, in the order the peer sends them (QEMU
    /// answers in-band commands in order; out-of-band replies overtake them), reading
    /// until one comes and queueing the events that come first.
    ///
    /// A reply too large for the buffer is [`Error::ReplyTooLarge`] with its ticket,
    /// and counts as collected. On [`Error::Timeout`] nothing is lost: call again.
    /// [`Error::NothingSubmitted`] if no submitted command awaits its reply.
    pub fn next_reply(&mut self) -> Result<Reply<'_>, Error<T::Error>> {
        self.core.begin()?;
        if self.core.submitted.is_empty() {
            return Err(Error::NothingSubmitted);
        }
        let ticket = self.wait(Wait::Submitted)?.ok_or(Error::Internal)?;
        let reply = self.core.raw_reply()?;
        Ok(Reply { ticket, reply })
    }

    /// Reset the peer's JSON parser: write `0xFF` and read until the one error without
    /// an id that answers it (see [`Client::resync`]), passing over the replies of
    /// commands that timed out. Use it when a write may have left half a command
    /// behind on the peer's side.
    pub fn resync(&mut self) -> Result<(), Error<T::Error>> {
        self.core.begin()?;
        self.core.nothing_submitted()?;
        self.send(|client, sink| client.resync(sink))?;
        self.wait(Wait::Resynced)?;
        Ok(())
    }

    /// The next event: the oldest queued one, else the next to arrive (reading from
    /// the transport until one does).
    pub fn next_event(&mut self) -> Result<EventMessage<'_>, Error<T::Error>> {
        self.core.begin()?;
        if self.core.events.is_empty() {
            self.wait(Wait::Event)?;
            return self.core.last_event();
        }
        self.core.pop_event().ok_or(Error::Internal)
    }

    /// The transport and the buffer back.
    pub fn into_parts(self) -> (T, B) {
        (self.transport, self.core.framer.into_inner())
    }

    fn execute_typed<C: Command>(
        &mut self,
        command: &C,
        oob: bool,
    ) -> Result<C::Returns<'_>, Error<T::Error>> {
        self.exchange(&Typed { command, oob })?;
        self.core.typed_reply::<C, _>()
    }

    /// Send `outgoing` and read until its reply, which the framer then holds; refused
    /// while submitted replies are uncollected.
    fn exchange(&mut self, outgoing: &impl Outgoing) -> Result<(), Error<T::Error>> {
        self.core.begin()?;
        self.core.nothing_submitted()?;
        let ticket = self.send(|client, sink| outgoing.issue(client, sink))?;
        self.wait(Wait::Reply(ticket))?;
        Ok(())
    }

    fn submit_outgoing(&mut self, outgoing: &impl Outgoing) -> Result<Ticket, Error<T::Error>> {
        self.core.begin()?;
        if self.core.submitted.is_full() {
            return Err(Error::Busy);
        }
        let ticket = self.send(|client, sink| outgoing.issue(client, sink))?;
        // Cannot fail: the client had room for it, and `submitted` is never longer.
        self.core
            .submitted
            .push(ticket)
            .map_err(|_| Error::Internal)?;
        Ok(ticket)
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
            wrote: false,
        };
        let result = match write(&mut self.core.client, &mut sink) {
            Ok(result) => result,
            Err(ClientError::Encode(EncodeError::Sink(e))) => {
                // Part of the command may have gone out: the stream is in no known state.
                self.core.write_failed();
                return Err(write_error(e));
            }
            Err(ClientError::Encode(e)) if sink.wrote => {
                // The arguments failed half-way, after part of the command went out:
                // reset the peer's parser so that it drops that part (the error it
                // answers is absorbed), and the session goes on.
                sink.len = 0;
                let reset = self.core.client.resync(&mut sink);
                if reset.is_err() || sink.flush().is_err() {
                    self.core.write_failed();
                }
                return Err(client_error(ClientError::Encode(e), write_error));
            }
            Err(e) => return Err(client_error(e, write_error)),
        };
        if let Err(e) = sink.flush() {
            // Part of the command may have gone out: the stream is in no known state.
            self.core.write_failed();
            return Err(write_error(e));
        }
        Ok(result)
    }

    /// Read until `wait` is met.
    fn wait(&mut self, wait: Wait) -> Result<Option<Ticket>, Error<T::Error>> {
        loop {
            if let Some(answer) = self.core.advance(wait) {
                return answer;
            }
            self.fill()?;
        }
    }

    /// One read from the transport into the framer.
    fn fill(&mut self) -> Result<(), Error<T::Error>> {
        // `advance` returned `None`, so the framer has spare room.
        match self.transport.read(self.core.framer.spare_mut()) {
            Ok(0) => Err(self.core.closed()),
            Ok(n) => {
                self.core.framer.commit(n);
                Ok(())
            }
            Err(e) => Err(io_error(e)),
        }
    }
}

super::driver::accessors!(Connection);

/// The staging buffer's size.
const STAGE: usize = 128;

/// A [`Sink`] that gathers small writes into runs of [`STAGE`] bytes before they go
/// to the transport (the encoder hands over keys, strings and punctuation one by one).
struct Staged<'w, W> {
    writer: &'w mut W,
    buf: [u8; STAGE],
    len: usize,
    /// Whether anything went to the transport yet.
    wrote: bool,
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
        self.wrote = true;
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
            None => {
                self.wrote = true;
                write_out(self.writer, bytes)
            }
        }
    }
}
