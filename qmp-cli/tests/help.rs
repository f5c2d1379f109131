//! `--help` for `qmp` and every subcommand, and the exit codes they document.

mod common;

use common::{qmp, stdout};

#[test]
fn every_subcommand_has_help_with_exit_codes() {
    let top = qmp(&["--help"]);
    assert_eq!(top.status.code(), Some(0));
    let text = stdout(&top);
    for sub in ["decode", "exec", "events", "shell"] {
        assert!(
            text.contains(&format!("  {sub}  ")),
            "{sub} listed:\n{text}"
        );
        for args in [vec![sub, "--help"], vec!["help", sub]] {
            let out = qmp(&args);
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            let help = stdout(&out);
            assert!(help.contains("Usage: qmp "), "{args:?}:\n{help}");
            assert!(help.contains("Exit codes:"), "{args:?}:\n{help}");
            assert!(help.contains("64  wrong usage"), "{args:?}:\n{help}");
        }
    }
    assert!(text.contains("64  wrong usage"), "{text}");
    let exec = stdout(&qmp(&["exec", "--help"]));
    assert!(
        exec.contains("1   QEMU answered with an error reply"),
        "{exec}"
    );
    let decode = stdout(&qmp(&["decode", "--help"]));
    assert!(decode.contains("1   some bytes were skipped"), "{decode}");
}

#[test]
fn version() {
    let out = qmp(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("qmp "));
}

#[test]
fn no_subcommand_is_wrong_usage() {
    let out = qmp(&[]);
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn wrong_usage_is_one_line_exit_64() {
    for args in [
        vec!["decode", "--bogus"],
        vec!["decode", "a", "b"],
        vec!["decode", "--buffer", "0"],
        vec!["events"],
        vec!["shell"],
        vec!["shell", "/tmp/x.sock", "--history", "h", "--no-history"],
        vec!["nonsense"],
    ] {
        let out = qmp(&args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("qmp: "), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
}
