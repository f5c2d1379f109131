//! A real QEMU for the live tests (`tests/live_qemu.rs`): start `qemu-system-x86_64`
//! with a QMP monitor in a fresh temporary folder, connect to it, and read its output
//! through qmp-core's [`Framer`].
//!
//! - [`Qemu::start`] runs `qemu-system-x86_64 -machine none -nodefaults -display none`
//!   with one QMP monitor ([`Monitor`]: compact on a unix socket, pretty on a
//!   `-chardev socket` + `-mon`, or compact on TCP at 127.0.0.1, in the current or the
//!   legacy option form) plus any extra
//!   arguments, and waits (boundedly) until the monitor accepts a connection. The
//!   process is killed and reaped, and its folder removed, when the [`Qemu`] is dropped:
//!   at the end of the test or while a failing test unwinds.
//! - [`Qmp`] is the client end: writes with [`encode`], reads into
//!   [`Framer::spare_mut`] and [`Framer::commit`], and hands out each frame as a
//!   [`Received`] after checking that [`Message::parse`] accepts it. Every read has a
//!   deadline ([`TIMEOUT`]), so a test that waits for a message QEMU never sends fails
//!   instead of hanging.
//!
//! When `qemu-system-x86_64` is not on `PATH`, [`Qemu::start`] returns `None` and prints
//! `skipped: qemu-system-x86_64 not found` to the test's standard error (past the
//! harness's capture, so it shows in a plain `cargo test`); with `CI=true` it panics
//! instead, so that CI cannot pass without having run these tests. `scripts/install-qemu`
//! installs QEMU 10 (`scripts/test` runs it first).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use qmp_core::encode::{self, Id, Ser, SliceSink};
use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::message::{ErrorReply, EventMessage, Greeting, Message};
use qmp_core::schema::commands::{Command as QmpCommand, QmpCapabilities, QmpCapability};
use qmp_core::schema::Event;

/// The emulator, looked up on `PATH`.
pub const QEMU: &str = "qemu-system-x86_64";

/// How long any single wait may take: for the monitor to accept, for a message, for the
/// process to exit. QEMU answers in milliseconds; this only bounds a failing test.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The framer buffer that holds every QEMU 10 message, the 236 KB schema reply included.
pub const BIG: usize = 256 * 1024;

/// Where QEMU serves its QMP monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// `-qmp unix:DIR/qmp.sock,server=on,wait=off` (compact output).
    Unix,
    /// `-chardev socket,id=mon0,path=DIR/qmp.sock,server=on,wait=off
    /// -mon chardev=mon0,mode=control,pretty=on` (pretty-printed output).
    UnixPretty,
    /// `-qmp tcp:127.0.0.1:PORT,server=on,wait=off` on a free port (compact output).
    Tcp,
    /// `-qmp tcp:localhost:PORT,server,wait=off` on a free port: the legacy form, with a
    /// bare `server` flag (no `=on`) and a host name for the address. The endpoint is
    /// the first address `localhost` resolves to.
    TcpLegacy,
}

/// Where a monitor (or any other server QEMU runs) can be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket path.
    Unix(PathBuf),
    /// A TCP address on 127.0.0.1.
    Tcp(SocketAddr),
}

/// Whether the emulator can be run; `None` means "skip this test". Panics when it is
/// missing and `CI` is `true`.
fn qemu_available() -> bool {
    emulator_available(QEMU)
}

/// Whether `program` (an emulator) can be run: `false` means "skip this test", with a
/// line on standard error. Panics when it is missing and `CI` is `true`.
pub fn emulator_available(program: &str) -> bool {
    match Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let test = thread::current().name().unwrap_or("live test").to_owned();
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{test}: {program} not found on PATH, and CI=true: the live QEMU tests \
                     must run in CI (scripts/install-qemu installs QEMU 10)"
                );
            }
            // Straight to the process's stderr, past the test harness's capture, in one
            // write so that parallel tests do not interleave their lines.
            let line = format!(
                "{test}: skipped: {program} not found (run scripts/install-qemu, or set CI=true \
                 to make this a failure)\n"
            );
            let _ = io::stderr().write_all(line.as_bytes());
            false
        }
        Err(e) => panic!("running `{program} --version`: {e}"),
    }
}

/// A folder of its own under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // Unix socket paths are limited to 107 bytes: fall back to /tmp when TMPDIR is
        // deep.
        let mut base = std::env::temp_dir();
        if base.as_os_str().len() > 60 {
            base = PathBuf::from("/tmp");
        }
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("qmp-live-{}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Self(path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("creating {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A running QEMU; killed, reaped and cleaned up on drop.
pub struct Qemu {
    child: Child,
    /// The monitor chosen at start.
    monitor: Endpoint,
    /// The connection to it made while waiting for QEMU to listen.
    pending: Option<Stream>,
    /// Declared after `child`: removed once the process is gone.
    dir: TempDir,
}

impl Qemu {
    /// QEMU with one QMP monitor and nothing else; `None` (test skipped) without QEMU.
    pub fn start(monitor: Monitor) -> Option<Self> {
        Self::start_with(monitor, |_| Vec::new())
    }

    /// QEMU with one QMP monitor and the arguments `extra` gives for its folder (for
    /// sockets of other servers: `-vnc unix:DIR/vnc.sock`, a second monitor, …).
    pub fn start_with(monitor: Monitor, extra: impl Fn(&Path) -> Vec<String>) -> Option<Self> {
        if !qemu_available() {
            return None;
        }
        // A TCP port is chosen before QEMU binds it, so another process may take it in
        // between: try again with another port.
        for attempt in 1.. {
            let dir = TempDir::new();
            let (endpoint, args) = match monitor {
                Monitor::Unix => {
                    let path = dir.0.join("qmp.sock");
                    let arg = format!("unix:{},server=on,wait=off", path.display());
                    (Endpoint::Unix(path), vec!["-qmp".to_owned(), arg])
                }
                Monitor::UnixPretty => {
                    let path = dir.0.join("qmp.sock");
                    let chardev =
                        format!("socket,id=mon0,path={},server=on,wait=off", path.display());
                    let args = vec![
                        "-chardev".to_owned(),
                        chardev,
                        "-mon".to_owned(),
                        "chardev=mon0,mode=control,pretty=on".to_owned(),
                    ];
                    (Endpoint::Unix(path), args)
                }
                Monitor::Tcp => {
                    let addr = free_tcp_addr();
                    let arg = format!("tcp:{addr},server=on,wait=off");
                    (Endpoint::Tcp(addr), vec!["-qmp".to_owned(), arg])
                }
                Monitor::TcpLegacy => {
                    let port = free_tcp_addr().port();
                    let addr = ("localhost", port)
                        .to_socket_addrs()
                        .expect("resolving localhost")
                        .next()
                        .expect("localhost resolves to an address");
                    let arg = format!("tcp:localhost:{port},server,wait=off");
                    (Endpoint::Tcp(addr), vec!["-qmp".to_owned(), arg])
                }
            };
            let mut command = Command::new(QEMU);
            command
                .args(["-machine", "none", "-nodefaults", "-display", "none"])
                .args(&args)
                .args(extra(&dir.0))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(dir.0.join("stderr")).expect("creating QEMU's stderr file"));
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("starting {QEMU}: {e}"));
            let mut qemu = Qemu {
                child,
                monitor: endpoint,
                pending: None,
                dir,
            };
            match qemu.wait_listening() {
                Ok(()) => return Some(qemu),
                Err(stderr)
                    if matches!(monitor, Monitor::Tcp | Monitor::TcpLegacy)
                        && attempt < 5
                        && stderr.contains("in use") =>
                {
                    continue
                }
                Err(stderr) => panic!("{QEMU} exited before its monitor listened:\n{stderr}"),
            }
        }
        unreachable!()
    }

    /// The process's temporary folder.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// The QMP monitor chosen at start.
    pub fn monitor(&self) -> &Endpoint {
        &self.monitor
    }

    /// What QEMU wrote to its standard error so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.0.join("stderr")).unwrap_or_default()
    }

    /// Connect to the monitor, retrying until it accepts, and keep the connection for
    /// [`connect`](Self::connect). Err with QEMU's stderr when it exits first; panics
    /// after [`TIMEOUT`].
    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match try_open(&self.monitor) {
                Ok(stream) => {
                    self.pending = Some(stream);
                    return Ok(());
                }
                Err(e) => {
                    if let Some(status) = self.child.try_wait().expect("polling QEMU") {
                        return Err(format!("({status}) {}", self.stderr()));
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{QEMU}'s monitor {:?} did not accept within {TIMEOUT:?} ({e}); stderr:\n{}",
                        self.monitor,
                        self.stderr()
                    );
                    thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    /// Connect to the QMP monitor, reading through a framer of `capacity` bytes.
    pub fn connect(&mut self, capacity: usize) -> Qmp {
        let stream = match self.pending.take() {
            Some(stream) => stream,
            None => {
                let monitor = self.monitor.clone();
                self.open(&monitor)
            }
        };
        Qmp::new(stream, capacity)
    }

    /// The QMP monitor's endpoint, free for a client of the test's own: the connection
    /// made while waiting for QEMU to listen is closed (QEMU serves one client at a
    /// time and accepts the next once it sees that one go). Its greeting is read first:
    /// QEMU's socket accepts before QEMU's main loop runs, and a greeting shows that
    /// QEMU has served the connection and runs (a client of `qmp events` once waited
    /// 10 s for a greeting after a connection closed unread).
    pub fn release_monitor(&mut self) -> Endpoint {
        if let Some(stream) = self.pending.take() {
            drop(Qmp::new(stream, 4096).greeting());
        }
        self.monitor.clone()
    }

    /// Connect to another monitor of this QEMU (one given in the extra arguments).
    pub fn connect_to(&mut self, endpoint: &Endpoint, capacity: usize) -> Qmp {
        let stream = self.open(endpoint);
        Qmp::new(stream, capacity)
    }

    /// Open a stream to a server of this QEMU (a monitor, VNC, …), retrying until it
    /// accepts; panics after [`TIMEOUT`] or if QEMU exits.
    pub fn open(&mut self, endpoint: &Endpoint) -> Stream {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match try_open(endpoint) {
                Ok(stream) => return stream,
                Err(e) => {
                    if let Some(status) = self.child.try_wait().expect("polling QEMU") {
                        panic!(
                            "{QEMU} exited ({status}) before accepting:\n{}",
                            self.stderr()
                        );
                    }
                    assert!(
                        Instant::now() < deadline,
                        "connecting to {endpoint:?} for {TIMEOUT:?}: {e}; QEMU's stderr:\n{}",
                        self.stderr()
                    );
                    thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    /// Wait for QEMU to exit by itself (after `quit`); panics after [`TIMEOUT`].
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling QEMU") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{QEMU} still running {TIMEOUT:?} after it was told to quit"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        // SIGKILL, then reap: no QEMU outlives its test, passing or failing.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// One attempt to connect to `endpoint`.
fn try_open(endpoint: &Endpoint) -> io::Result<Stream> {
    let stream = match endpoint {
        Endpoint::Unix(path) => UnixStream::connect(path).map(Stream::Unix)?,
        Endpoint::Tcp(addr) => {
            TcpStream::connect_timeout(addr, Duration::from_secs(1)).map(Stream::Tcp)?
        }
    };
    stream.set_write_timeout(TIMEOUT);
    Ok(stream)
}

/// A TCP address on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_addr() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local_addr")
}

/// A connected socket, unix or TCP.
pub enum Stream {
    /// A unix socket.
    Unix(UnixStream),
    /// A TCP connection.
    Tcp(TcpStream),
}

impl Stream {
    fn set_read_timeout(&self, timeout: Duration) {
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        match self {
            Self::Unix(s) => s.set_read_timeout(timeout),
            Self::Tcp(s) => s.set_read_timeout(timeout),
        }
        .expect("setting a read timeout");
    }

    fn set_write_timeout(&self, timeout: Duration) {
        match self {
            Self::Unix(s) => s.set_write_timeout(Some(timeout)),
            Self::Tcp(s) => s.set_write_timeout(Some(timeout)),
        }
        .expect("setting a write timeout");
    }

    /// Read exactly `buf.len()` bytes within [`TIMEOUT`].
    pub fn read_exact_timeout(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.set_read_timeout(TIMEOUT);
        self.read_exact(buf)
    }

    /// Close both directions.
    pub fn shutdown(&self) {
        let _ = match self {
            Self::Unix(s) => s.shutdown(Shutdown::Both),
            Self::Tcp(s) => s.shutdown(Shutdown::Both),
        };
    }

    /// The local address, for TCP.
    pub fn local_tcp_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Unix(_) => None,
            Self::Tcp(s) => s.local_addr().ok(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.read(buf),
            Self::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.write(buf),
            Self::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Unix(s) => s.flush(),
            Self::Tcp(s) => s.flush(),
        }
    }
}

/// How QEMU's side of the stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// An orderly end of stream.
    Eof,
    /// `ECONNRESET`: QEMU exited with unread input, or closed abruptly.
    Reset,
}

/// One frame from QEMU, copied out of the framer: its stream offset and bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Received {
    /// The absolute offset of its first byte in the stream.
    pub offset: u64,
    /// The JSON text.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "@{} {}",
            self.offset,
            String::from_utf8_lossy(&self.bytes)
        )
    }
}

impl Received {
    /// The message (already known to parse: [`Qmp::recv`] checked it).
    pub fn message(&self) -> Message<'_> {
        let frame = Frame::parse(&self.bytes).expect("a frame from the framer is valid JSON");
        Message::parse(frame).expect("checked when received")
    }

    /// The greeting; panics on anything else.
    pub fn greeting(&self) -> Greeting<'_> {
        match self.message() {
            Message::Greeting(g) => g,
            _ => panic!("expected the greeting, got {self:?}"),
        }
    }

    /// The error reply; panics on anything else.
    pub fn error(&self) -> ErrorReply<'_> {
        match self.message() {
            Message::Error(e) => e,
            _ => panic!("expected an error reply, got {self:?}"),
        }
    }

    /// The event message and its typed payload; panics on anything else or if the
    /// payload does not decode.
    pub fn event(&self) -> (EventMessage<'_>, Event<'_>) {
        match self.message() {
            Message::Event(e) => {
                let typed = Event::from_message(&e)
                    .unwrap_or_else(|err| panic!("decoding {self:?}: {err}"));
                (e, typed)
            }
            _ => panic!("expected an event, got {self:?}"),
        }
    }

    /// The event's name, if this is an event.
    pub fn event_name(&self) -> Option<String> {
        match self.message() {
            Message::Event(e) => Some(e.name.to_string()),
            _ => None,
        }
    }

    /// The `return` value decoded as command `C`'s reply type; panics on anything else.
    pub fn returned<C: QmpCommand>(&self) -> C::Returns<'_> {
        match self.message() {
            Message::Return(r) => C::decode_return(r.value)
                .unwrap_or_else(|e| panic!("decoding the reply to {}: {e}: {self:?}", C::NAME)),
            _ => panic!("expected a return for {}, got {self:?}", C::NAME),
        }
    }

    /// Whether this is a return or error reply with the integer id `id`.
    pub fn is_reply_to(&self, id: u64) -> bool {
        let m = self.message();
        matches!(m, Message::Return(_) | Message::Error(_))
            && m.id().and_then(|i| i.as_u64()) == Some(id)
    }
}

/// The answer to one command: what came before the reply (events, stray errors), and
/// the reply itself.
#[derive(Debug)]
pub struct Exchange {
    /// Messages received after the command was sent and before its reply, in order.
    pub before: Vec<Received>,
    /// The return or error with the command's id.
    pub reply: Received,
}

impl Exchange {
    /// The names of the events that came before the reply.
    pub fn event_names(&self) -> Vec<String> {
        self.before
            .iter()
            .filter_map(Received::event_name)
            .collect()
    }
}

/// A QMP client over a [`Stream`], reading through a [`Framer`].
pub struct Qmp {
    stream: Stream,
    framer: Framer<Vec<u8>>,
    closed: Option<Closed>,
    next_id: u64,
    /// The last frames received, for failure messages.
    recent: Vec<String>,
}

impl Qmp {
    /// A client reading through a framer of `capacity` bytes.
    pub fn new(stream: Stream, capacity: usize) -> Self {
        Self {
            stream,
            framer: Framer::new(vec![0; capacity]),
            closed: None,
            next_id: 1,
            recent: Vec::new(),
        }
    }

    /// What was received last, for failure messages.
    fn recent(&self) -> String {
        let mut out = String::new();
        for line in &self.recent {
            let _ = writeln!(out, "  {line}");
        }
        out
    }

    /// Hand the next frame or framing error to `f`, reading from the socket as long as
    /// the framer needs more; `Err` once the stream has ended and everything before the
    /// end was handed out. Panics when nothing arrives within [`TIMEOUT`].
    pub fn next_item<R>(
        &mut self,
        f: impl FnOnce(Result<Frame<'_>, FrameError>) -> R,
    ) -> Result<R, Closed> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(item) = self.framer.next() {
                if let Ok(frame) = &item {
                    let text = String::from_utf8_lossy(frame.as_bytes());
                    if self.recent.len() == 5 {
                        self.recent.remove(0);
                    }
                    self.recent.push(text.chars().take(300).collect());
                }
                return Ok(f(item));
            }
            if let Some(closed) = self.closed {
                return Err(closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "nothing from QEMU for {TIMEOUT:?}; last received:\n{}",
                self.recent()
            );
            self.stream.set_read_timeout(left);
            let spare = self.framer.spare_mut();
            match self.stream.read(spare) {
                Ok(0) => {
                    self.closed = Some(Closed::Eof);
                    self.framer.finish();
                }
                Ok(n) => self.framer.commit(n),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    self.closed = Some(Closed::Reset);
                    self.framer.finish();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("reading from QEMU: {e}"),
            }
        }
    }

    /// The next message, or how the stream ended. A framing error, or a frame that
    /// [`Message::parse`] refuses, fails the test. The message parsed from the framer's
    /// frame must equal the one parsed from the copy handed out.
    pub fn recv_or_closed(&mut self) -> Result<Received, Closed> {
        self.next_item(|item| {
            let frame = item.unwrap_or_else(|e| panic!("framing error in QEMU's output: {e}"));
            let received = Received {
                offset: frame.offset(),
                bytes: frame.as_bytes().to_vec(),
            };
            let message = Message::parse(frame)
                .unwrap_or_else(|e| panic!("not a QMP message: {e}: {received:?}"));
            assert_eq!(message, received.message(), "framer path and copy disagree");
            received
        })
    }

    /// The next message; panics if the stream ended.
    pub fn recv(&mut self) -> Received {
        match self.recv_or_closed() {
            Ok(received) => received,
            Err(closed) => panic!(
                "QEMU closed the stream ({closed:?}); last received:\n{}",
                self.recent()
            ),
        }
    }

    /// Read the greeting, passing over the events QEMU may send before it: a
    /// connection accepted as the VM starts can get its `RESUME` first
    /// (`testdata/captures/event_before_greeting.rx.bin`).
    pub fn greeting(&mut self) -> Received {
        loop {
            let received = self.recv();
            if !matches!(received.message(), Message::Event(_)) {
                let _ = received.greeting();
                return received;
            }
        }
    }

    /// Send bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("writing to QEMU: {e}"));
    }

    /// Encode command `cmd` with `encode::command` and send it with a fresh integer id,
    /// which is returned.
    pub fn send<C: QmpCommand>(&mut self, cmd: &C) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut buf = vec![0; 64 * 1024];
        let mut sink = SliceSink::new(&mut buf);
        encode::command(&mut sink, C::NAME, cmd.args().map(Ser), Some(Id::U64(id)))
            .unwrap_or_else(|e| panic!("encoding {}: {e}", C::NAME));
        let bytes = sink.written().to_vec();
        self.send_raw(&bytes);
        id
    }

    /// Read until the reply with id `id`, keeping what came before it.
    pub fn reply_to(&mut self, id: u64) -> Exchange {
        let mut before = Vec::new();
        loop {
            let received = self.recv();
            if received.is_reply_to(id) {
                return Exchange {
                    before,
                    reply: received,
                };
            }
            before.push(received);
        }
    }

    /// Send `cmd` and read until its reply.
    pub fn execute<C: QmpCommand>(&mut self, cmd: &C) -> Exchange {
        let id = self.send(cmd);
        self.reply_to(id)
    }

    /// Read the greeting, then run `qmp_capabilities` (enabling `oob` if asked); panics
    /// unless both succeed with nothing in between.
    pub fn negotiate(&mut self, oob: bool) -> Received {
        let greeting = self.greeting();
        let enable = [QmpCapability::Oob];
        let caps = QmpCapabilities {
            enable: oob.then_some(&enable[..]),
        };
        let exchange = self.execute(&caps);
        assert!(exchange.before.is_empty(), "{exchange:?}");
        let _ = exchange.reply.returned::<QmpCapabilities>();
        greeting
    }

    /// The underlying stream.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The framer, for tests that look at its state.
    pub fn framer(&self) -> &Framer<Vec<u8>> {
        &self.framer
    }
}
