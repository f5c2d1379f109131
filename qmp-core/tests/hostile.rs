//! Hostile and broken input: every case must terminate, report the expected error(s) with
//! the right kind, position and length, resynchronise, and give the same result whatever
//! the chunking.

mod common;

use common::{check_invariants, run, seeds, Feed, Item, Rng};
use qmp_core::frame::FrameError;
use qmp_core::scan::ScanConfig;
use qmp_core::scan::{ScanError, ScanErrorKind};

/// The message that follows every case, on its own line.
const MSG: &[u8] = b"{\"return\": {}}";
/// `MSG` on a new line: `\r\n{"return": {}}\r\n`.
const NEXT: &[u8] = b"\r\n{\"return\": {}}\r\n";

const CAP: usize = 4096;

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn frame(offset: usize, bytes: &[u8]) -> Item {
    Item::Frame {
        offset: offset as u64,
        bytes: bytes.to_vec(),
    }
}

fn invalid(kind: ScanErrorKind, at: usize, start: usize, skipped: usize) -> Item {
    Item::Error(FrameError::Invalid {
        error: ScanError {
            kind,
            offset: at as u64,
        },
        start: start as u64,
        skipped: skipped as u64,
    })
}

fn too_large(start: usize, len: usize) -> Item {
    Item::Error(FrameError::TooLarge {
        start: start as u64,
        len: len as u64,
    })
}

/// Feeds to compare against the whole input: one-byte pushes (only for inputs up to
/// `one_byte_limit`), random pushes and random zero-copy reads.
fn feeds(len: usize, one_byte_limit: usize, seeds: &[u64]) -> Vec<Feed> {
    let mut out = Vec::new();
    if len <= one_byte_limit {
        out.push(Feed::Chunks(1));
    }
    for &seed in seeds {
        out.push(Feed::Random { seed, max: 9 });
        out.push(Feed::Random { seed, max: 3000 });
        out.push(Feed::Spare { seed, max: 9 });
        out.push(Feed::Spare { seed, max: 3000 });
    }
    out
}

/// Frame `data` whole and in every chunking; all must equal `want` and pass the
/// invariants.
fn case_with(name: &str, data: &[u8], cap: usize, config: ScanConfig, want: &[Item]) {
    let whole = run(data, cap, config, Feed::Whole);
    if let Err(e) = check_invariants(data, &whole) {
        panic!("{name}: {e}\n{whole:?}");
    }
    assert_eq!(whole, want, "{name}: whole input");
    for feed in feeds(data.len(), 1 << 20, &seeds(2)) {
        let got = run(data, cap, config, feed);
        assert_eq!(got, whole, "{name}: {feed:?} differs from whole input");
    }
}

fn case(name: &str, data: &[u8], want: &[Item]) {
    case_with(name, data, CAP, ScanConfig::qmp(), want);
}

#[test]
fn hundred_thousand_open_brackets() {
    let n = 100_000;
    let data = cat(&[&vec![b'['; n], NEXT]);
    case(
        "[ x 100000",
        &data,
        &[
            invalid(ScanErrorKind::TooDeep, 1024, 0, n + 2),
            frame(n + 2, MSG),
        ],
    );
}

#[test]
fn depth_limit_is_exactly_1024() {
    let ok = cat(&[&[b'['; 1024], &[b']'; 1024], NEXT]);
    case("1024 deep", &ok, &[frame(0, &ok[..2048]), frame(2050, MSG)]);
    let deep = cat(&[&[b'['; 1025], &[b']'; 1025], NEXT]);
    case(
        "1025 deep",
        &deep,
        &[
            invalid(ScanErrorKind::TooDeep, 1024, 0, 2052),
            frame(2052, MSG),
        ],
    );
    // A smaller configured limit.
    let cfg = ScanConfig::qmp().with_max_depth(2);
    let data = cat(&[b"{\"a\": [1]}\r\n{\"a\": [[1]]}", NEXT]);
    case_with(
        "max_depth 2",
        &data,
        CAP,
        cfg,
        &[
            frame(0, b"{\"a\": [1]}"),
            invalid(ScanErrorKind::TooDeep, 19, 12, 14),
            frame(26, MSG),
        ],
    );
}

#[test]
fn hundred_thousand_object_nestings() {
    let n = 100_000;
    let unit = b"{\"a\":";
    let data = cat(&[&unit.repeat(n), NEXT]);
    // The 1025th `{` is the offending byte. The message outgrows the 4 KiB buffer before
    // that, but it is reported as invalid, not as too large.
    case(
        "{\"a\": x 100000",
        &data,
        &[
            invalid(
                ScanErrorKind::TooDeep,
                1024 * unit.len(),
                0,
                n * unit.len() + 2,
            ),
            frame(n * unit.len() + 2, MSG),
        ],
    );
    // With a buffer big enough to hold the first 1025 levels: the same.
    case_with(
        "{\"a\": x 100000, big buffer",
        &data,
        64 * 1024,
        ScanConfig::qmp(),
        &[
            invalid(
                ScanErrorKind::TooDeep,
                1024 * unit.len(),
                0,
                n * unit.len() + 2,
            ),
            frame(n * unit.len() + 2, MSG),
        ],
    );
}

fn huge_string(len: usize) -> Vec<u8> {
    let mut data = b"{\"return\": \"".to_vec();
    data.resize(data.len() + len, b'x');
    data.extend_from_slice(b"\"}");
    data
}

#[test]
fn ten_megabyte_string_through_a_4k_buffer() {
    let msg = huge_string(10 << 20);
    let data = cat(&[&msg, NEXT]);
    let want = [too_large(0, msg.len()), frame(msg.len() + 2, MSG)];
    let whole = run(&data, CAP, ScanConfig::qmp(), Feed::Whole);
    assert_eq!(whole, want);
    for feed in feeds(data.len(), 0, &seeds(1)) {
        assert_eq!(run(&data, CAP, ScanConfig::qmp(), feed), want, "{feed:?}");
    }
    // One-byte pushes on a 1 MB one (10 MB of those is slow in debug builds).
    let msg = huge_string(1 << 20);
    let data = cat(&[&msg, NEXT]);
    assert_eq!(
        run(&data, CAP, ScanConfig::qmp(), Feed::Chunks(1)),
        [too_large(0, msg.len()), frame(msg.len() + 2, MSG)]
    );
}

/// A message that outgrows the buffer and then turns out to be invalid is reported as
/// invalid (from its first byte), not as too large.
#[test]
fn oversize_then_invalid() {
    let mut data = huge_string(10_000);
    data.truncate(data.len() - 2); // no closing `"}`
    let cut = data.len();
    data.extend_from_slice(NEXT);
    case(
        "oversize unterminated string",
        &data,
        &[
            invalid(ScanErrorKind::ControlCharacter, cut, 0, cut + 2),
            frame(cut + 2, MSG),
        ],
    );
    // The same at end of input.
    let data = &data[..cut];
    case(
        "oversize string at end of input",
        data,
        &[invalid(ScanErrorKind::UnexpectedEnd, cut, 0, cut)],
    );
}

#[test]
fn nul_bytes() {
    let data = cat(&[b"\0\0\0", NEXT]);
    case(
        "NULs between messages",
        &data,
        &[
            invalid(ScanErrorKind::UnexpectedByte, 0, 0, 5),
            frame(5, MSG),
        ],
    );
    let data = cat(&[b"{\"return\": \"a\0b\"}", NEXT]);
    case(
        "NUL in a string",
        &data,
        &[
            invalid(ScanErrorKind::ControlCharacter, 13, 0, 19),
            frame(19, MSG),
        ],
    );
    let data = cat(&[MSG, b"\0", NEXT]);
    case(
        "NUL right after a message",
        &data,
        &[
            frame(0, MSG),
            invalid(ScanErrorKind::UnexpectedByte, 14, 14, 3),
            frame(17, MSG),
        ],
    );
    let data = vec![0u8; 10_000];
    case(
        "NULs only",
        &data,
        &[invalid(ScanErrorKind::UnexpectedByte, 0, 0, 10_000)],
    );
}

#[test]
fn ff_resyncs_immediately_even_mid_line() {
    // In a string.
    let data = cat(&[b"{\"execute\": \"qu\xff", MSG, b"\r\n"]);
    case(
        "0xFF in a string",
        &data,
        &[
            invalid(ScanErrorKind::InvalidUtf8, 15, 0, 16),
            frame(16, MSG),
        ],
    );
    // Where a value is expected.
    let data = cat(&[b"{\"execute\": \xff", MSG, b"\r\n"]);
    case(
        "0xFF for a value",
        &data,
        &[
            invalid(ScanErrorKind::UnexpectedByte, 12, 0, 13),
            frame(13, MSG),
        ],
    );
    // In the middle of a number, a literal, an escape.
    for (prefix, kind) in [
        (&b"{\"id\": 12\xff"[..], ScanErrorKind::InvalidNumber),
        (b"{\"id\": tr\xff", ScanErrorKind::InvalidLiteral),
        (b"{\"id\": \"\\\xff", ScanErrorKind::InvalidEscape),
        (b"{\"id\": \"\\u12\xff", ScanErrorKind::InvalidHexEscape),
        (b"{\"id\": \"\xc3\xff", ScanErrorKind::InvalidUtf8),
    ] {
        let data = cat(&[prefix, MSG]);
        let n = prefix.len();
        case(
            &format!("{prefix:?}"),
            &data,
            &[invalid(kind, n - 1, 0, n), frame(n, MSG)],
        );
    }
    // After a garbage byte: recovery stops at the 0xFF.
    let data = cat(&[MSG, b" #\xff", MSG]);
    case(
        "garbage then 0xFF",
        &data,
        &[
            frame(0, MSG),
            invalid(ScanErrorKind::UnexpectedByte, 15, 15, 2),
            frame(17, MSG),
        ],
    );
    // A lone 0xFF between messages is a one-byte bad region.
    let data = cat(&[MSG, b"\xff", MSG]);
    case(
        "0xFF between messages",
        &data,
        &[
            frame(0, MSG),
            invalid(ScanErrorKind::UnexpectedByte, 14, 14, 1),
            frame(15, MSG),
        ],
    );
}

/// Each 0xFF is a reset point, so a run of them gives one error per byte.
#[test]
fn run_of_ff_bytes() {
    let n = 1000;
    let data = cat(&[&vec![0xFF; n], MSG]);
    let mut want: Vec<Item> = (0..n)
        .map(|i| invalid(ScanErrorKind::UnexpectedByte, i, i, 1))
        .collect();
    want.push(frame(n, MSG));
    case("0xFF x 1000", &data, &want);
}

#[test]
fn unterminated_string_at_end_of_input() {
    let data = b"{\"return\": \"abc";
    case(
        "unterminated string",
        data,
        &[invalid(ScanErrorKind::UnexpectedEnd, 15, 0, 15)],
    );
    // After a good message, with trailing whitespace-free end.
    let data = cat(&[MSG, b"\r\n{\"return\": \"abc"]);
    case(
        "unterminated string after a message",
        &data,
        &[
            frame(0, MSG),
            invalid(ScanErrorKind::UnexpectedEnd, 31, 16, 15),
        ],
    );
    // Other unfinished states at end of input.
    for data in [
        &b"{"[..],
        b"[",
        b"{\"a\"",
        b"{\"a\":",
        b"{\"a\": 1",
        b"{\"a\": 1,",
        b"[1.",
        b"[tru",
        b"\"\\u12",
        b"\"\\ud800",
        b"\"\xe2\x82",
        b"-",
        b"1e",
        b"tru",
    ] {
        case(
            &format!("{:?}", String::from_utf8_lossy(data)),
            data,
            &[invalid(
                ScanErrorKind::UnexpectedEnd,
                data.len(),
                0,
                data.len(),
            )],
        );
    }
}

#[test]
fn top_level_scalars_complete_at_a_delimiter_or_at_end() {
    let data = b"123\r\n\"s\"true[]null -1.5e3";
    case(
        "scalars",
        data,
        &[
            frame(0, b"123"),
            frame(5, b"\"s\""),
            frame(8, b"true"),
            frame(12, b"[]"),
            frame(14, b"null"),
            frame(19, b"-1.5e3"),
        ],
    );
    // A literal or number must end at a delimiter: `null-1` is not `null` then `-1`.
    let data = cat(&[b"null-1", NEXT]);
    case(
        "null-1",
        &data,
        &[
            invalid(ScanErrorKind::InvalidLiteral, 4, 0, 8),
            frame(8, MSG),
        ],
    );
    let data = cat(&[b"12a", NEXT]);
    case(
        "12a",
        &data,
        &[
            invalid(ScanErrorKind::InvalidNumber, 2, 0, 5),
            frame(5, MSG),
        ],
    );
}

#[test]
fn truncated_message_then_new_message_at_line_start() {
    let data = cat(&[b"{\"return\": {\"a\": [1,", NEXT]);
    case(
        "truncated in an array",
        &data,
        &[
            invalid(ScanErrorKind::Interrupted, 22, 0, 22),
            frame(22, MSG),
        ],
    );
    // With line-start resync off, `[1,` LF `{...}` is a valid continuation, so the input
    // ends inside the first message.
    case_with(
        "truncated in an array, ScanConfig::json",
        &data,
        CAP,
        ScanConfig::json(),
        &[invalid(
            ScanErrorKind::UnexpectedEnd,
            data.len(),
            0,
            data.len(),
        )],
    );
    // Truncated where a member value is expected.
    let data = cat(&[b"{\"return\": ", NEXT]);
    case(
        "truncated before a member value",
        &data,
        &[
            invalid(ScanErrorKind::Interrupted, 13, 0, 13),
            frame(13, MSG),
        ],
    );
    // Truncated where a key is expected: `{` is not a key, and it starts a line.
    let data = cat(&[b"{\"return\": {", NEXT]);
    case(
        "truncated before a key",
        &data,
        &[
            invalid(ScanErrorKind::UnexpectedByte, 14, 0, 14),
            frame(14, MSG),
        ],
    );
    // Truncated inside a key.
    let data = cat(&[b"{\"retu", NEXT]);
    case(
        "truncated in a key",
        &data,
        &[
            invalid(ScanErrorKind::ControlCharacter, 6, 0, 8),
            frame(8, MSG),
        ],
    );
    // Truncated after a member value.
    let data = cat(&[b"{\"return\": 1", NEXT]);
    case(
        "truncated after a value",
        &data,
        &[
            invalid(ScanErrorKind::UnexpectedByte, 14, 0, 14),
            frame(14, MSG),
        ],
    );
    // LF only (no CR).
    let data = cat(&[b"{\"return\": [\n", MSG]);
    case(
        "LF line ends",
        &data,
        &[
            invalid(ScanErrorKind::Interrupted, 13, 0, 13),
            frame(13, MSG),
        ],
    );
    // A `{` after indentation is not at the start of a line: it nests.
    let data = cat(&[b"{\"return\": [\r\n ", MSG, b"]}"]);
    case("indented `{` nests", &data, &[frame(0, &data)]);
}

#[test]
fn garbage_between_messages_on_one_line() {
    // The garbage and everything after it up to the next line start is dropped, including
    // a message on the same line.
    let data = cat(&[MSG, b" garbage ", MSG, NEXT]);
    let third = MSG.len() * 2 + 9 + 2;
    case(
        "garbage on one line",
        &data,
        &[
            frame(0, MSG),
            invalid(ScanErrorKind::UnexpectedByte, 15, 15, third - 15),
            frame(third, MSG),
        ],
    );
    // Garbage at the very start of the stream.
    let data = cat(&[b"garbage", NEXT]);
    case(
        "garbage first",
        &data,
        &[
            invalid(ScanErrorKind::UnexpectedByte, 0, 0, 9),
            frame(9, MSG),
        ],
    );
    // A closing bracket too many.
    let data = cat(&[MSG, b"}", NEXT]);
    case(
        "extra close",
        &data,
        &[
            frame(0, MSG),
            invalid(ScanErrorKind::UnexpectedByte, 14, 14, 3),
            frame(17, MSG),
        ],
    );
    // Garbage at the end of input.
    let data = cat(&[MSG, b"\r\n##"]);
    case(
        "garbage last",
        &data,
        &[
            frame(0, MSG),
            invalid(ScanErrorKind::UnexpectedByte, 16, 16, 2),
        ],
    );
}

#[test]
fn cr_lf_only() {
    let data = b"\r\n".repeat(10_000);
    case("CRLF only", &data, &[]);
    let data = cat(&[&b"\r\n".repeat(1000), b"\n\n\r\r \t", MSG, b"\r\n\r\n"]);
    case("CRLF then a message", &data, &[frame(2006, MSG)]);
    case("empty", b"", &[]);
}

const PRETTY: &[u8] = b"{\r\n    \"return\": {\r\n    }\r\n}";

#[test]
fn pretty_mode() {
    let p = PRETTY.len();
    let data = cat(&[PRETTY, b"\r\n", PRETTY, b"\r\n"]);
    case(
        "two pretty messages",
        &data,
        &[frame(0, PRETTY), frame(p + 2, PRETTY)],
    );
    let cut = b"{\r\n    \"return\": {\r\n        \"a\": [\r\n";
    let data = cat(&[cut, PRETTY, b"\r\n"]);
    case(
        "pretty, truncated in an array",
        &data,
        &[
            invalid(ScanErrorKind::Interrupted, cut.len(), 0, cut.len()),
            frame(cut.len(), PRETTY),
        ],
    );
    let cut = b"{\r\n    \"ret";
    let data = cat(&[cut, b"\r\n", PRETTY]);
    case(
        "pretty, truncated in a key",
        &data,
        &[
            invalid(ScanErrorKind::ControlCharacter, cut.len(), 0, cut.len() + 2),
            frame(cut.len() + 2, PRETTY),
        ],
    );
    let cut = b"{\r\n    \"return\": 1";
    let data = cat(&[cut, b"\r\n", PRETTY]);
    case(
        "pretty, truncated after a value",
        &data,
        &[
            invalid(
                ScanErrorKind::UnexpectedByte,
                cut.len() + 2,
                0,
                cut.len() + 2,
            ),
            frame(cut.len() + 2, PRETTY),
        ],
    );
    // A garbage line between pretty messages.
    let data = cat(&[PRETTY, b"\r\nnot json\r\n", PRETTY]);
    case(
        "pretty, garbage line",
        &data,
        &[
            frame(0, PRETTY),
            // `n` starts `null`: the error is found at the `o`.
            invalid(ScanErrorKind::InvalidLiteral, p + 3, p + 2, 10),
            frame(p + 12, PRETTY),
        ],
    );
}

/// The byte alphabet for structured random input: JSON punctuation and friends, so that
/// the scanner gets deep into its states.
const JSONISH: &[u8] = b"{}[]:,\"\\ \r\n\t0123456789-+.eEtrufalsn/ubx\x00\x1f\x7f\xc3\xa9\xe2\x82\xac\xed\xa0\xf0\x9f\xff";

fn random_input(rng: &mut Rng) -> Vec<u8> {
    let len = rng.range(0, 600);
    match rng.range(0, 2) {
        0 => rng.bytes(len),
        1 => (0..len)
            .map(|_| JSONISH[rng.range(0, JSONISH.len() - 1)])
            .collect(),
        _ => {
            // Mutated valid messages.
            let mut v = Vec::new();
            while v.len() < len {
                v.extend_from_slice(b"{\"execute\": \"qmp_capabilities\", \"id\": [1, true, null, \"\\u00e9\"]}\r\n");
            }
            for _ in 0..rng.range(1, 8) {
                let i = rng.range(0, v.len() - 1);
                v[i] = JSONISH[rng.range(0, JSONISH.len() - 1)];
            }
            let cut = rng.range(0, v.len());
            v.truncate(cut);
            v
        }
    }
}

/// Random garbage followed by `\r\n` and a message: the message must always come out,
/// at its offset, whatever state the garbage left the framer in; and chunking must not
/// matter.
#[test]
fn random_bytes_then_a_message() {
    let mut swallowed = Vec::new();
    for seed in seeds(1000) {
        let mut rng = Rng::new(seed);
        let junk = random_input(&mut rng);
        let data = cat(&[&junk, NEXT]);
        let cap = [64, 512, CAP][rng.range(0, 2)];
        for config in [ScanConfig::qmp(), ScanConfig::json()] {
            let whole = run(&data, cap, config, Feed::Whole);
            if let Err(e) = check_invariants(&data, &whole) {
                panic!("seed {seed:#x}, {config:?}, buffer {cap}: {e}\n{whole:?}");
            }
            let last = whole.last().cloned();
            if config == ScanConfig::qmp() && last != Some(frame(junk.len() + 2, MSG)) {
                swallowed.push(format!(
                    "seed {seed:#x}: junk {:?} ends with {last:?}",
                    String::from_utf8_lossy(&junk)
                ));
            }
            for feed in feeds(data.len(), usize::MAX, &[seed]) {
                let got = run(&data, cap, config, feed);
                assert_eq!(
                    got, whole,
                    "seed {seed:#x}, {config:?}, buffer {cap}, {feed:?}: differs from whole input"
                );
            }
        }
    }
    assert!(
        swallowed.is_empty(),
        "the message after the junk was lost:\n{}",
        swallowed.join("\n")
    );
}

/// Long random streams mixing valid messages and junk: chunking never matters, the
/// invariants hold, and every valid message that starts a line after a resync point
/// comes out.
#[test]
fn random_streams() {
    for seed in seeds(200) {
        let mut rng = Rng::new(seed);
        let mut data = Vec::new();
        for _ in 0..rng.range(1, 30) {
            if rng.range(0, 3) == 0 {
                data.extend_from_slice(&random_input(&mut rng));
            } else {
                data.extend_from_slice(PRETTY);
            }
            data.extend_from_slice(NEXT);
        }
        let cap = [128, CAP][rng.range(0, 1)];
        let whole = run(&data, cap, ScanConfig::qmp(), Feed::Whole);
        if let Err(e) = check_invariants(&data, &whole) {
            panic!("seed {seed:#x}: {e}\n{whole:?}");
        }
        assert_eq!(whole.last(), Some(&frame(data.len() - 2 - MSG.len(), MSG)));
        for feed in feeds(data.len(), usize::MAX, &[seed]) {
            assert_eq!(
                run(&data, cap, ScanConfig::qmp(), feed),
                whole,
                "seed {seed:#x}, {feed:?}"
            );
        }
    }
}

/// After `finish()` the stream can go on: more bytes continue it.
#[test]
fn finish_then_more_input() {
    use qmp_core::frame::Framer;
    let mut f = Framer::new([0u8; 64]);
    assert_eq!(f.push(b"12"), 2);
    assert!(f.next().is_none());
    f.finish();
    let got = f.next().unwrap().unwrap();
    assert_eq!((got.offset(), got.as_bytes()), (0, &b"12"[..]));
    assert!(f.next().is_none());
    assert_eq!(f.push(b" {\"return\": {}}"), 15);
    let got = f.next().unwrap().unwrap();
    assert_eq!((got.offset(), got.as_bytes()), (3, MSG));
    assert!(f.next().is_none());
    f.finish();
    assert!(f.next().is_none());
}

/// `max_depth` 0 cannot accept any container. A `{` at the start of a line is then both
/// the offending byte and the resync point, and `next()` must still make progress.
#[test]
fn max_depth_zero_makes_progress() {
    let data = cat(&[b"1\r\n{}", NEXT, b"[]\r\n"]);
    // Whatever the errors, framing must end (the helper panics if it does not), every
    // error must skip something, and what comes out must be consistent with the input.
    let got = run(&data, CAP, ScanConfig::qmp().with_max_depth(0), Feed::Whole);
    if let Err(e) = check_invariants(&data, &got) {
        panic!("{e}: {got:?}");
    }
    assert_eq!(got.first(), Some(&frame(0, b"1")), "{got:?}");
    for item in &got {
        if let Some(e) = item.error() {
            assert!(e.skipped() > 0, "zero-length error region: {got:?}");
        }
    }
}

/// A top-level number or literal is complete only at the next delimiter (or at the end
/// of input). One that fills the buffer exactly still fits, as an object of the same
/// size does: the delimiter is not stored. One byte more and it is too large.
#[test]
fn scalar_filling_the_buffer_fits() {
    let data = b"123456\r\n{\"a\":1}\r\n";
    case_with(
        "buffer 7",
        data,
        7,
        ScanConfig::qmp(),
        &[frame(0, b"123456"), frame(8, b"{\"a\":1}")],
    );
    case_with(
        "buffer 6",
        data,
        6,
        ScanConfig::qmp(),
        &[frame(0, b"123456"), too_large(8, 7)],
    );
    case_with(
        "buffer 5",
        data,
        5,
        ScanConfig::qmp(),
        &[too_large(0, 6), too_large(8, 7)],
    );
    // Numbers and literals of every form, ended by CRLF, by the next value, or by the
    // end of input (`finish`).
    for (data, scalar) in [
        (&b"1234\r\n"[..], &b"1234"[..]),
        (b"true", b"true"),
        (b"true\r\n", b"true"),
        (b"-1.5e3", b"-1.5e3"),
        (b"-1.5e3\r\n", b"-1.5e3"),
        (b"0", b"0"),
        (b"-0.0", b"-0.0"),
        (b"1E+9", b"1E+9"),
        (b"false", b"false"),
        (b"null", b"null"),
    ] {
        let cap = scalar.len();
        let name = format!("{:?} through {cap}", String::from_utf8_lossy(data));
        case_with(&name, data, cap, ScanConfig::qmp(), &[frame(0, scalar)]);
        let next = cat(&[data, b" ", MSG, b"\r\n"]);
        case_with(
            &format!("{name}, then a message"),
            &next,
            cap.max(MSG.len()),
            ScanConfig::qmp(),
            &[frame(0, scalar), frame(data.len() + 1, MSG)],
        );
        case_with(
            &format!("{name}, then a message, buffer {cap}"),
            &next,
            cap,
            ScanConfig::qmp(),
            &[frame(0, scalar), too_large(data.len() + 1, MSG.len())],
        );
        if cap > 1 {
            case_with(
                &format!("{name} through {}", cap - 1),
                data,
                cap - 1,
                ScanConfig::qmp(),
                &[too_large(0, cap)],
            );
        }
    }
}

/// `reset` starts a new stream: partial input is forgotten and offsets restart at 0.
#[test]
fn reset_starts_over() {
    use qmp_core::frame::Framer;
    let mut f = Framer::new([0u8; 64]);
    assert_eq!(
        f.push(b"\r\n{\"return\": [1, 2"),
        b"\r\n{\"return\": [1, 2".len()
    );
    assert!(f.next().is_none());
    assert_eq!(f.offset(), 18);
    f.reset();
    assert_eq!(f.offset(), 0);
    assert_eq!(f.push(MSG), MSG.len());
    let got = f.next().unwrap().unwrap();
    assert_eq!((got.offset(), got.as_bytes()), (0, MSG));
    // Reset in the middle of error recovery too.
    assert_eq!(
        f.push(b" junk {\"return\": {}}"),
        b" junk {\"return\": {}}".len()
    );
    assert!(f.next().is_none());
    f.reset();
    assert_eq!(f.push(MSG), MSG.len());
    let got = f.next().unwrap().unwrap();
    assert_eq!((got.offset(), got.as_bytes()), (0, MSG));
    assert!(f.next().is_none());
}

/// The documented guarantee "once `next` has returned `None`, the buffer always has room
/// for at least one more byte" cannot hold for an empty buffer: `push` then takes nothing
/// and a caller loop never ends.
#[test]
fn zero_capacity_buffer() {
    use qmp_core::frame::Framer;
    let made = std::panic::catch_unwind(|| {
        let mut f = Framer::new([0u8; 0]);
        assert!(f.next().is_none());
        (f.push(MSG), f.spare_mut().len())
    });
    // Either constructing it is refused, or the guarantee holds.
    if let Ok((taken, spare)) = made {
        assert!(
            taken > 0 && spare > 0,
            "zero-capacity framer: push took {taken}, spare is {spare}"
        );
    }
}
