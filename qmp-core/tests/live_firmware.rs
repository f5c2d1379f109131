//! The firmware agent (`examples/firmware-agent`) running on an emulated Cortex-M4
//! (`qemu-system-arm -M mps2-an386`), its UART wired to a QMP peer:
//!
//! - a real QEMU 10 (`qemu-system-x86_64 -machine none`, started by the harness) whose
//!   run state it changes and checks: every step as expected, exit status 0, and QEMU
//!   running again afterwards;
//! - a hostile peer served by this test with qmp-core's `session::Server`, which mixes
//!   garbage lines, a `0xFF`, a reply larger than the agent's buffer and a burst of
//!   events into its answers: the agent reports each, finishes its script and exits
//!   with status 1 (some answers differed), without a reset or a hang;
//! - a peer that floods it with bytes that are never a message (the agent's watchdog
//!   ends it with status 3) and one that falls silent (a typed timeout, status 2).
//!
//! Each test builds the image first (`cargo build --release` in the example's folder,
//! its own workspace; once per test binary). Without `qemu-system-arm` or
//! `qemu-system-x86_64` the tests print `skipped` and pass, unless `CI=true`: then they
//! fail. `scripts/install-qemu` installs both.
//!
//! Run them with `cargo test -p qmp-core --test live_firmware -- --nocapture` to see
//! what the agent printed.

// `io::Error` carries the peer's error text inline.
#![allow(clippy::result_large_err)]

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::qemu::{emulator_available, Monitor, Qemu};
use qmp_core::encode::EmptyObject;
use qmp_core::frame::Framer;
use qmp_core::json::RawJson;
use qmp_core::message::{parse_request, Timestamp, Version};
use qmp_core::schema::commands::{QmpCapability, QueryStatus, RunState};
use qmp_core::session::{handler_fn, Server};

/// The emulator of the board.
const ARM: &str = "qemu-system-arm";
/// How long one run of the agent may take, wall clock (it needs about two seconds).
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The agent's image, built once.
fn image() -> &'static Path {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/firmware-agent");
        let target = dir.join("target");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "--target-dir"])
            .arg(&target)
            .current_dir(&dir)
            .status()
            .expect("running cargo build for the firmware agent");
        assert!(
            status.success(),
            "building examples/firmware-agent failed (rustup target add thumbv7em-none-eabihf?)"
        );
        target.join("thumbv7em-none-eabihf/release/qmp-firmware-agent")
    })
}

/// Whether both emulators can run; `false`: skip (a failure with `CI=true`).
fn emulators() -> bool {
    emulator_available(ARM) && emulator_available("qemu-system-x86_64")
}

/// A run of the agent: the board's emulator with UART0 on the unix socket `serial`.
struct Board {
    child: Child,
}

impl Board {
    /// Start the board, measuring instructions (`-icount shift=0`), its UART0 a client
    /// of the unix socket `serial`.
    fn start(serial: &Path) -> Self {
        let child = Command::new(ARM)
            .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-icount", "shift=0"])
            .arg("-serial")
            .arg(format!("unix:{}", serial.display()))
            .arg("-kernel")
            .arg(image())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {ARM}: {e}"));
        Self { child }
    }

    /// Wait for the agent to end the run: its exit status and what it printed.
    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + RUN_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling the board") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the agent still runs after {RUN_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut out).expect("the board's output");
        }
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut err).expect("the board's errors");
        }
        println!("{out}{err}");
        (status.code().unwrap_or(-1), out)
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The line that starts with `prefix`; panics with the whole output if none does.
fn line<'o>(out: &'o str, prefix: &str) -> &'o str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

/// Checks shared by every run: one start (no reset), the closing report.
fn common_checks(out: &str, exit: i32, steps: &str) {
    assert_eq!(
        out.matches("firmware agent: QMP over UART0").count(),
        1,
        "one start, no reset:\n{out}"
    );
    assert_eq!(line(out, "steps: "), steps, "{out}");
    let stack: usize = line(out, "stack: ")
        .trim_start_matches("stack: ")
        .trim_end_matches(" bytes at most")
        .parse()
        .expect("a stack size");
    assert!((1024..32 * 1024).contains(&stack), "{stack}");
    let decode = line(out, "decode: ");
    assert!(
        decode.starts_with("decode: 320 messages (48200 bytes, 0 refused)"),
        "{decode}"
    );
    assert_eq!(line(out, "exit: "), format!("exit: {exit}"));
}

/// Against a real QEMU: every step as expected, and QEMU running afterwards.
#[test]
fn agent_drives_a_real_qemu() {
    if !emulators() {
        return;
    }
    // Built before any peer waits for the board (the first build takes minutes).
    image();
    let Some(mut qemu) = Qemu::start_with(Monitor::Unix, |dir| {
        vec![
            "-qmp".to_owned(),
            format!(
                "unix:{},server=on,wait=off",
                dir.join("uart.sock").display()
            ),
        ]
    }) else {
        return;
    };
    // QEMU's sockets accept before its main loop runs, and greetings go out only once
    // it does: wait for one on the harness's own monitor (`release_monitor` reads it),
    // so that the board's greeting comes within its read timeout however long QEMU
    // takes to start.
    qemu.release_monitor();
    let board = Board::start(&qemu.dir().join("uart.sock"));
    let (exit, out) = board.finish();
    assert_eq!(exit, 0, "{out}");
    let expected = [
        "greeting: QEMU 10.",
        "negotiated: oob on",
        "query-status: running (running: true)",
        "query-name: (no name)",
        "stop: ok",
        "event: STOP at ",
        "stop: STOP came before the reply: true",
        "query-status: paused (running: false)",
        "cont: ok",
        "event: RESUME at ",
        "cont: RESUME came before the reply: true",
        "human-monitor-command command-line=\"info version\": 10.",
        "query-status: running (running: true)",
        "passed over: 0 events dropped (queue full), 0 messages discarded; ",
    ];
    let lines: Vec<&str> = out.lines().skip(1).collect();
    for (i, want) in expected.iter().enumerate() {
        assert!(
            lines.get(i).is_some_and(|l| l.starts_with(want)),
            "line {i}: want {want:?}, output:\n{out}"
        );
    }
    common_checks(&out, 0, "steps: 11 of 11 as expected");

    // QEMU is running again, as the agent left it.
    let mut qmp = qemu.connect(4096);
    qmp.negotiate(false);
    let status = qmp.execute(&QueryStatus);
    assert_eq!(
        status.reply.returned::<QueryStatus>().status,
        RunState::Running
    );
}

/// Serve one connection on `listener` with `serve`, in a thread; the listener waits for
/// the board boundedly.
fn peer(
    listener: UnixListener,
    serve: impl FnOnce(UnixStream) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let deadline = Instant::now() + RUN_LIMIT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the board never connected");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accepting the board: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("a blocking stream");
        stream
            .set_read_timeout(Some(RUN_LIMIT))
            .expect("a read timeout");
        serve(stream)
    })
}

/// A folder of the test's own, removed at the end.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qmp-firmware-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// The hostile peer: QMP through `session::Server`, with damage before the replies.
fn hostile(mut stream: UnixStream) {
    let version = Version::new(10, 0, 2);
    let mut server = Server::new(Some(version), &[QmpCapability::Oob]);
    let mut out = heapless::Vec::<u8, 16384>::new();
    server.greet(&mut out).expect("greeting");
    stream.write_all(&out).expect("writing");
    let at = Timestamp {
        seconds: 1_796_000_000,
        microseconds: 1,
    };
    let big = format!("\"{}\"", "n".repeat(4000));
    let big = RawJson::parse(big.as_bytes()).expect("a JSON string");
    let mut running = true;
    let mut framer = Framer::new(vec![0u8; 4096]);
    let mut buf = [0u8; 512];
    let mut statuses = 0;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut items = Vec::new();
        framer.feed(&buf[..n], |item| {
            items.push(item.map(|f| f.as_bytes().to_vec()))
        });
        for item in items {
            out.clear();
            let name = item
                .as_ref()
                .ok()
                .and_then(|bytes| qmp_core::frame::Frame::parse(bytes).ok())
                .and_then(|frame| parse_request(frame, server.oob_enabled()).ok())
                .and_then(|request| request.name.as_str().map(str::to_owned))
                .unwrap_or_default();
            // Damage first, then the reply.
            match name.as_str() {
                "qmp_capabilities" => {
                    stream
                        .write_all(b"this is not JSON\r\n{\"unexpected\": true}\r\n")
                        .expect("writing");
                }
                "query-status" => {
                    statuses += 1;
                    if statuses == 1 {
                        stream.write_all(&[0xFF]).expect("writing");
                    }
                }
                "stop" => {
                    running = false;
                    for _ in 0..40 {
                        server.event("STOP", (), at, &mut out).expect("an event");
                    }
                }
                "cont" => {
                    running = true;
                    server.event("RESUME", (), at, &mut out).expect("an event");
                }
                _ => {}
            }
            let status = if running {
                r#"{"status": "running", "running": true}"#
            } else {
                r#"{"status": "paused", "running": false}"#
            };
            let status = RawJson::parse(status.as_bytes()).expect("JSON");
            let version = RawJson::parse(br#""10.0.2 (hostile)\r\n""#).expect("JSON");
            let mut handler = handler_fn(|request, responder| match request.name.as_str() {
                Some("query-status") => responder.success(status),
                Some("query-name") => {
                    let name = format!("{{\"name\": {}}}", big.as_text());
                    responder.success(RawJson::parse(name.as_bytes()).expect("JSON"))
                }
                Some("stop" | "cont") => responder.success(EmptyObject),
                Some("human-monitor-command") => responder.success(version),
                _ => responder.command_not_found(),
            });
            let frame = match &item {
                Ok(bytes) => {
                    Ok(qmp_core::frame::Frame::parse(bytes).expect("a frame parses again"))
                }
                Err(e) => Err(*e),
            };
            server
                .handle(frame, &mut handler, &mut out)
                .expect("a reply");
            stream.write_all(&out).expect("writing");
        }
    }
}

/// Against the hostile peer: each damage is reported, the script ends, status 1.
#[test]
fn agent_survives_a_hostile_peer() {
    if !emulators() {
        return;
    }
    // Built before any peer waits for the board (the first build takes minutes).
    image();
    let dir = temp_dir("hostile");
    let socket = dir.join("uart.sock");
    let listener = UnixListener::bind(&socket).expect("a unix listener");
    let served = peer(listener, hostile);
    let board = Board::start(&socket);
    let (exit, out) = board.finish();
    served.join().expect("the hostile peer");
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(exit, 1, "{out}");
    // The reply too large is a typed error; the script goes on.
    let name = line(&out, "query-name: ");
    assert!(
        name.contains("is larger than the buffer") && name.ends_with("(not as expected)"),
        "{name}"
    );
    assert_eq!(
        line(&out, "stop: STOP came"),
        "stop: STOP came before the reply: true"
    );
    assert_eq!(
        line(&out, "query-status: paused"),
        "query-status: paused (running: false)"
    );
    assert!(line(&out, "human-monitor-command").ends_with(": 10.0.2 (hostile)"));
    // Two garbage lines and the 0xFF discarded; most of the 40 STOPs did not fit the
    // 512-byte queue and were counted.
    let passed = line(&out, "passed over: ");
    assert!(passed.contains(" 3 messages discarded"), "{passed}");
    let dropped: u32 = passed
        .trim_start_matches("passed over: ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    let shown = out.lines().filter(|l| l.starts_with("event: STOP")).count() as u32;
    assert_eq!(dropped + shown, 40, "{out}");
    assert!(dropped > 0, "{out}");
    common_checks(&out, 1, "steps: 10 of 11 as expected");
}

/// A peer that greets, then sends bytes that never make a message: the watchdog ends
/// the agent (status 3) instead of letting it read for ever.
#[test]
fn agent_watchdog_ends_an_endless_stream() {
    if !emulators() {
        return;
    }
    // Built before any peer waits for the board (the first build takes minutes).
    image();
    let dir = temp_dir("flood");
    let socket = dir.join("uart.sock");
    let listener = UnixListener::bind(&socket).expect("a unix listener");
    let served = peer(listener, |mut stream| {
        let greeting = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, \"capabilities\": []}}\r\n";
        if stream.write_all(greeting).is_err() {
            return;
        }
        // Unclosed strings, over and over: never a message, never an end.
        let noise = [b"\"noise ".as_slice(); 512].concat();
        while stream.write_all(&noise).is_ok() {}
    });
    let board = Board::start(&socket);
    let (exit, out) = board.finish();
    drop(served);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(exit, 3, "{out}");
    assert!(line(&out, "connect: ").contains("watchdog"), "{out}");
    common_checks(&out, 3, "steps: 0 of 0 as expected");
}

/// A peer that greets and then says nothing: a typed timeout, status 2.
#[test]
fn agent_times_out_on_a_silent_peer() {
    if !emulators() {
        return;
    }
    // Built before any peer waits for the board (the first build takes minutes).
    image();
    let dir = temp_dir("silent");
    let socket = dir.join("uart.sock");
    let listener = UnixListener::bind(&socket).expect("a unix listener");
    let served = peer(listener, |mut stream| {
        let greeting = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, \"capabilities\": []}}\r\n";
        let _ = stream.write_all(greeting);
        // Read what the agent sends until it goes.
        let mut sink = [0u8; 256];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });
    let board = Board::start(&socket);
    let (exit, out) = board.finish();
    served.join().expect("the silent peer");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(exit, 2, "{out}");
    assert_eq!(line(&out, "connect: "), "connect: timed out", "{out}");
    common_checks(&out, 2, "steps: 0 of 0 as expected");
}
