//! Where encoded bytes go: the [`Sink`] trait, a cursor over a caller's buffer
//! ([`SliceSink`]), an adapter over any [`embedded_io::Write`] ([`WriterSink`]), and
//! `heapless::Vec`.

use core::fmt;

use crate::describe::Describe;

/// A [`SliceSink`] or `heapless::Vec` has no room left for a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferFull;

impl fmt::Display for BufferFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("buffer full")
    }
}

impl Describe for BufferFull {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        out("buffer full");
    }
}

impl core::error::Error for BufferFull {}

/// A destination for encoded bytes.
///
/// The encoder hands over whole runs (a key, an escaped stretch of a string, a number)
/// rather than single bytes, so a sink with a per-call cost stays cheap. What a sink
/// holds after an error is unspecified: callers discard or resend the whole message.
pub trait Sink {
    /// What a failed write reports: [`BufferFull`] for buffers, the writer's own error
    /// (wrapped in [`WriteError`]) for writers.
    type Error: core::error::Error + 'static;

    /// Write all of `bytes`, or fail.
    fn write(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
}

impl<S: Sink + ?Sized> Sink for &mut S {
    type Error = S::Error;

    fn write(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        (**self).write(bytes)
    }
}

/// A cursor over a caller-provided buffer that counts the bytes used.
///
/// A write that does not fit fails with [`BufferFull`] and writes nothing.
///
/// ```
/// use qmp_core::encode::{Sink, SliceSink};
///
/// let mut buf = [0u8; 4];
/// let mut sink = SliceSink::new(&mut buf);
/// sink.write(b"abc")?;
/// assert!(sink.write(b"de").is_err());
/// assert_eq!(sink.written(), b"abc");
/// # Ok::<(), qmp_core::encode::BufferFull>(())
/// ```
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceSink<'a> {
    /// A sink that writes into `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// How many bytes have been written.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written yet.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many more bytes fit.
    pub const fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The bytes written so far, for the buffer's whole lifetime.
    pub fn into_written(self) -> &'a [u8] {
        let buf: &'a [u8] = self.buf;
        buf.get(..self.len).unwrap_or_default()
    }
}

impl Sink for SliceSink<'_> {
    type Error = BufferFull;

    fn write(&mut self, bytes: &[u8]) -> Result<(), BufferFull> {
        let end = self.len.checked_add(bytes.len()).ok_or(BufferFull)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(BufferFull)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Appends; a write that does not fit fails with [`BufferFull`] and appends nothing.
impl<const N: usize> Sink for heapless::Vec<u8, N> {
    type Error = BufferFull;

    fn write(&mut self, bytes: &[u8]) -> Result<(), BufferFull> {
        self.extend_from_slice(bytes).map_err(|_| BufferFull)
    }
}

/// A [`Sink`] over any [`embedded_io::Write`] (a UART, a socket, `&mut [u8]`, …).
///
/// Each sink write loops over [`embedded_io::Write::write`] until every byte is taken.
/// It does not use `write_all`, whose default implementation panics when a writer
/// breaks its contract by accepting zero bytes; that case is reported as
/// [`WriteError::WriteZero`] instead. Nothing is buffered here and nothing is flushed:
/// call [`flush`](WriterSink::flush) (or flush the writer) once the message is complete.
#[derive(Debug)]
pub struct WriterSink<W> {
    writer: W,
}

impl<W: embedded_io::Write> WriterSink<W> {
    /// Wrap `writer` (pass `&mut writer` to keep ownership).
    pub const fn new(writer: W) -> Self {
        Self { writer }
    }

    /// The writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer
    }

    /// Flush the writer.
    pub fn flush(&mut self) -> Result<(), WriteError<W::Error>> {
        self.writer.flush().map_err(WriteError::Io)
    }
}

impl<W> Sink for WriterSink<W>
where
    W: embedded_io::Write,
    W::Error: 'static,
{
    type Error = WriteError<W::Error>;

    fn write(&mut self, mut bytes: &[u8]) -> Result<(), Self::Error> {
        while !bytes.is_empty() {
            match self.writer.write(bytes) {
                Ok(0) => return Err(WriteError::WriteZero),
                // A writer claiming more than it was given ends the loop: nothing is left.
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) => return Err(WriteError::Io(e)),
            }
        }
        Ok(())
    }
}

/// Why a [`WriterSink`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteError<E> {
    /// The writer's own error.
    Io(E),
    /// The writer accepted zero bytes of a non-empty write (it is full or closed).
    WriteZero,
}

impl<E: fmt::Display> fmt::Display for WriteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::WriteZero => f.write_str("the writer accepted no bytes"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for WriteError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::WriteZero => None,
        }
    }
}

impl<E: embedded_io::Error + 'static> embedded_io::Error for WriteError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            Self::Io(e) => e.kind(),
            Self::WriteZero => embedded_io::ErrorKind::WriteZero,
        }
    }
}
