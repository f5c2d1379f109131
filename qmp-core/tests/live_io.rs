//! The blocking driver (`qmp_core::io`) against a live QEMU 10, over the std sockets:
//! each test starts its own `qemu-system-x86_64 -machine none` with a QMP monitor on a
//! unix socket or on TCP (`tests/common/qemu.rs`) and talks to it only through
//! `io::std::connect_unix` / `connect_tcp` and a `Connection`.
//!
//! Run them with `cargo test -p qmp-core --test live_io`. Without `qemu-system-x86_64`
//! on `PATH` each test prints `skipped: qemu-system-x86_64 not found` and passes, unless
//! `CI=true`, where it fails.

// `io::Error` carries the peer's error text inline (no heap to box it in).
#![allow(clippy::result_large_err)]

mod common;

use std::time::{Duration, Instant};

use common::qemu::{Endpoint, Monitor, Qemu, BIG, TIMEOUT};
use qmp_core::io::std::{connect_tcp, connect_unix, TcpConnection, UnixConnection};
use qmp_core::io::Error;
use qmp_core::schema::commands::{Cont, QueryQmpSchema, QueryStatus, RunState, Stop};

/// Start QEMU with a QMP monitor, or skip the test (return) when QEMU is missing.
macro_rules! qemu {
    ($monitor:expr) => {
        match Qemu::start($monitor) {
            Some(qemu) => qemu,
            None => return,
        }
    };
}

/// Connect with `connect`, again while QEMU closes the connection at once: it serves one
/// client at a time, and until it has seen the harness's first connection go, it
/// accepts and closes any other.
fn retry<C>(mut connect: impl FnMut() -> Result<C, Error<std::io::Error>>) -> C {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match connect() {
            Ok(qmp) => return qmp,
            Err(Error::Closed) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("connecting: {e}"),
        }
    }
}

fn unix(qemu: &mut Qemu, buf: Vec<u8>) -> UnixConnection<Vec<u8>> {
    let Endpoint::Unix(path) = qemu.release_monitor() else {
        panic!("a unix monitor")
    };
    retry(|| connect_unix(&path, buf.clone(), Some(TIMEOUT)))
}

fn tcp(qemu: &mut Qemu, buf: Vec<u8>) -> TcpConnection<Vec<u8>> {
    let Endpoint::Tcp(addr) = qemu.release_monitor() else {
        panic!("a TCP monitor")
    };
    retry(|| connect_tcp(addr, buf.clone(), Some(TIMEOUT)))
}

/// Over a unix socket: negotiated with `oob` (QEMU 10 offers it), `query-status`
/// typed, and `stop`/`cont` whose STOP and RESUME events come before their replies and
/// wait in the queue.
#[test]
fn unix_execute_and_events() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = unix(&mut qemu, vec![0; 4096]);
    assert!(qmp.oob_enabled());
    let status = qmp.execute(&QueryStatus).expect("query-status");
    assert!(status.running);
    assert_eq!(status.status, RunState::Running);

    qmp.execute(&Stop).expect("stop");
    assert_eq!(qmp.events_queued(), 1, "STOP comes before stop's reply");
    assert_eq!(
        qmp.execute(&QueryStatus).expect("query-status").status,
        RunState::Paused
    );
    qmp.execute(&Cont).expect("cont");
    assert_eq!(qmp.events_queued(), 2, "RESUME comes before cont's reply");

    let stop = qmp.next_event().expect("STOP");
    assert!(stop.name == "STOP", "{stop:?}");
    assert!(stop.timestamp.seconds > 0);
    let resume = qmp.next_event().expect("RESUME");
    assert!(resume.name == "RESUME", "{resume:?}");
    assert_eq!((qmp.events_dropped(), qmp.discarded()), (0, 0));
}

/// Over TCP: the same, and a peer error reply as a typed error.
#[test]
fn tcp_execute_and_peer_errors() {
    let mut qemu = qemu!(Monitor::Tcp);
    let mut qmp = tcp(&mut qemu, vec![0; 4096]);
    assert!(qmp.execute(&QueryStatus).expect("query-status").running);
    match qmp.execute_raw("no-such-command", ()) {
        Ok(qmp_core::io::RawReply::Error(e)) => {
            assert_eq!(e.class.name(), "CommandNotFound");
        }
        other => panic!("{other:?}"),
    }
    qmp.execute(&Stop).expect("stop");
    // A refusal comes back as the error reply, and the session goes on.
    let args = qmp_core::json::RawJson::parse(br#"{"id": "nope"}"#).unwrap();
    match qmp.execute_raw("device_del", args) {
        Ok(qmp_core::io::RawReply::Error(e)) => assert!(e.desc == "Device 'nope' not found"),
        other => panic!("{other:?}"),
    }
    assert!(qmp.next_event().expect("STOP").name == "STOP");
}

/// `query-qmp-schema` (about 236 KB) through a 4 KiB buffer is a typed "reply too
/// large", and the next command still works; a 256 KiB buffer decodes it.
#[test]
fn schema_too_large_then_whole() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = unix(&mut qemu, vec![0; 4096]);
    match qmp.execute(&QueryQmpSchema) {
        Err(Error::ReplyTooLarge { len }) => assert!(len > 200_000, "{len}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a 236 KB reply in 4 KiB"),
    }
    assert!(
        qmp.execute(&QueryStatus)
            .expect("query-status after")
            .running
    );
    drop(qmp);

    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = unix(&mut qemu, vec![0; BIG]);
    let schema = qmp.execute(&QueryQmpSchema).expect("the schema");
    let entries = schema.iter().filter(|e| e.is_ok()).count();
    assert_eq!(entries, schema.len());
    assert!(entries > 1000, "{entries} entries");
}

/// A thousand `query-status` in a row, each answered.
#[test]
fn thousand_commands() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = unix(&mut qemu, vec![0; 1024]);
    for i in 0..1000 {
        let status = qmp
            .execute(&QueryStatus)
            .unwrap_or_else(|e| panic!("#{i}: {e}"));
        assert!(status.running);
    }
    assert_eq!(qmp.client().pending(), 0);
    assert_eq!(qmp.discarded(), 0);
}

/// Waiting for an event that does not come ends with a typed timeout; the connection
/// still works afterwards.
#[test]
fn read_timeout_is_typed() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = unix(&mut qemu, vec![0; 4096]);
    let short = Some(Duration::from_millis(200));
    qmp.transport_mut()
        .0
        .set_read_timeout(short)
        .expect("a read timeout");
    match qmp.next_event() {
        Err(Error::Timeout) => {}
        other => panic!("{other:?}"),
    }
    assert!(qmp.execute(&QueryStatus).expect("query-status").running);
}
