//! Framing throughput of `qmp_core::frame::Framer` against serde_json and simd-json, on
//! real-shaped QMP streams (see the `qmp_benches` corpus builders).
//!
//! One criterion group per corpus (`schema`, `events`, `chatter`, `pretty`), all reporting
//! `Throughput::Bytes` of the whole corpus, so the figures of one group compare directly:
//!
//! - `qmp_framer/whole`: one framer over a 512 KiB buffer, fed as much of the corpus as
//!   fits at a time (the whole corpus for `schema`), draining frames in between.
//! - `qmp_framer/4k_chunks`: the same, fed 4 KiB at a time, as a socket read loop would.
//! - `serde_json/raw_value_stream`: serde_json's stream deserializer yielding
//!   `&RawValue`, which validates and delimits each text without building anything: the
//!   closest serde_json equivalent of a framer. It needs the whole stream in memory.
//! - `serde_json/ignored_any_lines`, `serde_json/value_lines`, `simd_json/borrowed_lines`:
//!   what a line-based reader does, one parse per line. The lines are cut before the
//!   timed loop (see `qmp_benches::line_messages`), so their cost is not counted.
//!   simd-json parses in place, so each line is first copied into a reused scratch buffer.
//!
//! - `qmp_framer_parse/whole`: `qmp_framer/whole` plus [`Message::parse`] of every frame
//!   (kind, id, name and the ends of the nested members, all checked), so the two
//!   figures show what message classification adds to framing.
//!
//! The framer copies every byte into its buffer (`push`); the serde_json stream reads the
//! corpus in place. Both validate strictly.
//!
//! The pretty corpus has no per-line figures: its lines are fragments of messages, which
//! line-based readers cannot parse at all. simd-json is skipped there too rather than
//! being fed frames pre-cut by another parser.
//!
//! Every function checks its result in each iteration (frame count, and for the framer
//! total frame bytes and zero errors) against figures computed once before timing, and
//! the setup checks that the framer and serde_json find exactly the same frames.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::message::Message;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// Framer buffer: larger than the biggest frame (the 236 KB schema reply).
const BUF_LEN: usize = 512 * 1024;
/// Read size of the chunked run.
const CHUNK: usize = 4 * 1024;

/// What one pass of the framer over a corpus found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    frames: usize,
    bytes: usize,
    errors: usize,
}

/// Run `framer` over `corpus`, pushing at most `chunk` bytes at a time, and count.
fn frame_all(framer: &mut Framer<Vec<u8>>, corpus: &[u8], chunk: usize) -> Tally {
    let mut tally = Tally::default();
    framer.reset();
    for piece in corpus.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let n = framer.push(rest);
            rest = &rest[n..];
            drain(framer, &mut tally);
        }
    }
    framer.finish();
    drain(framer, &mut tally);
    tally
}

fn drain(framer: &mut Framer<Vec<u8>>, tally: &mut Tally) {
    while let Some(item) = framer.next() {
        match item {
            Ok(frame) => {
                tally.frames += 1;
                tally.bytes += frame.len();
            }
            Err(_) => tally.errors += 1,
        }
    }
}

/// [`frame_all`], also classifying every frame with [`Message::parse`]; a frame that is
/// not a message counts as an error.
fn frame_parse_all(framer: &mut Framer<Vec<u8>>, corpus: &[u8], chunk: usize) -> Tally {
    let mut tally = Tally::default();
    let mut on_item = |item: Result<Frame<'_>, FrameError>| match item {
        Ok(frame) => match Message::parse(frame) {
            Ok(message) => {
                black_box(message);
                tally.frames += 1;
                tally.bytes += frame.len();
            }
            Err(_) => tally.errors += 1,
        },
        Err(_) => tally.errors += 1,
    };
    framer.reset();
    for piece in corpus.chunks(chunk) {
        framer.feed(piece, &mut on_item);
    }
    framer.finish();
    framer.drain(&mut on_item);
    tally
}

/// Every frame of `corpus`, fed in `chunk`-byte pieces; panics on any framer error.
fn framer_frames(framer: &mut Framer<Vec<u8>>, corpus: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut collect = |item: Result<Frame<'_>, FrameError>| match item {
        Ok(frame) => frames.push(frame.as_bytes().to_vec()),
        Err(e) => panic!("framer error with {chunk}-byte chunks: {e} ({e:?})"),
    };
    framer.reset();
    for piece in corpus.chunks(chunk) {
        framer.feed(piece, &mut collect);
    }
    framer.finish();
    framer.drain(&mut collect);
    frames
}

/// Every text of `corpus` as serde_json's stream deserializer delimits it.
fn serde_frames(corpus: &[u8]) -> Vec<&[u8]> {
    serde_json::Deserializer::from_slice(corpus)
        .into_iter::<&RawValue>()
        .map(|v| v.expect("serde_json rejects the corpus").get().as_bytes())
        .collect()
}

fn bench_corpus(c: &mut Criterion, name: &str, corpus: &[u8], per_line: bool) {
    let mut framer = Framer::new(vec![0u8; BUF_LEN]);

    // Reference figures, and proof that framer and serde_json agree on every frame.
    let expected_frames = serde_frames(corpus);
    let expected = Tally {
        frames: expected_frames.len(),
        bytes: expected_frames.iter().map(|f| f.len()).sum(),
        errors: 0,
    };
    for chunk in [corpus.len(), CHUNK, 1] {
        let frames = framer_frames(&mut framer, corpus, chunk);
        assert_eq!(
            frames.len(),
            expected.frames,
            "{name}: frame count, {chunk}-byte chunks"
        );
        assert!(
            frames.iter().zip(&expected_frames).all(|(a, b)| a == b),
            "{name}: framer and serde_json frames differ ({chunk}-byte chunks)"
        );
    }
    assert_eq!(frame_all(&mut framer, corpus, corpus.len()), expected);
    assert_eq!(frame_all(&mut framer, corpus, CHUNK), expected);
    assert_eq!(frame_parse_all(&mut framer, corpus, corpus.len()), expected);
    let lines = if per_line {
        let lines = qmp_benches::line_messages(corpus);
        assert_eq!(lines, expected_frames, "{name}: lines are the frames");
        lines
    } else {
        Vec::new()
    };
    eprintln!(
        "{name}: {} bytes, {} frames, {:.0} bytes/frame",
        corpus.len(),
        expected.frames,
        corpus.len() as f64 / expected.frames as f64
    );

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(corpus.len() as u64));

    group.bench_function("qmp_framer/whole", |b| {
        b.iter(|| {
            let tally = frame_all(&mut framer, black_box(corpus), corpus.len());
            assert_eq!(tally, expected);
            black_box(tally)
        })
    });
    group.bench_function("qmp_framer_parse/whole", |b| {
        b.iter(|| {
            let tally = frame_parse_all(&mut framer, black_box(corpus), corpus.len());
            assert_eq!(tally, expected);
            black_box(tally)
        })
    });
    group.bench_function("qmp_framer/4k_chunks", |b| {
        b.iter(|| {
            let tally = frame_all(&mut framer, black_box(corpus), CHUNK);
            assert_eq!(tally, expected);
            black_box(tally)
        })
    });
    group.bench_function("serde_json/raw_value_stream", |b| {
        b.iter(|| {
            let (mut frames, mut bytes) = (0, 0);
            for value in
                serde_json::Deserializer::from_slice(black_box(corpus)).into_iter::<&RawValue>()
            {
                let value = value.expect("valid JSON");
                frames += 1;
                bytes += value.get().len();
            }
            assert_eq!((frames, bytes), (expected.frames, expected.bytes));
            black_box(frames)
        })
    });

    if per_line {
        group.bench_function("serde_json/ignored_any_lines", |b| {
            b.iter(|| {
                let mut frames = 0;
                for line in &lines {
                    let value: IgnoredAny =
                        serde_json::from_slice(black_box(line)).expect("valid JSON");
                    black_box(value);
                    frames += 1;
                }
                assert_eq!(frames, expected.frames);
                black_box(frames)
            })
        });
        group.bench_function("serde_json/value_lines", |b| {
            b.iter(|| {
                let mut objects = 0;
                for line in &lines {
                    let value: serde_json::Value =
                        serde_json::from_slice(black_box(line)).expect("valid JSON");
                    objects += usize::from(value.is_object());
                    black_box(value);
                }
                assert_eq!(objects, expected.frames);
                black_box(objects)
            })
        });
        let mut scratch = Vec::with_capacity(lines.iter().map(|l| l.len()).max().unwrap_or(0));
        group.bench_function("simd_json/borrowed_lines", |b| {
            b.iter(|| {
                let mut objects = 0;
                for line in &lines {
                    scratch.clear();
                    scratch.extend_from_slice(black_box(line));
                    let value = simd_json::to_borrowed_value(&mut scratch).expect("valid JSON");
                    objects += usize::from(matches!(value, simd_json::BorrowedValue::Object(_)));
                    black_box(value);
                }
                assert_eq!(objects, expected.frames);
                black_box(objects)
            })
        });
    }
    group.finish();
}

fn schema(c: &mut Criterion) {
    bench_corpus(c, "schema", &qmp_benches::schema(), true);
}

fn events(c: &mut Criterion) {
    bench_corpus(c, "events", &qmp_benches::events(), true);
}

fn chatter(c: &mut Criterion) {
    bench_corpus(c, "chatter", &qmp_benches::chatter(), true);
}

fn pretty(c: &mut Criterion) {
    // Per-line parsing does not apply: a pretty message spans many lines.
    bench_corpus(c, "pretty", &qmp_benches::pretty(), false);
}

/// Short runs: the whole suite takes a few minutes on two cores.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = framing;
    config = config();
    targets = schema, events, chatter, pretty
}
criterion_main!(framing);
