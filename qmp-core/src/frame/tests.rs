//! Framer unit tests. Every case runs whole, in one-byte chunks and in the chunkings
//! given by a few fixed patterns, and must give the same outcome each way.

use super::*;
use crate::json::RawJson;
use crate::scan::{Outline, ScanErrorKind};

/// One outcome: a frame (offset, bytes) or an error. Bytes are kept in a fixed array so
/// the tests need no allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Frame {
        offset: u64,
        len: usize,
        head: [u8; 32],
        outline: Outline,
    },
    Error(FrameError),
}

/// The expected outcome for a frame: its outline is found by walking the value's
/// members (or elements) with the JSON views, independently of the scanner.
fn frame(offset: u64, bytes: &[u8]) -> Out {
    let mut head = [0u8; 32];
    let n = bytes.len().min(32);
    head[..n].copy_from_slice(&bytes[..n]);
    Out::Frame {
        offset,
        len: bytes.len(),
        head,
        outline: walked_outline(bytes),
    }
}

/// The ends of the first containers directly inside `bytes`, found by walking.
fn walked_outline(bytes: &[u8]) -> Outline {
    let Ok(json) = RawJson::parse(bytes) else {
        return Outline::EMPTY;
    };
    let mut ends = [0u32; 8];
    let mut n = 0;
    let mut note = |value: RawJson<'_>| {
        if matches!(value.as_bytes().first(), Some(b'{' | b'[')) && n < ends.len() {
            let start = value.as_bytes().as_ptr() as usize - bytes.as_ptr() as usize;
            ends[n] = (start + value.as_bytes().len()) as u32;
            n += 1;
        }
    };
    json.members().for_each(|(_, value)| note(value));
    json.elements().for_each(&mut note);
    Outline::from_ends(&ends[..n]).with_non_ascii(!bytes.is_ascii())
}

struct Outs {
    items: [Option<Out>; 16],
    n: usize,
}

impl Outs {
    fn as_slice(&self) -> &[Option<Out>] {
        &self.items[..self.n]
    }
}

fn drain<const N: usize>(f: &mut Framer<[u8; N]>, outs: &mut Outs) {
    while let Some(item) = f.next() {
        let out = match item {
            Ok(fr) => match frame(fr.offset(), fr.as_bytes()) {
                Out::Frame {
                    offset, len, head, ..
                } => Out::Frame {
                    offset,
                    len,
                    head,
                    outline: fr.outline(),
                },
                error => error,
            },
            Err(e) => Out::Error(e),
        };
        assert!(outs.n < outs.items.len(), "too many outcomes");
        outs.items[outs.n] = Some(out);
        outs.n += 1;
    }
}

fn feed<const N: usize>(
    input: &[u8],
    pattern: &[usize],
    config: ScanConfig,
    zero_copy: bool,
) -> Outs {
    let mut f = Framer::with_config([0u8; N], config);
    let mut outs = Outs {
        items: [None; 16],
        n: 0,
    };
    let mut rest = input;
    let mut k = 0;
    while !rest.is_empty() {
        let want = pattern[k % pattern.len()].min(rest.len());
        k += 1;
        let n = if zero_copy {
            let spare = f.spare_mut();
            let n = want.min(spare.len());
            spare[..n].copy_from_slice(&rest[..n]);
            f.commit(n);
            n
        } else {
            f.push(&rest[..want])
        };
        rest = &rest[n..];
        drain(&mut f, &mut outs);
        assert!(k < 10 * input.len() + 10, "no progress");
    }
    f.finish();
    drain(&mut f, &mut outs);
    outs
}

/// Frame `input` with an `N`-byte buffer in every chunking; return the common outcome.
fn check<const N: usize>(input: &[u8], config: ScanConfig, expected: &[Out]) {
    let whole = feed::<N>(input, &[usize::MAX], config, false);
    let got: &[Option<Out>] = whole.as_slice();
    assert_eq!(got.len(), expected.len(), "{:?}", got);
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(g.as_ref(), Some(e));
    }
    for pattern in [&[1usize][..], &[2], &[3, 1, 4, 1, 5, 9, 2, 6], &[7, 64, 13]] {
        for zero_copy in [false, true] {
            let other = feed::<N>(input, pattern, config, zero_copy);
            assert_eq!(
                whole.as_slice(),
                other.as_slice(),
                "pattern {pattern:?} zero_copy {zero_copy}"
            );
        }
    }
}

fn invalid(kind: ScanErrorKind, offset: u64, start: u64, skipped: u64) -> Out {
    Out::Error(FrameError::Invalid {
        error: ScanError { kind, offset },
        start,
        skipped,
    })
}

const QMP: ScanConfig = ScanConfig::qmp();

#[test]
fn frames_by_structure_not_lines() {
    check::<64>(
        b"{\"a\": 1}\r\n{\"b\":\n  2}{\"c\":3}\n\n  {}",
        QMP,
        &[
            frame(0, b"{\"a\": 1}"),
            frame(10, b"{\"b\":\n  2}"),
            frame(20, b"{\"c\":3}"),
            frame(31, b"{}"),
        ],
    );
}

#[test]
fn top_level_scalars_need_a_delimiter_or_the_end() {
    check::<64>(
        b"12 \"s\"true[1]-0.5",
        QMP,
        &[
            frame(0, b"12"),
            frame(3, b"\"s\""),
            frame(6, b"true"),
            frame(10, b"[1]"),
            frame(13, b"-0.5"),
        ],
    );
}

#[test]
fn error_resyncs_at_line_start_brace() {
    // Garbage between messages on one line: everything up to the next line is dropped.
    check::<64>(
        b"{}x{\"lost\":1}\r\n{\"ok\":2}",
        QMP,
        &[
            frame(0, b"{}"),
            invalid(ScanErrorKind::UnexpectedByte, 2, 2, 13),
            frame(15, b"{\"ok\":2}"),
        ],
    );
    // An error inside a message drops the message from its start.
    check::<64>(
        b"{\"a\": tru}\n{}",
        QMP,
        &[
            invalid(ScanErrorKind::InvalidLiteral, 9, 0, 11),
            frame(11, b"{}"),
        ],
    );
}

#[test]
fn raw_newline_in_string_resyncs_at_next_line() {
    check::<64>(
        b"{\"a\": \"cut\r\n{\"b\": 1}\r\n",
        QMP,
        &[
            invalid(ScanErrorKind::ControlCharacter, 10, 0, 12),
            frame(12, b"{\"b\": 1}"),
        ],
    );
}

#[test]
fn truncated_message_is_interrupted_by_next_line() {
    let input = b"{\"return\": [1,\r\n{\"return\": {}}\r\n";
    check::<64>(
        input,
        QMP,
        &[
            invalid(ScanErrorKind::Interrupted, 16, 0, 16),
            frame(16, b"{\"return\": {}}"),
        ],
    );
    // As plain JSON the same bytes are one unfinished value.
    check::<64>(
        input,
        ScanConfig::json(),
        &[invalid(
            ScanErrorKind::UnexpectedEnd,
            input.len() as u64,
            0,
            input.len() as u64,
        )],
    );
}

#[test]
fn ff_byte_always_resyncs() {
    check::<64>(
        b"{\"execute\": \"qu\xFF{\"return\": {}}",
        QMP,
        &[
            invalid(ScanErrorKind::InvalidUtf8, 15, 0, 16),
            frame(16, b"{\"return\": {}}"),
        ],
    );
    // Between messages too (QGA's sync byte).
    check::<64>(
        b"{}\xFF{}",
        QMP,
        &[
            frame(0, b"{}"),
            invalid(ScanErrorKind::UnexpectedByte, 2, 2, 1),
            frame(3, b"{}"),
        ],
    );
}

#[test]
fn end_of_input_flushes() {
    check::<64>(
        b"{\"return\": \"abc",
        QMP,
        &[invalid(ScanErrorKind::UnexpectedEnd, 15, 0, 15)],
    );
    check::<64>(
        b"{}garbage",
        QMP,
        &[
            frame(0, b"{}"),
            invalid(ScanErrorKind::UnexpectedByte, 2, 2, 7),
        ],
    );
    check::<64>(b"  \r\n", QMP, &[]);
    check::<64>(b"", QMP, &[]);
}

#[test]
fn oversized_frames_are_skipped_in_step() {
    let mut big = [b'x'; 200];
    big[..12].copy_from_slice(b"{\"return\": \"");
    big[198..].copy_from_slice(b"\"}");
    let mut input = [0u8; 218];
    input[..200].copy_from_slice(&big);
    input[200..].copy_from_slice(b"\r\n{\"id\": 1}\r\n{\"a\":");
    check::<32>(
        &input,
        QMP,
        &[
            Out::Error(FrameError::TooLarge { start: 0, len: 200 }),
            frame(202, b"{\"id\": 1}"),
            invalid(ScanErrorKind::UnexpectedEnd, 218, 213, 5),
        ],
    );
    // An oversized frame that turns out to be invalid is one error, from its start.
    let mut bad = big;
    bad[150] = 0x01;
    check::<32>(
        &bad,
        QMP,
        &[invalid(ScanErrorKind::ControlCharacter, 150, 0, 200)],
    );
    // A frame exactly as large as the buffer fits.
    check::<8>(
        b"[1,2,33]\n[1,2,333]\n",
        QMP,
        &[
            frame(0, b"[1,2,33]"),
            Out::Error(FrameError::TooLarge { start: 9, len: 9 }),
        ],
    );
}

#[test]
fn top_level_scalar_as_large_as_the_buffer_fits() {
    // The delimiter that ends it need not fit in the buffer.
    check::<4>(b"1234\r\n", QMP, &[frame(0, b"1234")]);
    check::<4>(b"true\n", QMP, &[frame(0, b"true")]);
    check::<6>(b"-1.5e3 ", QMP, &[frame(0, b"-1.5e3")]);
    // At the end of input, `finish` ends it.
    check::<4>(b"true", QMP, &[frame(0, b"true")]);
    check::<6>(b"-1.5e3", QMP, &[frame(0, b"-1.5e3")]);
    check::<1>(b"0", QMP, &[frame(0, b"0")]);
    // A delimiter that starts the next value, or is an error of its own, is not lost.
    check::<4>(
        b"1234[5]null\"ab\"0 7",
        QMP,
        &[
            frame(0, b"1234"),
            frame(4, b"[5]"),
            frame(7, b"null"),
            frame(11, b"\"ab\""),
            frame(15, b"0"),
            frame(17, b"7"),
        ],
    );
    check::<4>(
        b"1234}\n{}",
        QMP,
        &[
            frame(0, b"1234"),
            invalid(ScanErrorKind::UnexpectedByte, 4, 4, 2),
            frame(6, b"{}"),
        ],
    );
    // One byte more, whatever it is, and it does not fit.
    check::<4>(
        b"12345 null",
        QMP,
        &[
            Out::Error(FrameError::TooLarge { start: 0, len: 5 }),
            frame(6, b"null"),
        ],
    );
    check::<4>(
        b"1234.5\n0e123",
        QMP,
        &[
            Out::Error(FrameError::TooLarge { start: 0, len: 6 }),
            Out::Error(FrameError::TooLarge { start: 7, len: 5 }),
        ],
    );
    check::<1>(
        b"0.",
        QMP,
        &[invalid(ScanErrorKind::UnexpectedEnd, 2, 0, 2)],
    );
    // An error at the byte after it drops it from its start.
    check::<4>(
        b"1234x\n{}",
        QMP,
        &[
            invalid(ScanErrorKind::InvalidNumber, 4, 0, 6),
            frame(6, b"{}"),
        ],
    );
    check::<4>(
        b"nullx\xFF{}",
        QMP,
        &[
            invalid(ScanErrorKind::InvalidLiteral, 4, 0, 6),
            frame(6, b"{}"),
        ],
    );
}

#[test]
fn the_byte_after_a_full_scalar_is_held_aside() {
    let mut f = Framer::new([0u8; 4]);
    assert_eq!(f.push(b"1234\r\n"), 4);
    assert!(f.next().is_none());
    // The buffer is full, yet there is room for one more byte.
    assert_eq!(f.spare_mut().len(), 1);
    assert_eq!(f.push(b"\r\n"), 1);
    assert_eq!(f.offset(), 5);
    // Nothing more until the frame is out.
    assert_eq!(f.push(b"\n"), 0);
    assert!(f.spare_mut().is_empty());
    let fr = f.next().unwrap().unwrap();
    assert_eq!((fr.offset(), fr.as_bytes()), (0, &b"1234"[..]));
    // Still nothing before `next` has returned `None`.
    assert_eq!(f.push(b"\n"), 0);
    assert!(f.spare_mut().is_empty());
    f.commit(1);
    assert_eq!(f.offset(), 5);
    assert!(f.next().is_none());
    assert_eq!(f.offset(), 5);
    assert_eq!(f.push(b"\n12"), 3);
    assert!(f.next().is_none());
    f.finish();
    let fr = f.next().unwrap().unwrap();
    assert_eq!((fr.offset(), fr.as_bytes()), (6, &b"12"[..]));
    assert!(f.next().is_none());
    // `finish` with the byte held: it is still scanned.
    f.reset();
    assert_eq!(f.push(b"null"), 4);
    assert!(f.next().is_none());
    f.commit(0);
    assert!(f.next().is_none());
    f.spare_mut()[0] = b'x';
    f.commit(1);
    f.finish();
    assert_eq!(
        f.next(),
        Some(Err(FrameError::Invalid {
            error: ScanError {
                kind: ScanErrorKind::InvalidLiteral,
                offset: 4
            },
            start: 0,
            skipped: 5
        }))
    );
    assert!(f.next().is_none());
    assert_eq!(f.offset(), 5);
}

#[test]
fn push_reports_what_fits_and_next_frees_room() {
    let mut f = Framer::new([0u8; 8]);
    assert_eq!(f.push(b"{\"a\":[1,2,3]}"), 8);
    assert!(f.next().is_none()); // frame outgrew the buffer: switched to skipping
    assert_eq!(f.push(b"2,3]}{}"), 7);
    assert_eq!(
        f.next(),
        Some(Err(FrameError::TooLarge { start: 0, len: 13 }))
    );
    assert_eq!(f.next().unwrap().unwrap().as_bytes(), b"{}");
    assert!(f.next().is_none());
    assert_eq!(f.offset(), 15);
    f.reset();
    assert_eq!(f.offset(), 0);
    assert_eq!(f.capacity(), 8);
}

#[test]
fn compaction_keeps_partial_frames() {
    let mut f = Framer::new([0u8; 16]);
    assert_eq!(f.push(b"{\"aa\":1}{\"bb\":"), 14);
    assert_eq!(f.next().unwrap().unwrap().as_bytes(), b"{\"aa\":1}");
    assert!(f.next().is_none());
    // Only 2 bytes free at the end: pushing more moves the partial frame to the front.
    assert_eq!(f.push(b"22}\n"), 4);
    let fr = f.next().unwrap().unwrap();
    assert_eq!((fr.offset(), fr.as_bytes()), (8, &b"{\"bb\":22}"[..]));
}

#[test]
fn depth_limit_is_configurable() {
    check::<64>(
        b"[[[1]]]\n{}",
        QMP.with_max_depth(2),
        &[invalid(ScanErrorKind::TooDeep, 2, 0, 8), frame(8, b"{}")],
    );
}

#[test]
fn fuzz_helper_agrees_with_itself() {
    // Settings 6: a 512-byte buffer, QMP defaults; then a 3-step schedule of 1, 2, 3 bytes.
    crate::fuzz::frame_chunks(b"\x06\x03\x01\x02\x03{\"a\":1}\r\n{\"b\"x\n{}\xFF[1,2");
}

#[test]
fn frames_carry_the_ends_of_their_top_level_containers() {
    // Members and elements, scalars between containers, nesting below them (not
    // recorded), more containers than the outline keeps, pretty layout, brackets in
    // strings, and messages without containers.
    let messages: [&[u8]; 7] = [
        b"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"X\", \"data\": {\"a\": [1, {\"b\": []}], \"c\": \"}\"}}",
        b"[[], 1, {}, \"]\", [[[]]], {\"x\": {}}, [0]]",
        b"{\"return\": [{\"name\": \"a\"}, {\"name\": \"b\"}], \"id\": {\"k\": [1]}}",
        b"{\n  \"return\": {\n  },\n  \"id\": 7\n}",
        b"{\"a\": 1, \"b\": \"[{\"}",
        b"[]",
        b"{}",
    ];
    let mut input = [0u8; 512];
    let mut expected = [Out::Error(FrameError::TooLarge { start: 0, len: 0 }); 7];
    let mut len = 0;
    for (i, message) in messages.iter().enumerate() {
        input[len..len + message.len()].copy_from_slice(message);
        expected[i] = frame(len as u64, message);
        len += message.len();
        input[len..len + 2].copy_from_slice(b"\r\n");
        len += 2;
    }
    // The walked outlines are what the scanner must record (checked in every
    // chunking by `check`), and they are not trivial.
    let outline = |out: &Out| match out {
        Out::Frame { outline, .. } => *outline,
        Out::Error(_) => panic!("not a frame"),
    };
    assert_eq!(outline(&expected[0]), Outline::from_ends(&[47, 102]));
    assert_eq!(outline(&expected[1]), Outline::from_ends(&[3, 10, 23, 34]));
    assert_eq!(outline(&expected[2]), Outline::from_ends(&[41, 59]));
    assert_eq!(outline(&expected[4]), Outline::EMPTY);
    check::<512>(&input[..len], ScanConfig::json(), &expected);
    check::<512>(&input[..len], QMP, &expected);

    // A whole message validated on its own gets the same outline.
    for (message, expected) in messages.iter().zip(&expected) {
        let mut padded = [b' '; 300];
        padded[2..2 + message.len()].copy_from_slice(message);
        let frame = Frame::parse(&padded[..message.len() + 5]).unwrap();
        assert_eq!((frame.offset(), frame.as_bytes()), (2, *message));
        assert_eq!(frame.outline(), outline(expected));
    }
}

#[test]
fn frames_say_whether_they_are_all_ascii() {
    // Per message: a byte above 0x7F in a string makes it non-ASCII, the next message
    // starts ASCII again, an escape (`\u00e9`) is ASCII, and so is a message after an
    // error that had non-ASCII bytes.
    let messages: [&str; 4] = [
        "{\"s\": \"café\"}",
        "{\"s\": \"caf\\u00e9\"}",
        "[\"😀\", 1]",
        "{}",
    ];
    let bad = "{\"s\": \"é\" x}\r\n";
    let mut input = [0u8; 128];
    let mut expected = [Out::Error(FrameError::TooLarge { start: 0, len: 0 }); 5];
    let mut len = 0;
    for (i, message) in messages.iter().enumerate() {
        if i == 3 {
            input[len..len + bad.len()].copy_from_slice(bad.as_bytes());
            expected[3] = invalid(
                ScanErrorKind::UnexpectedByte,
                len as u64 + 11,
                len as u64,
                bad.len() as u64,
            );
            len += bad.len();
        }
        expected[i + usize::from(i == 3)] = frame(len as u64, message.as_bytes());
        input[len..len + message.len()].copy_from_slice(message.as_bytes());
        len += message.len();
        input[len..len + 2].copy_from_slice(b"\r\n");
        len += 2;
    }
    check::<64>(&input[..len], QMP, &expected);
    let ascii = messages.map(|m| Frame::parse(m.as_bytes()).unwrap().is_ascii());
    assert_eq!(ascii, [false, true, false, true]);
}

#[test]
fn whole_messages_parse_into_frames() {
    let frame = Frame::parse(b"\r\n 12 \t").unwrap();
    assert_eq!((frame.offset(), frame.as_bytes()), (3, &b"12"[..]));
    assert_eq!(frame.outline(), Outline::EMPTY);
    for (bad, kind, offset) in [
        (&b""[..], ScanErrorKind::UnexpectedEnd, 0),
        (b"  ", ScanErrorKind::UnexpectedEnd, 2),
        (b"{} {}", ScanErrorKind::UnexpectedByte, 3),
        (b"{\"a\": [}", ScanErrorKind::UnexpectedByte, 7),
        (b"{\"a\": 1", ScanErrorKind::UnexpectedEnd, 7),
    ] {
        assert_eq!(
            Frame::parse(bad),
            Err(ScanError { kind, offset }),
            "{bad:?}"
        );
    }
}

#[test]
fn fixed_state_is_small() {
    // The README states these figures: everything but the caller's buffer. Exact on
    // 64-bit targets, so that a change in either shows up here and in the README; 32-bit
    // targets have smaller pointers and may align `u64` to 4 bytes.
    let scanner = core::mem::size_of::<Scanner>();
    let framer = core::mem::size_of::<Framer<&mut [u8]>>();
    // Of the scanner, the outline: four ends and their count.
    assert_eq!(core::mem::size_of::<Outline>(), 20);
    #[cfg(target_pointer_width = "64")]
    assert_eq!((scanner, framer), (176, 264));
    #[cfg(not(target_pointer_width = "64"))]
    assert!(scanner <= 176 && framer <= 264, "{scanner} {framer}");
}

#[test]
fn move_to_front_matches_copy_within() {
    // Every gap and length in a small buffer, overlapping runs included.
    for len in 0..24usize {
        for from in 0..24usize {
            let to = from + len;
            if to > 48 {
                continue;
            }
            let original: [u8; 48] = core::array::from_fn(|i| i as u8);
            let mut expected = original;
            expected.copy_within(from..to, 0);
            let mut got = original;
            move_to_front(&mut got, from, to);
            assert_eq!(got, expected, "from {from}, to {to}");
        }
    }
}

#[test]
fn last_gives_back_the_frame_just_handed_out() {
    let mut framer = Framer::new([0u8; 16]);
    assert!(framer.last().is_none());
    // A frame, then nothing more: `last` is the frame until the next `&mut` call.
    assert_eq!(framer.push(b"{\"a\":1} x"), 9);
    let first = framer.next().unwrap().unwrap();
    let (bytes, offset) = (first.as_bytes().to_vec(), first.offset());
    let again = framer.last().unwrap();
    assert_eq!((again.as_bytes(), again.offset()), (&bytes[..], offset));
    // An error is not a frame.
    assert!(framer.next().is_none());
    assert!(framer.last().is_none());
    assert_eq!(framer.push(b"\n{}"), 3);
    assert!(framer.last().is_none());
    assert!(framer.next().unwrap().is_err());
    assert!(framer.last().is_none());
    assert_eq!(framer.next().unwrap().unwrap().as_bytes(), b"{}");
    assert_eq!(framer.last().unwrap().as_bytes(), b"{}");
    // A number that fills the buffer ends at the byte received aside.
    let mut framer = Framer::new([0u8; 4]);
    assert_eq!(framer.push(b"1234"), 4);
    assert!(framer.next().is_none());
    assert_eq!(framer.push(b" "), 1);
    let number = framer.next().unwrap().unwrap();
    assert_eq!((number.as_bytes(), number.offset()), (&b"1234"[..], 0));
    assert_eq!(framer.last().unwrap().as_bytes(), b"1234");
    assert!(framer.next().is_none());
    assert!(framer.last().is_none());
}
