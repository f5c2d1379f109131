//! The async connection (feature `async`).

use core::convert::Infallible;
use core::fmt;

use embedded_io_async::{Read, Write};

use super::driver::{Core, Outgoing, Raw, Shell, Typed, Wait};
use super::error::{client_error, io_error, Error};
use super::{RawReply, Reply};
use crate::encode::{Payload, Sink, Text};
use crate::message::EventMessage;
use crate::schema::commands::Command;
use crate::session::{ClientError, Ticket};
use crate::shell::ShellCommand;

/// The async twin of [`Connection`](super::Connection), over
/// [`embedded_io_async::Read`] + [`embedded_io_async::Write`]: the same calls as
/// `async fn`s, the same guarantees, no allocation, any executor.
///
/// # Cancellation
///
/// Dropping a call's future before it completes loses nothing that was read: bytes are
/// taken into the framer only once a read completes, and events met on the way are
/// already queued. A command whose reply was being awaited stays pending, and its late
/// reply is [discarded](Self::discarded), as after a timeout (for a submitted command,
/// `next_reply` still hands it out). A future dropped **while it was writing** may have
/// sent part of a command; the next call then fails with [`Error::Interrupted`] and the
/// session is over.
///
/// # Writes
///
/// A command is encoded into a 256-byte window inside the future and written a window
/// at a time: a longer one is encoded again for each further window (the encoding is
/// deterministic), so no buffer the size of the command is needed.
///
/// # Example
///
/// With tokio, through `embedded-io-adapters` (feature `tokio-1`):
///
/// ```no_run
/// use embedded_io_adapters::tokio_1::FromTokio;
/// use qmp_core::io::AsyncConnection;
/// use qmp_core::schema::commands::QueryStatus;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let socket = tokio::net::UnixStream::connect("/run/vm/qmp.sock").await?;
/// let mut qmp: AsyncConnection<_, _> =
///     AsyncConnection::connect(FromTokio::new(socket), vec![0u8; 256 * 1024]).await?;
/// println!("running: {}", qmp.execute(&QueryStatus).await?.running);
/// let event = qmp.next_event().await?;
/// println!("{}", event.name);
/// # Ok(()) }
/// ```
///
/// Timeouts come from the executor: wrap a call in `tokio::time::timeout`.
pub struct AsyncConnection<T, B, const N: usize = 8, const E: usize = 1024> {
    transport: T,
    core: Core<B, N, E>,
}

impl<T, B, const N: usize, const E: usize> fmt::Debug for AsyncConnection<T, B, N, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.debug("AsyncConnection", f)
    }
}

impl<T, B, const N: usize, const E: usize> AsyncConnection<T, B, N, E>
where
    T: Read + Write,
    T::Error: 'static,
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    /// As [`Connection::connect`](super::Connection::connect).
    ///
    /// # Panics
    ///
    /// If `buf` is empty (as [`Framer::new`](crate::frame::Framer::new)).
    pub async fn connect(transport: T, buf: B) -> Result<Self, Error<T::Error>> {
        let mut connection = Self {
            transport,
            core: Core::new(buf),
        };
        connection.wait(Wait::Greeting).await?;
        let mut window = Window::new(0);
        connection
            .core
            .client
            .negotiate(true, &mut window)
            .map_err(|e| client_error(e, |e| match e {}))?;
        connection.write_whole(&window).await?;
        connection.wait(Wait::Negotiated).await?;
        Ok(connection)
    }

    /// As [`Connection::execute`](super::Connection::execute).
    pub async fn execute<C: Command>(
        &mut self,
        command: &C,
    ) -> Result<C::Returns<'_>, Error<T::Error>> {
        self.execute_typed(command, false).await
    }

    /// As [`Connection::execute_oob`](super::Connection::execute_oob).
    pub async fn execute_oob<C: Command>(
        &mut self,
        command: &C,
    ) -> Result<C::Returns<'_>, Error<T::Error>> {
        self.execute_typed(command, true).await
    }

    /// As [`Connection::execute_raw`](super::Connection::execute_raw).
    pub async fn execute_raw<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
    ) -> Result<RawReply<'_>, Error<T::Error>> {
        self.exchange(&Raw {
            name: name.into(),
            arguments,
            oob: false,
        })
        .await?;
        self.core.raw_reply()
    }

    /// As [`Connection::execute_shell`](super::Connection::execute_shell).
    pub async fn execute_shell(
        &mut self,
        command: &ShellCommand<'_>,
    ) -> Result<RawReply<'_>, Error<T::Error>> {
        self.exchange(&Shell {
            command,
            oob: false,
        })
        .await?;
        self.core.raw_reply()
    }

    /// As [`Connection::submit_shell`](super::Connection::submit_shell).
    pub async fn submit_shell(
        &mut self,
        command: &ShellCommand<'_>,
    ) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Shell {
            command,
            oob: false,
        })
        .await
    }

    /// As [`Connection::submit`](super::Connection::submit).
    pub async fn submit<C: Command>(&mut self, command: &C) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Typed {
            command,
            oob: false,
        })
        .await
    }

    /// As [`Connection::submit_oob`](super::Connection::submit_oob).
    pub async fn submit_oob<C: Command>(&mut self, command: &C) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Typed { command, oob: true }).await
    }

    /// As [`Connection::submit_raw`](super::Connection::submit_raw).
    pub async fn submit_raw<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
    ) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Raw {
            name: name.into(),
            arguments,
            oob: false,
        })
        .await
    }

    /// As [`Connection::submit_raw_oob`](super::Connection::submit_raw_oob).
    pub async fn submit_raw_oob<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
    ) -> Result<Ticket, Error<T::Error>> {
        self.submit_outgoing(&Raw {
            name: name.into(),
            arguments,
            oob: true,
        })
        .await
    }

    /// As [`Connection::next_reply`](super::Connection::next_reply).
    pub async fn next_reply(&mut self) -> Result<Reply<'_>, Error<T::Error>> {
        self.core.begin()?;
        if self.core.submitted.is_empty() {
            return Err(Error::NothingSubmitted);
        }
        let ticket = self.wait(Wait::Submitted).await?.ok_or(Error::Internal)?;
        let reply = self.core.raw_reply()?;
        Ok(Reply { ticket, reply })
    }

    /// As [`Connection::resync`](super::Connection::resync).
    pub async fn resync(&mut self) -> Result<(), Error<T::Error>> {
        self.core.begin()?;
        self.core.nothing_submitted()?;
        let mut window = Window::new(0);
        self.core
            .client
            .resync(&mut window)
            .map_err(|e| client_error(e, |e| match e {}))?;
        self.write_whole(&window).await?;
        self.wait(Wait::Resynced).await?;
        Ok(())
    }

    /// As [`Connection::next_event`](super::Connection::next_event).
    pub async fn next_event(&mut self) -> Result<EventMessage<'_>, Error<T::Error>> {
        self.core.begin()?;
        if self.core.events.is_empty() {
            self.wait(Wait::Event).await?;
            return self.core.last_event();
        }
        self.core.pop_event().ok_or(Error::Internal)
    }

    /// The transport and the buffer back.
    pub fn into_parts(self) -> (T, B) {
        (self.transport, self.core.framer.into_inner())
    }

    async fn execute_typed<C: Command>(
        &mut self,
        command: &C,
        oob: bool,
    ) -> Result<C::Returns<'_>, Error<T::Error>> {
        self.exchange(&Typed { command, oob }).await?;
        self.core.typed_reply::<C, _>()
    }

    /// Send `outgoing` and read until its reply, which the framer then holds; refused
    /// while submitted replies are uncollected.
    async fn exchange(&mut self, outgoing: &impl Outgoing) -> Result<(), Error<T::Error>> {
        self.core.begin()?;
        self.core.nothing_submitted()?;
        let ticket = self.send(outgoing).await?;
        self.wait(Wait::Reply(ticket)).await?;
        Ok(())
    }

    async fn submit_outgoing(
        &mut self,
        outgoing: &impl Outgoing,
    ) -> Result<Ticket, Error<T::Error>> {
        self.core.begin()?;
        if self.core.submitted.is_full() {
            return Err(Error::Busy);
        }
        let ticket = self.send(outgoing).await?;
        // Cannot fail: the client had room for it, and `submitted` is never longer.
        self.core
            .submitted
            .push(ticket)
            .map_err(|_| Error::Internal)?;
        Ok(ticket)
    }

    /// Encode `outgoing` through the client (which makes it pending) and write it, a
    /// window at a time, then flush.
    async fn send(&mut self, outgoing: &impl Outgoing) -> Result<Ticket, Error<T::Error>> {
        let mut window = Window::new(0);
        let ticket = outgoing
            .issue(&mut self.core.client, &mut window)
            .map_err(|e: ClientError<Infallible>| client_error(e, |e| match e {}))?;
        let total = window.total;
        self.core.writing = true;
        self.write(window.bytes()).await?;
        let mut done = window.len;
        while done < total {
            let mut next = Window::new(done);
            if outgoing.rewrite(&mut next, ticket).is_err() || next.total != total {
                // The encoding changed between two passes: it cannot, being
                // deterministic; the part written already leaves the stream unknown.
                self.core.write_failed();
                return Err(Error::Internal);
            }
            self.write(next.bytes()).await?;
            done += next.len;
        }
        self.flush().await?;
        self.core.writing = false;
        Ok(ticket)
    }

    /// Write a message that fits one window (negotiation, resync), then flush.
    async fn write_whole(&mut self, window: &Window) -> Result<(), Error<T::Error>> {
        if window.total != window.len {
            return Err(Error::Internal);
        }
        self.core.writing = true;
        self.write(window.bytes()).await?;
        self.flush().await?;
        self.core.writing = false;
        Ok(())
    }

    /// Write all of `bytes`; a failure ends the session.
    async fn write(&mut self, mut bytes: &[u8]) -> Result<(), Error<T::Error>> {
        while !bytes.is_empty() {
            match self.transport.write(bytes).await {
                Ok(0) => {
                    self.core.write_failed();
                    return Err(Error::Closed);
                }
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) => {
                    self.core.write_failed();
                    return Err(io_error(e));
                }
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Error<T::Error>> {
        if let Err(e) = self.transport.flush().await {
            self.core.write_failed();
            return Err(io_error(e));
        }
        Ok(())
    }

    /// Read until `wait` is met.
    async fn wait(&mut self, wait: Wait) -> Result<Option<Ticket>, Error<T::Error>> {
        loop {
            if let Some(answer) = self.core.advance(wait) {
                return answer;
            }
            // `advance` returned `None`, so the framer has spare room.
            match self.transport.read(self.core.framer.spare_mut()).await {
                Ok(0) => return Err(self.core.closed()),
                Ok(n) => self.core.framer.commit(n),
                Err(e) => return Err(io_error(e)),
            }
        }
    }
}

super::driver::accessors!(AsyncConnection);

/// The window's size.
const WINDOW: usize = 256;

/// A [`Sink`] that keeps the bytes from offset `skip` on, [`WINDOW`] of them at most,
/// and counts them all.
struct Window {
    skip: usize,
    buf: [u8; WINDOW],
    /// How many bytes `buf` holds.
    len: usize,
    /// How many bytes were written in all.
    total: usize,
}

impl Window {
    const fn new(skip: usize) -> Self {
        Self {
            skip,
            buf: [0; WINDOW],
            len: 0,
            total: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl Sink for Window {
    type Error = Infallible;

    fn write(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        let at = self.total;
        self.total += bytes.len();
        // The part of `bytes` that falls in [skip + len, skip + WINDOW).
        let start = at.max(self.skip + self.len);
        let end = self.total.min(self.skip + WINDOW);
        if start < end {
            if let (Some(from), Some(to)) = (
                bytes.get(start - at..end - at),
                self.buf.get_mut(start - self.skip..end - self.skip),
            ) {
                to.copy_from_slice(from);
                self.len = end - self.skip;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;
    use std::format;

    /// Every window of a long command, put together, is the command.
    #[test]
    fn windows_rebuild_the_whole() {
        let long = "x".repeat(1000);
        let mut whole = std::vec::Vec::new();
        let mut offset = 0;
        loop {
            let mut window = Window::new(offset);
            let args = encode::Ser(
                [("data", long.as_str())]
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            );
            encode::command(&mut window, "x", args, None).unwrap();
            whole.extend_from_slice(window.bytes());
            offset += window.len;
            if offset >= window.total {
                assert_eq!(offset, window.total);
                break;
            }
        }
        let expected = format!(r#"{{"execute":"x","arguments":{{"data":"{long}"}}}}"#);
        assert_eq!(std::str::from_utf8(&whole).unwrap(), expected);
    }
}
