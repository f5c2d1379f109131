//! `Decoder`: websocket bytes in, QMP messages out, in batches.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::json::{JsonStr, RawJson};
use qmp_core::message::{ErrorClass, Message};
use wasm_bindgen::prelude::*;

use crate::error;
use crate::js::{JsArray, JsErrors};

/// The layout of one item in the batch's records ([`Decoder::records`]):
/// [`record::STRIDE`] numbers per item. Offsets are UTF-16 indexes into the batch text
/// ([`Decoder::text`]) decoded to a JS string, as `String.prototype.slice` takes them;
/// `-1` where an item has no such part.
pub mod record {
    /// Numbers per item.
    pub const STRIDE: usize = 12;
    /// The item's kind: one of the `KIND_*` values.
    pub const KIND: usize = 0;
    /// The message's whole JSON text: start, end.
    pub const TEXT: usize = 1;
    /// The event name, the error class or the request's command name (unescaped).
    pub const NAME: usize = 3;
    /// The id's JSON text.
    pub const ID: usize = 5;
    /// The payload's JSON text: the greeting's `QMP` object, the `return` value, the
    /// `error` object, the event's `data`, the request's `arguments`.
    pub const PAYLOAD: usize = 7;
    /// For an error reply, its `desc` (unescaped): start, end. For an event, its
    /// timestamp: seconds, microseconds.
    pub const EXTRA: usize = 9;
    /// The stream offset of the message's first byte; for `KIND_FAULT`, the index of the
    /// JS error in [`Decoder::take_errors`](super::Decoder::take_errors).
    pub const OFFSET: usize = 11;

    /// The greeting.
    pub const KIND_GREETING: f64 = 0.0;
    /// A success reply.
    pub const KIND_RETURN: f64 = 1.0;
    /// An error reply.
    pub const KIND_ERROR: f64 = 2.0;
    /// An event.
    pub const KIND_EVENT: f64 = 3.0;
    /// A request (what a client sends; seen when decoding the other direction).
    pub const KIND_REQUEST: f64 = 4.0;
    /// Bytes the decoder had to skip, or JSON that is not QMP: a JS error.
    pub const KIND_FAULT: f64 = 5.0;
}

/// The default buffer: the largest message handed out (QEMU's `query-qmp-schema` reply
/// is 236 KB).
const DEFAULT_BUFFER: usize = 1 << 20;

/// Decodes a QMP byte stream pushed in chunks of any size.
///
/// After each [`push`](Self::push), the messages completed by it (and the errors for
/// bytes that had to be skipped) wait in one batch until [`clear`](Self::clear): its
/// text, as UTF-8 ([`text`](Self::text)), a table of [`record::STRIDE`] numbers per item
/// ([`records`](Self::records)) and the JS errors ([`take_errors`](Self::take_errors)).
/// The npm package's `Decoder` reads the text and the records in place, through views
/// of the WebAssembly memory ([`text_ptr`](Self::text_ptr) and the like: no copy on
/// the way out), and turns a batch into message objects; the layout is in [`record`].
///
/// ```
/// use qmp_wasm::{record, Decoder};
///
/// let mut decoder = Decoder::new(None);
/// assert_eq!(decoder.push(b"{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"mic"), 0);
/// assert_eq!(decoder.push(b"roseconds\": 2}}\r\n{\"return\": {}, \"id\": 7}\r\n"), 2);
/// let (text, r) = (decoder.text(), decoder.records());
/// let part = |at: usize| &text[r[at] as usize..r[at + 1] as usize];
/// assert_eq!(r[record::KIND], record::KIND_EVENT);
/// assert_eq!(part(record::NAME), b"STOP");
/// assert_eq!(r[record::STRIDE + record::KIND], record::KIND_RETURN);
/// assert_eq!(part(record::STRIDE + record::ID), b"7");
/// decoder.clear();
/// assert!(decoder.records().is_empty());
/// ```
#[wasm_bindgen]
pub struct Decoder {
    framer: Framer<Vec<u8>>,
    batch: Batch,
}

#[derive(Default)]
struct Batch {
    /// UTF-8 (every frame was checked by the scanner; appended strings are `&str`s).
    text: Vec<u8>,
    /// `text`'s length in UTF-16 units.
    utf16: usize,
    records: Vec<f64>,
    errors: JsErrors,
    count: u32,
}

#[wasm_bindgen]
impl Decoder {
    /// A decoder whose messages may be up to `max_message` bytes (1 MiB by default).
    /// A larger message is skipped and reported as a `FramingError` (`too-large`).
    #[wasm_bindgen(constructor)]
    pub fn new(max_message: Option<u32>) -> Decoder {
        let size = max_message.map_or(DEFAULT_BUFFER, |n| (n as usize).max(1));
        Decoder {
            framer: Framer::new(vec![0; size]),
            batch: Batch::default(),
        }
    }

    /// Take a chunk of the stream. Returns how many items (messages and errors) the
    /// current batch holds.
    pub fn push(&mut self, chunk: &[u8]) -> u32 {
        let Self { framer, batch } = self;
        framer.feed(chunk, |item| batch.add(item));
        batch.count
    }

    /// The stream ended: complete what only the end completes (a bare number) and
    /// report a message cut short. Returns the batch's item count. The decoder may then
    /// take a new stream (offsets go on).
    pub fn finish(&mut self) -> u32 {
        let Self { framer, batch } = self;
        framer.finish();
        framer.drain(|item| batch.add(item));
        batch.count
    }

    /// The stream offset of the next byte to be pushed.
    #[wasm_bindgen(getter)]
    pub fn offset(&self) -> f64 {
        self.framer.offset() as f64
    }

    /// Where the batch's text (UTF-8) lies in the WebAssembly memory: read it through a
    /// view (`new Uint8Array(memory.buffer, textPtr, textLen)`) before the next call.
    #[wasm_bindgen(js_name = textPtr)]
    pub fn text_ptr(&self) -> *const u8 {
        self.batch.text.as_ptr()
    }

    /// The batch's text length in bytes.
    #[wasm_bindgen(js_name = textLen)]
    pub fn text_len(&self) -> usize {
        self.batch.text.len()
    }

    /// Where the batch's records lie in the WebAssembly memory (8-byte aligned `f64`s).
    #[wasm_bindgen(js_name = recordsPtr)]
    pub fn records_ptr(&self) -> *const f64 {
        self.batch.records.as_ptr()
    }

    /// How many numbers the batch's records hold ([`record::STRIDE`] per item).
    #[wasm_bindgen(js_name = recordsLen)]
    pub fn records_len(&self) -> usize {
        self.batch.records.len()
    }

    /// Empty the batch (its memory is kept for the next one).
    pub fn clear(&mut self) {
        self.batch.text.clear();
        self.batch.utf16 = 0;
        self.batch.records.clear();
        self.batch.errors.clear();
        self.batch.count = 0;
    }

    /// The batch's JS errors, indexed by the `KIND_FAULT` records.
    #[wasm_bindgen(js_name = takeErrors)]
    pub fn take_errors(&mut self) -> JsArray {
        self.batch.errors.take()
    }
}

/// The batch, read from Rust.
impl Decoder {
    /// The batch's text, UTF-8.
    pub fn text(&self) -> &[u8] {
        &self.batch.text
    }

    /// The batch's records ([`record`]).
    pub fn records(&self) -> &[f64] {
        &self.batch.records
    }
}

/// The WebAssembly memory, for the views the npm package reads batches through.
#[wasm_bindgen(js_name = batchMemory)]
pub fn memory() -> JsValue {
    wasm_bindgen::memory()
}

impl Batch {
    fn add(&mut self, item: Result<Frame<'_>, FrameError>) {
        self.count += 1;
        match item {
            Ok(frame) => match Message::parse(frame) {
                Ok(message) => self.message(frame, message),
                Err(e) => self.fault(error::not_qmp(&e)),
            },
            Err(e) => self.fault(error::framing(&e)),
        }
    }

    fn fault(&mut self, error: JsValue) {
        let mut record = [-1.0; record::STRIDE];
        record[record::KIND] = record::KIND_FAULT;
        record[record::OFFSET] = f64::from(self.errors.push(&error));
        self.records.extend_from_slice(&record);
    }

    fn message(&mut self, frame: Frame<'_>, message: Message<'_>) {
        let bytes = frame.as_bytes();
        let place = Place {
            frame: bytes,
            base: self.utf16,
            ascii: frame.is_ascii(),
        };
        self.text.extend_from_slice(bytes);
        self.utf16 += place.units();
        let mut r = [-1.0; record::STRIDE];
        r[record::TEXT] = place.base as f64;
        r[record::TEXT + 1] = self.utf16 as f64;
        r[record::OFFSET] = frame.offset() as f64;
        let set = |r: &mut [f64; record::STRIDE], at: usize, part: Option<RawJson<'_>>| {
            if let Some(part) = part {
                (r[at], r[at + 1]) = place.span(part.as_bytes());
            }
        };
        match message {
            Message::Greeting(_) => {
                r[record::KIND] = record::KIND_GREETING;
                set(&mut r, record::PAYLOAD, RawJson::from(frame).get("QMP"));
            }
            Message::Return(ret) => {
                r[record::KIND] = record::KIND_RETURN;
                set(&mut r, record::ID, ret.id);
                set(&mut r, record::PAYLOAD, Some(ret.value));
            }
            Message::Error(err) => {
                r[record::KIND] = record::KIND_ERROR;
                set(&mut r, record::ID, err.id);
                set(&mut r, record::PAYLOAD, Some(err.object));
                (r[record::NAME], r[record::NAME + 1]) = match err.class {
                    ErrorClass::Other(name) => self.string(name, &place),
                    known => self.append(known.name()),
                };
                (r[record::EXTRA], r[record::EXTRA + 1]) = self.string(err.desc, &place);
            }
            Message::Event(event) => {
                r[record::KIND] = record::KIND_EVENT;
                (r[record::NAME], r[record::NAME + 1]) = self.string(event.name, &place);
                set(&mut r, record::PAYLOAD, event.data);
                r[record::EXTRA] = event.timestamp.seconds as f64;
                r[record::EXTRA + 1] = event.timestamp.microseconds as f64;
            }
            Message::Request(request) => {
                r[record::KIND] = record::KIND_REQUEST;
                (r[record::NAME], r[record::NAME + 1]) = self.string(request.name, &place);
                set(&mut r, record::ID, request.id);
                set(&mut r, record::PAYLOAD, request.arguments);
            }
        }
        self.records.extend_from_slice(&r);
    }

    /// A JSON string's unescaped text: where it lies in the frame when it has no
    /// escapes, else appended to the batch text.
    fn string(&mut self, s: JsonStr<'_>, place: &Place<'_>) -> (f64, f64) {
        if s.has_escapes() {
            let unescaped: String = s.chars().collect();
            self.append(&unescaped)
        } else {
            place.span(s.raw_bytes())
        }
    }

    fn append(&mut self, s: &str) -> (f64, f64) {
        let start = self.utf16;
        self.text.extend_from_slice(s.as_bytes());
        self.utf16 += if s.is_ascii() {
            s.len()
        } else {
            utf16_len(s.as_bytes())
        };
        (start as f64, self.utf16 as f64)
    }
}

/// Where a frame lies in the batch text, to place its parts there.
struct Place<'a> {
    frame: &'a [u8],
    /// The frame's start in the batch text, in UTF-16 units.
    base: usize,
    /// Whether the frame is ASCII, so that bytes and UTF-16 units count alike.
    ascii: bool,
}

impl Place<'_> {
    /// The frame's length in UTF-16 units.
    fn units(&self) -> usize {
        if self.ascii {
            self.frame.len()
        } else {
            utf16_len(self.frame)
        }
    }

    /// Where `part`, bytes of this frame, lies in the batch text: start, end.
    #[inline]
    fn span(&self, part: &[u8]) -> (f64, f64) {
        let start = part.as_ptr().addr() - self.frame.as_ptr().addr();
        if self.ascii {
            (
                (self.base + start) as f64,
                (self.base + start + part.len()) as f64,
            )
        } else {
            self.span_non_ascii(start, part.len())
        }
    }

    #[cold]
    #[inline(never)]
    fn span_non_ascii(&self, start: usize, len: usize) -> (f64, f64) {
        let before = utf16_len(self.frame.get(..start).unwrap_or_default());
        let len = utf16_len(self.frame.get(start..start + len).unwrap_or_default());
        let start = self.base + before;
        (start as f64, (start + len) as f64)
    }
}

/// The length in UTF-16 units of valid UTF-8: one unit per character, two for those
/// beyond the BMP (four-byte sequences).
fn utf16_len(utf8: &[u8]) -> usize {
    utf8.iter()
        .map(|&b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}
