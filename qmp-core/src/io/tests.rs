//! Connection tests over a scripted in-memory transport, each read in every chunking:
//! whole, one byte at a time, and random lengths from a seed.

extern crate std;

use std::string::String;
use std::vec::Vec;

use core::fmt;

use embedded_io::{ErrorKind, Read, Write};

use super::*;
use crate::encode::EmptyObject;
use crate::schema::commands::ReplyError;
use crate::schema::commands::{Cont, QueryStatus, RunState, Stop};
use crate::session::{ClientMisuse, ClientState, Ticket};

const GREETING_OOB: &str = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";
const GREETING_PLAIN: &str = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 11, \"major\": 2}, \"package\": \"\"}, \"capabilities\": []}}\r\n";
const NEGOTIATED: &str = "{\"return\": {}, \"id\": 0}\r\n";

fn event(name: &str) -> String {
    std::format!(
        "{{\"timestamp\": {{\"seconds\": 1755977653, \"microseconds\": 248749}}, \"event\": \"{name}\"}}\r\n"
    )
}

/// How a scripted transport hands out its input.
#[derive(Clone, Copy, Debug)]
enum Chunks {
    Whole,
    Bytes,
    Random(u64),
}

const CHUNKINGS: [Chunks; 5] = [
    Chunks::Whole,
    Chunks::Bytes,
    Chunks::Random(1),
    Chunks::Random(0x5eed),
    Chunks::Random(0xdead_beef),
];

/// A transport error of its own, with a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Broken(ErrorKind);

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broken: {:?}", self.0)
    }
}

impl core::error::Error for Broken {}

impl embedded_io::Error for Broken {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

/// Reads `input` in `chunks`, then ends (or fails with `fail`); records writes.
struct Scripted {
    input: Vec<u8>,
    at: usize,
    chunks: Chunks,
    rng: u64,
    fail: Option<Broken>,
    fail_writes: bool,
    output: Vec<u8>,
    writes: usize,
}

impl Scripted {
    fn new(input: &str, chunks: Chunks) -> Self {
        Self {
            input: input.as_bytes().to_vec(),
            at: 0,
            chunks,
            rng: match chunks {
                Chunks::Random(seed) => seed | 1,
                _ => 1,
            },
            fail: None,
            fail_writes: false,
            output: Vec::new(),
            writes: 0,
        }
    }

    fn output(&self) -> &str {
        core::str::from_utf8(&self.output).unwrap()
    }
}

impl embedded_io::ErrorType for Scripted {
    type Error = Broken;
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        let left = self.input.len() - self.at;
        if left == 0 {
            return self.fail.map_or(Ok(0), Err);
        }
        let want = match self.chunks {
            Chunks::Whole => left,
            Chunks::Bytes => 1,
            Chunks::Random(_) => {
                // xorshift64
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                1 + (self.rng % 97) as usize
            }
        };
        let n = want.min(left).min(buf.len());
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        if self.fail_writes {
            return Err(Broken(ErrorKind::BrokenPipe));
        }
        self.writes += 1;
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

type Conn<const N: usize = 8, const E: usize = 1024> = Connection<Scripted, [u8; 512], N, E>;

fn connect<const E: usize>(input: &str, chunks: Chunks) -> Conn<8, E> {
    Connection::connect(Scripted::new(input, chunks), [0; 512])
        .unwrap_or_else(|e| panic!("{chunks:?}: {e}"))
}

#[test]
fn connect_negotiates_oob_when_offered() {
    for chunks in CHUNKINGS {
        let conn: Conn = connect(&[GREETING_OOB, NEGOTIATED].concat(), chunks);
        assert!(conn.oob_enabled());
        assert_eq!(conn.state(), ClientState::Ready { oob: true });
        assert_eq!(
            conn.transport().output(),
            r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":0}"#
        );
        // One write for the whole command: the staging buffer gathers the pieces.
        assert_eq!(conn.transport().writes, 1);
    }
}

#[test]
fn connect_without_oob() {
    for chunks in CHUNKINGS {
        let conn: Conn = connect(&[GREETING_PLAIN, NEGOTIATED].concat(), chunks);
        assert!(!conn.oob_enabled());
        assert_eq!(
            conn.transport().output(),
            r#"{"execute":"qmp_capabilities","id":0}"#
        );
    }
}

#[test]
fn connect_refused_is_a_peer_error() {
    let input = [
        GREETING_OOB,
        "{\"id\": 0, \"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}}\r\n",
    ]
    .concat();
    for chunks in CHUNKINGS {
        let err = <Conn>::connect(Scripted::new(&input, chunks), [0; 512]).unwrap_err();
        let Error::Failed(peer) = err else {
            panic!("{err:?}")
        };
        assert_eq!((peer.class(), peer.desc()), ("GenericError", "nope"));
    }
}

/// QEMU 10 may send an event before its greeting (a `RESUME` to a client that
/// connected as the VM started; real bytes): connecting still works, and the event is
/// queued.
#[test]
fn connect_keeps_an_event_sent_before_the_greeting() {
    let capture = include_str!("../../../testdata/captures/event_before_greeting.rx.bin");
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(capture, chunks);
        assert_eq!(conn.qemu_version(), Some([10, 0, 2]));
        assert_eq!(conn.events_queued(), 1);
        let status = conn.execute(&QueryStatus).unwrap();
        assert_eq!(status.status, RunState::Running);
        let resume = conn.try_next_event().unwrap();
        assert!(resume.name == "RESUME");
        assert_eq!(resume.timestamp.seconds, 1_796_083_068);
        assert_eq!(conn.next_event().unwrap_err(), Error::Closed);
        assert_eq!((conn.events_dropped(), conn.discarded()), (0, 0));
    }
}

#[test]
fn connect_without_greeting() {
    for chunks in CHUNKINGS {
        let err = <Conn>::connect(Scripted::new(NEGOTIATED, chunks), [0; 512]).unwrap_err();
        assert_eq!(err, Error::NoGreeting);
        let err = <Conn>::connect(Scripted::new("", chunks), [0; 512]).unwrap_err();
        assert_eq!(err, Error::Closed);
    }
}

#[test]
fn execute_typed_with_events_before_the_reply() {
    let input = [
        GREETING_OOB,
        NEGOTIATED,
        &event("STOP"),
        "{\"return\": {}, \"id\": 1}\r\n",
        &event("RESUME"),
        "{\"return\": {}, \"id\": 2}\r\n",
        "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 3}\r\n",
    ]
    .concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        conn.execute(&Stop).unwrap();
        assert_eq!(conn.events_queued(), 1);
        conn.execute(&Cont).unwrap();
        let status = conn.execute(&QueryStatus).unwrap();
        assert_eq!(status.status, RunState::Running);
        assert!(status.running);
        assert_eq!(conn.events_queued(), 2);
        let stop = conn.next_event().unwrap();
        assert!(stop.name == "STOP");
        assert_eq!(stop.timestamp.seconds, 1_755_977_653);
        assert!(conn.next_event().unwrap().name == "RESUME");
        assert_eq!(conn.next_event().unwrap_err(), Error::Closed);
        assert_eq!((conn.events_dropped(), conn.discarded()), (0, 0));
        assert!(conn.transport().output().ends_with(
            r#"{"execute":"stop","id":1}{"execute":"cont","id":2}{"execute":"query-status","id":3}"#
        ));
    }
}

#[test]
fn next_event_reads_when_the_queue_is_empty() {
    let input = [
        GREETING_OOB,
        NEGOTIATED,
        &event("SHUTDOWN"),
        &event("RESET"),
    ]
    .concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        assert!(conn.try_next_event().is_none());
        assert!(conn.next_event().unwrap().name == "SHUTDOWN");
        assert!(conn.next_event().unwrap().name == "RESET");
        assert_eq!(conn.next_event().unwrap_err(), Error::Closed);
    }
}

#[test]
fn event_queue_overflow_is_counted() {
    // Five events arrive before the reply; a 300-byte queue keeps the first three.
    let one = event("STOP");
    let mut input = String::from(GREETING_OOB);
    input.push_str(NEGOTIATED);
    for _ in 0..5 {
        input.push_str(&one);
    }
    input.push_str("{\"return\": {}, \"id\": 1}\r\n");
    let fits = 300 / (one.trim_end().len() + 4);
    assert_eq!(fits, 3);
    for chunks in CHUNKINGS {
        let mut conn: Conn<8, 300> = connect(&input, chunks);
        conn.execute(&Stop).unwrap();
        assert_eq!(conn.events_queued(), fits);
        assert_eq!(conn.events_dropped(), (5 - fits) as u64);
        for _ in 0..fits {
            assert!(conn.next_event().unwrap().name == "STOP");
        }
        assert_eq!(conn.next_event().unwrap_err(), Error::Closed);
    }
}

#[test]
fn event_queue_reuses_its_room() {
    // A queue with room for one event at a time takes many, one after the other.
    let one = event("STOP");
    let mut input = String::from(GREETING_OOB);
    input.push_str(NEGOTIATED);
    for _ in 0..50 {
        input.push_str(&one);
    }
    for chunks in CHUNKINGS {
        let mut conn: Conn<8, 100> = connect(&input, chunks);
        for _ in 0..50 {
            assert!(conn.next_event().unwrap().name == "STOP");
        }
        assert_eq!(conn.events_dropped(), 0);
    }
}

#[test]
fn peer_error_reply_is_typed() {
    let input = [
        GREETING_OOB,
        NEGOTIATED,
        "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}\r\n",
        "{\"return\": {}, \"id\": 2}\r\n",
    ]
    .concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        let err = conn.execute(&Stop).unwrap_err();
        let Error::Failed(peer) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(peer.class(), "CommandNotFound");
        assert_eq!(peer.desc(), "The command nope has not been found");
        assert!(!peer.is_truncated());
        assert_eq!(
            std::format!("{err}"),
            "the command failed: CommandNotFound: The command nope has not been found"
        );
        // The session goes on.
        conn.execute(&Cont).unwrap();
    }
}

#[test]
fn long_peer_error_is_cut_and_says_so() {
    let desc = "x".repeat(PEER_DESC_CAPACITY + 10);
    let input = [
        GREETING_OOB,
        NEGOTIATED,
        &std::format!(
            "{{\"id\": 1, \"error\": {{\"class\": \"GenericError\", \"desc\": \"{desc}\"}}}}\r\n"
        ),
    ]
    .concat();
    let mut conn: Conn = connect(&input, Chunks::Whole);
    let Error::Failed(peer) = conn.execute(&Stop).unwrap_err() else {
        panic!()
    };
    assert!(peer.is_truncated());
    assert_eq!(peer.desc().len(), PEER_DESC_CAPACITY);
}

#[test]
fn execute_raw_gives_both_reply_kinds() {
    let input = [
        GREETING_OOB,
        NEGOTIATED,
        "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 1}\r\n",
        "{\"id\": 2, \"error\": {\"class\": \"GenericError\", \"desc\": \"bad\"}}\r\n",
    ]
    .concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        match conn.execute_raw("query-status", ()).unwrap() {
            RawReply::Return(ret) => {
                assert_eq!(
                    ret.value.get("running").and_then(|v| v.as_bool()),
                    Some(false)
                )
            }
            other => panic!("{other:?}"),
        }
        match conn.execute_raw("device_del", EmptyObject).unwrap() {
            RawReply::Error(e) => assert!(e.desc == "bad"),
            other => panic!("{other:?}"),
        }
        assert!(conn.transport().output().ends_with(
            r#"{"execute":"query-status","id":1}{"execute":"device_del","arguments":{},"id":2}"#
        ));
    }
}

#[test]
fn reply_too_large_then_the_next_command_works() {
    let big = std::format!(
        "{{\"return\": {{\"blob\": \"{}\"}}, \"id\": 1}}\r\n",
        "y".repeat(2000)
    );
    let input = [
        GREETING_OOB,
        NEGOTIATED,
        &big,
        "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 2}\r\n",
    ]
    .concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        let err = conn.execute_raw("query-qmp-schema", ()).unwrap_err();
        let want = big.trim_end().len() as u64;
        assert!(
            matches!(err, Error::ReplyTooLarge { ticket, len } if ticket.id() == 1 && len == want),
            "{err:?}"
        );
        assert!(conn.execute(&QueryStatus).unwrap().running);
    }
}

#[test]
fn stray_messages_are_counted_not_fatal() {
    let input = [
        GREETING_OOB,
        NEGOTIATED,
        "{\"return\": {}, \"id\": 99}\r\n",
        "not json\n",
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n",
        "[1, 2]\r\n",
        "{\"return\": {}, \"id\": 1}\r\n",
    ]
    .concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        conn.execute(&Stop).unwrap();
        assert_eq!(conn.discarded(), 4, "{chunks:?}");
    }
}

#[test]
fn end_of_stream_while_waiting_is_closed() {
    let input = [GREETING_OOB, NEGOTIATED, "{\"return\": {"].concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        assert_eq!(conn.execute(&Stop).unwrap_err(), Error::Closed);
        assert_eq!(conn.state(), ClientState::Closed);
        // Later calls say why they cannot run.
        assert!(matches!(
            conn.execute(&Stop),
            Err(Error::Misuse(ClientMisuse::NotReady(ClientState::Closed)))
        ));
    }
}

#[test]
fn read_errors_are_wrapped_and_keep_their_source() {
    let input = [GREETING_OOB, NEGOTIATED].concat();
    let mut transport = Scripted::new(&input, Chunks::Whole);
    transport.fail = Some(Broken(ErrorKind::ConnectionReset));
    let mut conn: Conn = Connection::connect(transport, [0; 512]).unwrap();
    let err = conn.execute(&Stop).unwrap_err();
    assert_eq!(err, Error::Io(Broken(ErrorKind::ConnectionReset)));
    let source = core::error::Error::source(&err).unwrap();
    assert_eq!(std::format!("{source}"), "broken: ConnectionReset");
}

#[test]
fn timed_out_reads_are_timeouts_and_the_late_reply_is_discarded() {
    let input = [GREETING_OOB, NEGOTIATED].concat();
    let mut transport = Scripted::new(&input, Chunks::Whole);
    transport.fail = Some(Broken(ErrorKind::TimedOut));
    let mut conn: Conn = Connection::connect(transport, [0; 512]).unwrap();
    assert_eq!(conn.execute(&Stop).unwrap_err(), Error::Timeout);
    assert_eq!(conn.client().pending(), 1);
    // The late reply to command 1 arrives before the reply to command 2.
    let t = conn.transport_mut();
    t.input
        .extend_from_slice(b"{\"return\": {}, \"id\": 1}{\"return\": {}, \"id\": 2}");
    t.fail = None;
    conn.execute(&Cont).unwrap();
    assert_eq!(conn.discarded(), 1);
    assert_eq!(conn.client().pending(), 0);
}

#[test]
fn write_errors_are_wrapped() {
    let input = [GREETING_OOB, NEGOTIATED].concat();
    let mut conn: Conn = connect(&input, Chunks::Whole);
    conn.transport_mut().fail_writes = true;
    assert_eq!(
        conn.execute(&Stop).unwrap_err(),
        Error::Io(Broken(ErrorKind::BrokenPipe))
    );
    // The stream is in no known state: the session ends, nothing stays pending.
    assert_eq!(conn.client().pending(), 0);
    assert_eq!(conn.state(), ClientState::Closed);
}

#[test]
fn long_commands_are_written_whole() {
    let input = [GREETING_OOB, NEGOTIATED, "{\"return\": {}, \"id\": 1}"].concat();
    let mut conn: Conn = connect(&input, Chunks::Whole);
    let long = "z".repeat(1000);
    let text = std::format!("{{\"v\":\"{long}\"}}");
    let raw = crate::json::RawJson::parse(text.as_bytes()).unwrap();
    conn.execute_raw("echo", raw).unwrap();
    assert!(conn.transport().output().ends_with(&std::format!(
        r#"{{"execute":"echo","arguments":{text},"id":1}}"#
    )));
}

/// Pieces a hostile peer's stream is made of: good messages, near misses and noise.
const PIECES: [&str; 12] = [
    "{\"return\": {}, \"id\": 1}\r\n",
    "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 2}\r\n",
    "{\"id\": 3, \"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n",
    "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n",
    "{\"return\": {}, \"id\": \"x\"}\r\n",
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n",
    "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n",
    "{\"return\": {\"big\": \"01234567890123456789012345678901234567890123456789012345678901230123456789012345678901234567890123456789012345678901234567890123\"}, \"id\": 4}",
    "[1, 2, {\"a\": }]\n",
    "\u{7f}\u{ff}garbage",
    "{\"return\": ",
    "\r\n",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Whatever the peer sends after negotiating, every call returns (no panic, no
    /// endless loop): each ends in a result or in `Closed` at the end of the script.
    #[test]
    fn hostile_peer_never_panics(
        picks in proptest::collection::vec(0..PIECES.len(), 0..24),
        seed in 1u64..,
    ) {
        let mut input = std::format!("{GREETING_OOB}{NEGOTIATED}");
        for &i in &picks {
            input.push_str(PIECES[i]);
        }
        let mut conn: Connection<Scripted, [u8; 128], 2, 128> =
            Connection::connect(Scripted::new(&input, Chunks::Random(seed)), [0; 128]).unwrap();
        for round in 0..64 {
            let done = match round % 3 {
                0 => matches!(conn.execute(&QueryStatus), Err(Error::Closed | Error::Misuse(_))),
                1 => matches!(conn.next_event(), Err(Error::Closed | Error::Misuse(_))),
                _ => matches!(conn.execute_raw("stop", ()), Err(Error::Closed | Error::Misuse(_))),
            };
            if done {
                break;
            }
        }
    }
}

/// Reads as [`Scripted`] does, for the async connection (never pending).
impl embedded_io_async::Read for Scripted {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        Read::read(self, buf)
    }
}

impl embedded_io_async::Write for Scripted {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Broken> {
        Write::flush(self)
    }
}

/// Run a future that is never pending (the scripted transport's never are).
fn ready<F: core::future::Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(output) => output,
        core::task::Poll::Pending => panic!("the scripted transport is never pending"),
    }
}

type AsyncConn<const N: usize = 8> = AsyncConnection<Scripted, [u8; 512], N>;

fn reply(id: u64) -> String {
    std::format!("{{\"return\": {{}}, \"id\": {id}}}\r\n")
}

/// Three commands in flight; the out-of-band one is answered first, an event comes
/// between the replies, and each reply names its own ticket.
const PIPELINED: &str = "{\"return\": {}, \"id\": 3}\r\n\
     {\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n\
     {\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 1}\r\n\
     {\"id\": 2, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}\r\n";

const PIPELINED_OUTPUT: &str = r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":0}{"execute":"query-status","id":1}{"execute":"nope","id":2}{"exec-oob":"migrate-pause","id":3}"#;

#[test]
fn pipelined_replies_come_with_their_tickets_in_any_order() {
    use crate::schema::commands::MigratePause;
    let input = [GREETING_OOB, NEGOTIATED, PIPELINED].concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        let status = conn.submit(&QueryStatus).unwrap();
        let nope = conn.submit_raw("nope", ()).unwrap();
        let pause = conn.submit_oob(&MigratePause).unwrap();
        assert_eq!(conn.submitted(), 3);
        assert_eq!(conn.transport().output(), PIPELINED_OUTPUT);

        let first = conn.next_reply().unwrap();
        assert_eq!(first.ticket, pause);
        assert!(matches!(first.reply, RawReply::Return(_)));
        let second = conn.next_reply().unwrap();
        assert_eq!(second.ticket, status);
        assert_eq!(
            second.decode::<QueryStatus>().unwrap().status,
            RunState::Paused
        );
        let third = conn.next_reply().unwrap();
        assert_eq!(third.ticket, nope);
        match third.decode::<Stop>() {
            Err(ReplyError::Error(e)) => assert_eq!(e.class.name(), "CommandNotFound"),
            other => panic!("{other:?}"),
        }
        assert_eq!(conn.submitted(), 0);
        assert_eq!(conn.next_reply().unwrap_err(), Error::NothingSubmitted);
        assert_eq!(conn.next_event().unwrap().name, "STOP");
        assert_eq!(conn.discarded(), 0);
    }
}

#[test]
fn async_pipelining_is_the_same() {
    use crate::schema::commands::MigratePause;
    let input = [GREETING_OOB, NEGOTIATED, PIPELINED].concat();
    for chunks in CHUNKINGS {
        let mut conn: AsyncConn = ready(AsyncConnection::connect(
            Scripted::new(&input, chunks),
            [0; 512],
        ))
        .unwrap();
        let status = ready(conn.submit(&QueryStatus)).unwrap();
        let nope = ready(conn.submit_raw("nope", ())).unwrap();
        let pause = ready(conn.submit_oob(&MigratePause)).unwrap();
        assert_eq!(conn.transport().output(), PIPELINED_OUTPUT);
        let order: Vec<Ticket> = (0..3)
            .map(|_| ready(conn.next_reply()).unwrap().ticket)
            .collect();
        assert_eq!(order, [pause, status, nope]);
        assert_eq!(ready(conn.next_event()).unwrap().name, "STOP");
        assert_eq!(
            ready(conn.next_reply()).unwrap_err(),
            Error::NothingSubmitted
        );
        assert!(matches!(ready(conn.next_event()), Err(Error::Closed)));
    }
}

#[test]
fn submitting_past_n_is_busy_and_writes_nothing() {
    let input = [GREETING_OOB, NEGOTIATED, &reply(1), &reply(2), &reply(3)].concat();
    let mut conn: Conn<2> =
        Connection::connect(Scripted::new(&input, Chunks::Whole), [0; 512]).unwrap();
    conn.submit(&Stop).unwrap();
    conn.submit(&Cont).unwrap();
    let writes = conn.transport().writes;
    assert_eq!(conn.submit(&Stop).unwrap_err(), Error::Busy);
    assert_eq!(conn.transport().writes, writes);
    assert_eq!(conn.next_reply().unwrap().ticket.id(), 1);
    // A slot is free again.
    let third = conn.submit(&Stop).unwrap();
    assert_eq!(third.id(), 3);
}

#[test]
fn waiting_calls_refuse_to_pass_over_submitted_replies() {
    let input = [GREETING_OOB, NEGOTIATED, &reply(1), &reply(2)].concat();
    let mut conn: Conn = connect(&input, Chunks::Bytes);
    conn.submit(&Stop).unwrap();
    let writes = conn.transport().writes;
    assert_eq!(
        conn.execute(&Cont).unwrap_err(),
        Error::Uncollected { count: 1 }
    );
    assert_eq!(
        conn.execute_raw("cont", ()).unwrap_err(),
        Error::Uncollected { count: 1 }
    );
    assert_eq!(conn.resync().unwrap_err(), Error::Uncollected { count: 1 });
    assert_eq!(conn.transport().writes, writes, "nothing was sent");
    assert_eq!(conn.next_reply().unwrap().ticket.id(), 1);
    conn.execute(&Cont).unwrap();
}

#[test]
fn a_reply_too_large_is_collected_with_its_ticket() {
    let big = std::format!(
        "{{\"return\": {{\"blob\": \"{}\"}}, \"id\": 1}}\r\n",
        "y".repeat(2000)
    );
    let input = [GREETING_OOB, NEGOTIATED, &big, &reply(2)].concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        let schema = conn.submit_raw("query-qmp-schema", ()).unwrap();
        let stop = conn.submit(&Stop).unwrap();
        let err = conn.next_reply().unwrap_err();
        assert!(
            matches!(err, Error::ReplyTooLarge { ticket, .. } if ticket == schema),
            "{err:?}"
        );
        assert_eq!(conn.submitted(), 1);
        assert_eq!(conn.next_reply().unwrap().ticket, stop);
    }
}

#[test]
fn abandoned_replies_are_discarded_when_they_come() {
    let input = [GREETING_OOB, NEGOTIATED, &reply(1), &reply(2), &reply(3)].concat();
    let mut conn: Conn = connect(&input, Chunks::Random(7));
    conn.submit(&Stop).unwrap();
    conn.submit(&Cont).unwrap();
    assert_eq!(conn.abandon_submitted(), 2);
    assert_eq!(conn.client().pending(), 2, "still due from the peer");
    conn.execute(&Stop).unwrap();
    assert_eq!(conn.discarded(), 2);
    assert_eq!(conn.client().pending(), 0);
}

#[test]
fn resync_writes_the_byte_and_absorbs_its_answer() {
    let idless = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u00ff'\"}}\r\n";
    let input = [GREETING_OOB, NEGOTIATED, idless, &reply(1)].concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn = connect(&input, chunks);
        conn.resync().unwrap();
        assert!(conn.transport().output.ends_with(&[0xFF]));
        conn.execute(&Stop).unwrap();
        assert_eq!(conn.discarded(), 0);

        let mut conn: AsyncConn = ready(AsyncConnection::connect(
            Scripted::new(&input, chunks),
            [0; 512],
        ))
        .unwrap();
        ready(conn.resync()).unwrap();
        ready(conn.execute(&Stop)).unwrap();
        assert_eq!(conn.discarded(), 0);
    }
}

#[test]
fn execute_oob_needs_a_command_that_allows_it() {
    use crate::schema::commands::MigratePause;
    let input = [GREETING_OOB, NEGOTIATED, &reply(1)].concat();
    let mut conn: Conn = connect(&input, Chunks::Whole);
    assert!(matches!(
        conn.execute_oob(&Stop),
        Err(Error::Misuse(ClientMisuse::OobNotAllowed))
    ));
    conn.execute_oob(&MigratePause).unwrap();
    assert!(conn
        .transport()
        .output()
        .ends_with(r#"{"exec-oob":"migrate-pause","id":1}"#));
}

/// Arguments that fail to encode after part of the command went out: the peer's
/// parser is reset (its answer absorbed) and the session goes on.
#[test]
fn arguments_failing_half_way_are_taken_back_with_a_resync() {
    #[derive(serde::Serialize)]
    struct Args<'a> {
        long: &'a str,
        bad: f64,
    }
    let long = "q".repeat(300);
    let idless = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u00ff'\"}}\r\n";
    let input = [GREETING_OOB, NEGOTIATED, idless, &reply(2)].concat();
    let mut conn: Conn = connect(&input, Chunks::Random(3));
    let args = crate::encode::Ser(Args {
        long: &long,
        bad: f64::NAN,
    });
    assert_eq!(
        conn.execute_raw("x", args).unwrap_err(),
        Error::Arguments(crate::encode::EncodeError::NonFiniteFloat)
    );
    assert!(conn.transport().output.ends_with(&[0xFF]));
    assert_eq!(conn.client().pending(), 0);
    conn.execute(&Stop).unwrap();
    assert_eq!(conn.discarded(), 0);
}

#[test]
fn async_long_commands_go_out_in_windows_and_whole() {
    let input = [GREETING_OOB, NEGOTIATED, &reply(1)].concat();
    let long = "w".repeat(1000);
    let text = std::format!("{{\"v\":\"{long}\"}}");
    let raw = crate::json::RawJson::parse(text.as_bytes()).unwrap();
    let mut conn: AsyncConn = ready(AsyncConnection::connect(
        Scripted::new(&input, Chunks::Whole),
        [0; 512],
    ))
    .unwrap();
    ready(conn.execute_raw("echo", raw)).unwrap();
    assert!(conn.transport().output().ends_with(&std::format!(
        r#"{{"execute":"echo","arguments":{text},"id":1}}"#
    )));
    assert!(conn.transport().writes >= 5, "windows of 256 bytes");
}

/// A transport whose writes are pending once before they go through.
struct Stalling {
    inner: Scripted,
    stalled: bool,
}

impl embedded_io::ErrorType for Stalling {
    type Error = Broken;
}

impl embedded_io_async::Read for Stalling {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        Read::read(&mut self.inner, buf)
    }
}

impl embedded_io_async::Write for Stalling {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        if !core::mem::replace(&mut self.stalled, true) {
            core::future::poll_fn(|cx| {
                cx.waker().wake_by_ref();
                core::task::Poll::<()>::Pending
            })
            .await;
        }
        Write::write(&mut self.inner, buf)
    }

    async fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

#[test]
fn a_write_cancelled_part_way_ends_the_session_loudly() {
    let input = [GREETING_OOB, NEGOTIATED, &reply(1)].concat();
    let transport = Stalling {
        inner: Scripted::new(&input, Chunks::Whole),
        stalled: true,
    };
    let mut conn: AsyncConnection<Stalling, [u8; 512]> =
        ready(AsyncConnection::connect(transport, [0; 512])).unwrap();
    conn.transport_mut().stalled = false;
    {
        use core::future::Future;
        // Poll the call once: it stops in its write; then drop it.
        let mut call = core::pin::pin!(conn.execute(&Stop));
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(ready(conn.execute(&Stop)).unwrap_err(), Error::Interrupted);
    assert!(matches!(
        ready(conn.execute(&Stop)),
        Err(Error::Misuse(ClientMisuse::NotReady(ClientState::Closed)))
    ));
}

/// An event larger than the whole queue still comes out of `next_event` when it waits
/// for it; the same event arriving while a command waits is dropped and counted.
#[test]
fn an_event_larger_than_the_queue_is_handed_out_when_waited_for() {
    let big = std::format!(
        "{{\"timestamp\": {{\"seconds\": 1, \"microseconds\": 2}}, \"event\": \"BIG\", \"data\": {{\"x\": \"{}\"}}}}\r\n",
        "b".repeat(300)
    );
    let input = [GREETING_OOB, NEGOTIATED, &big, &big, &reply(1)].concat();
    for chunks in CHUNKINGS {
        let mut conn: Conn<8, 64> = connect(&input, chunks);
        assert_eq!(conn.qemu_version(), Some([10, 0, 2]));
        assert_eq!(conn.next_event().unwrap().name, "BIG");
        conn.execute(&Stop).unwrap();
        assert_eq!(conn.events_dropped(), 1);
        assert_eq!(conn.events_queued(), 0);
    }
}

#[test]
fn shell_lines_go_out_as_commands() {
    let version = "{\"return\": \"10.0.2\\r\\n\", \"id\": 1}\r\n";
    let input = [GREETING_OOB, NEGOTIATED, version, &reply(2)].concat();
    for chunks in CHUNKINGS {
        let line = crate::shell::ShellCommand::parse(
            r#"human-monitor-command command-line="info version""#,
        )
        .unwrap();
        let mut conn: Conn = connect(&input, chunks);
        match conn.execute_shell(&line).unwrap() {
            RawReply::Return(ret) => assert_eq!(ret.value.as_json_str().unwrap(), "10.0.2\r\n"),
            other => panic!("{other:?}"),
        }
        let stop = crate::shell::ShellCommand::parse("stop").unwrap();
        let ticket = conn.submit_shell(&stop).unwrap();
        assert_eq!(conn.next_reply().unwrap().ticket, ticket);
        assert!(conn.transport().output().ends_with(
            r#"{"execute":"human-monitor-command","arguments":{"command-line":"info version"},"id":1}{"execute":"stop","id":2}"#
        ));

        let mut conn: AsyncConn = ready(AsyncConnection::connect(
            Scripted::new(&input, chunks),
            [0; 512],
        ))
        .unwrap();
        assert!(matches!(
            ready(conn.execute_shell(&line)),
            Ok(RawReply::Return(_))
        ));
        let ticket = ready(conn.submit_shell(&stop)).unwrap();
        assert_eq!(ready(conn.next_reply()).unwrap().ticket, ticket);
    }
}
