//! The fuzz targets' logic under plain `cargo test`.
//!
//! - Every minimized crash committed under `fuzz/regressions/<target>/` is replayed
//!   through the hidden function `qmp_core::fuzz::<target>`, with serde_json as the
//!   reference where the target takes one (the same wrapper the targets use,
//!   `fuzz/src/lib.rs`, compiled in here).
//! - The real captures and JSONTestSuite go through every fuzz function, so the checks
//!   themselves are known to hold on real input.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use qmp_core::fuzz;

#[path = "../../fuzz/src/lib.rs"]
mod reference;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of `dir`, sorted, with their contents.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let data = fs::read(e.path()).unwrap_or_else(|err| panic!("{name}: {err}"));
            (name, data)
        })
        .collect();
    out.sort();
    out
}

/// Run fuzz target `target`'s hidden function on `data`.
fn run(target: &str, data: &[u8]) {
    match target {
        "frame_chunks" => fuzz::frame_chunks(data),
        "json_differential" => fuzz::json_differential(data, reference::accepts),
        "message_roundtrip" => fuzz::message_roundtrip(data),
        "encode_arbitrary" => fuzz::encode_arbitrary(data, reference::accepts, reference::render),
        "typed_events" => fuzz::typed_events(data),
        "shell_syntax" => fuzz::shell_syntax(data),
        "session_ops" => fuzz::session_ops(data),
        other => panic!("fuzz/regressions/{other}: no such fuzz target"),
    }
}

const TARGETS: [&str; 7] = [
    "frame_chunks",
    "json_differential",
    "message_roundtrip",
    "encode_arbitrary",
    "typed_events",
    "shell_syntax",
    "session_ops",
];

/// Run every input, collecting the failures so that one report names all of them.
fn run_all<'a>(cases: impl IntoIterator<Item = (&'a str, String, &'a [u8])>) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for (target, name, data) in cases {
        count += 1;
        if catch_unwind(AssertUnwindSafe(|| run(target, data))).is_err() {
            failures.push(format!("{target}: {name}"));
        }
    }
    assert!(failures.is_empty(), "failed:\n{}", failures.join("\n"));
    count
}

#[test]
fn committed_regressions_replay() {
    let root = repo().join("fuzz/regressions");
    let mut cases = Vec::new();
    for entry in fs::read_dir(&root).expect("fuzz/regressions exists") {
        let dir = entry.expect("readable").path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            TARGETS.contains(&target.as_str()),
            "fuzz/regressions/{target}: no such fuzz target"
        );
        for (name, data) in files(&dir) {
            cases.push((target.clone(), name, data));
        }
    }
    let n = run_all(
        cases
            .iter()
            .map(|(t, n, d)| (t.as_str(), n.clone(), &d[..])),
    );
    eprintln!("replayed {n} regressions from {}", root.display());
}

/// The captures, whole and line by line.
fn captures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, data) in files(&repo().join("testdata/captures")) {
        for (i, line) in data.split_inclusive(|&b| b == b'\n').enumerate() {
            out.push((format!("{name} line {}", i + 1), line.to_vec()));
        }
        out.push((name, data));
    }
    assert!(out.len() > 10, "no captures in testdata/captures");
    out
}

/// A `session_ops` client program: `data` as server bytes in chunks of at most 255, with
/// `negotiate` (asking for oob) after the first and `execute_raw`, `execute_oob` and
/// `execute` calls after each.
fn client_program(data: &[u8]) -> Vec<u8> {
    let mut program = vec![0x3C];
    for (i, chunk) in data.chunks(255).enumerate() {
        program.extend([0x00, chunk.len() as u8]);
        program.extend_from_slice(chunk);
        program.extend_from_slice(if i == 0 { &[0x44] } else { &[0x05, 0x08, 0x09] });
    }
    program.push(0x0E);
    program
}

#[test]
fn captures_pass_every_fuzz_function() {
    let captures = captures();
    let mut cases: Vec<(&str, String, Vec<u8>)> = Vec::new();
    for (name, data) in &captures {
        for target in ["json_differential", "message_roundtrip", "typed_events"] {
            cases.push((target, name.clone(), data.clone()));
        }
        // Arbitrary bytes are a valid encode_arbitrary input too.
        cases.push(("encode_arbitrary", name.clone(), data.clone()));
        // As server bytes to a client (Client<4>, a 1024-byte framer) that negotiates
        // after the first chunk and sends commands between chunks; as client bytes to a
        // server with a 1024-byte framer, offering oob or not.
        cases.push((
            "session_ops",
            format!("{name} client"),
            client_program(data),
        ));
        for settings in [0x31, 0x3D] {
            let mut input = vec![settings];
            input.extend_from_slice(data);
            cases.push(("session_ops", format!("{name} server {settings:#x}"), input));
        }
        // Framed whole against a few schedules and buffer sizes.
        for header in [
            &[0x06, 0][..],
            &[0x07, 1, 0x41],
            &[0x05, 3, 0x03, 0x00, 0xFF],
        ] {
            let mut input = header.to_vec();
            input.extend_from_slice(data);
            cases.push(("frame_chunks", format!("{name} {header:?}"), input));
        }
    }
    run_all(cases.iter().map(|(t, n, d)| (*t, n.clone(), &d[..])));
}

#[test]
fn json_test_suite_agrees_with_the_reference() {
    let dir = repo().join("testdata/JSONTestSuite/test_parsing");
    let suite = files(&dir);
    assert!(
        suite.len() > 300,
        "JSONTestSuite missing in {}",
        dir.display()
    );
    for (name, data) in &suite {
        // The wrapper's verdict is the suite's wherever the suite has one, and the
        // implementation-defined cases are what qmp-core decided (pinned in
        // tests/json_test_suite.rs).
        let verdict = reference::accepts(data);
        if name.starts_with("y_") {
            assert_eq!(verdict, Some(true), "{name}");
        } else if name.starts_with("n_") {
            assert_eq!(verdict, Some(false), "{name}");
        }
    }
    run_all(
        suite
            .iter()
            .map(|(n, d)| ("json_differential", n.clone(), &d[..])),
    );
}

#[test]
fn encode_arbitrary_on_crafted_inputs() {
    // Every message kind, with each payload kind, from short patterned inputs.
    let mut cases = Vec::new();
    for kind in 0u8..7 {
        for payload in 0u8..10 {
            for fill in [0u8, 1, 0x1C, 0x7F, 0xFF] {
                let mut input = vec![kind, 0, 3, payload, 8, 0];
                input.extend(std::iter::repeat_n(fill, 64));
                cases.push((
                    format!("kind {kind} payload {payload} fill {fill:#x}"),
                    input,
                ));
            }
        }
    }
    run_all(
        cases
            .iter()
            .map(|(n, d)| ("encode_arbitrary", n.clone(), &d[..])),
    );
}

// The checks are not vacuous: a reference that disagrees is caught.

#[test]
#[should_panic(expected = "the reference says accepted=false")]
fn json_differential_catches_a_disagreement() {
    fuzz::json_differential(b"{}", |_| Some(false));
}

#[test]
#[should_panic(expected = "differs from the reference")]
fn encode_arbitrary_catches_a_different_rendering() {
    // A return whose value is a generated `u64` (tree op 2), rendered wrongly.
    let input = [2, 0, 0, 0, 7, 9, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0];
    fuzz::encode_arbitrary(&input, reference::accepts, |_, buf| {
        buf[..1].copy_from_slice(b"8");
        Some(1)
    });
}
