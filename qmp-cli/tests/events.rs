//! `qmp events` against a real QEMU: the events of a second monitor's commands, the
//! filter, JSON Lines, the end at QEMU's shutdown, and the SPICE session tracker's view
//! of real SPICE connections.

mod common;

use common::spice::spice_link_main;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use common::qemu::{free_tcp_addr, Endpoint, TIMEOUT};
use common::{qemu_unix, Qemu, QMP};
use qmp_core::schema::commands::{Cont, Quit, Stop};

/// `qmp events ARGS` running, its stdout and stderr as lines.
struct Follower {
    child: Child,
    lines: Receiver<String>,
}

impl Follower {
    /// Start it and wait until it follows (its status line on stderr).
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(QMP)
            .arg("events")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run qmp events");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let _ = tx2.send(line.unwrap());
            }
        });
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut stderr = stderr.lines();
        let first = stderr.next().expect("a status line").unwrap();
        assert!(first.starts_with("following events on "), "{first}");
        std::thread::spawn(move || {
            for line in stderr {
                let _ = tx.send(format!("stderr: {}", line.unwrap()));
            }
        });
        Self { child, lines }
    }

    /// The next line, within the harness's timeout.
    fn line(&self) -> String {
        self.lines
            .recv_timeout(TIMEOUT)
            .expect("a line from qmp events")
    }

    /// Its exit code, within the harness's timeout.
    fn exit_code(mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "qmp events did not exit"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// QEMU with its main monitor free for `qmp events` and a second one for the test's
/// commands (QEMU serves one client per monitor; events go to every monitor).
fn two_monitors(extra: impl Fn(&Path) -> Vec<String>) -> Option<(Qemu, String, Endpoint)> {
    let (qemu, path) = qemu_unix(move |dir| {
        let mut args = vec![
            "-qmp".to_owned(),
            format!("unix:{},server=on,wait=off", dir.join("ctl.sock").display()),
        ];
        args.extend(extra(dir));
        args
    })?;
    let ctl = Endpoint::Unix(qemu.dir().join("ctl.sock"));
    Some((qemu, path.to_str().unwrap().to_owned(), ctl))
}

/// Text without the leading time of day (`HH:MM:SS.uuuuuu  `).
fn untimed(line: &str) -> &str {
    let (time, rest) = line.split_once("  ").expect("a time first");
    assert_eq!(time.len(), 15, "{line}");
    assert_eq!(&time[2..3], ":", "{line}");
    rest
}

#[test]
fn follows_filters_and_ends_with_qemu() {
    let Some((mut qemu, sock, ctl)) = two_monitors(|_| Vec::new()) else {
        return;
    };
    let all = Follower::start(&[&sock]);
    let mut ctl = qemu.connect_to(&ctl, 64 * 1024);
    ctl.negotiate(false);
    ctl.execute(&Stop);
    ctl.execute(&Cont);
    assert_eq!(untimed(&all.line()), "STOP");
    assert_eq!(untimed(&all.line()), "RESUME");
    drop(all);

    let only_stop = Follower::start(&["--filter", "stop", &sock]);
    ctl.execute(&Stop);
    ctl.execute(&Cont);
    ctl.execute(&Stop);
    assert_eq!(untimed(&only_stop.line()), "STOP");
    assert_eq!(untimed(&only_stop.line()), "STOP");
    drop(only_stop);

    let json = Follower::start(&["--json", &sock]);
    ctl.execute(&Cont);
    let line = json.line();
    assert!(line.starts_with("{\"timestamp\":{\"seconds\":"), "{line}");
    assert!(line.ends_with(",\"event\":\"RESUME\"}"), "{line}");
    // quit: SHUTDOWN with its data, then QEMU closes the socket and qmp exits 0.
    ctl.send(&Quit);
    let line = json.line();
    assert!(
        line.ends_with(
            ",\"event\":\"SHUTDOWN\",\"data\":{\"guest\":false,\"reason\":\"host-qmp-quit\"}}"
        ),
        "{line}"
    );
    assert_eq!(json.exit_code(), Some(0));
    qemu.wait_exit();
}

#[test]
fn readable_fields() {
    let Some((mut qemu, sock, ctl)) = two_monitors(|_| Vec::new()) else {
        return;
    };
    let follower = Follower::start(&[&sock]);
    let mut ctl = qemu.connect_to(&ctl, 64 * 1024);
    ctl.negotiate(false);
    ctl.send(&Quit);
    assert_eq!(
        untimed(&follower.line()),
        "SHUTDOWN  guest=false  reason=host-qmp-quit"
    );
    assert_eq!(follower.exit_code(), Some(0));
}

#[test]
fn lost_connection_exits_2() {
    let Some((qemu, path)) = qemu_unix(|_| Vec::new()) else {
        return;
    };
    let follower = Follower::start(&[path.to_str().unwrap()]);
    // Killed without a SHUTDOWN event: the connection is lost.
    drop(qemu);
    let line = follower.line();
    assert!(line.starts_with("stderr: qmp: "), "{line}");
    assert!(line.contains("while waiting for events"), "{line}");
    assert_eq!(follower.exit_code(), Some(2));
}

#[test]
fn spice_sessions() {
    let port = free_tcp_addr().port();
    let Some((mut qemu, sock, ctl)) = two_monitors(move |dir| {
        vec![
            "-spice".to_owned(),
            format!("port={port},addr=127.0.0.1,disable-ticketing=on"),
            "-qmp".to_owned(),
            format!(
                "unix:{},server=on,wait=off",
                dir.join("json.sock").display()
            ),
        ]
    }) else {
        return;
    };
    let server = Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let follower = Follower::start(&["--spice-sessions", &sock]);
    let json_sock = qemu.dir().join("json.sock");
    let json = Follower::start(&["--spice-sessions", "--json", json_sock.to_str().unwrap()]);
    let mut excerpt = Vec::new();

    // A probe: connect and close, no link.
    let probe = qemu.open(&server);
    let probe_addr = probe.local_tcp_addr().unwrap();
    let line = follower.line();
    assert_eq!(
        untimed(&line),
        format!("connection from {probe_addr}: waiting for its link")
    );
    excerpt.push(line);
    probe.shutdown();
    drop(probe);
    let line = follower.line();
    assert_eq!(
        untimed(&line),
        format!("connection from {probe_addr} closed before its link: no session")
    );
    excerpt.push(line);

    // A real main channel: a session begins, and ends when it closes.
    let mut link = qemu.open(&server);
    let local = link.local_tcp_addr().unwrap();
    let session = i64::from(spice_link_main(&mut link) as i32);
    let line = follower.line();
    assert_eq!(
        untimed(&line),
        format!("connection from {local}: waiting for its link")
    );
    excerpt.push(line);
    let line = follower.line();
    assert_eq!(
        untimed(&line),
        format!("session {session} began: main channel from {local} (1 session open)")
    );
    excerpt.push(line);
    link.shutdown();
    drop(link);
    let line = follower.line();
    assert_eq!(
        untimed(&line),
        format!(
            "session {session} ended: main channel from {local} closed, 0 other channels \
             still open (0 sessions open)"
        )
    );
    excerpt.push(line);
    // The same as JSON Lines.
    let json_lines: Vec<String> = (0..5).map(|_| json.line()).collect();
    let outcomes: Vec<&str> = json_lines
        .iter()
        .map(|l| {
            let at = l.find("\"outcome\":\"").expect("an outcome") + 11;
            &l[at..at + l[at..].find('"').unwrap()]
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "connected",
            "no-session",
            "connected",
            "session-began",
            "session-ended"
        ],
        "{json_lines:#?}"
    );
    assert!(
        json_lines[3].contains(&format!(
            "\"client\":\"{local}\",\"connection-id\":{session},\"tls\":false,\"sessions\":1}}"
        )),
        "{}",
        json_lines[3]
    );
    // Other events are not shown in this mode; SHUTDOWN ends it.
    let mut ctl = qemu.connect_to(&ctl, 64 * 1024);
    ctl.negotiate(false);
    ctl.execute(&Stop);
    ctl.send(&Quit);
    assert_eq!(follower.exit_code(), Some(0));
    assert_eq!(json.exit_code(), Some(0));
    eprintln!("qmp events --spice-sessions:\n{}", excerpt.join("\n"));
}
