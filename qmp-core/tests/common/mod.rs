//! Helpers shared by the integration tests: a seeded PRNG, framing loops for every way of
//! feeding a [`Framer`], invariant checks on what comes out, and a real QEMU to talk to
//! ([`qemu`]).
//!
//! Each test crate uses a different subset of these.
#![allow(dead_code)]

pub mod qemu;
pub mod semantic;
pub mod spice;

use qmp_core::frame::{FrameError, Framer};
use qmp_core::scan::validate;
use qmp_core::scan::ScanConfig;

/// Base seed for the random tests; individual seeds are derived from it.
pub const BASE_SEED: u64 = 0x51AB_1E5E_ED00_0001;

/// A small xorshift64* PRNG: deterministic, no dependencies.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; every seed (including 0) gives a usable, distinct stream.
    pub fn new(seed: u64) -> Self {
        // splitmix64 finaliser, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        assert!(lo <= hi);
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// Property-test settings: `cases` cases unless `PROPTEST_CASES` says otherwise, the
/// first of [`seeds`] as the seed (so a failure is reproduced from `QMP_TEST_SEED`), and
/// no regression files next to the sources.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        rng_seed: proptest::test_runner::RngSeed::Fixed(seeds(1)[0]),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// The seeds to run random tests with: `QMP_TEST_SEED` (decimal or `0x` hex) first if
/// set, then `count` seeds derived from [`BASE_SEED`].
pub fn seeds(count: usize) -> Vec<u64> {
    let mut out = Vec::new();
    if let Ok(s) = std::env::var("QMP_TEST_SEED") {
        let s = s.trim();
        let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        out.push(parsed.unwrap_or_else(|e| panic!("QMP_TEST_SEED={s:?} is not a u64: {e}")));
    }
    out.extend((0..count as u64).map(|i| BASE_SEED.wrapping_add(i.wrapping_mul(0x1_0001))));
    out
}

/// One thing the framer handed out.
#[derive(Clone, PartialEq, Eq)]
pub enum Item {
    Frame { offset: u64, bytes: Vec<u8> },
    Error(FrameError),
}

impl Item {
    pub fn is_err(&self) -> bool {
        matches!(self, Item::Error(_))
    }

    pub fn frame(&self) -> Option<(u64, &[u8])> {
        match self {
            Item::Frame { offset, bytes } => Some((*offset, bytes)),
            Item::Error(_) => None,
        }
    }

    pub fn error(&self) -> Option<FrameError> {
        match self {
            Item::Frame { .. } => None,
            Item::Error(e) => Some(*e),
        }
    }
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Frame { offset, bytes } => {
                let shown = if bytes.len() > 80 {
                    format!(
                        "{}...({} bytes)",
                        String::from_utf8_lossy(&bytes[..80]),
                        bytes.len()
                    )
                } else {
                    String::from_utf8_lossy(bytes).into_owned()
                };
                write!(f, "Frame@{offset} {shown:?}")
            }
            Item::Error(e) => write!(f, "{e:?}"),
        }
    }
}

/// Progress guard: no input of `len` bytes can legitimately produce more items than this.
fn budget(len: usize) -> usize {
    2 * len + 16
}

/// Call `next()` until `None`, recording everything. Panics if the framer keeps producing
/// items without consuming input (a hang).
pub fn drain<B: AsRef<[u8]> + AsMut<[u8]>>(
    f: &mut Framer<B>,
    out: &mut Vec<Item>,
    budget: &mut usize,
) {
    while let Some(item) = f.next() {
        out.push(match item {
            Ok(frame) => Item::Frame {
                offset: frame.offset(),
                bytes: frame.as_bytes().to_vec(),
            },
            Err(e) => Item::Error(e),
        });
        *budget = budget
            .checked_sub(1)
            .unwrap_or_else(|| panic!("framer makes no progress; last items: {:?}", tail(out)));
    }
}

fn tail(v: &[Item]) -> &[Item] {
    &v[v.len().saturating_sub(5)..]
}

/// Feed `data` with `push`, in pieces of the sizes `chunk` returns (0 is taken as 1),
/// draining after every push; then `finish()` and drain again.
pub fn frame_all<B: AsRef<[u8]> + AsMut<[u8]>>(
    f: &mut Framer<B>,
    data: &[u8],
    mut chunk: impl FnMut() -> usize,
) -> Vec<Item> {
    let mut out = Vec::new();
    let mut budget = budget(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        let want = chunk().max(1).min(rest.len());
        let mut piece = &rest[..want];
        while !piece.is_empty() {
            let n = f.push(piece);
            // After a drain the buffer always has room for at least one byte.
            assert!(
                n > 0,
                "push took nothing after next() returned None (offset {})",
                f.offset()
            );
            piece = &piece[n..];
            rest = &rest[n..];
            drain(f, &mut out, &mut budget);
        }
    }
    f.finish();
    drain(f, &mut out, &mut budget);
    out
}

/// Feed `data` through the zero-copy path: `spare_mut()`, copy at most `read()` bytes
/// (a simulated `read` call), `commit`, drain; then `finish()` and drain.
pub fn frame_spare<B: AsRef<[u8]> + AsMut<[u8]>>(
    f: &mut Framer<B>,
    data: &[u8],
    mut read: impl FnMut() -> usize,
) -> Vec<Item> {
    let mut out = Vec::new();
    let mut budget = budget(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        let spare = f.spare_mut();
        assert!(
            !spare.is_empty(),
            "spare_mut() is empty after next() returned None (offset {})",
            f.offset()
        );
        let n = read().max(1).min(rest.len()).min(spare.len());
        spare[..n].copy_from_slice(&rest[..n]);
        f.commit(n);
        rest = &rest[n..];
        drain(f, &mut out, &mut budget);
    }
    f.finish();
    drain(f, &mut out, &mut budget);
    out
}

/// How to feed the input.
#[derive(Clone, Copy, Debug)]
pub enum Feed {
    /// One `push` of everything (repeated while the buffer fills).
    Whole,
    /// Fixed-size pushes.
    Chunks(usize),
    /// Pushes of random sizes in `1..=max`.
    Random { seed: u64, max: usize },
    /// `spare_mut` + `commit` with random read sizes in `1..=max`.
    Spare { seed: u64, max: usize },
}

/// Frame `data` with a fresh framer of `cap` bytes and `config`, fed as `feed` says.
pub fn run(data: &[u8], cap: usize, config: ScanConfig, feed: Feed) -> Vec<Item> {
    let mut f = Framer::with_config(vec![0u8; cap], config);
    match feed {
        Feed::Whole => frame_all(&mut f, data, || usize::MAX),
        Feed::Chunks(n) => frame_all(&mut f, data, || n),
        Feed::Random { seed, max } => {
            let mut rng = Rng::new(seed);
            frame_all(&mut f, data, || rng.range(1, max))
        }
        Feed::Spare { seed, max } => {
            let mut rng = Rng::new(seed);
            frame_spare(&mut f, data, || rng.range(1, max))
        }
    }
}

pub use qmp_core::fuzz::is_ws;

/// Check what the framer produced against the input it was given:
///
/// - every frame is the input bytes at its offset and is valid JSON on its own;
/// - every `TooLarge` region is valid JSON on its own;
/// - frames and error regions are in stream order and do not overlap;
/// - an error's offending byte lies inside its region (or at its end);
/// - every byte not covered by a frame or an error region is whitespace.
///
/// Returns a description of the first violation.
pub fn check_invariants(data: &[u8], items: &[Item]) -> Result<(), String> {
    let mut pos = 0u64;
    let gap_ok = |from: u64, to: u64| -> Result<(), String> {
        let gap = &data[from as usize..to as usize];
        match gap.iter().position(|&b| !is_ws(b)) {
            None => Ok(()),
            Some(p) => Err(format!(
                "byte {} ({:#04x}) is neither in a frame, nor in an error region, nor whitespace",
                from as usize + p,
                gap[p]
            )),
        }
    };
    for (i, item) in items.iter().enumerate() {
        let (start, len) = match item {
            Item::Frame { offset, bytes } => {
                let s = *offset as usize;
                let e = s + bytes.len();
                if e > data.len() || &data[s..e] != bytes.as_slice() {
                    return Err(format!("item {i}: frame does not match input at {s}"));
                }
                if let Err(e) = validate(bytes) {
                    return Err(format!("item {i}: frame at {s} is not valid JSON: {e}"));
                }
                if std::str::from_utf8(bytes).is_err() {
                    return Err(format!("item {i}: frame at {s} is not UTF-8"));
                }
                (*offset, bytes.len() as u64)
            }
            Item::Error(FrameError::TooLarge { start, len }) => {
                let s = *start as usize;
                let e = s + *len as usize;
                if e > data.len() {
                    return Err(format!("item {i}: TooLarge region runs past the input"));
                }
                if let Err(e) = validate(&data[s..e]) {
                    return Err(format!("item {i}: TooLarge region is not valid JSON: {e}"));
                }
                (*start, *len)
            }
            Item::Error(FrameError::Invalid {
                error,
                start,
                skipped,
            }) => {
                if start + skipped > data.len() as u64 {
                    return Err(format!("item {i}: error region runs past the input"));
                }
                if error.offset < *start || error.offset > start + skipped {
                    return Err(format!(
                        "item {i}: error offset {} outside region {start}..{}",
                        error.offset,
                        start + skipped
                    ));
                }
                (*start, *skipped)
            }
            Item::Error(e) => return Err(format!("item {i}: unknown error variant {e:?}")),
        };
        if start < pos {
            return Err(format!(
                "item {i} ({item:?}) starts at {start}, before the end of the previous one ({pos})"
            ));
        }
        gap_ok(pos, start).map_err(|e| format!("before item {i}: {e}"))?;
        pos = start + len;
    }
    gap_ok(pos, data.len() as u64).map_err(|e| format!("after the last item: {e}"))
}

/// Read a file from the repository's `testdata` folder.
pub fn testdata(rel: &str) -> Vec<u8> {
    let path = format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The files in a `testdata` sub-folder, sorted by name, as (name, contents).
pub fn testdata_dir(rel: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let data = std::fs::read(entry.path()).unwrap();
            (name, data)
        })
        .collect();
    out.sort();
    out
}
