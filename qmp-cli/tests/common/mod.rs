//! Shared by the live tests: the real-QEMU harness of `qmp-core` (the same file, so
//! that both crates start QEMU alike and skip or fail alike when it is missing), and a
//! way to run the `qmp` binary.
#![allow(dead_code)]

#[path = "../../../qmp-core/tests/common/qemu.rs"]
pub mod qemu;
#[path = "../../../qmp-core/tests/common/spice.rs"]
pub mod spice;

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

/// A scripted QMP server on a unix socket at `path`, for what a real QEMU will not do
/// on demand (answer late, or never): it greets, then answers each command `name`
/// with what `answer(name)` gives — `None` for no answer at all, else a delay and the
/// `return` value's JSON — echoing the command's id. Serves one client, on a thread.
pub fn scripted_peer(
    path: &std::path::Path,
    answer: impl Fn(&str) -> Option<(std::time::Duration, String)> + Send + 'static,
) -> std::thread::JoinHandle<()> {
    use std::io::{Read, Write};

    use qmp_core::frame::Framer;
    use qmp_core::message::{parse_request, Request};

    let listener = std::os::unix::net::UnixListener::bind(path).expect("bind");
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let greeting = br#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 0, "major": 10}, "package": ""}, "capabilities": []}}"#;
        let _ = stream.write_all(greeting);
        let _ = stream.write_all(b"\r\n");
        let mut framer = Framer::new(vec![0u8; 64 * 1024]);
        let mut buf = [0u8; 4096];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let mut replies = Vec::new();
            framer.feed(&buf[..n], |item| {
                let Ok(frame) = item else { return };
                let Ok(Request { name, id, .. }) = parse_request(frame, false) else {
                    return;
                };
                let id = id
                    .map(|id| id.as_text().to_owned())
                    .unwrap_or("null".into());
                let name = name.to_string();
                let reply = if name == "qmp_capabilities" {
                    Some((std::time::Duration::ZERO, "{}".to_owned()))
                } else {
                    answer(&name)
                };
                if let Some((delay, value)) = reply {
                    replies.push((delay, format!("{{\"return\": {value}, \"id\": {id}}}\r\n")));
                }
            });
            for (delay, reply) in replies {
                std::thread::sleep(delay);
                if stream.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        }
    })
}

/// A fresh folder for sockets of a test's own, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("qmp-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
