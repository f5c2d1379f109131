//! Fuzz entry points, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, one
//! line each) and by plain `cargo test` (the unit tests below and
//! `tests/fuzz_regressions.rs`, which replays every committed crash regression). Not a
//! stable API.
//!
//! Each function takes raw fuzzer bytes, runs part of the crate on them and panics when a
//! guarantee is broken — that is what the fuzzer looks for — and on nothing else. Like the
//! rest of the crate it allocates nothing: every buffer is on the stack, sized below.
//!
//! | function | what it checks |
//! |---|---|
//! | [`frame_chunks`] | the same bytes framed whole and in fuzzer-chosen chunks (copied or read in through `spare_mut`/`commit`, with `finish` at chosen points, buffers of 1 to 4096 bytes) give exactly the same frames and errors, compared item by item with two framers in lockstep; every frame is the input at its offset, every byte is in a frame, an error region or whitespace between them |
//! | [`json_differential`] | `validate` and every frame agree with a reference JSON parser (serde_json in the targets) |
//! | [`message_roundtrip`] | parse → encode → frame → parse gives an equal message; the encoding is compact and ASCII-only, fits an exact buffer and reports `BufferFull` in a short one; `parse_request` agrees with `Message::parse` |
//! | [`encode_arbitrary`] | arbitrary messages (names, ids, raw and `Serialize` payloads built from the bytes) encode to compact ASCII JSON that validates, that the reference accepts, and that parses back equal; the serializer agrees with the reference serializer; every refusal has a cause |
//! | [`typed_events`] | typed events, command replies, introspection views over every array, and a `SpiceSessions<4>` tracker fed every SPICE event: no panic, decoded values equal the raw members, the tracker stays bounded and consistent |
//!
//! The reference parser and serializer come in as arguments, because this crate cannot
//! depend on them:
//!
//! - `reference(bytes) -> Option<bool>`: whether `bytes` is exactly one JSON text, or
//!   `None` where the reference cannot judge (an RFC 8259 implementation-defined limit
//!   that the project documents, such as nesting beyond 1024 levels);
//! - `render(tree, buf) -> Option<usize>`: the reference serializer's JSON for a
//!   [`Tree`] written into `buf`, or `None` if it refuses the value.

use core::cell::Cell;

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use crate::encode::{self, BufferFull, EmptyObject, EncodeError, Id, Ser, SliceSink, Text};
use crate::frame::{Frame, FrameError, Framer};
use crate::json::{JsonStr, Kind, RawJson};
use crate::message::{self, ErrorClass, Message, QemuVersion, Timestamp, Version};
use crate::scan::ScanConfig;
use crate::scan::{validate, Outline};
use crate::schema::commands::{
    Command, QueryCommands, QueryName, QueryQmpSchema, QuerySpice, QueryStatus, QueryVersion,
    QueryVnc,
};
use crate::schema::events::{Event as TypedEvent, EVENT_NAMES};
use crate::schema::spice::{SpiceError, SpiceOutcome, SpiceSessions, HOST_MAX, PORT_MAX};
use crate::schema::{FromJson, Schema};

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `bytes`, known to be valid JSON, as a [`RawJson`] (only the public API is used here,
/// so that these checks do not depend on the crate's internals).
fn json(bytes: &[u8]) -> RawJson<'_> {
    RawJson::parse(bytes).expect("valid JSON")
}

/// The JSON string token `token` (quotes included), known to be valid.
fn json_str(token: &[u8]) -> JsonStr<'_> {
    json(token).as_json_str().expect("a JSON string")
}

/// The valid UTF-8 prefix of `bytes`.
fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Feed all of `data` to `framer`, then finish, and hand every frame to `f`.
fn for_each_frame<B: AsRef<[u8]> + AsMut<[u8]>>(
    framer: &mut Framer<B>,
    mut data: &[u8],
    mut f: impl FnMut(Frame<'_>),
) {
    let mut finished = false;
    loop {
        while let Some(item) = framer.next() {
            if let Ok(frame) = item {
                f(frame);
            }
        }
        if data.is_empty() {
            if finished {
                return;
            }
            framer.finish();
            finished = true;
            continue;
        }
        let n = framer.push(data);
        assert!(n > 0, "push took nothing after next() returned None");
        data = &data[n..];
    }
}

/// A token of a valid JSON text: insignificant whitespace is skipped.
#[derive(Clone, Copy, Debug)]
enum Token<'a> {
    /// `{ } [ ] : ,`
    Punct(u8),
    /// A string, still escaped.
    Str(JsonStr<'a>),
    /// A number or literal, as written.
    Scalar(&'a [u8]),
}

/// The tokens of a valid JSON text, to compare texts by meaning rather than by bytes.
struct Tokens<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let b = self.bytes;
        while b.get(self.pos).is_some_and(|&c| is_ws(c)) {
            self.pos += 1;
        }
        let start = self.pos;
        let first = *b.get(start)?;
        match first {
            b'"' => {
                let mut i = start + 1;
                while let Some(&c) = b.get(i) {
                    match c {
                        b'"' => break,
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                self.pos = (i + 1).min(b.len());
                let token = b.get(start..self.pos).unwrap_or_default();
                Some(Token::Str(json_str(token)))
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                self.pos += 1;
                Some(Token::Punct(first))
            }
            _ => {
                let mut i = start;
                while b
                    .get(i)
                    .is_some_and(|&c| !is_ws(c) && !b"{}[]:,\"".contains(&c))
                {
                    i += 1;
                }
                self.pos = i;
                Some(Token::Scalar(&b[start..i]))
            }
        }
    }
}

fn is_number(s: &[u8]) -> bool {
    s.first().is_some_and(|&c| c == b'-' || c.is_ascii_digit())
}

/// Two scalars mean the same: the same text, or numbers of the same `f64` value when one
/// of them is not an integer (serializers lay floats out differently: `1e16`, `1e+16`),
/// or with `f32`, of the same `f32` value.
fn scalar_eq(a: &[u8], b: &[u8], f32: bool) -> bool {
    if a == b {
        return true;
    }
    let integer = |s: &[u8]| !s.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
    if !is_number(a) || !is_number(b) || (integer(a) && integer(b)) {
        return false;
    }
    let parse = |s: &[u8]| utf8_prefix(s).parse::<f64>().ok();
    let parse32 = |s: &[u8]| utf8_prefix(s).parse::<f32>().ok();
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
        || (f32 && matches!((parse32(a), parse32(b)), (Some(x), Some(y)) if x == y))
}

fn str_eq(a: JsonStr<'_>, b: JsonStr<'_>) -> bool {
    a.chars().eq(b.chars())
}

/// Whether two valid JSON texts have the same meaning: the same structure, member order
/// and escapes aside (strings are compared decoded).
fn json_eq(a: &[u8], b: &[u8]) -> bool {
    json_eq_f32(a, b, false)
}

/// [`json_eq`], with non-integer numbers also equal when they are the same `f32`.
fn json_eq_f32(a: &[u8], b: &[u8], f32: bool) -> bool {
    let mut x = Tokens::new(a);
    let mut y = Tokens::new(b);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(Token::Punct(p)), Some(Token::Punct(q))) if p == q => {}
            (Some(Token::Str(p)), Some(Token::Str(q))) if str_eq(p, q) => {}
            (Some(Token::Scalar(p)), Some(Token::Scalar(q))) if scalar_eq(p, q, f32) => {}
            _ => return false,
        }
    }
}

fn opt_json_eq(a: Option<RawJson<'_>>, b: Option<RawJson<'_>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => json_eq(a.as_bytes(), b.as_bytes()),
        _ => false,
    }
}

/// Encoder output: printable ASCII only, and no whitespace outside strings.
fn assert_compact_ascii(bytes: &[u8]) {
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        assert!(
            (0x20..0x7F).contains(&b),
            "encoder wrote byte {b:#04x} at {i}: not printable ASCII"
        );
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            assert!(
                b != b' ',
                "encoder wrote whitespace outside a string at {i}"
            );
            in_string = b == b'"';
        }
    }
}

/// `encode` into a buffer of exactly `expected.len()` bytes gives the same bytes; one
/// byte less is `BufferFull`, never a panic or another error.
fn assert_buffer_sizes(
    scratch: &mut [u8],
    expected: &[u8],
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError<BufferFull>>,
) {
    let n = expected.len();
    let exact = &mut scratch[..n];
    assert_eq!(encode(exact), Ok(n), "an exact-size buffer must do");
    assert_eq!(&exact[..], expected, "encoding is not deterministic");
    if let Some(short) = n.checked_sub(1) {
        assert_eq!(
            encode(&mut scratch[..short]),
            Err(EncodeError::Sink(BufferFull)),
            "a buffer one byte short must be BufferFull"
        );
    }
}

// ---------------------------------------------------------------------------------------
// frame_chunks
// ---------------------------------------------------------------------------------------

/// Buffer sizes chosen by the settings byte of [`frame_chunks`].
const CAPACITIES: [usize; 8] = [1, 2, 3, 7, 16, 64, 512, 4096];
const MAX_CAPACITY: usize = 4096;
/// Maximum depths chosen by the settings byte of [`frame_chunks`].
const DEPTHS: [u16; 4] = [1024, 1, 2, 5];

/// What the framer handed out, with a frame's bytes copied to a scratch buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Frame {
        offset: u64,
        len: usize,
        outline: Outline,
    },
    Error(FrameError),
}

/// One step of a feeding schedule.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Hand over `len` bytes: by `push`, or by `spare_mut` + `commit` when `spare`; with
    /// `noop`, an empty `push` and a `commit(0)` first.
    Bytes { len: usize, spare: bool, noop: bool },
    /// Call `finish`.
    Finish,
}

impl Op {
    fn from_byte(s: u8) -> Self {
        if s == 0 {
            return Op::Finish;
        }
        let len = match s & 0x3F {
            0 => 1,
            0x3F => 1000,
            l => usize::from(l),
        };
        Op::Bytes {
            len,
            spare: s & 0x40 != 0,
            noop: s & 0x80 != 0,
        }
    }
}

/// Feeds one framer by a schedule: chunk by chunk, or (`whole`) everything between two
/// `Finish` steps at once.
struct Feeder<'d, 's, B> {
    framer: Framer<B>,
    data: &'d [u8],
    schedule: &'s [u8],
    /// Whether the schedule hands over any bytes (else the data goes in whole).
    has_bytes: bool,
    /// Next schedule step.
    step: usize,
    /// Bytes handed to the framer so far.
    fed: usize,
    /// Bytes of the current step still to hand over.
    pending: usize,
    spare: bool,
    whole: bool,
    whole_spare: bool,
    done: bool,
}

impl<'d, 's, B: AsRef<[u8]> + AsMut<[u8]>> Feeder<'d, 's, B> {
    fn new(
        framer: Framer<B>,
        data: &'d [u8],
        schedule: &'s [u8],
        whole: bool,
        spare: bool,
    ) -> Self {
        Self {
            framer,
            data,
            schedule,
            has_bytes: schedule.iter().any(|&s| s != 0),
            step: 0,
            fed: 0,
            pending: 0,
            spare: false,
            whole,
            whole_spare: spare,
            done: false,
        }
    }

    fn next_op(&mut self) -> Op {
        let rest = self.data.len() - self.fed;
        if !self.has_bytes {
            return Op::Bytes {
                len: rest,
                spare: self.whole_spare,
                noop: false,
            };
        }
        let op = |feeder: &mut Self| {
            let s = feeder.schedule[feeder.step % feeder.schedule.len()];
            feeder.step += 1;
            Op::from_byte(s)
        };
        if !self.whole {
            return op(self);
        }
        // Everything up to the next Finish step (left for the next call), or the end.
        let mut len = 0usize;
        while len < rest {
            match Op::from_byte(self.schedule[self.step % self.schedule.len()]) {
                Op::Finish if len > 0 => break,
                Op::Finish => return op(self),
                Op::Bytes { len: l, .. } => {
                    len += l;
                    self.step += 1;
                }
            }
        }
        Op::Bytes {
            len,
            spare: self.whole_spare,
            noop: false,
        }
    }

    /// The next item, feeding the framer by the schedule as it needs input.
    fn next_item(&mut self, scratch: &mut [u8]) -> Option<Out> {
        loop {
            if let Some(item) = self.framer.next() {
                return Some(match item {
                    Ok(frame) => {
                        scratch[..frame.len()].copy_from_slice(frame.as_bytes());
                        Out::Frame {
                            offset: frame.offset(),
                            len: frame.len(),
                            outline: frame.outline(),
                        }
                    }
                    Err(e) => Out::Error(e),
                });
            }
            if self.done {
                return None;
            }
            if self.pending > 0 {
                let chunk = &self.data[self.fed..self.fed + self.pending];
                let n = if self.spare {
                    let spare = self.framer.spare_mut();
                    assert!(
                        !spare.is_empty(),
                        "spare_mut is empty after next() returned None"
                    );
                    let n = spare.len().min(chunk.len());
                    spare[..n].copy_from_slice(&chunk[..n]);
                    self.framer.commit(n);
                    n
                } else {
                    let n = self.framer.push(chunk);
                    assert!(n > 0, "push took nothing after next() returned None");
                    n
                };
                self.fed += n;
                self.pending -= n;
                continue;
            }
            if self.fed == self.data.len() {
                self.framer.finish();
                self.done = true;
                continue;
            }
            match self.next_op() {
                Op::Finish => self.framer.finish(),
                Op::Bytes { len, spare, noop } => {
                    if noop {
                        assert_eq!(self.framer.push(&[]), 0);
                        self.framer.commit(0);
                    }
                    self.pending = len.min(self.data.len() - self.fed);
                    self.spare = spare;
                }
            }
        }
    }
}

/// Split a [`frame_chunks`] input: settings byte, schedule length, schedule, data.
fn split_header(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let (settings, rest) = match input.split_first() {
        Some((&s, rest)) => (s, rest),
        None => (0, input),
    };
    let (n, rest) = match rest.split_first() {
        Some((&n, rest)) => (usize::from(n), rest),
        None => (0, rest),
    };
    let (schedule, data) = rest.split_at(n.min(rest.len()));
    (settings, schedule, data)
}

/// Frame the same data whole and by a fuzzer-chosen schedule, and check that both give
/// exactly the same frames and errors, item by item.
///
/// Input: `[settings, n, schedule[n], data...]`. Settings: bits 0–2 pick the buffer size
/// (1, 2, 3, 7, 16, 64, 512, 4096), bit 3 [`ScanConfig::json`] instead of
/// [`ScanConfig::qmp`], bits 4–5 the maximum depth (1024, 1, 2, 5), bit 7 the whole-input
/// feeder reads through `spare_mut`. Each schedule byte is one step, cycled: `0` calls
/// `finish` (both feeders do, at the same stream offset); otherwise bits 0–5 give a chunk
/// length (0 → 1, 63 → 1000), bit 6 feeds it through `spare_mut` + `commit`, bit 7 adds
/// an empty `push` and a `commit(0)`.
///
/// Also checked on every item: a frame is exactly the input bytes at its offset and is
/// valid JSON; an error skips at least one byte and contains its error offset; a
/// `TooLarge` text is valid JSON at least as long as the buffer; items come in stream
/// order, and the bytes between them (and after the last) are whitespace.
pub fn frame_chunks(input: &[u8]) {
    let (settings, schedule, data) = split_header(input);
    let cap = CAPACITIES[usize::from(settings & 7)];
    let config = if settings & 8 != 0 {
        ScanConfig::json()
    } else {
        ScanConfig::qmp()
    };
    let config = config.with_max_depth(DEPTHS[usize::from((settings >> 4) & 3)]);
    // Buffers no bigger than needed, so that small ones do not pay for zeroing big ones.
    match cap {
        0..=64 => chunks::<64>(settings, schedule, data, cap, config),
        65..=512 => chunks::<512>(settings, schedule, data, cap, config),
        _ => chunks::<MAX_CAPACITY>(settings, schedule, data, cap, config),
    }
}

fn chunks<const C: usize>(
    settings: u8,
    schedule: &[u8],
    data: &[u8],
    cap: usize,
    config: ScanConfig,
) {
    let mut buf_a = [0u8; C];
    let mut buf_b = [0u8; C];
    let mut scratch_a = [0u8; C];
    let mut scratch_b = [0u8; C];
    let mut whole = Feeder::new(
        Framer::with_config(&mut buf_a[..cap], config),
        data,
        schedule,
        true,
        settings & 0x80 != 0,
    );
    let mut chunked = Feeder::new(
        Framer::with_config(&mut buf_b[..cap], config),
        data,
        schedule,
        false,
        false,
    );
    // End of the last item: everything before it is accounted for.
    let mut cursor = 0usize;
    let gap_is_ws = |from: usize, to: usize| data[from..to].iter().all(|&b| is_ws(b));
    for index in 0usize.. {
        let a = whole.next_item(&mut scratch_a);
        let b = chunked.next_item(&mut scratch_b);
        assert_eq!(a, b, "item {index}: whole and chunked framing differ");
        let Some(item) = a else { break };
        let (start, end) = match item {
            Out::Frame { offset, len, .. } => {
                let frame = &scratch_a[..len];
                assert_eq!(frame, &scratch_b[..len], "item {index}: frame bytes differ");
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                assert!(len > 0, "item {index}: empty frame");
                assert_eq!(
                    data.get(start..start + len),
                    Some(frame),
                    "item {index}: frame is not the input at its offset"
                );
                assert!(
                    validate(frame).is_ok(),
                    "item {index}: frame is not valid JSON"
                );
                assert!(!is_ws(frame[0]) && !is_ws(frame[len - 1]));
                (start, start + len)
            }
            Out::Error(e) => {
                let start = usize::try_from(e.start()).unwrap_or(usize::MAX);
                let skipped = usize::try_from(e.skipped()).unwrap_or(usize::MAX);
                assert!(skipped > 0, "item {index}: error {e:?} skips nothing");
                let end = start.saturating_add(skipped);
                assert!(
                    end <= data.len(),
                    "item {index}: error {e:?} beyond the input"
                );
                match e {
                    FrameError::Invalid { error, .. } => assert!(
                        (e.start()..=e.start() + e.skipped()).contains(&error.offset),
                        "item {index}: error offset outside its region: {e:?}"
                    ),
                    FrameError::TooLarge { .. } => {
                        assert!(skipped >= cap, "item {index}: {e:?} fits the buffer");
                        assert!(
                            validate(&data[start..end]).is_ok(),
                            "item {index}: {e:?} is not a valid JSON text"
                        );
                    }
                }
                (start, end)
            }
        };
        assert!(
            start >= cursor,
            "item {index}: starts at {start}, before the end of the previous item ({cursor})"
        );
        assert!(
            gap_is_ws(cursor, start),
            "item {index}: bytes {cursor}..{start} were dropped silently"
        );
        cursor = end;
    }
    assert!(
        gap_is_ws(cursor, data.len()),
        "bytes {cursor}..{} at the end were dropped silently",
        data.len()
    );
}

// ---------------------------------------------------------------------------------------
// json_differential
// ---------------------------------------------------------------------------------------

const DIFF_CAPACITY: usize = 16 * 1024;

/// Compare our JSON verdicts with a reference parser's: [`validate`] on the whole input,
/// and every frame the framer ([`ScanConfig::json`]) finds in it, must be accepted or
/// rejected as the reference does (`None` from the reference: it cannot judge, skip).
/// A valid input that fits the buffer must also frame as exactly one frame.
pub fn json_differential(input: &[u8], reference: impl Fn(&[u8]) -> Option<bool>) {
    // Buffers sized to the input, so that small inputs do not pay for zeroing big ones.
    if input.len() <= 1024 {
        differential::<1024>(input, reference);
    } else {
        differential::<DIFF_CAPACITY>(input, reference);
    }
}

fn differential<const N: usize>(input: &[u8], reference: impl Fn(&[u8]) -> Option<bool>) {
    let ours = validate(input);
    if let Some(theirs) = reference(input) {
        assert_eq!(
            ours.is_ok(),
            theirs,
            "validate says {ours:?}, the reference says accepted={theirs}"
        );
    }
    let mut framer = Framer::with_config([0u8; N], ScanConfig::json());
    let mut frames = 0usize;
    let mut only: Option<(u64, usize)> = None;
    for_each_frame(&mut framer, input, |frame| {
        frames += 1;
        only = Some((frame.offset(), frame.len()));
        let bytes = frame.as_bytes();
        assert!(validate(bytes).is_ok(), "frame {frames} does not validate");
        assert_ne!(
            reference(bytes),
            Some(false),
            "frame {frames} at byte {}: we accept it, the reference rejects it",
            frame.offset()
        );
    });
    let start = input.iter().position(|&b| !is_ws(b)).unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |p| p + 1);
    if ours.is_ok() && end - start <= N {
        assert_eq!(frames, 1, "a valid text must frame as one frame");
        assert_eq!(
            only,
            Some((start as u64, end - start)),
            "the frame is not the text"
        );
    }
}

// ---------------------------------------------------------------------------------------
// message_roundtrip
// ---------------------------------------------------------------------------------------

/// Encoding at most triples a frame (a 2- or 4-byte UTF-8 character becomes a 6- or
/// 12-byte escape) and adds a few members: `E` is `3 * N + 512` for frames of `N`.
const fn enc_capacity(n: usize) -> usize {
    3 * n + 512
}

/// Frame the input, and round-trip every frame that is a QMP message: parse → encode →
/// frame → parse must give an equal message (payloads compared by meaning).
pub fn message_roundtrip(input: &[u8]) {
    // Buffers sized to the input (a frame is never longer), so that small inputs do not
    // pay for zeroing big ones.
    const S: usize = 1024;
    const M: usize = 8 * 1024;
    const L: usize = 64 * 1024;
    if input.len() <= S {
        roundtrip_all::<S, { enc_capacity(S) }>(input);
    } else if input.len() <= M {
        roundtrip_all::<M, { enc_capacity(M) }>(input);
    } else {
        roundtrip_all::<L, { enc_capacity(L) }>(input);
    }
}

fn roundtrip_all<const N: usize, const E: usize>(input: &[u8]) {
    let mut framer = Framer::new([0u8; N]);
    let mut bufs = [[0u8; E]; 3];
    for_each_frame(&mut framer, input, |frame| roundtrip(frame, &mut bufs));
}

fn roundtrip<const E: usize>(frame: Frame<'_>, bufs: &mut [[u8; E]; 3]) {
    let [enc, scratch, framer_buf] = bufs;
    let json = RawJson::from(frame);
    // A frame's outline changes how the message is walked, never what it says.
    // Errors from a frame count from the stream's start, from a RawJson from its own.
    let base = frame.offset();
    let request = message::parse_request(frame, true);
    let relative = request.map_err(|r| message::Refused {
        offset: r.offset - base,
        ..r
    });
    assert_eq!(relative, message::parse_request(json, true));
    let parsed = Message::parse(frame);
    let relative = parsed.map_err(|e| message::MessageError {
        offset: e.offset - base,
        ..e
    });
    assert_eq!(relative, Message::parse(json));
    let Ok(first) = parsed else {
        return;
    };
    if let (Ok(req), Message::Request(cmd)) = (request, first) {
        // Both accept it: QEMU's server-side rules and the client-side classification
        // must see the same command.
        assert_eq!(req.name.raw(), cmd.name.raw());
        assert_eq!(req.oob, cmd.oob);
        assert!(opt_json_eq(req.arguments, cmd.arguments));
        assert!(opt_json_eq(req.id, cmd.id));
    }
    let n = encode::message_to_slice(&first, enc)
        .expect("a parsed message must encode into 3x its size");
    let encoded = &enc[..n];
    assert_compact_ascii(encoded);
    assert_buffer_sizes(scratch, encoded, |buf| {
        encode::message_to_slice(&first, buf)
    });

    let mut framer = Framer::new(&mut framer_buf[..]);
    assert_eq!(framer.push(encoded), n);
    framer.finish();
    let frame = match framer.next() {
        Some(Ok(frame)) => frame,
        other => panic!("the encoding does not frame: {other:?}"),
    };
    assert_eq!(frame.as_bytes(), encoded, "the encoding frames differently");
    let second = Message::parse(frame).expect("the encoding must parse back");
    assert_same_message(&first, &second);
    let n2 = encode::message_to_slice(&second, scratch).expect("must encode again");
    assert!(
        json_eq(encoded, &scratch[..n2]),
        "re-encoding changed the meaning"
    );
    assert!(
        framer.next().is_none(),
        "the encoding frames as more than one text"
    );
}

fn class_eq(a: ErrorClass<'_>, b: ErrorClass<'_>) -> bool {
    match (a, b) {
        (ErrorClass::Other(x), ErrorClass::Other(y)) => str_eq(x, y),
        (x, y) => x == y,
    }
}

fn assert_same_message(a: &Message<'_>, b: &Message<'_>) {
    let same = match (a, b) {
        (Message::Greeting(x), Message::Greeting(y)) => {
            let version = match (x.version, y.version) {
                (None, None) => true,
                (Some(v), Some(w)) => {
                    let qemu = match (v.qemu, w.qemu) {
                        (QemuVersion::Text(s), QemuVersion::Text(t)) => str_eq(s, t),
                        (s, t) => s == t,
                    };
                    let package = match (v.package, w.package) {
                        (None, None) => true,
                        (Some(p), Some(q)) => str_eq(p, q),
                        _ => false,
                    };
                    qemu && package
                }
                _ => false,
            };
            version && json_eq(x.capabilities.as_bytes(), y.capabilities.as_bytes())
        }
        (Message::Request(x), Message::Request(y)) => {
            str_eq(x.name, y.name)
                && x.oob == y.oob
                && opt_json_eq(x.arguments, y.arguments)
                && opt_json_eq(x.id, y.id)
        }
        (Message::Return(x), Message::Return(y)) => {
            json_eq(x.value.as_bytes(), y.value.as_bytes()) && opt_json_eq(x.id, y.id)
        }
        (Message::Error(x), Message::Error(y)) => {
            class_eq(x.class, y.class)
                && str_eq(x.desc, y.desc)
                && opt_json_eq(x.data, y.data)
                && opt_json_eq(x.id, y.id)
        }
        (Message::Event(x), Message::Event(y)) => {
            str_eq(x.name, y.name) && opt_json_eq(x.data, y.data) && x.timestamp == y.timestamp
        }
        _ => false,
    };
    assert!(same, "round trip changed the message:\n{a:?}\n{b:?}");
}

// ---------------------------------------------------------------------------------------
// encode_arbitrary
// ---------------------------------------------------------------------------------------

/// Only this much of an [`encode_arbitrary`] input is used, which bounds the output.
const ENCODE_INPUT_MAX: usize = 2048;
/// A [`Tree`] value builds at most this many nodes.
const TREE_NODES: u32 = 256;
const TREE_DEPTH: u8 = 12;
/// Room for any message built from [`ENCODE_INPUT_MAX`] bytes: each tree node writes at
/// most about 60 bytes, each input byte of a string at most 6.
const ENCODE_CAPACITY: usize = 96 * 1024;

const NON_FINITE: u8 = 1;
const BAD_KEY: u8 = 2;
/// Not a refusal: the value has an `f32`, whose shortest digits may break a tie the other
/// way than the reference's (`3988696.25f32`: ours `3988696.3`, ryu's `3988696.2`; both
/// read back as the same `f32`).
const HAS_F32: u8 = 4;

const VARIANTS: [&str; 7] = ["A", "Variant", "é", "x\"y", "\u{1F600}", "", "\n\t"];
const FIELDS: [&str; 10] = [
    "execute",
    "arguments",
    "id",
    "a",
    "",
    "naïve",
    "tab\t",
    "quote\"",
    "\u{7f}",
    "😀",
];

/// A serde value generated from fuzzer bytes, for [`encode_arbitrary`]: every call to
/// `serialize` replays the same value (the whole serde data model: integers up to 128
/// bits, floats from raw bits including NaN, chars, strings, bytes, options, unit and
/// newtype structs, every kind of enum variant, sequences, tuples, maps with keys of
/// every kind, structs with skipped fields). Public so that a reference serializer can
/// render it.
pub struct Tree<'a> {
    bytes: &'a [u8],
    pos: Cell<usize>,
    nodes: Cell<u32>,
    flags: Cell<u8>,
}

impl<'a> Tree<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: Cell::new(0),
            nodes: Cell::new(0),
            flags: Cell::new(0),
        }
    }

    /// What the last `serialize` produced that our serializer must refuse:
    /// [`NON_FINITE`] floats, [`BAD_KEY`] map keys.
    fn flags(&self) -> u8 {
        self.flags.get()
    }

    fn flag(&self, f: u8) {
        self.flags.set(self.flags.get() | f);
    }

    fn byte(&self) -> u8 {
        let p = self.pos.get();
        match self.bytes.get(p) {
            Some(&b) => {
                self.pos.set(p + 1);
                b
            }
            None => 0,
        }
    }

    fn take(&self, n: usize) -> &'a [u8] {
        let p = self.pos.get().min(self.bytes.len());
        let end = p.saturating_add(n).min(self.bytes.len());
        self.pos.set(end);
        &self.bytes[p..end]
    }

    fn array<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        let s = self.take(N);
        out[..s.len()].copy_from_slice(s);
        out
    }

    fn u64(&self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    fn u128(&self) -> u128 {
        u128::from_le_bytes(self.array())
    }

    fn str(&self) -> &'a str {
        let n = usize::from(self.byte() % 40);
        utf8_prefix(self.take(n))
    }

    fn count(&self) -> usize {
        usize::from(self.byte() % 6)
    }

    fn pick<'s>(&self, names: &[&'s str]) -> (u32, &'s str) {
        let i = usize::from(self.byte()) % names.len();
        (i as u32, names[i])
    }
}

impl Serialize for Tree<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.pos.set(0);
        self.nodes.set(0);
        self.flags.set(0);
        Node {
            tree: self,
            depth: 0,
        }
        .serialize(s)
    }
}

/// One value of a [`Tree`].
struct Node<'t, 'a> {
    tree: &'t Tree<'a>,
    depth: u8,
}

/// A map key of a [`Tree`].
struct Key<'t, 'a>(&'t Tree<'a>);

impl Serialize for Node<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.tree;
        let op = t.byte();
        t.nodes.set(t.nodes.get() + 1);
        let leaf = self.depth >= TREE_DEPTH || t.nodes.get() >= TREE_NODES;
        let child = Node {
            tree: t,
            depth: self.depth + 1,
        };
        match op % 32 {
            0 => s.serialize_bool(op >= 128),
            1 => s.serialize_i64(t.u64() as i64),
            2 => s.serialize_u64(t.u64()),
            3 => s.serialize_i8(t.byte() as i8),
            4 => s.serialize_i16(i16::from_le_bytes(t.array())),
            5 => s.serialize_i32(i32::from_le_bytes(t.array())),
            6 => s.serialize_u8(t.byte()),
            7 => s.serialize_u16(u16::from_le_bytes(t.array())),
            8 => s.serialize_u32(u32::from_le_bytes(t.array())),
            9 => s.serialize_i128(t.u128() as i128),
            10 => s.serialize_u128(t.u128()),
            11 => {
                let v = f64::from_bits(t.u64());
                if !v.is_finite() {
                    t.flag(NON_FINITE);
                }
                s.serialize_f64(v)
            }
            12 => {
                let v = f32::from_bits(u32::from_le_bytes(t.array()));
                t.flag(if v.is_finite() { HAS_F32 } else { NON_FINITE });
                s.serialize_f32(v)
            }
            13 => {
                let c = char::from_u32(u32::from_le_bytes(t.array()) % 0x11_0000);
                s.serialize_char(c.unwrap_or('\u{FFFD}'))
            }
            14 => s.serialize_str(t.str()),
            15 => {
                let n = usize::from(t.byte() % 16);
                s.serialize_bytes(t.take(n))
            }
            16 => s.serialize_none(),
            17 => s.serialize_unit(),
            18 => s.serialize_unit_struct("Unit"),
            19 => s.collect_str(t.str()),
            22 => {
                let (i, v) = t.pick(&VARIANTS);
                s.serialize_unit_variant("E", i, v)
            }
            _ if leaf => s.serialize_f64(f64::from(op) / 8.0),
            20 => s.serialize_some(&child),
            21 => s.serialize_newtype_struct("Newtype", &child),
            23 => {
                let (i, v) = t.pick(&VARIANTS);
                s.serialize_newtype_variant("E", i, v, &child)
            }
            24 => {
                let n = t.count();
                let mut seq = s.serialize_seq((op & 0x80 != 0).then_some(n))?;
                for _ in 0..n {
                    seq.serialize_element(&child)?;
                }
                seq.end()
            }
            25 => {
                let n = t.count();
                let mut tuple = s.serialize_tuple(n)?;
                for _ in 0..n {
                    tuple.serialize_element(&child)?;
                }
                tuple.end()
            }
            26 => {
                let n = t.count();
                let mut tuple = s.serialize_tuple_struct("T", n)?;
                for _ in 0..n {
                    tuple.serialize_field(&child)?;
                }
                tuple.end()
            }
            27 => {
                let (i, v) = t.pick(&VARIANTS);
                let n = t.count();
                let mut tuple = s.serialize_tuple_variant("E", i, v, n)?;
                for _ in 0..n {
                    tuple.serialize_field(&child)?;
                }
                tuple.end()
            }
            28 => {
                let n = t.count();
                let mut map = s.serialize_map((op & 0x80 != 0).then_some(n))?;
                for _ in 0..n {
                    if t.byte() & 1 == 0 {
                        map.serialize_entry(&Key(t), &child)?;
                    } else {
                        map.serialize_key(&Key(t))?;
                        map.serialize_value(&child)?;
                    }
                }
                map.end()
            }
            29 => {
                let n = t.count();
                let mut st = s.serialize_struct("S", n)?;
                for _ in 0..n {
                    let (_, name) = t.pick(&FIELDS);
                    if t.byte() & 3 == 0 {
                        st.skip_field(name)?;
                    } else {
                        st.serialize_field(name, &child)?;
                    }
                }
                st.end()
            }
            30 => {
                let (i, v) = t.pick(&VARIANTS);
                let n = t.count();
                let mut st = s.serialize_struct_variant("E", i, v, n)?;
                for _ in 0..n {
                    let (_, name) = t.pick(&FIELDS);
                    st.serialize_field(name, &child)?;
                }
                st.end()
            }
            _ => s.serialize_f64(f64::from(op) * 1e300),
        }
    }
}

impl Serialize for Key<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let op = t.byte();
        match op % 12 {
            0 => s.serialize_str(t.str()),
            1 => s.serialize_char(char::from(op)),
            2 => s.serialize_i64(t.u64() as i64),
            3 => s.serialize_u64(t.u64()),
            4 => s.serialize_bool(op >= 128),
            5 => s.serialize_i128(t.u128() as i128),
            6 => s.serialize_u128(t.u128()),
            7 => s.serialize_i8(op as i8),
            8 => {
                let (i, v) = t.pick(&VARIANTS);
                s.serialize_unit_variant("E", i, v)
            }
            9 => s.serialize_newtype_struct("K", t.str()),
            10 => {
                // No JSON key: refused by every serializer.
                t.flag(BAD_KEY);
                s.serialize_unit()
            }
            _ => {
                // serde_json writes finite float keys as strings; ours refuses them
                // (documented: keys are strings, chars, integers or booleans).
                t.flag(BAD_KEY);
                s.serialize_f64(f64::from(op) / 4.0)
            }
        }
    }
}

/// A byte reader over an [`encode_arbitrary`] input; reads past the end give zeros.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.data.split_at(n.min(self.data.len()));
        self.data = b;
        a
    }

    fn u64(&mut self) -> u64 {
        let mut v = [0u8; 8];
        let s = self.take(8);
        v[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(v)
    }

    fn len(&mut self, max: usize) -> usize {
        let lo = usize::from(self.byte());
        let hi = usize::from(self.byte());
        (hi << 8 | lo) % (max + 1)
    }

    fn str(&mut self) -> &'a str {
        let n = usize::from(self.byte() % 48);
        utf8_prefix(self.take(n))
    }

    /// Some raw JSON text from the input, or `None` if it is not valid.
    fn raw(&mut self) -> Option<RawJson<'a>> {
        let n = self.len(256);
        RawJson::parse(self.take(n)).ok()
    }

    /// A string from the input: Rust text, or a still-escaped JSON string.
    fn text(&mut self) -> Text<'a> {
        if self.byte() & 1 == 0 {
            return Text::Str(self.str());
        }
        match self.raw().and_then(|r| r.as_json_str()) {
            Some(s) => Text::Json(s),
            None => Text::Str(self.str()),
        }
    }

    fn id(&mut self) -> Option<Id<'a>> {
        match self.byte() % 6 {
            0 => None,
            1 => Some(Id::U64(self.u64())),
            2 => Some(Id::I64(self.u64() as i64)),
            3 => Some(Id::Str(self.str())),
            _ => Some(Id::Raw(self.raw().unwrap_or(json(b"null")))),
        }
    }

    fn payload(&mut self) -> Pay<'a> {
        match self.byte() % 10 {
            0 => Pay::Empty,
            1 => Pay::Unit,
            2 => Pay::Null,
            3 => match self.text() {
                Text::Str(s) => Pay::Text(s),
                Text::Json(s) => Pay::Json(s),
            },
            4..=6 => match self.raw() {
                Some(raw) => Pay::Raw(raw),
                None => Pay::Empty,
            },
            _ => {
                let n = self.len(512);
                Pay::Ser(Tree::new(self.take(n)))
            }
        }
    }
}

/// A payload for [`encode_arbitrary`], one of each [`encode::Payload`] kind.
enum Pay<'a> {
    Ser(Tree<'a>),
    Raw(RawJson<'a>),
    Text(&'a str),
    Json(JsonStr<'a>),
    Empty,
    Unit,
    Null,
}

/// Run `$body` with `$x` bound to the payload `$p` as its concrete `Payload` type.
macro_rules! with_payload {
    ($p:expr, |$x:ident| $body:expr) => {
        match $p {
            Pay::Ser(tree) => {
                let $x = Ser(tree);
                $body
            }
            Pay::Raw(raw) => {
                let $x = *raw;
                $body
            }
            Pay::Text(s) => {
                let $x = Text::Str(*s);
                $body
            }
            Pay::Json(s) => {
                let $x = *s;
                $body
            }
            Pay::Empty => {
                let $x = EmptyObject;
                $body
            }
            Pay::Unit => {
                let $x = ();
                $body
            }
            Pay::Null => {
                let $x = None::<RawJson<'_>>;
                $body
            }
        }
    };
}

/// What a payload should look like once encoded and parsed back.
#[derive(Clone, Copy, Debug)]
enum Want<'b> {
    /// This JSON text (compared by meaning; with `true`, numbers also as `f32`).
    Json(&'b [u8], bool),
    /// A string with this text.
    Str(&'b str),
    /// A string equal to this decoded JSON string.
    JsonStr(JsonStr<'b>),
    /// A value our encoder must refuse: [`NON_FINITE`] / [`BAD_KEY`] flags.
    Refused(u8),
}

impl Want<'_> {
    fn kind(&self) -> Option<Kind> {
        match self {
            Want::Json(b, _) => Some(json(b).kind()),
            Want::Str(_) | Want::JsonStr(_) => Some(Kind::String),
            Want::Refused(_) => None,
        }
    }

    fn matches(&self, got: RawJson<'_>) -> bool {
        match *self {
            Want::Json(b, f32) => json_eq_f32(b, got.as_bytes(), f32),
            Want::Str(s) => got.as_json_str().is_some_and(|g| g.chars().eq(s.chars())),
            Want::JsonStr(s) => got.as_json_str().is_some_and(|g| str_eq(g, s)),
            Want::Refused(_) => false,
        }
    }
}

fn text_matches(want: Text<'_>, got: JsonStr<'_>) -> bool {
    match want {
        Text::Str(s) => got.chars().eq(s.chars()),
        Text::Json(s) => str_eq(got, s),
    }
}

fn id_matches(want: Option<Id<'_>>, got: Option<RawJson<'_>>) -> bool {
    match (want, got) {
        (None, None) => true,
        (Some(Id::U64(v)), Some(g)) => g.as_u64() == Some(v),
        (Some(Id::I64(v)), Some(g)) => g.as_i64() == Some(v),
        (Some(Id::Str(s)), Some(g)) => Want::Str(s).matches(g),
        (Some(Id::Raw(r)), Some(g)) => json_eq(r.as_bytes(), g.as_bytes()),
        _ => false,
    }
}

/// The expected form of payload `p`, rendering trees with the reference serializer into
/// `buf`. Checks our serializer against it on the way.
fn want<'b>(
    p: &'b Pay<'b>,
    render: &impl Fn(&Tree<'_>, &mut [u8]) -> Option<usize>,
    buf: &'b mut [u8],
    scratch: &mut [u8],
    reference: &impl Fn(&[u8]) -> Option<bool>,
) -> Want<'b> {
    let w = match p {
        Pay::Ser(tree) => {
            let rendered = render(tree, buf);
            if tree.flags() & !HAS_F32 != 0 {
                Want::Refused(tree.flags())
            } else {
                let n = rendered.expect("the reference serializer refused a valid value");
                let json = &buf[..n];
                assert!(
                    validate(json).is_ok(),
                    "the reference's output does not validate"
                );
                Want::Json(json, tree.flags() & HAS_F32 != 0)
            }
        }
        Pay::Raw(raw) => Want::Json(raw.as_bytes(), false),
        Pay::Text(s) => Want::Str(s),
        Pay::Json(s) => Want::JsonStr(*s),
        Pay::Empty => Want::Json(b"{}", false),
        Pay::Unit | Pay::Null => Want::Json(b"null", false),
    };
    // The payload on its own: our serializer against the reference.
    let mut sink = SliceSink::new(scratch);
    let ours = with_payload!(p, |x| encode::value(&mut sink, x));
    match (w, ours) {
        (Want::Refused(flags), Err(e)) => assert_refusal(e, flags, false),
        (Want::Refused(flags), Ok(())) => panic!("encoded a value flagged {flags}"),
        (w, Ok(())) => {
            let bytes = sink.written();
            assert_compact_ascii(bytes);
            assert!(validate(bytes).is_ok(), "encoded value does not validate");
            assert_ne!(
                reference(bytes),
                Some(false),
                "the reference rejects our value"
            );
            assert!(
                w.matches(json(bytes)),
                "our encoding of the value differs from the reference's:\n{w:?}\n{:?}",
                utf8_prefix(bytes)
            );
        }
        (w, Err(e)) => panic!("refused {w:?}: {e:?}"),
    }
    w
}

fn assert_refusal(e: EncodeError<BufferFull>, flags: u8, member_kind: bool) {
    let ok = match e {
        EncodeError::NonFiniteFloat => flags & NON_FINITE != 0,
        EncodeError::KeyMustBeString => flags & BAD_KEY != 0,
        EncodeError::NotAnObject | EncodeError::NotAnArray => member_kind,
        _ => false,
    };
    assert!(ok, "unexpected refusal {e:?} (flags {flags})");
}

/// Which member kind a message puts its payload in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// `arguments` or `data`: an object, or `null` to leave it out.
    OptionalObject,
    /// `capabilities`: an array.
    Array,
    /// `return` or error `data`: anything.
    Any,
}

/// Build one message from fuzzer bytes with the encoder, and check it: refused only for a
/// cause, else compact ASCII JSON that validates, that the reference accepts, that fits
/// an exact buffer (and not a shorter one), and that parses back to what was encoded.
///
/// `render` is the reference serializer for [`Tree`] payloads; their encoding by our
/// serializer must mean the same JSON.
pub fn encode_arbitrary(
    input: &[u8],
    reference: impl Fn(&[u8]) -> Option<bool>,
    render: impl Fn(&Tree<'_>, &mut [u8]) -> Option<usize>,
) {
    // Buffers sized to the input (the output grows at most ~100 bytes per input byte),
    // so that small inputs do not pay for zeroing big ones.
    if input.len() <= 64 {
        encode_sized::<{ 8 * 1024 }>(input, reference, render);
    } else if input.len() <= 256 {
        encode_sized::<{ 32 * 1024 }>(input, reference, render);
    } else {
        encode_sized::<ENCODE_CAPACITY>(input, reference, render);
    }
}

fn encode_sized<const N: usize>(
    input: &[u8],
    reference: impl Fn(&[u8]) -> Option<bool>,
    render: impl Fn(&Tree<'_>, &mut [u8]) -> Option<usize>,
) {
    let mut r = Reader {
        data: input.get(..ENCODE_INPUT_MAX).unwrap_or(input),
    };
    let kind = r.byte() % 7;
    let name = r.text();
    let id = r.id();
    let pay = r.payload();
    let mut want_buf = [0u8; N];
    let mut out = [0u8; N];
    let w = want(&pay, &render, &mut want_buf, &mut out, &reference);
    let slot = match kind {
        0 | 1 | 5 => Slot::OptionalObject,
        6 => Slot::Array,
        _ => Slot::Any,
    };
    let desc = r.text();
    let timestamp = Timestamp {
        seconds: r.u64() as i64,
        microseconds: r.u64() as i64,
    };
    let version = match r.byte() % 3 {
        0 => None,
        1 => Some(Version {
            qemu: QemuVersion::Triple {
                major: r.u64(),
                minor: r.u64(),
                micro: r.u64(),
            },
            package: (r.byte() & 1 == 0).then(|| r.text()).and_then(|t| match t {
                Text::Str(s) => JsonStr::from_text(s),
                Text::Json(s) => Some(s),
            }),
        }),
        _ => {
            let text = r.raw().and_then(|v| v.as_json_str());
            Some(Version {
                qemu: QemuVersion::Text(text.unwrap_or(json_str(b"\"0.12.50\""))),
                package: None,
            })
        }
    };

    let encode_into = |buf: &mut [u8]| -> Result<usize, EncodeError<BufferFull>> {
        let mut sink = SliceSink::new(buf);
        let s = &mut sink;
        with_payload!(&pay, |x| match kind {
            0 => encode::command(s, name, x, id),
            1 => encode::command_oob(s, name, x, id),
            2 => encode::success(s, x, id),
            3 => encode::error(s, name, desc, id),
            4 => encode::error_with_data(s, name, desc, x, id),
            5 => encode::event(s, name, x, timestamp),
            _ => encode::greeting(s, version, x),
        })?;
        Ok(sink.len())
    };
    let result = encode_into(&mut out);

    // What must happen: a refusal for a cause, or success.
    let uses_payload = kind != 3;
    let kind_refused = uses_payload
        && match (slot, w.kind()) {
            (Slot::OptionalObject, Some(k)) => !matches!(k, Kind::Object | Kind::Null),
            (Slot::Array, Some(k)) => k != Kind::Array,
            _ => false,
        };
    let flags = match w {
        Want::Refused(flags) if uses_payload => flags,
        _ => 0,
    };
    let n = match result {
        Err(e) => {
            assert!(
                flags != 0 || kind_refused,
                "refused a valid message: {e:?} (payload {w:?})"
            );
            assert_refusal(e, flags, slot != Slot::Any);
            return;
        }
        Ok(n) => {
            assert!(flags == 0, "encoded a value flagged {flags}");
            assert!(
                !kind_refused,
                "encoded {w:?} where the member must be {slot:?}"
            );
            n
        }
    };
    let encoded = &out[..n];
    assert_compact_ascii(encoded);
    assert!(validate(encoded).is_ok(), "the encoding does not validate");
    assert_ne!(
        reference(encoded),
        Some(false),
        "the reference rejects our encoding"
    );
    let mut scratch = [0u8; N];
    assert_buffer_sizes(&mut scratch, encoded, encode_into);

    let message = Message::parse(json(encoded));
    let payload_matches = |got: Option<RawJson<'_>>| match got {
        None => slot == Slot::OptionalObject && w.kind() == Some(Kind::Null),
        Some(g) => w.matches(g),
    };
    let ok = match (kind, message) {
        (0 | 1, Ok(Message::Request(c))) => {
            text_matches(name, c.name)
                && c.oob == (kind == 1)
                && payload_matches(c.arguments)
                && id_matches(id, c.id)
        }
        (2, Ok(Message::Return(ret))) => w.matches(ret.value) && id_matches(id, ret.id),
        (3 | 4, Ok(Message::Error(e))) => {
            let class = match e.class {
                ErrorClass::Other(s) => text_matches(name, s),
                known => match name {
                    Text::Str(s) => s == known.name(),
                    Text::Json(s) => s == known.name(),
                },
            };
            let data = if kind == 3 {
                e.data.is_none()
            } else {
                e.data.is_some_and(|d| w.matches(d))
            };
            class && text_matches(desc, e.desc) && data && id_matches(id, e.id)
        }
        (5, Ok(Message::Event(e))) => {
            text_matches(name, e.name) && payload_matches(e.data) && e.timestamp == timestamp
        }
        (6, Ok(Message::Greeting(g))) => {
            let v = match (version, g.version) {
                (None, None) => true,
                (Some(want), Some(got)) => {
                    let qemu = match (want.qemu, got.qemu) {
                        (QemuVersion::Text(a), QemuVersion::Text(b)) => str_eq(a, b),
                        (a, b) => a == b,
                    };
                    let package = match (want.package, got.package) {
                        (None, None) => true,
                        (Some(a), Some(b)) => str_eq(a, b),
                        _ => false,
                    };
                    qemu && package
                }
                _ => false,
            };
            v && w.matches(g.capabilities)
        }
        _ => false,
    };
    assert!(
        ok,
        "kind {kind}: parsed back differently: {message:?}\nfrom {:?}",
        utf8_prefix(encoded)
    );
}

// ---------------------------------------------------------------------------------------
// typed_events
// ---------------------------------------------------------------------------------------

/// Big enough for a whole `query-qmp-schema` reply (236 KB from QEMU 10.0).
const EVENT_CAPACITY: usize = 256 * 1024;
/// At most this many arrays per frame are viewed as a schema.
const ARRAYS_MAX: usize = 32;
/// At most this many entries per schema are walked.
const ENTRIES_MAX: usize = 256;

/// Frame the input and run every typed view over each frame: events through
/// `schema::Event::from_message` into a `SpiceSessions<4>`, replies through the common
/// commands' `decode_return`, and every array as a `Schema`. Decoded values must equal
/// the raw members they came from, and the tracker must stay bounded and consistent.
pub fn typed_events(input: &[u8]) {
    // A buffer sized to the input (a frame is never longer), so that small inputs do not
    // pay for zeroing a big one.
    if input.len() <= 4096 {
        events::<4096>(input);
    } else if input.len() <= 64 * 1024 {
        events::<{ 64 * 1024 }>(input);
    } else {
        events::<EVENT_CAPACITY>(input);
    }
}

fn events<const N: usize>(input: &[u8]) {
    let mut tracker = SpiceSessions::<4>::new();
    let mut framer = Framer::new([0u8; N]);
    for_each_frame(&mut framer, input, |frame| {
        let json = RawJson::from(frame);
        for_each_array(json.as_bytes(), schema_views);
        match Message::parse(frame) {
            Ok(Message::Event(event)) => typed_event(&event, &mut tracker),
            Ok(Message::Return(ret)) => replies(ret.value),
            _ => {}
        }
    });
}

/// Whether some value at `path` (member names, compared decoded; any of duplicates)
/// satisfies `pred`. Decoded payloads must come from *a* member of that name: which one
/// wins among names that only differ by escapes is the decoder's business.
fn any_at(raw: Option<RawJson<'_>>, path: &[&str], pred: &dyn Fn(RawJson<'_>) -> bool) -> bool {
    let Some(raw) = raw else { return false };
    let Some((first, rest)) = path.split_first() else {
        return pred(raw);
    };
    raw.members()
        .any(|(k, v)| k == *first && any_at(Some(v), rest, pred))
}

/// A decoded string equals a raw member it can have come from.
fn check_str(decoded: JsonStr<'_>, data: Option<RawJson<'_>>, path: &[&str]) {
    let same = |v: RawJson<'_>| v.as_json_str().is_some_and(|s| s.raw() == decoded.raw());
    assert!(
        any_at(data, path, &same),
        "decoded {path:?} = {decoded:?} is in no such member"
    );
}

/// A decoded optional string: as [`check_str`], and `None` only where a member is `null`
/// or none is a string.
fn check_opt_str(decoded: Option<JsonStr<'_>>, data: Option<RawJson<'_>>, path: &[&str]) {
    match decoded {
        Some(s) => check_str(s, data, path),
        None => assert!(
            any_at(data, path, &|v| v.is_null())
                || !any_at(data, path, &|v| v.as_json_str().is_some()),
            "decoded {path:?} = None, but it is a string"
        ),
    }
}

fn check_i64(decoded: i64, data: Option<RawJson<'_>>, path: &[&str]) {
    let same = |v: RawJson<'_>| v.as_i64() == Some(decoded);
    assert!(
        any_at(data, path, &same),
        "decoded {path:?} = {decoded} is in no such member"
    );
}

fn check_bool(decoded: bool, data: Option<RawJson<'_>>, path: &[&str]) {
    let same = |v: RawJson<'_>| v.as_bool() == Some(decoded);
    assert!(
        any_at(data, path, &same),
        "decoded {path:?} = {decoded} is in no such member"
    );
}

/// The decoded server and client ends of a SPICE connection event equal the raw members.
fn check_basic(
    server: &crate::schema::events::SpiceBasicInfo<'_>,
    client: &crate::schema::events::SpiceBasicInfo<'_>,
    data: Option<RawJson<'_>>,
) {
    for (info, side) in [(server, "server"), (client, "client")] {
        check_str(info.host, data, &[side, "host"]);
        check_opt_str(info.port, data, &[side, "port"]);
    }
}

fn typed_event<const N: usize>(event: &message::EventMessage<'_>, tracker: &mut SpiceSessions<N>) {
    for name in EVENT_NAMES {
        if let Ok(ev) = TypedEvent::decode(name, event.data) {
            assert_eq!(ev.name(), name);
        }
    }
    let Ok(ev) = TypedEvent::from_message(event) else {
        return;
    };
    if ev.is_known() {
        assert!(
            event.name == ev.name(),
            "typed event renamed {:?}",
            event.name
        );
    } else if let TypedEvent::Unknown { name, data } = ev {
        assert_eq!(name, event.name.raw());
        assert_eq!(data, event.data);
    }
    let data = event.data;
    let mut client_len = None;
    match ev {
        TypedEvent::SpiceConnected(e) => {
            check_basic(&e.server, &e.client, data);
            client_len = Some((e.client.host, e.client.port));
        }
        TypedEvent::SpiceDisconnected(e) => {
            check_basic(&e.server, &e.client, data);
            client_len = Some((e.client.host, e.client.port));
        }
        TypedEvent::SpiceInitialized(e) => {
            let c = &e.client;
            check_str(c.host, data, &["client", "host"]);
            check_opt_str(c.port, data, &["client", "port"]);
            check_i64(c.connection_id, data, &["client", "connection-id"]);
            check_i64(c.channel_type, data, &["client", "channel-type"]);
            check_i64(c.channel_id, data, &["client", "channel-id"]);
            check_bool(c.tls, data, &["client", "tls"]);
            check_str(e.server.host, data, &["server", "host"]);
            client_len = Some((c.host, c.port));
        }
        TypedEvent::BalloonChange(e) => check_i64(e.actual, data, &["actual"]),
        TypedEvent::RtcChange(e) => {
            check_i64(e.offset, data, &["offset"]);
            check_opt_str(e.qom_path, data, &["qom-path"]);
        }
        TypedEvent::DeviceDeleted(e) => {
            check_opt_str(e.device, data, &["device"]);
            check_opt_str(e.path, data, &["path"]);
        }
        _ => {}
    }

    let before = tracker.len();
    let result = tracker.handle(&ev);
    let after = tracker.len();
    assert!(after <= tracker.capacity(), "tracker holds {after} of {N}");
    assert_eq!(tracker.connections().count(), after);
    assert!(tracker.sessions().count() <= after);
    for session in tracker.sessions() {
        assert!(
            session.channels < after,
            "a session counts more channels than tracked"
        );
    }
    let too_long = client_len.is_some_and(|(host, port)| {
        host.unescaped_len() > HOST_MAX || port.is_some_and(|p| p.unescaped_len() > PORT_MAX)
    });
    match result {
        Err(e) => {
            assert_eq!(after, before, "a refused event changed the table");
            match e {
                SpiceError::Full { capacity } => {
                    assert_eq!(capacity, N);
                    assert_eq!(before, N, "Full with room left");
                }
                SpiceError::AddressTooLong => assert!(too_long, "AddressTooLong for a short one"),
            }
        }
        Ok(None) => {
            assert!(client_len.is_none(), "a SPICE event gave no outcome");
            assert_eq!(after, before);
        }
        Ok(Some(outcome)) => {
            assert!(!too_long, "recorded an address that does not fit");
            match outcome {
                SpiceOutcome::Opened { .. } | SpiceOutcome::ChannelAttached { .. } => {
                    assert!(after <= before + 1)
                }
                SpiceOutcome::Initialized { connection_id, .. } => {
                    assert!(after <= before + 1);
                    assert!(
                        tracker.session(connection_id).is_some(),
                        "an initialized session is not open"
                    );
                }
                SpiceOutcome::Closed { connection_id, .. } => {
                    assert_eq!(after + 1, before);
                    assert!(
                        tracker.session(connection_id).is_none(),
                        "a closed session is still open"
                    );
                }
                SpiceOutcome::ChannelDetached { .. } | SpiceOutcome::Abandoned { .. } => {
                    assert_eq!(after + 1, before)
                }
                SpiceOutcome::Untracked { .. } => assert_eq!(after, before),
            }
        }
    }
}

/// Decode a reply value as each common command's return type.
fn replies(value: RawJson<'_>) {
    let _ = QueryVersion::decode_return(value);
    let _ = QueryStatus::decode_return(value);
    let _ = QueryName::decode_return(value);
    if let Ok(list) = QueryCommands::decode_return(value) {
        assert_eq!(list.len(), list.iter().count());
    }
    if let Ok(spice) = QuerySpice::decode_return(value) {
        if let Some(channels) = spice.channels {
            assert_eq!(channels.len(), channels.iter().count());
        }
    }
    if let Ok(vnc) = QueryVnc::decode_return(value) {
        if let Some(clients) = vnc.clients {
            assert_eq!(clients.len(), clients.iter().count());
        }
    }
    let _ = QueryQmpSchema::decode_return(value);
}

/// Call `f` with every array in the valid JSON text `bytes` (the first [`ARRAYS_MAX`]).
fn for_each_array(bytes: &[u8], mut f: impl FnMut(RawJson<'_>)) {
    let mut found = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' => {
                let end = container_end(bytes, i);
                let array = RawJson::parse(&bytes[i..end]).expect("a nested array is valid");
                f(array);
                found += 1;
                if found == ARRAYS_MAX {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// Index just past the container that opens at `start` in valid JSON.
fn container_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    bytes.len()
}

/// Walk `array` as a `query-qmp-schema` reply through every view.
fn schema_views(array: RawJson<'_>) {
    use crate::schema::introspect::MetaType;

    let schema = Schema::from_json(array).expect("an array is a schema");
    assert_eq!(schema.len(), schema.iter().count());
    assert_eq!(schema.is_empty(), schema.iter().next().is_none());
    for (i, entry) in schema.iter().take(ENTRIES_MAX).enumerate() {
        let Ok(info) = entry else { continue };
        let meta = info.meta_type();
        let _ = info.features().count();
        let _ = info.has_feature("deprecated");
        for m in info.enum_members() {
            let _ = m.features().count();
        }
        for m in info.object_members() {
            let _ = (m.optional, m.features().count());
        }
        let _ = (info.variants().count(), info.alternate_members().count());
        let _ = (info.tag(), info.element_type(), info.arg_type());
        assert!(meta == MetaType::Builtin || info.json_type().is_none());
        assert!(meta == MetaType::Enum || info.enum_members().next().is_none());
        assert!(meta == MetaType::Object || info.object_members().next().is_none());
        assert!(meta == MetaType::Alternate || info.alternate_members().next().is_none());
        assert!(meta == MetaType::Command || (info.ret_type().is_none() && !info.allow_oob()));
        if i < 16 {
            if let Some(name) = info.name().as_str() {
                let found = schema.get(name).expect("an entry cannot be found by name");
                assert!(found.name() == name);
                assert_eq!(
                    schema.command(name).is_some(),
                    found.meta_type() == MetaType::Command
                );
                assert_eq!(
                    schema.event(name).is_some(),
                    found.meta_type() == MetaType::Event
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_eq_compares_by_meaning() {
        assert!(json_eq(b"{ \"a\" : [1, 2.5e0] }", br#"{"a":[1,2.5]}"#));
        assert!(json_eq(br#""caf\u00e9""#, "\"café\"".as_bytes()));
        assert!(json_eq(b"1e16", b"1e+16"));
        assert!(json_eq(b"10", b"1e1"), "floats are compared by value");
        assert!(
            !json_eq(b"12345678901234567890", b"12345678901234567891"),
            "integers are compared as written"
        );
        assert!(!json_eq(br#"{"a":1}"#, br#"{"a":1,"b":2}"#));
        assert!(!json_eq(b"[1]", b"[1,2]"));
        assert!(!json_eq(b"true", b"\"true\""));
    }

    #[test]
    fn header_splits_settings_schedule_and_data() {
        assert_eq!(split_header(b""), (0, &b""[..], &b""[..]));
        assert_eq!(split_header(b"\x07"), (7, &b""[..], &b""[..]));
        assert_eq!(split_header(b"\x07\x02ab{}"), (7, &b"ab"[..], &b"{}"[..]));
        assert_eq!(split_header(b"\x07\x09ab"), (7, &b"ab"[..], &b""[..]));
    }

    #[test]
    fn frame_chunks_on_small_inputs() {
        let data: &[&[u8]] = &[
            b"",
            b"{}",
            b"{\"return\": {}}\r\n{\"event\"",
            b"12 3\n[1,\n{}]\n{\"a\":1}\xff{\"b\": 2}",
            b"\n\n{\"x\": [1, 2, {\"y\": \"\\u00e9\"}]}\r\n\x01\x02{\n{}",
            b"[[[[[[[[]]]]]]]] 1e5 true nul",
        ];
        for d in data {
            for settings in [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 0x17, 0x2E, 0xBF] {
                for schedule in [&b""[..], b"\x01", b"\x41\x00\x83", b"\x3f\x00", b"\x00"] {
                    let mut input = std::vec![settings, schedule.len() as u8];
                    input.extend_from_slice(schedule);
                    input.extend_from_slice(d);
                    frame_chunks(&input);
                }
            }
        }
    }

    extern crate std;
}
