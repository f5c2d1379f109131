//! The drivers make no heap allocation: a counting global allocator sees none while an
//! `io::Connection` (or an `io::AsyncConnection`, polled without an executor) over an
//! in-memory transport (a static script in, a `heapless` buffer out) connects,
//! negotiates, runs typed and raw commands, queues events, overflows its event queue,
//! gets a peer error and a reply too large, pipelines three commands (one out of band),
//! resyncs and reaches the end of the stream, 1 000 times, with every error formatted
//! into a stack buffer.
//!
//! The counter is per thread (the same as `session_no_alloc.rs`).

use std::fmt::Write as _;

use qmp_core::io::{AsyncConnection, Connection, Error, RawReply};
use qmp_core::schema::commands::{Cont, QueryStatus, RunState, Stop};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{allocations, StackWriter};

/// Reads `input` in pieces of 7 bytes; writes go to a fixed buffer, cleared when full.
struct Script {
    input: &'static [u8],
    output: heapless::Vec<u8, 256>,
}

impl embedded_io::ErrorType for Script {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.input.len()).min(7);
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Script {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if self.output.extend_from_slice(buf).is_err() {
            self.output.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

const SCRIPT: &[u8] = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \
    \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n\
    {\"return\": {}, \"id\": 0}\r\n\
    {\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n\
    {\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": \"STOP\"}\r\n\
    {\"timestamp\": {\"seconds\": 1, \"microseconds\": 4}, \"event\": \"STOP\"}\r\n\
    {\"return\": {}, \"id\": 1}\r\n\
    {\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 2}\r\n\
    {\"id\": 3, \"error\": {\"class\": \"GenericError\", \"desc\": \"not now\"}}\r\n\
    {\"return\": {\"blob\": \"0123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789\"}, \"id\": 4}\r\n\
    {\"return\": {}, \"id\": 5}\r\n\
    {\"id\": 8, \"error\": {\"class\": \"GenericError\", \"desc\": \"no postcopy\"}}\r\n\
    {\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 6}\r\n\
    {\"return\": {}, \"id\": 7}\r\n\
    {\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u00ff'\"}}\r\n";

fn round(text: &mut [u8]) -> usize {
    let script = Script {
        input: SCRIPT,
        output: heapless::Vec::new(),
    };
    let mut qmp: Connection<_, [u8; 256], 8, 160> =
        Connection::connect(script, [0; 256]).expect("connect");
    qmp.execute(&Stop).expect("stop");
    assert_eq!((qmp.events_queued(), qmp.events_dropped()), (2, 1));
    assert_eq!(
        qmp.execute(&QueryStatus).expect("status").status,
        RunState::Paused
    );
    let mut out = StackWriter(text, 0);
    let err = qmp.execute(&Cont).unwrap_err();
    assert!(matches!(err, Error::Failed(_)));
    write!(out, "{err}").unwrap();
    let err = qmp.execute_raw("query-qmp-schema", ()).unwrap_err();
    assert!(matches!(err, Error::ReplyTooLarge { .. }));
    write!(out, "{err}").unwrap();
    assert!(matches!(
        qmp.execute_raw("cont", ()),
        Ok(RawReply::Return(_))
    ));
    // Pipelined: the out-of-band reply overtakes the two in-band ones.
    let status = qmp.submit(&QueryStatus).expect("submit");
    let stop = qmp.submit(&Stop).expect("submit");
    let pause = qmp.submit_raw_oob("migrate-pause", ()).expect("submit");
    assert_eq!(qmp.next_reply().expect("a reply").ticket, pause);
    let reply = qmp.next_reply().expect("a reply");
    assert_eq!(reply.ticket, status);
    assert!(reply.decode::<QueryStatus>().expect("status").running);
    assert_eq!(qmp.next_reply().expect("a reply").ticket, stop);
    qmp.resync().expect("resync");
    assert!(qmp.next_event().expect("STOP").name == "STOP");
    assert!(qmp.next_event().expect("STOP").name == "STOP");
    let err = qmp.next_event().unwrap_err();
    write!(out, "{err}").unwrap();
    out.1
}

impl embedded_io_async::Read for Script {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}

impl embedded_io_async::Write for Script {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The same round through the async driver.
async fn round_async(text: &mut [u8]) -> usize {
    let script = Script {
        input: SCRIPT,
        output: heapless::Vec::new(),
    };
    let mut qmp: AsyncConnection<_, [u8; 256], 8, 160> = AsyncConnection::connect(script, [0; 256])
        .await
        .expect("connect");
    qmp.execute(&Stop).await.expect("stop");
    assert_eq!((qmp.events_queued(), qmp.events_dropped()), (2, 1));
    assert_eq!(
        qmp.execute(&QueryStatus).await.expect("status").status,
        RunState::Paused
    );
    let mut out = StackWriter(text, 0);
    let err = qmp.execute(&Cont).await.unwrap_err();
    assert!(matches!(err, Error::Failed(_)));
    write!(out, "{err}").unwrap();
    let err = qmp.execute_raw("query-qmp-schema", ()).await.unwrap_err();
    assert!(matches!(err, Error::ReplyTooLarge { .. }));
    write!(out, "{err}").unwrap();
    assert!(matches!(
        qmp.execute_raw("cont", ()).await,
        Ok(RawReply::Return(_))
    ));
    let status = qmp.submit(&QueryStatus).await.expect("submit");
    let stop = qmp.submit(&Stop).await.expect("submit");
    let pause = qmp
        .submit_raw_oob("migrate-pause", ())
        .await
        .expect("submit");
    assert_eq!(qmp.next_reply().await.expect("a reply").ticket, pause);
    let reply = qmp.next_reply().await.expect("a reply");
    assert_eq!(reply.ticket, status);
    assert!(reply.decode::<QueryStatus>().expect("status").running);
    assert_eq!(qmp.next_reply().await.expect("a reply").ticket, stop);
    qmp.resync().await.expect("resync");
    assert!(qmp.next_event().await.expect("STOP").name == "STOP");
    assert!(qmp.next_event().await.expect("STOP").name == "STOP");
    let err = qmp.next_event().await.unwrap_err();
    write!(out, "{err}").unwrap();
    out.1
}

/// Run a future that is never pending (the script's reads and writes never are).
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the script is never pending"),
    }
}

const EXPECTED: &str = "the command failed: GenericError: not now\
     the reply to command 4 (313 bytes) is larger than the buffer\
     the connection is closed";

#[test]
fn async_connection_never_allocates() {
    let mut text = [0u8; 512];
    let (allocs, written) = allocations(|| {
        let mut written = 0;
        for _ in 0..1000 {
            written = ready(round_async(&mut text));
        }
        written
    });
    assert_eq!(allocs, 0);
    assert_eq!(std::str::from_utf8(&text[..written]).unwrap(), EXPECTED);
}

#[test]
fn connection_never_allocates() {
    let mut text = [0u8; 512];
    let (allocs, written) = allocations(|| {
        let mut written = 0;
        for _ in 0..1000 {
            written = round(&mut text);
        }
        written
    });
    assert_eq!(allocs, 0);
    assert_eq!(std::str::from_utf8(&text[..written]).unwrap(), EXPECTED);
}
