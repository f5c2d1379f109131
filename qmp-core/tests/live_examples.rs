//! The examples as their users run them: the built `agent` binary against a live QEMU 10
//! (`tests/common/qemu.rs`), its standard output read line by line with a deadline and
//! compared exactly with what the example's docs promise.
//!
//! QEMU gets two QMP monitors: the harness's, through which the test sends commands
//! (`stop`, `cont`, `quit`) and sees the same events as the agent with the same
//! timestamps, and one for the agent alone. A VNC server on 127.0.0.1 gives the
//! VNC_CONNECTED and VNC_DISCONNECTED events of a client that reads the RFB banner
//! and hangs up.
//!
//! The binary is the one cargo builds for `cargo test -p qmp-core` (examples are built
//! with the tests), found next to this test's executable: `target/debug/examples/agent`.
//! A test cannot build it itself (cargo holds the build directory while it builds and
//! runs the tests), so with a narrower command build it first:
//!
//! ```sh
//! cargo build -p qmp-core --features std --example agent
//! cargo test -p qmp-core --test live_examples
//! ```
//!
//! A binary missing or older than `examples/agent.rs` fails the tests with that advice.
//! Without `qemu-system-x86_64` on `PATH` the QEMU tests print `skipped: ...` and pass,
//! unless `CI=true`, where they fail; the tests of the agent's errors need no QEMU.

mod common;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use common::qemu::{free_tcp_addr, Endpoint, Monitor, Qemu, Qmp, Received, BIG, TIMEOUT};
use qmp_core::message::Timestamp;
use qmp_core::schema::commands::{Cont, QueryStatus, QueryVersion, QueryVnc, Quit, Stop};
use qmp_core::schema::Event;

/// Start QEMU with the harness's monitor and `extra`, or skip the test (return) when
/// QEMU is missing.
macro_rules! qemu {
    ($extra:expr) => {
        match Qemu::start_with(Monitor::Unix, $extra) {
            Some(qemu) => qemu,
            None => return,
        }
    };
}

/// The agent example's binary, built by cargo next to this test; panics with what to
/// run when it is missing or older than its source.
fn agent_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/debug/deps/live_examples-HASH → target/debug/examples/agent
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/PROFILE/deps");
    let name = format!("agent{}", std::env::consts::EXE_SUFFIX);
    let binary = profile_dir.join("examples").join(name);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/agent.rs");
    let build = "cargo build -p qmp-core --features std --example agent";
    let built = fs::metadata(&binary).and_then(|m| m.modified());
    let Ok(built) = built else {
        panic!(
            "{} not found: `cargo test -p qmp-core` builds it; after a narrower `cargo test`, \
             run `{build}` first",
            binary.display()
        );
    };
    let written = fs::metadata(&source).and_then(|m| m.modified());
    assert!(
        written.is_ok_and(|written| written <= built),
        "{} is older than {}: run `{build}`",
        binary.display(),
        source.display()
    );
    binary
}

/// A running agent: its standard output as lines through a channel, its standard
/// error in a file. Killed and reaped on drop.
struct Agent {
    child: Child,
    lines: Receiver<String>,
    /// Every line read so far, for failure messages.
    seen: Vec<String>,
    stderr: PathBuf,
}

impl Agent {
    /// Run the agent with `arg`, its standard error going to `stderr`.
    fn spawn(arg: &str, stderr: PathBuf) -> Self {
        let mut child = Command::new(agent_binary())
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("creating the agent's stderr file"))
            .spawn()
            .expect("starting the agent");
        let stdout = child.stdout.take().expect("a piped stdout");
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// What the agent printed so far and its standard error, for failure messages.
    fn context(&self) -> String {
        let stderr = fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "stdout so far:\n  {}\nstderr:\n  {stderr}",
            self.seen.join("\n  ")
        )
    }

    /// The next line of standard output; panics if none comes within [`TIMEOUT`].
    fn line(&mut self) -> String {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(line) => {
                self.seen.push(line.clone());
                line
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("no line from the agent in {TIMEOUT:?}; {}", self.context())
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the agent's output ended; {}", self.context())
            }
        }
    }

    /// Read lines and check that they are exactly `expected`.
    fn expect_lines(&mut self, expected: &[String]) {
        for want in expected {
            let got = self.line();
            assert_eq!(&got, want, "{}", self.context());
        }
    }

    /// Wait for the agent to exit by itself, with nothing more on standard output;
    /// panics after [`TIMEOUT`].
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling the agent") {
                // The reader thread ends at EOF: nothing may be left.
                let rest: Vec<_> = self.lines.iter().collect();
                assert!(
                    rest.is_empty(),
                    "unexpected lines {rest:?}; {}",
                    self.context()
                );
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the agent still runs {TIMEOUT:?} after QEMU quit; {}",
                self.context()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `-chardev socket ... -mon ...`: a second QMP monitor, for the agent, at `socket`
/// (the chardev's address options).
fn agent_monitor(socket: String) -> Vec<String> {
    vec![
        "-chardev".to_owned(),
        format!("socket,id=agent,{socket},server=on,wait=off"),
        "-mon".to_owned(),
        "chardev=agent,mode=control".to_owned(),
    ]
}

/// The lines the agent prints before the events, from the test's own queries.
fn header(qmp: &mut Qmp) -> Vec<String> {
    let version = qmp.execute(&QueryVersion).reply;
    let version = version.returned::<QueryVersion>();
    let status = qmp.execute(&QueryStatus).reply;
    let status = status.returned::<QueryStatus>();
    let triple = version.qemu;
    let package = version.package.to_string();
    let mut qemu = format!("QEMU {}.{}.{}", triple.major, triple.minor, triple.micro);
    if !package.is_empty() {
        qemu = format!("{qemu} ({package})");
    }
    vec![
        qemu,
        format!("status: {}", status.status),
        "events: time (seconds.microseconds since the epoch, from QEMU), name, details".to_owned(),
    ]
}

/// An event's time as the agent prints it.
fn time(received: &Received) -> String {
    let Timestamp {
        seconds,
        microseconds,
    } = received.event().0.timestamp;
    format!("{seconds}.{microseconds:06}")
}

/// The names of `events`, for failure messages.
fn names(events: &[Received]) -> Vec<String> {
    events.iter().filter_map(Received::event_name).collect()
}

/// The agent on a unix socket: the version and status lines, then STOP and RESUME
/// (`stop`, `cont`), VNC_CONNECTED and VNC_DISCONNECTED (a VNC client that reads the
/// banner and hangs up), SHUTDOWN (`quit`), each with the timestamp QEMU gave it, and
/// `connection closed` with exit status 0 when QEMU is gone.
#[test]
fn agent_streams_events_until_qemu_quits() {
    let mut qemu = qemu!(|dir| {
        let mut args = agent_monitor(format!("path={}", dir.join("agent.sock").display()));
        args.extend(["-vnc".to_owned(), "127.0.0.1:0,to=99".to_owned()]);
        args
    });
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let expected_header = header(&mut qmp);
    let vnc_port: u16 = {
        let reply = qmp.execute(&QueryVnc).reply;
        let info = reply.returned::<QueryVnc>();
        info.service
            .expect("a VNC port")
            .to_string()
            .parse()
            .unwrap()
    };

    let socket = qemu.dir().join("agent.sock");
    let mut agent = Agent::spawn(
        socket.to_str().expect("a UTF-8 path"),
        qemu.dir().join("agent.stderr"),
    );
    // Once the agent has printed its status it has negotiated: QEMU sends it every
    // event from then on.
    agent.expect_lines(&expected_header);

    let mut events = qmp.execute(&Stop).before;
    events.extend(qmp.execute(&Cont).before);
    let mut vnc = qemu.open(&Endpoint::Tcp((Ipv4Addr::LOCALHOST, vnc_port).into()));
    let client_port = vnc.local_tcp_addr().expect("a TCP client").port();
    let mut banner = [0u8; 12];
    vnc.read_exact_timeout(&mut banner).expect("the RFB banner");
    assert_eq!(&banner, b"RFB 003.008\n");
    vnc.shutdown();
    drop(vnc);
    while events.len() < 4 {
        events.push(qmp.recv());
    }
    // SHUTDOWN comes before quit's reply.
    events.extend(qmp.execute(&Quit).before);
    qemu.wait_exit();

    let [stop, resume, connected, disconnected, shutdown] = &events[..] else {
        panic!("expected 5 events, got {:?}", names(&events))
    };
    assert!(matches!(stop.event().1, Event::Stop), "{stop:?}");
    assert!(matches!(resume.event().1, Event::Resume), "{resume:?}");
    assert!(matches!(connected.event().1, Event::VncConnected(_)));
    assert!(matches!(disconnected.event().1, Event::VncDisconnected(_)));
    assert!(matches!(shutdown.event().1, Event::Shutdown(_)));
    agent.expect_lines(&[
        format!("{} STOP", time(stop)),
        format!("{} RESUME", time(resume)),
        format!(
            "{} VNC_CONNECTED client 127.0.0.1:{client_port} (ipv4)",
            time(connected)
        ),
        format!(
            "{} VNC_DISCONNECTED client 127.0.0.1:{client_port} (ipv4)",
            time(disconnected)
        ),
        format!(
            "{} SHUTDOWN guest=false reason=host-qmp-quit",
            time(shutdown)
        ),
        "connection closed".to_owned(),
    ]);
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", agent.context());
}

/// The agent on TCP (`HOST:PORT`): the same header and a STOP line; then it is killed,
/// as Ctrl-C would.
#[test]
fn agent_over_tcp() {
    let addr = free_tcp_addr();
    let mut qemu = qemu!(|_| agent_monitor(format!("host={},port={}", addr.ip(), addr.port())));
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let expected_header = header(&mut qmp);

    let mut agent = Agent::spawn(&addr.to_string(), qemu.dir().join("agent.stderr"));
    agent.expect_lines(&expected_header);
    let events = qmp.execute(&Stop).before;
    let [stop] = &events[..] else {
        panic!("expected STOP, got {:?}", names(&events))
    };
    agent.expect_lines(&[format!("{} STOP", time(stop))]);
    drop(agent);
}

/// Run the agent with `args` and no QEMU; its exit code, stdout and stderr.
fn run_agent(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(agent_binary())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running the agent");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

/// `--help` prints the usage and succeeds; a bad command line prints it on standard
/// error and exits with 2.
#[test]
fn agent_usage() {
    let (code, stdout, stderr) = run_agent(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("usage: agent MONITOR\n"), "{stdout}");
    assert_eq!(stderr, "");
    for args in [&[][..], &["a", "b"], &["--verbose"]] {
        let (code, stdout, stderr) = run_agent(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(stdout, "", "{args:?}");
        assert!(
            stderr.starts_with("usage: agent MONITOR\n"),
            "{args:?}: {stderr}"
        );
    }
}

/// Errors end with one line on standard error and exit status 1: nothing listens at
/// the path, or the peer's first message is JSON but no QMP greeting.
#[test]
fn agent_errors() {
    let dir = std::env::temp_dir();
    let missing = dir.join(format!("qmp-agent-missing-{}.sock", std::process::id()));
    let missing = missing.to_str().expect("a UTF-8 path");
    let (code, stdout, stderr) = run_agent(&[missing]);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
    let prefix = format!("agent: unix socket {missing}: cannot connect: ");
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A TCP peer that greets with something else.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a listener");
    let addr = listener.local_addr().expect("its address");
    let peer = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the agent connects");
        stream
            .write_all(b"{\"hello\": \"world\"}\r\n")
            .expect("writing");
        // Keep the connection open until the agent has gone.
        let _ = std::io::Read::read(&mut stream, &mut [0; 64]);
    });
    let (code, stdout, stderr) = run_agent(&[&addr.to_string()]);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("agent: tcp {addr}: not a QMP monitor: the peer did not greet with QMP\n")
    );
    peer.join().expect("the fake peer");
}

/// A scripted peer (no QEMU) shows what real QEMU rarely does: an event without a typed
/// form (its data as sent), one whose data does not fit its typed form, a time QEMU
/// could not read, an event too large for the agent's queue, and messages without a
/// place, which the two counts report; then the peer hangs up and the agent exits 0.
#[test]
fn agent_fallbacks_and_counts() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a listener");
    let addr = listener.local_addr().expect("its address");
    // Larger than the connection's default event queue (1 KiB).
    let big = "x".repeat(2000);
    let big_event = big.clone();
    let peer = thread::spawn(move || {
        let big = big_event;
        let (mut stream, _) = listener.accept().expect("the agent connects");
        stream
            .write_all(b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n")
            .expect("greeting");
        let requests = serde_json::Deserializer::from_reader(stream.try_clone().expect("clone"))
            .into_iter::<serde_json::Value>();
        for request in requests.take(3) {
            let request = request.expect("a JSON request");
            let id = &request["id"];
            let value = match request["execute"].as_str() {
                Some("qmp_capabilities") => "{}",
                Some("query-version") => {
                    r#"{"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}"#
                }
                Some("query-status") => {
                    // An event too large for the queue, while a command waits: dropped.
                    let event = format!(
                        "{{\"timestamp\": {{\"seconds\": 0, \"microseconds\": 1}}, \"event\": \"BIG\", \"data\": {{\"blob\": \"{big}\"}}}}\r\n"
                    );
                    stream.write_all(event.as_bytes()).expect("event");
                    r#"{"status": "paused", "running": false}"#
                }
                other => panic!("unexpected command {other:?}"),
            };
            let reply = format!("{{\"return\": {value}, \"id\": {id}}}\r\n");
            stream.write_all(reply.as_bytes()).expect("reply");
        }
        let script = format!(
            "{{\"timestamp\": {{\"seconds\": 1, \"microseconds\": 5}}, \"event\": \"MEMORY_FAILURE\", \"data\": {{\"recipient\": \"guest\", \"action\": \"inject\"}}}}\r\n\
             {{\"timestamp\": {{\"seconds\": -1, \"microseconds\": -1}}, \"event\": \"SHUTDOWN\", \"data\": {{\"guest\": \"yes\"}}}}\r\n\
             {{\"timestamp\": {{\"seconds\": 2, \"microseconds\": 0}}, \"event\": \"BIG\", \"data\": {{\"blob\": \"{big}\"}}}}\r\n\
             oops\r\n\
             {{\"return\": {{}}, \"id\": 99}}\r\n\
             {{\"timestamp\": {{\"seconds\": 3, \"microseconds\": 999999}}, \"event\": \"STOP\"}}\r\n"
        );
        stream.write_all(script.as_bytes()).expect("events");
        // Dropping the stream hangs up.
    });

    let dir = std::env::temp_dir();
    let stderr = dir.join(format!("qmp-agent-fallbacks-{}.stderr", std::process::id()));
    let mut agent = Agent::spawn(&addr.to_string(), stderr.clone());
    agent.expect_lines(&[
        "QEMU 10.0.2".to_owned(),
        "status: paused".to_owned(),
        "events: time (seconds.microseconds since the epoch, from QEMU), name, details".to_owned(),
        r#"1.000005 MEMORY_FAILURE {"recipient": "guest", "action": "inject"}"#.to_owned(),
        "(events dropped so far: 1: too large for the event queue)".to_owned(),
    ]);
    let shutdown = agent.line();
    let prefix = r#"? SHUTDOWN {"guest": "yes"} (not the documented form: "#;
    assert!(
        shutdown.starts_with(prefix) && shutdown.ends_with(')'),
        "{shutdown}"
    );
    // The same event, waited for by `next_event`, comes out whole.
    let whole = agent.line();
    assert_eq!(
        whole,
        format!(r#"2.000000 BIG {{"blob": "{big}"}}"#),
        "{}",
        agent.context()
    );
    agent.expect_lines(&[
        "3.999999 STOP".to_owned(),
        "(messages discarded so far: 2: not JSON, not QMP, or a reply to no command of ours)"
            .to_owned(),
        "connection closed".to_owned(),
    ]);
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", agent.context());
    peer.join().expect("the scripted peer");
    let _ = fs::remove_file(stderr);
}
