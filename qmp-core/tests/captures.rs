//! Real QEMU output (`testdata/captures`, bytes received from QEMU 10.0.2) frames into
//! exactly the messages an independent parser (serde_json) finds, however it is fed and
//! whatever the buffer size.

mod common;

use common::{check_invariants, is_ws, run, seeds, testdata, testdata_dir, Feed, Item};
use qmp_core::frame::FrameError;
use qmp_core::scan::ScanConfig;
use qmp_core::scan::ScanErrorKind;
use serde_json::value::RawValue;

/// Big enough for the largest capture frame (the 236 KB schema).
const BIG: usize = 256 * 1024;

/// Captures in which QEMU itself wrote something that is not JSON: (file, the bad
/// bytes up to the next message, why). Everything else must frame with zero errors.
const KNOWN_BAD: &[(&str, &[u8], &str)] = &[(
    "extras.rx.bin",
    b"{\"return\": {\"status\": \"prelaunch\", \"running\": false}, \"id\": inf}\r\n",
    "QEMU echoes a command id of 1e999 (a double that overflows to infinity) as the \
     bare word `inf`, which is not JSON",
)];

/// (name, bytes) of every capture: the `*.rx.bin` files and the schema reply.
fn captures() -> Vec<(String, Vec<u8>)> {
    let all: Vec<_> = testdata_dir("captures")
        .into_iter()
        .filter(|(n, _)| n.ends_with(".rx.bin") || n == "query-qmp-schema.json")
        .collect();
    for must in ["chardev_mon_pretty.rx.bin", "query-qmp-schema.json"] {
        assert!(all.iter().any(|(n, _)| n == must), "missing capture {must}");
    }
    assert!(all.len() >= 3);
    all
}

/// What an independent parser finds in a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ref {
    /// A message serde_json accepts: offset and bytes.
    Msg(u64, Vec<u8>),
    /// A region serde_json rejects: from its first byte up to the next line that starts
    /// with `{` (the framer's documented resynchronisation point), or the end.
    Bad { start: u64, end: u64 },
}

/// The messages in `data` according to serde_json's streaming `RawValue` parser. Where
/// serde_json finds an error, the region up to the next `{` at the start of a line is
/// recorded as bad and parsing resumes there.
fn reference(data: &[u8]) -> Vec<Ref> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let mut stream =
            serde_json::Deserializer::from_slice(&data[pos..]).into_iter::<&RawValue>();
        let mut failed = false;
        for r in stream.by_ref() {
            match r {
                Ok(raw) => {
                    let bytes = raw.get().as_bytes();
                    let offset = bytes.as_ptr() as usize - data.as_ptr() as usize;
                    assert_eq!(&data[offset..offset + bytes.len()], bytes);
                    out.push(Ref::Msg(offset as u64, bytes.to_vec()));
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            break;
        }
        // The bad value starts at the first non-whitespace byte after the last good one.
        let after = pos + stream.byte_offset();
        let start = after
            + data[after..]
                .iter()
                .position(|&b| !is_ws(b))
                .expect("serde_json failed on trailing whitespace");
        let end = data[start..]
            .windows(2)
            .position(|w| w == b"\n{")
            .map_or(data.len(), |p| start + p + 1);
        out.push(Ref::Bad {
            start: start as u64,
            end: end as u64,
        });
        pos = end;
    }
    out
}

/// The messages of a capture that serde_json accepts in full: (offset, bytes).
fn messages(name: &str, data: &[u8]) -> Vec<(u64, Vec<u8>)> {
    reference(data)
        .into_iter()
        .map(|r| match r {
            Ref::Msg(o, b) => (o, b),
            Ref::Bad { start, .. } => panic!("{name}: serde_json rejects byte {start}"),
        })
        .collect()
}

/// Whether the framer's item is what the reference says, for a buffer of `cap` bytes:
/// accepted messages come out whole if they fit and as `TooLarge` with their exact
/// position and length otherwise; a rejected region gives one `Invalid` error covering
/// exactly that region.
fn matches(item: &Item, want: &Ref, cap: usize) -> bool {
    match (item, want) {
        (Item::Frame { offset, bytes }, Ref::Msg(o, b)) => {
            b.len() <= cap && offset == o && bytes == b
        }
        (Item::Error(FrameError::TooLarge { start, len }), Ref::Msg(o, b)) => {
            b.len() > cap && start == o && *len == b.len() as u64
        }
        (
            Item::Error(FrameError::Invalid {
                error,
                start: s,
                skipped,
            }),
            Ref::Bad { start, end },
        ) => s == start && s + skipped == *end && (*start..*end).contains(&error.offset),
        _ => false,
    }
}

/// Every way of feeding the framer, for the given seeds.
fn feeds(seeds: &[u64]) -> Vec<Feed> {
    let mut out = vec![Feed::Whole, Feed::Chunks(1)];
    for &seed in seeds {
        out.push(Feed::Random { seed, max: 16 });
        out.push(Feed::Random { seed, max: 5000 });
        out.push(Feed::Spare { seed, max: 16 });
        out.push(Feed::Spare { seed, max: 5000 });
    }
    out
}

/// Compare framing `data` with every feed and buffer size in `caps` to the reference,
/// and return the reference.
fn check(name: &str, data: &[u8], caps: &[usize]) -> Vec<Ref> {
    let want = reference(data);
    assert!(!want.is_empty(), "{name}: no messages");
    for (&cap, config) in caps
        .iter()
        .flat_map(|c| [(c, ScanConfig::qmp()), (c, ScanConfig::json())])
    {
        for feed in feeds(&seeds(3)) {
            let got = run(data, cap, config, feed);
            if let Err(e) = check_invariants(data, &got) {
                panic!("{name}, buffer {cap}, {config:?}, {feed:?}: {e}");
            }
            assert_eq!(
                got.len(),
                want.len(),
                "{name}, buffer {cap}, {config:?}, {feed:?}: {} items, the reference has {}\ngot: {got:?}",
                got.len(),
                want.len()
            );
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    matches(g, w, cap),
                    "{name}, buffer {cap}, {config:?}, {feed:?}: item {i} is {g:?}, the reference has {w:?}"
                );
            }
        }
    }
    want
}

#[test]
fn captures_frame_like_serde_json_with_a_big_buffer() {
    for (name, data) in captures() {
        let reference = check(&name, &data, &[BIG]);
        let bad: Vec<&[u8]> = reference
            .iter()
            .filter_map(|r| match r {
                Ref::Bad { start, end } => Some(&data[*start as usize..*end as usize]),
                Ref::Msg(..) => None,
            })
            .collect();
        let known: Vec<&[u8]> = KNOWN_BAD
            .iter()
            .filter(|(n, _, _)| *n == name)
            .map(|(_, b, _)| *b)
            .collect();
        assert_eq!(bad, known, "{name}: unexpected non-JSON regions");
    }
}

/// Smaller buffers: messages that fit come out unchanged, the others are reported as
/// `TooLarge` with their exact position and length, and framing continues in step.
#[test]
fn captures_frame_like_serde_json_with_small_buffers() {
    for (name, data) in captures() {
        check(&name, &data, &[4096, 512]);
        // Tiny buffers (nearly everything too large) only on the small captures: with a
        // 1-byte buffer every byte is a push/next round, which is slow in debug builds.
        if data.len() < 10_000 {
            check(&name, &data, &[17, 1]);
        }
    }
}

/// All captures back to back, as one long stream.
#[test]
fn concatenated_captures() {
    let data: Vec<u8> = captures().into_iter().flat_map(|(_, d)| d).collect();
    check("all captures", &data, &[BIG, 4096]);
}

/// QEMU's `inf`: one `UnexpectedByte` error at the `i`, exactly that line skipped, and
/// the next line frames normally.
#[test]
fn qemu_inf_is_rejected_and_skipped_alone() {
    let data = testdata("captures/extras.rx.bin");
    let (_, line, _) = KNOWN_BAD[0];
    let start = data.windows(line.len()).position(|w| w == line).unwrap();
    let at = start + line.windows(3).position(|w| w == b"inf").unwrap();
    for feed in feeds(&seeds(2)) {
        let got = run(&data, BIG, ScanConfig::qmp(), feed);
        let errors: Vec<FrameError> = got.iter().filter_map(Item::error).collect();
        assert_eq!(errors.len(), 1, "{feed:?}: {errors:?}");
        let FrameError::Invalid {
            error,
            start: s,
            skipped,
        } = errors[0]
        else {
            panic!("{feed:?}: {errors:?}");
        };
        assert_eq!(error.kind, ScanErrorKind::UnexpectedByte, "{feed:?}");
        assert_eq!(error.offset, at as u64, "{feed:?}");
        assert_eq!((s, skipped), (start as u64, line.len() as u64), "{feed:?}");
        let i = got.iter().position(Item::is_err).unwrap();
        assert_eq!(got[i + 1].frame().unwrap().0, (start + line.len()) as u64);
    }
}

#[test]
fn pretty_capture_has_multi_line_messages() {
    let data = testdata("captures/chardev_mon_pretty.rx.bin");
    let frames = run(&data, BIG, ScanConfig::qmp(), Feed::Whole);
    assert!(frames.len() >= 3, "{frames:?}");
    for item in &frames {
        let (_, bytes) = item.frame().expect("no errors in the pretty capture");
        assert!(
            bytes.starts_with(b"{\r\n") && bytes.ends_with(b"\r\n}"),
            "{item:?}"
        );
    }
}

#[test]
fn schema_through_a_4k_buffer_is_too_large_then_framing_continues() {
    let schema = testdata("captures/query-qmp-schema.json");
    let reference = messages("query-qmp-schema.json", &schema);
    assert_eq!(reference.len(), 1, "the schema capture is one message");
    let (schema_off, schema_frame) = &reference[0];
    assert!(schema_frame.len() > 200_000);

    let tail = b"{\"return\": {}, \"id\": 2}\r\n";
    let mut data = schema.clone();
    data.extend_from_slice(tail);

    let want = vec![
        Item::Error(FrameError::TooLarge {
            start: *schema_off,
            len: schema_frame.len() as u64,
        }),
        Item::Frame {
            offset: schema.len() as u64,
            bytes: tail[..tail.len() - 2].to_vec(),
        },
    ];
    for feed in feeds(&seeds(3)) {
        let got = run(&data, 4096, ScanConfig::qmp(), feed);
        assert_eq!(got, want, "{feed:?}");
    }
    // With a big enough buffer both come out.
    let got = run(&data, BIG, ScanConfig::qmp(), Feed::Whole);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].frame().unwrap().1, schema_frame.as_slice());
    assert_eq!(got[1], want[1]);
}

/// A frame of exactly the buffer size still fits; one byte more does not.
#[test]
fn frame_of_exactly_the_buffer_size() {
    let schema = testdata("captures/query-qmp-schema.json");
    let frame = &messages("schema", &schema)[0].1;
    let mut data = b"{\"return\": {}}\r\n".to_vec();
    let at = data.len() as u64;
    data.extend_from_slice(&schema);
    for feed in feeds(&seeds(1)) {
        let got = run(&data, frame.len(), ScanConfig::qmp(), feed);
        assert_eq!(got.len(), 2, "{feed:?}: {got:?}");
        assert_eq!(got[1].frame(), Some((at, frame.as_slice())), "{feed:?}");
        let got = run(&data, frame.len() - 1, ScanConfig::qmp(), feed);
        assert_eq!(
            got[1],
            Item::Error(FrameError::TooLarge {
                start: at,
                len: frame.len() as u64
            }),
            "{feed:?}"
        );
    }
}
