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
        Err(Error::ReplyTooLarge { len, .. }) => assert!(len > 200_000, "{len}"),
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

/// How a test transport hands bytes to the framer: as the socket gives them, one byte
/// per read, or reads of random lengths (1 to 97 bytes) from a seed.
#[derive(Clone, Copy, Debug)]
enum Reads {
    Whole,
    Bytes,
    Random(u64),
}

/// A transport that cuts every read to the size `reads` picks.
struct Chunked<T> {
    inner: T,
    reads: Reads,
    rng: u64,
}

impl<T> Chunked<T> {
    fn new(inner: T, reads: Reads) -> Self {
        let rng = match reads {
            Reads::Random(seed) => seed | 1,
            _ => 1,
        };
        Self { inner, reads, rng }
    }

    /// The most the next read may take.
    fn limit(&mut self, room: usize) -> usize {
        let want = match self.reads {
            Reads::Whole => room,
            Reads::Bytes => 1,
            Reads::Random(_) => {
                // xorshift64
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                1 + (self.rng % 97) as usize
            }
        };
        want.min(room)
    }
}

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for Chunked<T> {
    type Error = T::Error;
}

impl<T: embedded_io::Read> embedded_io::Read for Chunked<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.limit(buf.len());
        self.inner.read(&mut buf[..n])
    }
}

impl<T: embedded_io::Write> embedded_io::Write for Chunked<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

impl<T: embedded_io_async::Read> embedded_io_async::Read for Chunked<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.limit(buf.len());
        self.inner.read(&mut buf[..n]).await
    }
}

impl<T: embedded_io_async::Write> embedded_io_async::Write for Chunked<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.inner.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush().await
    }
}

/// How many commands the pipelining tests send.
const PIPELINED: u64 = 10_000;
/// How many of them are in flight at once: QEMU's in-band queue holds 8.
const IN_FLIGHT: usize = 8;

/// What the `n`th pipelined command is, and so what its reply must say. Replies that
/// carry the command's own data (`device_del`'s error names the device) prove that
/// each reply went to its own command, not only that the count is right.
#[derive(Clone, Debug)]
enum Sent {
    Status,
    Version,
    /// `device_del id=dN`: QEMU answers "Device 'dN' not found".
    DeviceDel(u64),
    /// `migrate-pause` out of band: QEMU refuses it (no postcopy migration), possibly
    /// before in-band replies sent earlier.
    PauseOob,
    Stop,
    Cont,
}

impl Sent {
    fn nth(n: u64) -> Self {
        match n {
            n if n % 1000 == 500 => Self::Stop,
            n if n % 1000 == 501 => Self::Cont,
            n if n % 100 == 7 => Self::PauseOob,
            n if n % 3 == 0 => Self::Status,
            n if n % 3 == 1 => Self::Version,
            n => Self::DeviceDel(n),
        }
    }

    /// Check `reply` against what this command must get.
    fn check(&self, reply: &qmp_core::io::Reply<'_>) -> Result<(), String> {
        use qmp_core::io::RawReply;
        use qmp_core::schema::commands::QueryVersion;
        let ok = match (self, reply.reply) {
            (Self::Status, _) => reply.decode::<QueryStatus>().is_ok(),
            (Self::Version, _) => reply
                .decode::<QueryVersion>()
                .is_ok_and(|v| v.qemu.major >= 10),
            (Self::DeviceDel(n), RawReply::Error(e)) => {
                e.desc == format!("Device 'd{n}' not found").as_str()
            }
            (Self::PauseOob, RawReply::Error(e)) => e.class.name() == "GenericError",
            (Self::Stop | Self::Cont, RawReply::Return(_)) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{self:?} got {:?}", reply.reply))
        }
    }
}

/// The pipelining bookkeeping shared by the blocking and the async test: which ticket
/// is which command, and what came back.
#[derive(Default)]
struct Pipeline {
    in_flight: std::collections::HashMap<qmp_core::session::Ticket, Sent>,
    sent: u64,
    answered: u64,
    overtaken: u64,
}

impl Pipeline {
    fn submitted(&mut self, ticket: qmp_core::session::Ticket, sent: Sent) {
        assert!(
            self.in_flight.insert(ticket, sent).is_none(),
            "{ticket} reused"
        );
        self.sent += 1;
    }

    fn answered(&mut self, reply: &qmp_core::io::Reply<'_>) {
        let sent = self
            .in_flight
            .remove(&reply.ticket)
            .unwrap_or_else(|| panic!("{} answered twice or never sent", reply.ticket));
        sent.check(reply)
            .unwrap_or_else(|e| panic!("{}: {e}", reply.ticket));
        // An out-of-band reply that came before an older in-band one.
        if matches!(sent, Sent::PauseOob) && self.in_flight.keys().any(|t| *t < reply.ticket) {
            self.overtaken += 1;
        }
        self.answered += 1;
    }

    fn done(&self) {
        assert_eq!(self.sent, PIPELINED);
        assert_eq!(self.answered, PIPELINED, "every reply came");
        assert!(self.in_flight.is_empty());
    }
}

/// 10 000 commands pipelined through the blocking driver, 8 in flight, reads of the
/// given sizes: every reply comes once and goes to its own command, the STOP/RESUME
/// events are all queued, nothing is discarded.
fn pipeline_blocking(reads: Reads) {
    let mut qemu = qemu!(Monitor::Unix);
    let Endpoint::Unix(path) = qemu.release_monitor() else {
        panic!("a unix monitor")
    };
    let mut qmp: qmp_core::io::Connection<_, _, IN_FLIGHT, 4096> = retry(|| {
        let socket = qmp_core::io::std::unix(&path, Some(TIMEOUT)).map_err(Error::Io)?;
        qmp_core::io::Connection::connect(Chunked::new(socket, reads), vec![0u8; 4096])
    });
    let mut pipe = Pipeline::default();
    let mut events = 0;
    while pipe.answered < PIPELINED {
        while pipe.sent < PIPELINED && qmp.submitted() < IN_FLIGHT {
            let sent = Sent::nth(pipe.sent);
            let ticket = match &sent {
                Sent::Status => qmp.submit(&QueryStatus),
                Sent::Version => qmp.submit(&qmp_core::schema::commands::QueryVersion),
                Sent::DeviceDel(n) => {
                    let args = format!(r#"{{"id":"d{n}"}}"#);
                    let args = qmp_core::json::RawJson::parse(args.as_bytes()).unwrap();
                    qmp.submit_raw("device_del", args)
                }
                Sent::PauseOob => qmp.submit_raw_oob("migrate-pause", ()),
                Sent::Stop => qmp.submit(&Stop),
                Sent::Cont => qmp.submit(&Cont),
            }
            .unwrap_or_else(|e| panic!("{reads:?}: submitting #{}: {e}", pipe.sent));
            pipe.submitted(ticket, sent);
        }
        let reply = qmp
            .next_reply()
            .unwrap_or_else(|e| panic!("{reads:?}: after {} replies: {e}", pipe.answered));
        pipe.answered(&reply);
        while let Some(event) = qmp.try_next_event() {
            assert!(event.name == "STOP" || event.name == "RESUME", "{event:?}");
            events += 1;
        }
    }
    pipe.done();
    assert_eq!(
        events,
        2 * PIPELINED / 1000,
        "a STOP and a RESUME per thousand"
    );
    assert_eq!(qmp.discarded(), 0);
    assert_eq!(qmp.events_dropped(), 0);
    assert_eq!(qmp.client().pending(), 0);
    eprintln!(
        "{reads:?}: {} out-of-band replies overtook in-band ones",
        pipe.overtaken
    );
}

#[test]
fn pipelined_ten_thousand() {
    pipeline_blocking(Reads::Whole);
}

#[test]
fn pipelined_ten_thousand_one_byte_reads() {
    pipeline_blocking(Reads::Bytes);
}

#[test]
fn pipelined_ten_thousand_random_reads() {
    pipeline_blocking(Reads::Random(0x5eed_1e55));
}

/// The same 10 000 through the async driver on tokio (a current-thread runtime,
/// `embedded-io-adapters`' `FromTokio`), with reads whole, of one byte and random.
#[test]
fn pipelined_ten_thousand_async() {
    use embedded_io_adapters::tokio_1::FromTokio;
    use qmp_core::io::AsyncConnection;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    for reads in [Reads::Whole, Reads::Bytes, Reads::Random(0xa5_1c)] {
        let mut qemu = qemu!(Monitor::Unix);
        let Endpoint::Unix(path) = qemu.release_monitor() else {
            panic!("a unix monitor")
        };
        runtime.block_on(async {
            let deadline = Instant::now() + TIMEOUT;
            let mut qmp: AsyncConnection<_, _, IN_FLIGHT, 4096> = loop {
                let socket = tokio::net::UnixStream::connect(&path)
                    .await
                    .expect("connect");
                let transport = Chunked::new(FromTokio::new(socket), reads);
                match AsyncConnection::connect(transport, vec![0u8; 4096]).await {
                    Ok(qmp) => break qmp,
                    // QEMU closes connections until it has seen the harness's go.
                    Err(Error::Closed) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(10)).await
                    }
                    Err(e) => panic!("connecting: {e}"),
                }
            };
            let mut pipe = Pipeline::default();
            while pipe.answered < PIPELINED {
                while pipe.sent < PIPELINED && qmp.submitted() < IN_FLIGHT {
                    let sent = Sent::nth(pipe.sent);
                    let ticket = match &sent {
                        Sent::Status => qmp.submit(&QueryStatus).await,
                        Sent::Version => {
                            qmp.submit(&qmp_core::schema::commands::QueryVersion).await
                        }
                        Sent::DeviceDel(n) => {
                            let args = format!(r#"{{"id":"d{n}"}}"#);
                            let args = qmp_core::json::RawJson::parse(args.as_bytes()).unwrap();
                            qmp.submit_raw("device_del", args).await
                        }
                        Sent::PauseOob => qmp.submit_raw_oob("migrate-pause", ()).await,
                        Sent::Stop => qmp.submit(&Stop).await,
                        Sent::Cont => qmp.submit(&Cont).await,
                    }
                    .unwrap_or_else(|e| panic!("{reads:?}: submitting #{}: {e}", pipe.sent));
                    pipe.submitted(ticket, sent);
                }
                let reply = tokio::time::timeout(TIMEOUT, qmp.next_reply())
                    .await
                    .expect("a reply in time")
                    .unwrap_or_else(|e| panic!("{reads:?}: after {}: {e}", pipe.answered));
                pipe.answered(&reply);
            }
            pipe.done();
            assert_eq!(qmp.events_queued() as u64, 2 * PIPELINED / 1000);
            assert_eq!(qmp.discarded(), 0);
            assert_eq!(qmp.events_dropped(), 0);
        });
    }
}
