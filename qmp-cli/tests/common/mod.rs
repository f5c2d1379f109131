//! Shared by the live tests: the real-QEMU harness of `qmp-core` (the same file, so
//! that both crates start QEMU alike and skip or fail alike when it is missing), and a
//! way to run the `qmp` binary.
#![allow(dead_code)]

#[path = "../../../qmp-core/tests/common/qemu.rs"]
pub mod qemu;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub use qemu::{Endpoint, Monitor, Qemu};

/// The `qmp` binary under test.
pub const QMP: &str = env!("CARGO_BIN_EXE_qmp");

/// Run `qmp ARGS` to its end, with no standard input.
pub fn qmp(args: &[&str]) -> Output {
    Command::new(QMP)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run qmp")
}

/// QEMU with a QMP monitor on a unix socket that nobody holds, and its path; `None`
/// when the test is skipped (no QEMU, outside CI).
pub fn qemu_unix(extra: impl Fn(&std::path::Path) -> Vec<String>) -> Option<(Qemu, PathBuf)> {
    let mut qemu = Qemu::start_with(Monitor::Unix, extra)?;
    match qemu.release_monitor() {
        Endpoint::Unix(path) => Some((qemu, path)),
        Endpoint::Tcp(_) => unreachable!(),
    }
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}
