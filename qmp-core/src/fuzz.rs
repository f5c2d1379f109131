//! Fuzz entry points, shared by the cargo-fuzz targets and the unit tests. Not a stable
//! API.

use crate::frame::{Config, FrameError, Framer};

/// Frame `data` whole and in the chunks described by `splits` (each byte a chunk length,
/// 0 meaning 1), with a small buffer, and check that both give the same frames and
/// errors. Panics on a mismatch: that is the bug a fuzzer looks for.
pub fn frame_chunks(data: &[u8], splits: &[u8]) {
    let whole = collect(data, &[]);
    let chunked = collect(data, splits);
    assert_eq!(whole, chunked, "chunking changed the result");
}

/// Fixed-capacity record of what framing produced: (offset, len, hash) per frame, and
/// errors as values. Kept small so it needs no allocation.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    count: usize,
    digest: u64,
    first_mismatch_hint: Option<(u64, usize)>,
}

fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x0100_0000_01b3).rotate_left(5)
}

fn collect(data: &[u8], splits: &[u8]) -> Outcome {
    let mut framer = Framer::with_config([0u8; 512], Config::qmp());
    let mut out = Outcome {
        count: 0,
        digest: 0xcbf2_9ce4_8422_2325,
        first_mismatch_hint: None,
    };
    let mut rest = data;
    let mut k = 0usize;
    let drain = |framer: &mut Framer<[u8; 512]>, out: &mut Outcome| {
        while let Some(item) = framer.next() {
            out.count += 1;
            match item {
                Ok(frame) => {
                    out.digest = mix(out.digest, frame.offset());
                    for &b in frame.as_bytes() {
                        out.digest = mix(out.digest, b as u64);
                    }
                    if out.first_mismatch_hint.is_none() {
                        out.first_mismatch_hint = Some((frame.offset(), frame.len()));
                    }
                }
                Err(e) => {
                    out.digest = mix(out.digest, 0xE77);
                    out.digest = mix(out.digest, e.start());
                    out.digest = mix(out.digest, e.skipped());
                    if let FrameError::Invalid { error, .. } = e {
                        out.digest = mix(out.digest, error.offset);
                        out.digest = mix(out.digest, error.kind as u64);
                    }
                }
            }
        }
    };
    while !rest.is_empty() {
        let want = if splits.is_empty() {
            rest.len()
        } else {
            let s = splits[k % splits.len()] as usize;
            k += 1;
            s.max(1)
        };
        let n = framer.push(&rest[..want.min(rest.len())]);
        rest = &rest[n..];
        drain(&mut framer, &mut out);
    }
    framer.finish();
    drain(&mut framer, &mut out);
    out
}
