//! JSONTestSuite (<https://github.com/nst/JSONTestSuite>, `test_parsing`) through the
//! whole-document validator and through the streaming framer.
//!
//! - `y_` files must be accepted, `n_` files rejected.
//! - `i_` files (implementation-defined) are pinned in [`I_TABLE`] with the reason for
//!   each decision.

mod common;

use common::{check_invariants, run, seeds, testdata_dir, Feed, Item};
use qmp_core::scan::validate;
use qmp_core::scan::ScanConfig;

const SUITE: &str = "JSONTestSuite/test_parsing";

/// Big enough for every file in the suite.
const CAP: usize = 64 * 1024;

fn files(prefix: &str) -> Vec<(String, Vec<u8>)> {
    let all: Vec<_> = testdata_dir(SUITE)
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix) && name.ends_with(".json"))
        .collect();
    assert!(!all.is_empty(), "no {prefix} files in {SUITE}");
    all
}

/// `n_` files that are not one JSON text but are a valid *stream* of zero or several
/// texts. `validate` rejects them (it wants exactly one text); the framer, which splits a
/// stream of concatenated texts, legitimately reports no error for them.
const N_VALID_STREAMS: &[(&str, usize /* frames */, &str)] = &[
    ("n_single_space.json", 0, "whitespace only: an empty stream"),
    ("n_structure_no_data.json", 0, "empty file: an empty stream"),
    ("n_structure_double_array.json", 2, "`[][]` is two texts"),
    (
        "n_structure_object_with_trailing_garbage.json",
        2,
        "`{\"a\": true} \"x\"` is two texts",
    ),
];

/// The implementation-defined cases: (file, accepted, reason).
const I_TABLE: &[(&str, bool, &str)] = &[
    (
        "i_number_double_huge_neg_exp.json",
        true,
        "huge exponent: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_huge_exp.json",
        true,
        "huge exponent: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_neg_int_huge_exp.json",
        true,
        "huge exponent: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_pos_double_huge_exp.json",
        true,
        "huge exponent: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_real_neg_overflow.json",
        true,
        "overflows f64: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_real_pos_overflow.json",
        true,
        "overflows f64: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_real_underflow.json",
        true,
        "underflows f64: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_too_big_neg_int.json",
        true,
        "beyond i64: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_too_big_pos_int.json",
        true,
        "beyond u64: the grammar allows it; the views decide ranges",
    ),
    (
        "i_number_very_big_negative_int.json",
        true,
        "beyond i64: the grammar allows it; the views decide ranges",
    ),
    (
        "i_object_key_lone_2nd_surrogate.json",
        false,
        "lone low surrogate escape (in a key): QEMU rejects it and it cannot become valid UTF-8",
    ),
    (
        "i_string_1st_surrogate_but_2nd_missing.json",
        false,
        "lone high surrogate escape: QEMU rejects it and it cannot become valid UTF-8",
    ),
    (
        "i_string_1st_valid_surrogate_2nd_invalid.json",
        false,
        "high surrogate followed by a non-surrogate escape: cannot become valid UTF-8",
    ),
    (
        "i_string_UTF-16LE_with_BOM.json",
        false,
        "UTF-16 with BOM: RFC 8259 §8.1 requires UTF-8 (and forbids adding a BOM)",
    ),
    (
        "i_string_UTF-8_invalid_sequence.json",
        false,
        "invalid UTF-8 sequence: RFC 8259 §8.1 requires UTF-8",
    ),
    (
        "i_string_UTF8_surrogate_U+D800.json",
        false,
        "UTF-8-encoded surrogate (CESU/WTF-8): not valid UTF-8 (RFC 3629), RFC 8259 §8.1",
    ),
    (
        "i_string_incomplete_surrogate_and_escape_valid.json",
        false,
        "lone high surrogate escape followed by \\n: cannot become valid UTF-8",
    ),
    (
        "i_string_incomplete_surrogate_pair.json",
        false,
        "lone high surrogate escape followed by text: cannot become valid UTF-8",
    ),
    (
        "i_string_incomplete_surrogates_escape_valid.json",
        false,
        "two high surrogate escapes: cannot become valid UTF-8",
    ),
    (
        "i_string_invalid_lonely_surrogate.json",
        false,
        "lone high surrogate escape: QEMU rejects it and it cannot become valid UTF-8",
    ),
    (
        "i_string_invalid_surrogate.json",
        false,
        "lone high surrogate escape followed by text: cannot become valid UTF-8",
    ),
    (
        "i_string_invalid_utf-8.json",
        false,
        "0xFF byte: never valid UTF-8, RFC 8259 §8.1 (and QMP's parser-reset byte)",
    ),
    (
        "i_string_inverted_surrogates_U+1D11E.json",
        false,
        "low surrogate before high surrogate: cannot become valid UTF-8",
    ),
    (
        "i_string_iso_latin_1.json",
        false,
        "ISO-8859-1 byte: RFC 8259 §8.1 requires UTF-8",
    ),
    (
        "i_string_lone_second_surrogate.json",
        false,
        "lone low surrogate escape: QEMU rejects it and it cannot become valid UTF-8",
    ),
    (
        "i_string_lone_utf8_continuation_byte.json",
        false,
        "lone UTF-8 continuation byte: RFC 8259 §8.1 requires UTF-8",
    ),
    (
        "i_string_not_in_unicode_range.json",
        false,
        "code point above U+10FFFF: not valid UTF-8 (RFC 3629), RFC 8259 §8.1",
    ),
    (
        "i_string_overlong_sequence_2_bytes.json",
        false,
        "overlong UTF-8: RFC 8259 §8.1 requires (valid) UTF-8",
    ),
    (
        "i_string_overlong_sequence_6_bytes.json",
        false,
        "6-byte overlong UTF-8: RFC 8259 §8.1 requires (valid) UTF-8",
    ),
    (
        "i_string_overlong_sequence_6_bytes_null.json",
        false,
        "6-byte overlong NUL: RFC 8259 §8.1 requires (valid) UTF-8",
    ),
    (
        "i_string_truncated-utf-8.json",
        false,
        "truncated UTF-8 sequence: RFC 8259 §8.1 requires UTF-8",
    ),
    (
        "i_string_utf16BE_no_BOM.json",
        false,
        "UTF-16BE: RFC 8259 §8.1 requires UTF-8",
    ),
    (
        "i_string_utf16LE_no_BOM.json",
        false,
        "UTF-16LE: RFC 8259 §8.1 requires UTF-8",
    ),
    (
        "i_structure_500_nested_arrays.json",
        true,
        "500 nested arrays: within the 1024 depth limit (QEMU's MAX_NESTING)",
    ),
    (
        "i_structure_UTF-8_BOM_empty_object.json",
        false,
        "UTF-8 BOM: RFC 8259 §8.1 says implementations MUST NOT add one; QEMU rejects it",
    ),
];

fn show(data: &[u8]) -> String {
    let s = String::from_utf8_lossy(data);
    if s.chars().count() > 60 {
        format!("{:?}...", s.chars().take(60).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

#[test]
fn validate_accepts_every_y() {
    let failures: Vec<String> = files("y_")
        .iter()
        .filter_map(|(name, data)| {
            validate(data)
                .err()
                .map(|e| format!("{name} {}: {e}", show(data)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "rejected y_ files:\n{}",
        failures.join("\n")
    );
}

#[test]
fn validate_rejects_every_n() {
    let failures: Vec<String> = files("n_")
        .iter()
        .filter(|(_, data)| validate(data).is_ok())
        .map(|(name, data)| format!("{name} {}", show(data)))
        .collect();
    assert!(
        failures.is_empty(),
        "accepted n_ files:\n{}",
        failures.join("\n")
    );
}

/// Whether framing gave what an accepted file must give: exactly one frame, no error.
fn single_frame(items: &[Item]) -> bool {
    matches!(items, [Item::Frame { .. }])
}

/// The whole-input outcome for every file under `config`, after checking the
/// structural invariants.
fn frame_files(prefix: &str, config: ScanConfig) -> Vec<(String, Vec<u8>, Vec<Item>)> {
    files(prefix)
        .into_iter()
        .map(|(name, data)| {
            let items = run(&data, CAP, config, Feed::Whole);
            if let Err(e) = check_invariants(&data, &items) {
                panic!("{name} ({config:?}): {e}\nitems: {items:?}");
            }
            (name, data, items)
        })
        .collect()
}

fn framer_y(config: ScanConfig) {
    let failures: Vec<String> = frame_files("y_", config)
        .into_iter()
        .filter(|(_, _, items)| !single_frame(items))
        .map(|(name, data, items)| format!("{name} {}: {items:?}", show(&data)))
        .collect();
    assert!(
        failures.is_empty(),
        "y_ files not framed as exactly one frame ({config:?}):\n{}",
        failures.join("\n")
    );
}

fn framer_n(config: ScanConfig) {
    let mut failures = Vec::new();
    for (name, data, items) in frame_files("n_", config) {
        let errors = items.iter().filter(|i| i.is_err()).count();
        let frames = items.len() - errors;
        // Every frame handed out is valid on its own (check_invariants checked it too).
        for item in &items {
            if let Some((off, bytes)) = item.frame() {
                if let Err(e) = validate(bytes) {
                    failures.push(format!("{name}: frame at {off} fails validate: {e}"));
                }
            }
        }
        match N_VALID_STREAMS.iter().find(|(n, _, _)| *n == name) {
            Some(&(_, want, why)) => {
                if errors != 0 || frames != want {
                    failures.push(format!(
                        "{name} ({why}): expected {want} frames and no error, got {items:?}"
                    ));
                }
            }
            None => {
                if errors == 0 {
                    failures.push(format!("{name} {}: no error: {items:?}", show(&data)));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "n_ files framed wrongly ({config:?}):\n{}",
        failures.join("\n")
    );
}

#[test]
fn framer_json_accepts_every_y() {
    framer_y(ScanConfig::json());
}

#[test]
fn framer_json_rejects_every_n() {
    framer_n(ScanConfig::json());
}

#[test]
fn framer_qmp_accepts_every_y() {
    framer_y(ScanConfig::qmp());
}

#[test]
fn framer_qmp_rejects_every_n() {
    framer_n(ScanConfig::qmp());
}

/// With line-start resync on or off, the suite frames the same: no file in it has a `{`
/// at the start of a line where a nested value is expected.
#[test]
fn framer_configs_agree_on_the_suite() {
    let mut diffs = Vec::new();
    for prefix in ["y_", "n_", "i_"] {
        let json = frame_files(prefix, ScanConfig::json());
        let qmp = frame_files(prefix, ScanConfig::qmp());
        for ((name, _, a), (_, _, b)) in json.iter().zip(&qmp) {
            if a != b {
                diffs.push(format!("{name}:\n  json: {a:?}\n  qmp:  {b:?}"));
            }
        }
    }
    assert!(diffs.is_empty(), "configs differ:\n{}", diffs.join("\n"));
}

/// Every file, in one-byte, random and zero-copy chunks, frames exactly as whole.
#[test]
fn framer_chunking_is_invisible() {
    let seeds = seeds(4);
    let mut failures = Vec::new();
    for (name, data) in testdata_dir(SUITE) {
        for config in [ScanConfig::json(), ScanConfig::qmp()] {
            let whole = run(&data, CAP, config, Feed::Whole);
            let mut feeds = vec![Feed::Chunks(1)];
            for &seed in &seeds {
                feeds.push(Feed::Random { seed, max: 7 });
                feeds.push(Feed::Spare { seed, max: 7 });
            }
            for feed in feeds {
                let got = run(&data, CAP, config, feed);
                if got != whole {
                    failures.push(format!(
                        "{name} {config:?} {feed:?}:\n  whole:   {whole:?}\n  chunked: {got:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "chunking changed the result:\n{}",
        failures.join("\n")
    );
}

#[test]
fn i_table_covers_every_i_file() {
    let present: Vec<String> = files("i_").into_iter().map(|(n, _)| n).collect();
    let missing: Vec<&String> = present
        .iter()
        .filter(|n| !I_TABLE.iter().any(|(t, _, _)| t == n))
        .collect();
    let stale: Vec<&str> = I_TABLE
        .iter()
        .map(|(t, _, _)| *t)
        .filter(|t| !present.iter().any(|n| n == t))
        .collect();
    let mut names: Vec<&str> = I_TABLE.iter().map(|(t, _, _)| *t).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), I_TABLE.len(), "duplicate rows in I_TABLE");
    assert!(
        missing.is_empty() && stale.is_empty(),
        "I_TABLE out of date: missing rows {missing:?}, rows for absent files {stale:?}"
    );
}

#[test]
fn i_table_matches_behaviour() {
    let mut failures = Vec::new();
    for (name, data) in files("i_") {
        let Some(&(_, accepted, reason)) = I_TABLE.iter().find(|(t, _, _)| *t == name) else {
            continue; // reported by i_table_covers_every_i_file
        };
        let v = validate(&data);
        if v.is_ok() != accepted {
            failures.push(format!(
                "{name}: table says accepted={accepted} ({reason}), validate gives {v:?}"
            ));
        }
        for config in [ScanConfig::json(), ScanConfig::qmp()] {
            let items = run(&data, CAP, config, Feed::Whole);
            if let Err(e) = check_invariants(&data, &items) {
                failures.push(format!("{name} {config:?}: {e}"));
            }
            if single_frame(&items) != accepted {
                failures.push(format!(
                    "{name} {config:?}: table says accepted={accepted} ({reason}), framer gives {items:?}"
                ));
            }
            if !accepted && !items.iter().any(Item::is_err) {
                failures.push(format!(
                    "{name} {config:?}: rejected but no error: {items:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "I_TABLE mismatches:\n{}",
        failures.join("\n")
    );
}
