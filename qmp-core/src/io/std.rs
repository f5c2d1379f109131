//! Sockets from the standard library as [`Connection`] transports (feature `std`).
//!
//! [`connect_unix`] and [`connect_tcp`] open the socket, set its timeouts, wrap it in
//! [`StdIo`] and [connect](Connection::connect). For other `N` and `E` than the
//! defaults, open the transport with [`unix`] or [`tcp`] and call
//! [`Connection::connect`] yourself.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use qmp_core::io::std::connect_unix;
//! use qmp_core::schema::commands::QueryStatus;
//! use qmp_core::schema::Event;
//!
//! // A 256 KiB buffer holds every reply of QEMU 10, `query-qmp-schema` included.
//! let mut qmp = connect_unix("/run/vm/qmp.sock", vec![0u8; 256 * 1024], Some(Duration::from_secs(5)))?;
//! println!("running: {}", qmp.execute(&QueryStatus)?.running);
//! let event = qmp.next_event()?;
//! if let Ok(Event::Shutdown(shutdown)) = Event::from_message(&event) {
//!     println!("shutdown, asked by the guest: {:?}", shutdown.guest);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`StdIo`] is a small adapter of this crate's own rather than the
//! `embedded-io-adapters` crate: it is a dozen lines, and it also turns what a socket
//! with a timeout reports when the time is up (`WouldBlock` on Unix, `TimedOut`
//! elsewhere) into `TimedOut`, which the connection reports as
//! [`Error::Timeout`], and retries reads and writes that a
//! signal interrupted.

// The error carries the peer's text, see the parent module.
#![allow(clippy::result_large_err)]

use ::std::io::{self as stdio, ErrorKind};
use ::std::net::{TcpStream, ToSocketAddrs};
#[cfg(unix)]
use ::std::os::unix::net::UnixStream;
#[cfg(unix)]
use ::std::path::Path;
use ::std::time::Duration;

use super::{Connection, Error};

/// An [`embedded_io`] transport over a [`std::io::Read`] + [`std::io::Write`] (a
/// socket). Timeouts come out as errors of kind `TimedOut`; interrupted calls are
/// retried.
#[derive(Debug)]
pub struct StdIo<S>(pub S);

/// `TimedOut` for what a socket reports when its timeout expires.
fn timeout(error: stdio::Error) -> stdio::Error {
    if error.kind() == ErrorKind::WouldBlock {
        stdio::Error::new(ErrorKind::TimedOut, error)
    } else {
        error
    }
}

impl<S> embedded_io::ErrorType for StdIo<S> {
    type Error = stdio::Error;
}

impl<S: stdio::Read> embedded_io::Read for StdIo<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, stdio::Error> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                other => return other.map_err(timeout),
            }
        }
    }
}

impl<S: stdio::Write> embedded_io::Write for StdIo<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, stdio::Error> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                other => return other.map_err(timeout),
            }
        }
    }

    fn flush(&mut self) -> Result<(), stdio::Error> {
        self.0.flush().map_err(timeout)
    }
}

/// A connection over a unix socket.
#[cfg(unix)]
pub type UnixConnection<B> = Connection<StdIo<UnixStream>, B>;
/// A connection over TCP.
pub type TcpConnection<B> = Connection<StdIo<TcpStream>, B>;

/// Connect to the unix socket at `path`, with `timeout` for each read and write (none
/// if `None`).
#[cfg(unix)]
pub fn unix(path: impl AsRef<Path>, timeout: Option<Duration>) -> stdio::Result<StdIo<UnixStream>> {
    let stream = UnixStream::connect(path)?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    Ok(StdIo(stream))
}

/// Connect to `addr` (e.g. `"localhost:4444"`) over TCP, trying each address it
/// resolves to, with `timeout` for connecting and for each read and write (none if
/// `None`). Nagle's algorithm is turned off: a command goes out at once.
pub fn tcp(addr: impl ToSocketAddrs, timeout: Option<Duration>) -> stdio::Result<StdIo<TcpStream>> {
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        let stream = match timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match stream {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                stream.set_read_timeout(timeout)?;
                stream.set_write_timeout(timeout)?;
                return Ok(StdIo(stream));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| stdio::Error::new(ErrorKind::InvalidInput, "no address to connect to")))
}

/// Connect to QEMU's QMP unix socket at `path` and negotiate; `buf` is the framer's
/// buffer, `timeout` applies to each read and write.
#[cfg(unix)]
pub fn connect_unix<B: AsRef<[u8]> + AsMut<[u8]>>(
    path: impl AsRef<Path>,
    buf: B,
    timeout: Option<Duration>,
) -> Result<UnixConnection<B>, Error<stdio::Error>> {
    let transport = unix(path, timeout).map_err(io_error)?;
    Connection::connect(transport, buf)
}

/// Connect to QEMU's QMP TCP socket at `addr` and negotiate; `buf` is the framer's
/// buffer, `timeout` applies to connecting and to each read and write.
pub fn connect_tcp<B: AsRef<[u8]> + AsMut<[u8]>>(
    addr: impl ToSocketAddrs,
    buf: B,
    timeout: Option<Duration>,
) -> Result<TcpConnection<B>, Error<stdio::Error>> {
    let transport = tcp(addr, timeout).map_err(io_error)?;
    Connection::connect(transport, buf)
}

fn io_error(error: stdio::Error) -> Error<stdio::Error> {
    super::error::io_error(timeout(error))
}
