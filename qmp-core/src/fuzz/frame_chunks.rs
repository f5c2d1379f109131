//! [`frame_chunks`]: the same bytes framed whole and by a fuzzer-chosen schedule give
//! exactly the same frames and errors, item by item.
//!
//! This harness drives the framer's feeding calls (`push`, `spare_mut` + `commit`,
//! `finish`) at the points the schedule picks, on purpose: the chunking is what it tests.

use super::is_ws;
use crate::frame::{FrameError, Framer};
use crate::scan::{validate, Outline, ScanConfig};

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

#[cfg(test)]
mod tests {
    use super::*;

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
