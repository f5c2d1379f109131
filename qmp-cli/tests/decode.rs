//! `qmp decode` against golden outputs: every bundled capture, pretty output, JSON
//! Lines, a buffer too small for the large replies, and damaged streams.
//!
//! The golden files in `tests/golden/decode/` were reviewed by hand. After a deliberate
//! change of the output, regenerate them with `QMP_UPDATE_GOLDEN=1 cargo test -p
//! qmp-cli --test decode` and review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/captures")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/decode")
}

/// Run `qmp ARGS` with `stdin` as standard input.
fn qmp(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_qmp"))
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run qmp");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().expect("qmp ran");
    writer.join().unwrap();
    output
}

/// Compare `actual` with the golden file `name`, or write it when `QMP_UPDATE_GOLDEN` is set.
fn golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("QMP_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (QMP_UPDATE_GOLDEN=1 writes it)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name}: output differs from the golden file from line {}:\n\
             expected: {:?}\n  actual: {:?}\n--- whole output ---\n{actual}",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}

fn text(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn every_bundled_capture() {
    let mut names: Vec<_> = std::fs::read_dir(captures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rx.bin"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let path = captures().join(&name);
        let output = qmp(&["decode", path.to_str().unwrap(), "--no-timing"], b"");
        // extras.rx.bin holds QEMU's one non-JSON reply (`inf` for the id `1e999`).
        let want = if name == "extras.rx.bin" { 1 } else { 0 };
        assert_eq!(output.status.code(), Some(want), "{name}: {output:?}");
        assert!(output.stderr.is_empty(), "{name}: {output:?}");
        golden(&name.replace(".rx.bin", ".txt"), &text(&output));
    }
}

#[test]
fn standard_input_and_dash_read_the_same() {
    let bytes = std::fs::read(captures().join("vnc_events.rx.bin")).unwrap();
    let piped = qmp(&["decode", "--no-timing"], &bytes);
    let dash = qmp(&["decode", "-", "--no-timing"], &bytes);
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(text(&piped), text(&dash));
    golden("vnc_events.txt", &text(&piped));
}

#[test]
fn pretty_payloads() {
    let path = captures().join("chardev_mon_pretty.rx.bin");
    let output = qmp(
        &["decode", path.to_str().unwrap(), "--pretty", "--no-timing"],
        b"",
    );
    assert_eq!(output.status.code(), Some(0));
    golden("chardev_mon_pretty.pretty.txt", &text(&output));
}

#[test]
fn json_lines() {
    let path = captures().join("spice_events.rx.bin");
    let output = qmp(
        &["decode", path.to_str().unwrap(), "--json", "--no-timing"],
        b"",
    );
    assert_eq!(output.status.code(), Some(0));
    let out = text(&output);
    for line in out.lines() {
        assert!(
            line.starts_with("{\"offset\":") && line.ends_with('}'),
            "{line}"
        );
    }
    golden("spice_events.jsonl", &out);
    // The summary goes to stderr, so stdout stays JSON Lines.
    let summary = String::from_utf8(output.stderr).unwrap();
    assert!(summary.contains("messages:"), "{summary}");

    let output = qmp(
        &[
            "decode",
            path.to_str().unwrap(),
            "--json",
            "--pretty",
            "--no-timing",
        ],
        b"",
    );
    golden("spice_events.pretty.jsonl", &text(&output));
}

#[test]
fn summary_only() {
    let path = captures().join("unix_basic.rx.bin");
    let output = qmp(
        &["decode", path.to_str().unwrap(), "-s", "--no-timing"],
        b"",
    );
    assert_eq!(output.status.code(), Some(0));
    golden("unix_basic.summary.txt", &text(&output));
}

#[test]
fn buffer_too_small_skips_the_large_replies() {
    let path = captures().join("unix_basic.rx.bin");
    let output = qmp(
        &[
            "decode",
            path.to_str().unwrap(),
            "--buffer",
            "4096",
            "--no-timing",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1), "stream errors exit with 1");
    golden("unix_basic.buffer4096.txt", &text(&output));
}

/// A capture damaged in the ways real logs are: bytes overwritten in the middle of a
/// message, a message cut short by the next one, garbage between messages, a 0xFF
/// resync byte, and a stream that ends inside a message.
fn damaged() -> Vec<u8> {
    let clean = std::fs::read(captures().join("spice_events.rx.bin")).unwrap();
    let text = String::from_utf8(clean).unwrap();
    let lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match i {
            // A message with a byte overwritten.
            2 => out.extend_from_slice(line.replacen("\"port\"", "\"p\x01rt\"", 1).as_bytes()),
            // A message cut short: the next one starts at a line start.
            4 => {
                out.extend_from_slice(&line.as_bytes()[..40]);
                out.extend_from_slice(b"\r\n");
            }
            // Log noise between messages, and a resync byte.
            6 => {
                out.extend_from_slice(b"2026-11-25 20:49:39 qemu: something went wrong\r\n");
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(b"\xff");
            }
            _ => out.extend_from_slice(line.as_bytes()),
        }
    }
    // Ends inside a message.
    out.extend_from_slice(b"{\"event\": \"SPICE_CONN");
    out
}

#[test]
fn damaged_stream() {
    let output = qmp(&["decode", "--no-timing"], &damaged());
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    golden("damaged.txt", &text(&output));
    let output = qmp(&["decode", "--no-timing", "--json"], &damaged());
    golden("damaged.jsonl", &text(&output));
}

#[test]
fn unreadable_file_is_one_line_and_exit_2() {
    let output = qmp(&["decode", "/nonexistent/capture.bin"], b"");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8(output.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("qmp: /nonexistent/capture.bin: "), "{err}");
    assert!(output.stdout.is_empty());
}

#[test]
fn bundled_capture_is_the_one_in_testdata() {
    // The binary embeds testdata/captures/unix_basic.rx.bin; piping that file in must
    // give the same listing as the no-argument form shows (minus its two-line note).
    let bytes = std::fs::read(captures().join("unix_basic.rx.bin")).unwrap();
    let piped = qmp(&["decode", "--no-timing"], &bytes);
    golden("unix_basic.txt", &text(&piped));
}
