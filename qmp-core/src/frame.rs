//! A streaming framer: bytes in any chunking → complete JSON texts out.
//!
//! [`Framer`] stores incoming bytes in a buffer the caller provides (a `&mut [u8]`, an
//! owned `[u8; N]`, or anything that is `AsMut<[u8]>`), runs the [`Scanner`] over each
//! byte once, and hands out each complete top-level JSON text as a [`Frame`] that borrows
//! the buffer. Frames are found by JSON structure alone: compact or pretty-printed output,
//! CRLF, LF, no delimiter at all and several messages per line all frame the same.
//! Whitespace between frames is dropped.
//!
//! # Guarantees
//!
//! - Memory: the caller's buffer plus a fixed-size state (no heap, no recursion).
//! - Any split of the input gives the same frames and errors as the whole input at once.
//! - Every bad region yields exactly one [`FrameError`] saying what, where and how many
//!   bytes were skipped, and the framer resynchronises by itself.
//! - A frame as large as the buffer is handed out whole, even a top-level number or
//!   literal, which ends only at the byte after it (that byte is held in the framer's
//!   state until the frame is out).
//! - A frame larger than the buffer yields [`FrameError::TooLarge`] with its full length;
//!   its bytes are scanned and dropped as they arrive, so the framer stays in step with
//!   the stream in constant memory.
//!
//! # Resynchronisation rule
//!
//! After an error the framer drops bytes until one of:
//!
//! - a `{` that is the first byte of a line (right after an LF): a new message starts
//!   there. QEMU ends every message with CRLF, and its pretty mode indents everything
//!   but the outermost braces, so this is where the next message begins;
//! - a `0xFF` byte, which is dropped: scanning restarts just after it. `0xFF` never occurs
//!   in valid UTF-8; QMP uses it as its "reset the parser" byte;
//! - the end of input ([`Framer::finish`]).
//!
//! With [`ScanConfig::resync_at_any_brace`] (in [`ScanConfig::qmp_server`], for what a
//! server reads), any `{` is a resynchronisation point, not only one at the start of a
//! line: clients send requests back to back, and QEMU too takes up the next request
//! after bad bytes.
//!
//! The byte that revealed the error is examined too, so a message cut short by a new
//! message at the start of a line loses only itself.
//!
//! With [`ScanConfig::line_start_interrupts`] (on by default), a `{` at the start of a line that
//! arrives where an unfinished message expects a nested value is also taken as a new
//! message: the unfinished one is reported as [`ScanErrorKind::Interrupted`]. QEMU never
//! writes such a line inside a message, so this only fires on truncated input; turn it off
//! to frame arbitrary JSON, where `[` LF `{}]` is a valid text.
//!
//! # Example
//!
//! ```
//! use qmp_core::frame::{Framer, FrameError};
//!
//! let mut framer = Framer::new([0u8; 256]);
//! // Partial input: nothing yet. (`push` says how much it took: all of it here, as the
//! // buffer has room; `Framer::feed` pushes any amount.)
//! assert_eq!(framer.push(b"{\"return\": {}, \"id\""), 19);
//! assert!(framer.next().is_none());
//! // The rest, plus an event on the same line and a stray byte.
//! assert_eq!(framer.push(b": 1}\r\n{\"event\": \"STOP\"}#"), 24);
//! let frame = framer.next().unwrap().unwrap();
//! assert_eq!(frame.as_bytes(), b"{\"return\": {}, \"id\": 1}");
//! assert_eq!(frame.offset(), 0);
//! let frame = framer.next().unwrap().unwrap();
//! assert_eq!(frame.as_bytes(), b"{\"event\": \"STOP\"}");
//! assert!(framer.next().is_none());
//! // The stray byte is reported once the framer is back in step.
//! assert_eq!(framer.push(b"\n{\"return\": {}}\r\n"), 17);
//! let err = framer.next().unwrap().unwrap_err();
//! assert!(matches!(err, FrameError::Invalid { start: 42, skipped: 2, .. }));
//! assert_eq!(framer.next().unwrap().unwrap().as_bytes(), b"{\"return\": {}}");
//! ```

use core::fmt;

use crate::describe::{self, Describe};
#[cfg(doc)]
use crate::scan::ScanErrorKind;
use crate::scan::{is_delim, validate_outlined, Outline, ScanConfig, ScanError, Scanner, Step};

/// One complete top-level JSON text, borrowed from the framer's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    bytes: &'a [u8],
    offset: u64,
    /// Where the scanner saw the top-level value's nested containers.
    outline: Outline,
}

impl<'a> Frame<'a> {
    /// Validate `bytes` as exactly one JSON text (surrounding whitespace allowed) and
    /// make it a frame, as a framer would have: for a message that arrives whole (a
    /// line already split off, a test vector). [`offset`](Self::offset) is where the
    /// value starts in `bytes`.
    ///
    /// Like [`RawJson::parse`](crate::json::RawJson::parse), but the frame also carries
    /// where the message's nested members end, which makes
    /// [`Message::parse`](crate::message::Message::parse) cheaper.
    ///
    /// ```
    /// use qmp_core::frame::Frame;
    /// use qmp_core::message::Message;
    ///
    /// let frame = Frame::parse(b" {\"return\": {}, \"id\": 1}\r\n")?;
    /// assert_eq!((frame.offset(), frame.as_bytes()), (1, &br#"{"return": {}, "id": 1}"#[..]));
    /// assert!(matches!(Message::parse(frame), Ok(Message::Return(_))));
    /// # Ok::<(), qmp_core::scan::ScanError>(())
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ScanError> {
        let (span, outline) = validate_outlined(bytes)?;
        Ok(Self {
            offset: span.start as u64,
            bytes: bytes.get(span).unwrap_or_default(),
            outline,
        })
    }

    /// The JSON text, without surrounding whitespace. Always valid strict JSON.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Absolute offset of the first byte in the stream.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// The absolute stream offset of `part`, the bytes of a view taken from this
    /// frame's message (e.g. an event's `data`, or a member inside it); `None` if they
    /// are not a part of this frame. Add the offset of an error that a decoder reports
    /// relative to `part` to place that error in the stream.
    ///
    /// ```
    /// use qmp_core::frame::Frame;
    /// use qmp_core::json::RawJson;
    ///
    /// let frame = Frame::parse(br#"{"event": "STOP", "data": {"reason": 1}}"#)?;
    /// let data = RawJson::from(frame).get("data").unwrap();
    /// assert_eq!(frame.offset_of(data.as_bytes()), Some(26));
    /// # Ok::<(), qmp_core::scan::ScanError>(())
    /// ```
    pub fn offset_of(&self, part: &[u8]) -> Option<u64> {
        let start = part
            .as_ptr()
            .addr()
            .checked_sub(self.bytes.as_ptr().addr())?;
        (start.checked_add(part.len())? <= self.bytes.len()).then_some(self.offset + start as u64)
    }

    /// Where the containers directly inside the value lie, as the scanner saw them.
    pub(crate) const fn outline(&self) -> Outline {
        self.outline
    }

    /// Whether every byte of the frame is ASCII, as the scanner saw on its way (no
    /// second pass over the bytes). Then a byte offset into the frame is also its
    /// UTF-16 offset, which is what JS strings count in.
    ///
    /// ```
    /// use qmp_core::frame::Frame;
    ///
    /// // An escape is ASCII; the character itself is not.
    /// assert!(Frame::parse(br#"{"event": "STOP", "data": {"name": "caf\u00e9"}}"#)?.is_ascii());
    /// assert!(!Frame::parse("{\"event\": \"STOP\", \"data\": {\"name\": \"café\"}}".as_bytes())?.is_ascii());
    /// # Ok::<(), qmp_core::scan::ScanError>(())
    /// ```
    pub const fn is_ascii(&self) -> bool {
        !self.outline.non_ascii()
    }

    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a JSON text has at least one byte.
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Move `buf[from..to]` to the start of `buf`, in runs no longer than the gap `from`,
/// so that each run is a non-overlapping copy. `copy_within` would do it in one call to
/// `memmove`, which nothing else in a firmware image needs and which costs 1.5 KB of
/// `.text` on Cortex-M; runs of `copy_from_slice` use the `memcpy` that every image
/// has. Compaction happens only when a message has to wait for more room, and its gap
/// is the bytes of the messages already handed out.
fn move_to_front(buf: &mut [u8], from: usize, to: usize) {
    let mut src = from;
    while src < to && from > 0 {
        let n = (to - src).min(from);
        let (front, back) = buf.split_at_mut(src);
        if let (Some(dst), Some(run)) = (front.get_mut(src - from..src - from + n), back.get(..n)) {
            dst.copy_from_slice(run);
        }
        src += n;
    }
}

/// Bad input found by the [`Framer`]. Each bad region of the stream gives exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameError {
    /// Bytes that are not valid JSON. The region `start .. start + skipped` was dropped.
    Invalid {
        /// What was wrong and where it was found.
        error: ScanError,
        /// Absolute offset where the dropped region begins: the start of the message that
        /// contained the error, or the first stray byte between messages.
        start: u64,
        /// How many bytes were dropped, up to where the framer resynchronised.
        skipped: u64,
    },
    /// A valid JSON text larger than the buffer. It was scanned and dropped whole.
    TooLarge {
        /// Absolute offset of its first byte.
        start: u64,
        /// Its length in bytes.
        len: u64,
    },
}

impl FrameError {
    /// Absolute offset where the dropped region begins.
    pub const fn start(&self) -> u64 {
        match *self {
            Self::Invalid { start, .. } | Self::TooLarge { start, .. } => start,
        }
    }

    /// How many bytes were dropped.
    pub const fn skipped(&self) -> u64 {
        match *self {
            Self::Invalid { skipped, .. } => skipped,
            Self::TooLarge { len, .. } => len,
        }
    }

    /// The syntax error, if this is one.
    pub const fn scan_error(&self) -> Option<ScanError> {
        match *self {
            Self::Invalid { error, .. } => Some(error),
            Self::TooLarge { .. } => None,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe::display(self, f)
    }
}

impl Describe for FrameError {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        match *self {
            Self::Invalid {
                error,
                start,
                skipped,
            } => {
                error.describe(out);
                out("; skipped ");
                describe::decimal(skipped, out);
                out(" bytes from byte ");
                describe::decimal(start, out);
                out(" to resynchronise");
            }
            Self::TooLarge { start, len } => {
                out("message of ");
                describe::decimal(len, out);
                out(" bytes at byte ");
                describe::decimal(start, out);
                out(" is larger than the buffer; skipped");
            }
        }
    }
}

impl core::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Invalid { error, .. } => Some(error),
            Self::TooLarge { .. } => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Frames are kept in the buffer.
    Normal,
    /// The current frame outgrew the buffer: scanned bytes are dropped.
    Oversize { start: u64 },
    /// The buffer is full with a top-level number or literal that is complete so far
    /// ([`Scanner::ends_at_delimiter`]): the next byte decides whether it ends there (a
    /// delimiter, which is not part of it) or outgrows the buffer. That byte is received
    /// into `lookahead` instead of the buffer.
    Full,
    /// After an error: bytes are dropped until a resync point. `lf` tells whether the
    /// previous byte was an LF.
    Recover {
        error: ScanError,
        start: u64,
        lf: bool,
    },
}

/// A streaming framer over a caller-provided buffer. See the [module docs](self).
///
/// The buffer size is the largest frame that can be handed out: a frame exactly as large
/// as the buffer comes out whole, larger ones are reported and skipped. `B` is anything
/// that derefs to a byte slice: `[u8; N]`, `&mut [u8]`, or with `std` a `Vec<u8>`.
///
/// Feed with [`push`](Framer::push) (copying) or [`spare_mut`](Framer::spare_mut) +
/// [`commit`](Framer::commit) (reading straight into the buffer), then call
/// [`next`](Framer::next) until it returns `None` before feeding again. Once `next` has
/// returned `None`, the framer always has room for at least one more byte: `push` takes
/// at least one and `spare_mut` is not empty.
#[derive(Clone, Debug)]
pub struct Framer<B> {
    buf: B,
    scanner: Scanner,
    /// Start of the bytes still needed (the current frame, or unscanned bytes).
    head: usize,
    /// End of the scanned bytes.
    pos: usize,
    /// End of the received bytes.
    tail: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    mode: Mode,
    /// End of input was signalled.
    eof: bool,
    /// Whether `lookahead` holds a received byte, the one after `buf[tail - 1]`.
    held: bool,
    /// Where the byte after a full buffer goes in [`Mode::Full`].
    lookahead: [u8; 1],
    /// Whether `next` handed out a frame last and nothing has happened since: the frame
    /// is then still `buf[value_start - base .. head]`, with the scanner's outline.
    last: bool,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Framer<B> {
    /// A framer over `buf` with the QMP defaults ([`ScanConfig::qmp`]).
    ///
    /// # Panics
    ///
    /// If `buf` is empty.
    pub fn new(buf: B) -> Self {
        Self::with_config(buf, ScanConfig::qmp())
    }

    /// A framer over `buf` with the given settings.
    ///
    /// # Panics
    ///
    /// If `buf` is empty: such a framer could never take a byte.
    pub fn with_config(buf: B, config: ScanConfig) -> Self {
        assert!(
            !buf.as_ref().is_empty(),
            "a Framer needs a non-empty buffer"
        );
        Self {
            buf,
            scanner: Scanner::with_config(config),
            head: 0,
            pos: 0,
            tail: 0,
            base: 0,
            mode: Mode::Normal,
            eof: false,
            held: false,
            lookahead: [0],
            last: false,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> ScanConfig {
        self.scanner.config()
    }

    /// The buffer size: the largest frame that can be handed out.
    pub fn capacity(&self) -> usize {
        self.buf.as_ref().len()
    }

    /// Absolute offset of the next byte to be received.
    pub fn offset(&self) -> u64 {
        self.base + self.tail as u64 + u64::from(self.held)
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// Start over as for a new connection: drop everything buffered and count offsets
    /// from 0 again.
    pub fn reset(&mut self) {
        self.last = false;
        self.scanner.reset(0, b'\n');
        self.head = 0;
        self.pos = 0;
        self.tail = 0;
        self.base = 0;
        self.mode = Mode::Normal;
        self.eof = false;
        self.held = false;
    }

    /// Whether bytes are received aside ([`Mode::Full`]) rather than into the buffer, or
    /// not at all while a byte is held: `next` deals with that one first.
    fn aside(&self) -> bool {
        self.held || matches!(self.mode, Mode::Full)
    }

    /// Move the bytes still needed to the front of the buffer when that frees room.
    fn compact(&mut self, wanted: usize) {
        let cap = self.capacity();
        if self.head == self.tail {
            self.base += self.tail as u64;
            self.head = 0;
            self.pos = 0;
            self.tail = 0;
        } else if self.head > 0 && cap - self.tail < wanted {
            move_to_front(self.buf.as_mut(), self.head, self.tail);
            self.base += self.head as u64;
            self.pos -= self.head;
            self.tail -= self.head;
            self.head = 0;
        }
    }

    /// Copy as much of `data` as fits into the buffer and return how many bytes were
    /// taken. Returns less than `data.len()` when the buffer is full: call
    /// [`next`](Framer::next) until `None`, then push the rest. [`feed`](Self::feed)
    /// does that loop for you.
    #[must_use = "push may take only part of the input: push the rest after draining next()"]
    pub fn push(&mut self, data: &[u8]) -> usize {
        self.last = false;
        if self.aside() {
            // One byte into `lookahead`, or none while one is held there.
            return match data.first() {
                Some(&byte) if !self.held => {
                    self.lookahead[0] = byte;
                    self.held = true;
                    self.eof = false;
                    1
                }
                _ => 0,
            };
        }
        self.compact(data.len());
        let spare = self.spare_slice();
        let n = spare.len().min(data.len());
        spare[..n].copy_from_slice(&data[..n]);
        self.tail += n;
        if n > 0 {
            self.eof = false;
        }
        n
    }

    fn spare_slice(&mut self) -> &mut [u8] {
        let tail = self.tail;
        &mut self.buf.as_mut()[tail..]
    }

    /// The free end of the buffer, to read into directly. Follow with
    /// [`commit`](Framer::commit). (While the buffer is full with a top-level number or
    /// literal, this is a one-byte slot in the framer for the byte that decides whether
    /// it ends there.)
    pub fn spare_mut(&mut self) -> &mut [u8] {
        self.last = false;
        if self.aside() {
            let n = usize::from(!self.held);
            return &mut self.lookahead[..n];
        }
        let cap = self.capacity();
        self.compact(cap / 2);
        self.spare_slice()
    }

    /// Mark `n` bytes written into [`spare_mut`](Framer::spare_mut) as received. `n` is
    /// capped at the spare length.
    pub fn commit(&mut self, n: usize) {
        self.last = false;
        if self.aside() {
            if n > 0 && !self.held {
                self.held = true;
                self.eof = false;
            }
            return;
        }
        let n = n.min(self.capacity() - self.tail);
        self.tail += n;
        if n > 0 {
            self.eof = false;
        }
    }

    /// Push all of `data`, handing every frame and error it completes to `on_item` as
    /// soon as it is found: the [`push`](Self::push) / [`next`](Self::next) loop, for
    /// any length of `data` and any buffer size. At the end of the stream, call
    /// [`finish`](Self::finish) and then [`drain`](Self::drain).
    ///
    /// ```
    /// use qmp_core::frame::{Frame, FrameError, Framer};
    ///
    /// // A small buffer and a long input: feed takes it all.
    /// let input = b"{\"return\": {}, \"id\": 1}\r\n".repeat(100);
    /// let mut framer = Framer::new([0u8; 64]);
    /// let (mut frames, mut errors) = (0, 0);
    /// let mut count = |item: Result<Frame<'_>, FrameError>| match item {
    ///     Ok(_frame) => frames += 1,
    ///     Err(_error) => errors += 1,
    /// };
    /// framer.feed(&input, &mut count);
    /// framer.finish();
    /// framer.drain(&mut count);
    /// assert_eq!((frames, errors), (100, 0));
    /// ```
    pub fn feed(
        &mut self,
        mut data: &[u8],
        mut on_item: impl FnMut(Result<Frame<'_>, FrameError>),
    ) {
        loop {
            let n = self.push(data);
            data = &data[n..];
            self.drain(&mut on_item);
            if data.is_empty() {
                return;
            }
        }
    }

    /// Hand every frame and error that is complete to `on_item`, until
    /// [`next`](Self::next) needs more input.
    pub fn drain(&mut self, mut on_item: impl FnMut(Result<Frame<'_>, FrameError>)) {
        while let Some(item) = self.next() {
            on_item(item);
        }
    }

    /// Signal the end of input: a pending top-level number or literal completes, an
    /// unfinished message becomes an [`ScanErrorKind::UnexpectedEnd`] error. Call
    /// [`next`](Framer::next) until `None` afterwards. Pushing more bytes continues the
    /// stream.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The frame that [`next`](Self::next) handed out last, again, as long as nothing
    /// has been done to the framer since (any `&mut` call forgets it); `None` otherwise,
    /// or when the last item was an error.
    ///
    /// For drivers that look for one message in a loop of `next` calls and return it
    /// borrowed: the borrow checker does not let a loop return a borrow that it
    /// otherwise gives up to call `next` again, so the loop stops at the message and
    /// takes it back here.
    ///
    /// ```
    /// use qmp_core::frame::Framer;
    ///
    /// let mut framer = Framer::new([0u8; 64]);
    /// assert_eq!(framer.push(b"{\"return\": {}}"), 14);
    /// assert!(framer.last().is_none());
    /// assert!(framer.next().is_some());
    /// assert_eq!(framer.last().map(|f| f.as_bytes()), Some(&b"{\"return\": {}}"[..]));
    /// assert!(framer.next().is_none());
    /// assert!(framer.last().is_none());
    /// ```
    pub fn last(&self) -> Option<Frame<'_>> {
        if !self.last {
            return None;
        }
        let offset = self.scanner.value_start();
        let start = usize::try_from(offset.checked_sub(self.base)?).ok()?;
        Some(Frame {
            bytes: self.buf.as_ref().get(start..self.head)?,
            offset,
            outline: self.scanner.outline(),
        })
    }

    /// The next frame or error, or `None` when more input is needed.
    #[allow(clippy::should_implement_trait)] // a lending iterator: frames borrow `self`
    pub fn next(&mut self) -> Option<Result<Frame<'_>, FrameError>> {
        self.last = false;
        if self.held && self.place_held() {
            return Some(self.complete());
        }
        loop {
            if let Mode::Recover { error, start, lf } = self.mode {
                match self.resync(start, lf) {
                    Some(at) => {
                        let err = self.end_recovery(error, start, at);
                        return Some(Err(err));
                    }
                    None if self.eof => {
                        let at = self.base + self.tail as u64;
                        self.scanner.reset(at, b'\n');
                        return Some(Err(self.end_recovery(error, start, at)));
                    }
                    None => return None,
                }
            }
            let (used, step) = self.scanner.scan(&self.buf.as_ref()[self.pos..self.tail]);
            self.pos += used;
            match step {
                Step::Complete => return Some(self.complete()),
                Step::Error(error) => self.begin_recovery(error),
                Step::NeedMore if self.eof => {
                    return match self.scanner.finish() {
                        Ok(true) => {
                            if let Mode::Full = self.mode {
                                self.mode = Mode::Normal;
                            }
                            Some(self.complete())
                        }
                        Ok(false) => {
                            self.head = self.pos;
                            None
                        }
                        Err(error) => {
                            let start = self.region_start();
                            self.mode = Mode::Normal;
                            self.scanner.reset(self.base + self.tail as u64, b'\n');
                            self.head = self.tail;
                            self.pos = self.tail;
                            let skipped = self.base + self.tail as u64 - start;
                            Some(Err(FrameError::Invalid {
                                error,
                                start,
                                skipped,
                            }))
                        }
                    };
                }
                Step::NeedMore => {
                    if self.scanner.is_idle() {
                        self.head = self.pos;
                    } else if let Mode::Normal = self.mode {
                        self.head = (self.scanner.value_start() - self.base) as usize;
                        if self.head == 0 && self.tail == self.capacity() {
                            self.mode = if self.scanner.ends_at_delimiter() {
                                Mode::Full
                            } else {
                                Mode::Oversize {
                                    start: self.scanner.value_start(),
                                }
                            };
                        }
                    }
                    if let Mode::Oversize { .. } = self.mode {
                        self.head = self.pos;
                    }
                    return None;
                }
            }
        }
    }

    /// Deal with the byte held in `lookahead`. In [`Mode::Full`], a delimiter ends the
    /// number or literal that fills the buffer: returns true, the frame is complete and
    /// the byte stays aside until it has been handed out. Any other byte continues the
    /// value (or is an error in it), which is then too large after all. Otherwise, or
    /// once the frame is out, the buffer holds nothing still needed: the byte goes to its
    /// front, to be scanned as if it had been received there.
    #[cold]
    fn place_held(&mut self) -> bool {
        if let Mode::Full = self.mode {
            if is_delim(self.lookahead[0]) && self.scanner.end_scalar() {
                self.mode = Mode::Normal;
                return true;
            }
            self.mode = Mode::Oversize {
                start: self.scanner.value_start(),
            };
        }
        // Nothing in the buffer is needed any more (`head == pos == tail`): start it
        // afresh with the byte.
        self.base += self.tail as u64;
        self.buf.as_mut()[0] = self.lookahead[0];
        self.head = 0;
        self.pos = 0;
        self.tail = 1;
        self.held = false;
        false
    }

    /// A value just completed at `self.pos`.
    fn complete(&mut self) -> Result<Frame<'_>, FrameError> {
        let end = self.pos;
        self.head = end;
        if let Mode::Oversize { start } = self.mode {
            self.mode = Mode::Normal;
            return Err(FrameError::TooLarge {
                start,
                len: self.base + end as u64 - start,
            });
        }
        let offset = self.scanner.value_start();
        let start = (offset - self.base) as usize;
        self.last = true;
        Ok(Frame {
            bytes: &self.buf.as_ref()[start..end],
            offset,
            outline: self.scanner.outline(),
        })
    }

    /// Where the region dropped for the current error begins.
    fn region_start(&self) -> u64 {
        match self.mode {
            Mode::Oversize { start } => start,
            _ => self.scanner.value_start(),
        }
    }

    fn begin_recovery(&mut self, error: ScanError) {
        let start = self.region_start();
        // The offending byte was not consumed: it starts a line when the last byte the
        // scanner consumed was an LF.
        let lf = self.scanner.last_byte() == b'\n';
        self.mode = Mode::Recover { error, start, lf };
    }

    /// Look for a resync point from `self.pos`; on success return its absolute offset,
    /// with the scanner reset there. Dropped bytes are released.
    fn resync(&mut self, start: u64, mut lf: bool) -> Option<u64> {
        let any_brace = self.scanner.config().resync_at_any_brace;
        let bytes = &self.buf.as_ref()[self.pos..self.tail];
        for (i, &b) in bytes.iter().enumerate() {
            let at = self.pos + i;
            if b == 0xFF {
                let resume = self.base + at as u64 + 1;
                self.pos = at + 1;
                self.head = self.pos;
                self.scanner.reset(resume, 0xFF);
                return Some(resume);
            }
            // The offending byte itself can start the next message, unless it is also the
            // start of the bad region: every error must skip at least one byte.
            if b == b'{' && (lf || any_brace) && self.base + at as u64 > start {
                let resume = self.base + at as u64;
                self.pos = at;
                self.head = at;
                self.scanner.reset(resume, b'\n');
                return Some(resume);
            }
            lf = b == b'\n';
        }
        self.pos = self.tail;
        self.head = self.tail;
        if let Mode::Recover { lf: ref mut l, .. } = self.mode {
            *l = lf;
        }
        None
    }

    fn end_recovery(&mut self, error: ScanError, start: u64, at: u64) -> FrameError {
        self.mode = Mode::Normal;
        FrameError::Invalid {
            error,
            start,
            skipped: at - start,
        }
    }
}

#[cfg(test)]
mod tests;
