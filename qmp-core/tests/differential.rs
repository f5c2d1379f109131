//! Differential test: on random, mostly-valid JSON documents (generated, then sometimes
//! mutated), `validate` agrees with serde_json, and the framer agrees with `validate`
//! whatever the chunking.

mod common;

use common::{check_invariants, run, seeds, Feed, Item, Rng};
use qmp_core::scan::validate;
use qmp_core::scan::ScanConfig;

fn ws(rng: &mut Rng, out: &mut Vec<u8>) {
    let w: &[u8] = [&b""[..], b"", b" ", b"\t", b"\r\n", b"\n    "][rng.range(0, 5)];
    out.extend_from_slice(w);
}

fn hex4(rng: &mut Rng, out: &mut Vec<u8>, unit: u16) {
    let upper = rng.range(0, 1) == 0;
    let s = if upper {
        format!("{unit:04X}")
    } else {
        format!("{unit:04x}")
    };
    out.extend_from_slice(s.as_bytes());
}

fn string(rng: &mut Rng, out: &mut Vec<u8>) {
    out.push(b'"');
    for _ in 0..rng.range(0, 6) {
        match rng.range(0, 9) {
            0..=2 => out.extend_from_slice(b"abc xyz"),
            3 => {
                let e = [b'"', b'\\', b'/', b'b', b'f', b'n', b'r', b't'][rng.range(0, 7)];
                out.extend_from_slice(&[b'\\', e]);
            }
            4 => {
                // A BMP escape that is not a surrogate.
                let mut unit = rng.next_u64() as u16;
                if (0xD800..0xE000).contains(&unit) {
                    unit = 0x00E9;
                }
                out.extend_from_slice(b"\\u");
                hex4(rng, out, unit);
            }
            5 => {
                // A surrogate pair.
                let hi = 0xD800 + (rng.next_u64() % 0x400) as u16;
                let lo = 0xDC00 + (rng.next_u64() % 0x400) as u16;
                out.extend_from_slice(b"\\u");
                hex4(rng, out, hi);
                out.extend_from_slice(b"\\u");
                hex4(rng, out, lo);
            }
            6 => {
                let c = [
                    'é',
                    '€',
                    '😀',
                    '\u{FFFF}',
                    '\u{10FFFF}',
                    '\u{7F}',
                    '\u{80}',
                    '\u{7FF}',
                ][rng.range(0, 7)];
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
            _ => out.push(b'q'),
        }
    }
    out.push(b'"');
}

fn digits(rng: &mut Rng, out: &mut Vec<u8>, max: usize) {
    for _ in 0..rng.range(1, max) {
        out.push(b'0' + rng.range(0, 9) as u8);
    }
}

fn number(rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.range(0, 1) == 0 {
        out.push(b'-');
    }
    if rng.range(0, 2) == 0 {
        out.push(b'0');
    } else {
        out.push(b'1' + rng.range(0, 8) as u8);
        digits(rng, out, 25);
    }
    if rng.range(0, 2) == 0 {
        out.push(b'.');
        digits(rng, out, 10);
    }
    if rng.range(0, 2) == 0 {
        out.push([b'e', b'E'][rng.range(0, 1)]);
        match rng.range(0, 2) {
            0 => out.push(b'+'),
            1 => out.push(b'-'),
            _ => {}
        }
        // At most two digits, so serde_json's f64 never overflows.
        digits(rng, out, 2);
    }
}

fn value(rng: &mut Rng, out: &mut Vec<u8>, depth: usize) {
    let kind = if depth >= 8 {
        rng.range(2, 6)
    } else {
        rng.range(0, 6)
    };
    match kind {
        0 => {
            out.push(b'{');
            let n = rng.range(0, 4);
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                ws(rng, out);
                string(rng, out);
                ws(rng, out);
                out.push(b':');
                ws(rng, out);
                value(rng, out, depth + 1);
                ws(rng, out);
            }
            if n == 0 {
                ws(rng, out);
            }
            out.push(b'}');
        }
        1 => {
            out.push(b'[');
            let n = rng.range(0, 4);
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                ws(rng, out);
                value(rng, out, depth + 1);
                ws(rng, out);
            }
            if n == 0 {
                ws(rng, out);
            }
            out.push(b']');
        }
        2 => string(rng, out),
        3 | 4 => number(rng, out),
        _ => out.extend_from_slice([&b"true"[..], b"false", b"null"][rng.range(0, 2)]),
    }
}

const ALPHABET: &[u8] =
    b"{}[]:,\"\\ \r\n\t0123456789-+.eEtrufalsnx/u\x00\x1f\x7f\x80\xbf\xc0\xc3\xe0\xed\xa0\xf0\xf4\xf5\xff";

fn mutate(rng: &mut Rng, doc: &mut Vec<u8>) {
    for _ in 0..rng.range(1, 3) {
        let i = rng.range(0, doc.len());
        let b = if rng.range(0, 3) == 0 {
            rng.byte()
        } else {
            ALPHABET[rng.range(0, ALPHABET.len() - 1)]
        };
        match rng.range(0, 3) {
            0 if i < doc.len() => doc[i] = b,
            1 if i < doc.len() => {
                doc.remove(i);
            }
            2 => doc.truncate(i),
            _ => doc.insert(i, b),
        }
    }
}

fn document(rng: &mut Rng) -> Vec<u8> {
    let mut doc = Vec::new();
    ws(rng, &mut doc);
    value(rng, &mut doc, 0);
    ws(rng, &mut doc);
    if rng.range(0, 1) == 0 {
        mutate(rng, &mut doc);
    }
    doc
}

/// serde_json's verdict, or `None` where it rejects for a reason outside the grammar
/// (f64 range, its 128-level recursion limit).
fn serde_accepts(doc: &[u8]) -> Option<bool> {
    match serde_json::from_slice::<serde_json::Value>(doc) {
        Ok(_) => Some(true),
        Err(e) => {
            let msg = e.to_string();
            if msg.contains("number out of range") || msg.contains("recursion limit") {
                None
            } else {
                Some(false)
            }
        }
    }
}

fn trim(doc: &[u8]) -> &[u8] {
    let s = doc
        .iter()
        .position(|&b| !common::is_ws(b))
        .unwrap_or(doc.len());
    let e = doc
        .iter()
        .rposition(|&b| !common::is_ws(b))
        .map_or(s, |p| p + 1);
    &doc[s..e]
}

#[test]
fn validate_agrees_with_serde_json() {
    let mut disagreements = Vec::new();
    let (mut accepted, mut rejected) = (0, 0);
    for seed in seeds(40) {
        let mut rng = Rng::new(seed);
        for case in 0..500 {
            let doc = document(&mut rng);
            let ours = validate(&doc);
            match serde_accepts(&doc) {
                Some(theirs) if theirs != ours.is_ok() => disagreements.push(format!(
                    "seed {seed:#x} case {case}: validate {ours:?}, serde_json accepts={theirs}: {:?}",
                    String::from_utf8_lossy(&doc)
                )),
                _ => {}
            }
            if ours.is_ok() {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // The generator must exercise both sides.
    println!("accepted {accepted}, rejected {rejected}");
    assert!(
        accepted > 2000 && rejected > 2000,
        "{accepted} / {rejected}"
    );
}

#[test]
fn framer_agrees_with_validate() {
    for seed in seeds(10) {
        let mut rng = Rng::new(seed);
        for case in 0..300 {
            let doc = document(&mut rng);
            let ok = validate(&doc).is_ok();
            let cap = [16, 64, 4096][rng.range(0, 2)];
            let whole = run(&doc, 4096, ScanConfig::json(), Feed::Whole);
            let ctx = || {
                format!(
                    "seed {seed:#x} case {case}: {:?}",
                    String::from_utf8_lossy(&doc)
                )
            };
            if let Err(e) = check_invariants(&doc, &whole) {
                panic!("{}: {e}\n{whole:?}", ctx());
            }
            let single =
                matches!(whole.as_slice(), [Item::Frame { bytes, .. }] if bytes == trim(&doc));
            assert_eq!(single, ok, "{}: framer gives {whole:?}", ctx());
            for feed in [
                Feed::Chunks(1),
                Feed::Random { seed, max: 5 },
                Feed::Spare { seed, max: 5 },
            ] {
                let got = run(&doc, 4096, ScanConfig::json(), feed);
                assert_eq!(got, whole, "{} {feed:?}", ctx());
            }
            // A small buffer only turns frames into TooLarge errors of the same extent.
            let small = run(&doc, cap, ScanConfig::json(), Feed::Whole);
            assert_eq!(small.len(), whole.len(), "{} buffer {cap}", ctx());
            for (s, w) in small.iter().zip(&whole) {
                match (s, w) {
                    (Item::Error(e), Item::Frame { offset, bytes }) => {
                        assert!(bytes.len() >= cap, "{} buffer {cap}: {e:?}", ctx());
                        assert_eq!((e.start(), e.skipped()), (*offset, bytes.len() as u64));
                    }
                    _ => assert_eq!(s, w, "{} buffer {cap}", ctx()),
                }
            }
        }
    }
}
