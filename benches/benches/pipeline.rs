//! Pipelined commands against a real QEMU: commands per second, and the client's own
//! CPU time per command, for qmp-core and for a line-splitting serde_json client
//! written the way users write one today, over the same kind of socket to the same
//! QEMU.
//!
//! The bench starts `qemu-system-x86_64 -machine none -nodefaults -display none` with
//! one QMP monitor per client (`-qmp unix:DIR/qmpI.sock,server=on,wait=off`: QEMU
//! serves one client per socket at a time) in a temporary folder of its own (killed,
//! reaped and removed when the bench ends, also when it panics). Without QEMU on
//! `PATH` it prints why and does nothing, unless `CI=true`, where it fails
//! (`scripts/install-qemu` installs QEMU 10). Each client connects once, to its own
//! monitor, before the first benchmark, and keeps its connection to the end.
//!
//! # What one iteration is
//!
//! A batch of [`BATCH`] `query-status` commands, kept [`IN_FLIGHT`] in flight: submit
//! until 8 are pending, then for each reply that comes back submit one more, and at the
//! end collect the last 8. Every reply is checked: it must be the `return` of a
//! command of this batch, and its `status` is read. `Throughput::Elements` is the
//! batch size, so criterion's `elem/s` are commands per second.
//!
//! Each client negotiates the same way (`qmp_capabilities` with `oob` enabled, which
//! is what qmp-core's connection does when QEMU offers it; with `oob` on, QEMU queues
//! up to 8 in-band commands per monitor), writes each command with one write, reads
//! through an 8 KiB buffer (qmp-core's framer buffer, the `BufReader`'s capacity).
//!
//! # The clients
//!
//! - `qmp/blocking`: qmp-core's blocking [`Connection`](qmp_core::io::Connection)
//!   from [`connect_unix`]: `submit(&QueryStatus)`, then `next_reply()` and
//!   `Reply::decode::<QueryStatus>()` (typed: `StatusInfo`). What a user writes.
//! - `qmp/async`: the same through [`AsyncConnection`] over a tokio `UnixStream`
//!   (wrapped in `embedded_io_adapters::tokio_1::FromTokio`) on a current-thread
//!   runtime, which the benchmark's thread drives (one `block_on` per batch, so all of
//!   the runtime's work is on the measured thread).
//! - `qmp/session`: qmp-core's sans-IO [`Client`] driven by hand over a blocking
//!   [`UnixStream`]: each command encoded with [`Client::execute`] into a stack buffer
//!   and written at once, replies read straight into the [`Framer`]'s spare room and
//!   decoded typed. The codec without the connection's bookkeeping (event queue,
//!   staging, error mapping), to show what that costs.
//! - `serde_json/lines`: the usual hand-written client. A `BufReader` over the socket
//!   and `read_line` into a reused `String`; every line parsed with
//!   `serde_json::from_str::<serde_json::Value>`; events skipped; replies matched to
//!   their command by `id` (a counter) in a `HashMap`; each command serialised from a
//!   `#[derive(Serialize)]` struct with `serde_json::to_writer` plus `\n` into a
//!   `BufWriter` that is flushed once per command.
//!
//! # The two measures
//!
//! The same functions run in two criterion groups:
//!
//! - `pipeline_wall`: wall-clock time per batch (criterion's own measurement). QEMU
//!   sets the pace here: with a client that keeps up, this is QEMU's ceiling.
//! - `pipeline_cpu`: the CPU time the benchmark's thread spent per batch
//!   ([`ThreadCpuTime`], `CLOCK_THREAD_CPUTIME_ID`): the client's own cost, in user
//!   and kernel mode (its system calls included), whatever QEMU and the rest of the
//!   machine do meanwhile. Criterion sizes its samples by the measured value, so
//!   this group's measurement time is CPU time, and takes correspondingly longer on
//!   the wall clock.
//!
//! "% of one core" is CPU time over wall time per command; `benches/ratios.py`
//! computes it from the two groups' medians.
//!
//! Criterion runs one client after the other, so a change in the machine's load
//! between two clients' runs (other builds, a fuzzer) shows as a difference between
//! the clients. So after the criterion groups, the bench runs an interleaved pass:
//! [`ROUNDS`] rounds, each one batch per client, the clients taking turns, and prints
//! for each client commands per second, CPU µs per command and the share of one core
//! measured on those very batches, with the CPU time split into user and kernel time
//! and the number of times per command the client blocked waiting for QEMU
//! (`getrusage(RUSAGE_THREAD)`). Under `cargo test` (criterion's test mode) there is
//! no interleaved pass, and the summary covers the single batches the test ran.
//!
//! The client's CPU time is mostly the kernel's (the system calls: one write per
//! command, a read for about every reply, and the sleeps and wake-ups of waiting
//! for QEMU), about the same for every client (the async one adds an `epoll_wait` for
//! most reads). `benches/pipeline-instructions.sh` counts the user-space part with
//! callgrind, in instructions per command, free of the machine's noise.
//!
//! Reproduce: `cargo bench -p qmp-benches --bench pipeline` (about two minutes on a
//! quiet machine), then `python3 benches/ratios.py`.

// `unsafe` only for two libc calls: `clock_gettime` in `thread_cpu_time` and
// `getrusage` in `Usage::now`.
#![deny(unsafe_code)]

use std::collections::HashMap;
use std::fs;
use std::hint::black_box;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use embedded_io_adapters::tokio_1::FromTokio;
use qmp_core::encode::SliceSink;
use qmp_core::frame::Framer;
use qmp_core::io::std::{connect_unix, UnixConnection};
use qmp_core::io::{AsyncConnection, Reply};
use qmp_core::schema::commands::{Command as _, QueryStatus};
use qmp_core::session::{Client, ClientOutcome, Ticket};
use serde::Serialize;

/// Commands per iteration.
const BATCH: u64 = 1000;
/// Commands kept in flight: qmp-core's default pending table, and QEMU's in-band
/// queue with `oob` on.
const IN_FLIGHT: usize = 8;
/// Each client's read buffer.
const READ_BUF: usize = 8 * 1024;
/// The emulator, looked up on `PATH`.
const QEMU: &str = "qemu-system-x86_64";
/// How long any wait may take (QEMU answers in milliseconds; this bounds a failure).
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole batch of the async client may take (it has no socket timeouts).
const BATCH_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------
// The thread's CPU time as a criterion measurement.

/// The calling thread's CPU time so far (user + system), from
/// `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`.
#[allow(unsafe_code)]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec` for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is a clock every Linux and BSD provides.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A criterion [`Measurement`]: the CPU time of the thread that runs the benchmark
/// (criterion runs the routine on the calling thread). Values are nanoseconds of CPU
/// time; throughputs are per CPU-second.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }

    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats CPU nanoseconds as CPU time, and throughputs per CPU-second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns CPU")
        } else if typical < 1e6 {
            (1e-3, "µs CPU")
        } else if typical < 1e9 {
            (1e-6, "ms CPU")
        } else {
            (1e-9, "s CPU")
        };
        for value in values {
            *value *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (per_iteration, units) = match *throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => (
                n as f64,
                ["elem/CPU-s", "Kelem/CPU-s", "Melem/CPU-s", "Gelem/CPU-s"],
            ),
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                (n as f64, ["B/CPU-s", "KB/CPU-s", "MB/CPU-s", "GB/CPU-s"])
            }
            Throughput::Bits(n) => (n as f64, ["b/CPU-s", "Kb/CPU-s", "Mb/CPU-s", "Gb/CPU-s"]),
        };
        let rate = per_iteration * 1e9 / typical;
        let (divisor, unit) = if rate < 1e3 {
            (1.0, units[0])
        } else if rate < 1e6 {
            (1e3, units[1])
        } else if rate < 1e9 {
            (1e6, units[2])
        } else {
            (1e9, units[3])
        };
        for value in values {
            *value = per_iteration * 1e9 / *value / divisor;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

// ---------------------------------------------------------------------------------
// QEMU.

/// A running QEMU with QMP monitors on unix sockets (one per client) in a temporary
/// folder of its own; killed, reaped and its folder removed on drop.
struct Qemu {
    child: Child,
    dir: PathBuf,
    sockets: Vec<PathBuf>,
}

impl Qemu {
    /// Start QEMU with `monitors` QMP monitors and wait until they listen. `None` when QEMU is not
    /// installed and `CI` is not `true` (the bench is then skipped); panics when it
    /// is missing with `CI=true`, or when it does not come up.
    fn start(monitors: usize) -> Option<Self> {
        if let Err(e) = Command::new(QEMU)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            let why = format!("{QEMU} cannot be run ({e})");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("pipeline bench: {why}, and CI=true: install it with scripts/install-qemu");
            }
            eprintln!(
                "pipeline bench: skipped: {why}. It needs a real QEMU: run scripts/install-qemu \
                 (or set CI=true to make this a failure)."
            );
            return None;
        }
        // Unix socket paths are limited to 107 bytes: fall back to /tmp when TMPDIR is
        // deep.
        let mut base = std::env::temp_dir();
        if base.as_os_str().len() > 60 {
            base = PathBuf::from("/tmp");
        }
        let dir = base.join(format!("qmp-pipeline-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let sockets: Vec<PathBuf> = (0..monitors)
            .map(|i| dir.join(format!("qmp{i}.sock")))
            .collect();
        let stderr = fs::File::create(dir.join("stderr")).expect("creating QEMU's stderr file");
        let mut command = Command::new(QEMU);
        command.args(["-machine", "none", "-nodefaults", "-display", "none"]);
        for socket in &sockets {
            command
                .arg("-qmp")
                .arg(format!("unix:{},server=on,wait=off", socket.display()));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {QEMU}: {e}"));
        let mut qemu = Self {
            child,
            dir,
            sockets,
        };
        let deadline = Instant::now() + TIMEOUT;
        // Wait for the sockets to appear. Connecting to test them would take QEMU's one
        // client slot per monitor until QEMU sees the test connection close.
        while !qemu.sockets.iter().all(|s| s.exists()) {
            if let Some(status) = qemu.child.try_wait().expect("polling QEMU") {
                panic!(
                    "{QEMU} exited ({status}) before listening:\n{}",
                    qemu.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{QEMU} did not listen within {TIMEOUT:?}:\n{}",
                qemu.stderr()
            );
            thread::sleep(Duration::from_millis(5));
        }
        Some(qemu)
    }

    fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// Connect to monitor `i`, retrying while QEMU is still setting it up; read and
    /// write timeouts of [`TIMEOUT`].
    fn connect(&self, i: usize) -> UnixStream {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match UnixStream::connect(&self.sockets[i]) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(TIMEOUT))
                        .expect("read timeout");
                    stream
                        .set_write_timeout(Some(TIMEOUT))
                        .expect("write timeout");
                    return stream;
                }
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "connecting to {}: {e}",
                        self.sockets[i].display()
                    );
                    thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------
// The clients.

/// A pipelining client: submit without waiting, collect replies in any order.
trait Pipeline {
    /// Write one `query-status`.
    fn submit(&mut self);
    /// Read until the reply to one submitted command; check it and return its status
    /// name's length (something read from the reply, so the decoding is not skipped).
    fn next_reply(&mut self) -> usize;
}

/// Run `n` commands through `client`, [`IN_FLIGHT`] at a time. Returns a checksum
/// of what the replies said.
fn batch(client: &mut impl Pipeline, n: u64) -> usize {
    let mut submitted = 0;
    let mut answered = 0;
    let mut sum = 0;
    while answered < n {
        while submitted < n && submitted - answered < IN_FLIGHT as u64 {
            client.submit();
            submitted += 1;
        }
        sum += client.next_reply();
        answered += 1;
    }
    sum
}

/// What a client reads from a `query-status` reply: the run state's name's length.
fn status_of(reply: Reply<'_>) -> usize {
    let status = reply
        .decode::<QueryStatus>()
        .unwrap_or_else(|e| panic!("not a query-status return: {e:?}"));
    status
        .status
        .as_str()
        .expect("a run state QEMU documents")
        .len()
}

/// qmp-core's blocking [`Connection`](qmp_core::io::Connection) over a unix socket.
struct QmpBlocking(UnixConnection<Box<[u8]>>);

impl QmpBlocking {
    fn connect(socket: &Path) -> Self {
        let buf = vec![0; READ_BUF].into_boxed_slice();
        let connection = connect_unix(socket, buf, Some(TIMEOUT)).expect("connecting");
        assert!(connection.oob_enabled(), "QEMU offers oob");
        Self(connection)
    }
}

impl Pipeline for QmpBlocking {
    fn submit(&mut self) {
        self.0.submit(&QueryStatus).expect("submitting");
    }

    fn next_reply(&mut self) -> usize {
        status_of(self.0.next_reply().expect("reading a reply"))
    }
}

/// qmp-core's [`AsyncConnection`] over a tokio unix socket, on a current-thread
/// runtime driven by the benchmark's thread (one `block_on` per batch).
struct QmpAsync {
    runtime: tokio::runtime::Runtime,
    connection: AsyncConnection<FromTokio<tokio::net::UnixStream>, Box<[u8]>>,
}

impl QmpAsync {
    fn connect(socket: &Path) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        let connection = runtime.block_on(async {
            let connect = async {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                let buf = vec![0; READ_BUF].into_boxed_slice();
                AsyncConnection::connect(FromTokio::new(stream), buf)
                    .await
                    .map_err(|e| io::Error::other(format!("{e}")))
            };
            tokio::time::timeout(TIMEOUT, connect)
                .await
                .expect("connecting in time")
                .expect("connecting")
        });
        assert!(connection.oob_enabled(), "QEMU offers oob");
        Self {
            runtime,
            connection,
        }
    }

    /// [`batch`] with `.await`s, bounded by a timeout so that a QEMU that stops
    /// answering fails the bench instead of hanging it.
    fn batch(&mut self, n: u64) -> usize {
        let connection = &mut self.connection;
        let run = async move {
            let mut submitted = 0;
            let mut answered = 0;
            let mut sum = 0;
            while answered < n {
                while submitted < n && submitted - answered < IN_FLIGHT as u64 {
                    connection.submit(&QueryStatus).await.expect("submitting");
                    submitted += 1;
                }
                sum += status_of(connection.next_reply().await.expect("reading a reply"));
                answered += 1;
            }
            sum
        };
        self.runtime
            .block_on(async { tokio::time::timeout(BATCH_TIMEOUT, run).await })
            .expect("a batch within the timeout")
    }
}

/// qmp-core's sans-IO session client over a blocking unix socket.
struct QmpSession {
    stream: UnixStream,
    framer: Framer<Box<[u8]>>,
    client: Client<IN_FLIGHT>,
}

impl QmpSession {
    fn connect(stream: UnixStream) -> Self {
        let mut this = Self {
            stream,
            framer: Framer::new(vec![0; READ_BUF].into_boxed_slice()),
            client: Client::new(),
        };
        // Greeting, then negotiation.
        this.read_until(|outcome| matches!(outcome, ClientOutcome::Greeting(_)));
        let mut out = [0u8; 128];
        let mut sink = SliceSink::new(&mut out);
        let oob = this.client.negotiate(true, &mut sink).expect("negotiating");
        assert!(oob, "QEMU offers oob");
        let written = sink.written().len();
        this.stream.write_all(&out[..written]).expect("writing");
        this.read_until(|outcome| matches!(outcome, ClientOutcome::Negotiated { oob: true }));
        this
    }

    /// Hand framer items to the client until `done` says so; returns what `done`
    /// returned `Some` for.
    fn read_until_with<R>(&mut self, mut done: impl FnMut(ClientOutcome<'_>) -> Option<R>) -> R {
        loop {
            while let Some(item) = self.framer.next() {
                if let Some(r) = done(self.client.handle(item)) {
                    return r;
                }
            }
            let n = self.stream.read(self.framer.spare_mut()).expect("reading");
            assert!(n > 0, "QEMU closed the connection");
            self.framer.commit(n);
        }
    }

    fn read_until(&mut self, mut done: impl FnMut(&ClientOutcome<'_>) -> bool) {
        self.read_until_with(|outcome| {
            assert!(
                !matches!(
                    outcome,
                    ClientOutcome::Framing(_)
                        | ClientOutcome::NotQmp(_)
                        | ClientOutcome::Unexpected(_)
                ),
                "unexpected: {outcome:?}"
            );
            done(&outcome).then_some(())
        })
    }
}

impl Pipeline for QmpSession {
    fn submit(&mut self) {
        let mut out = [0u8; 64];
        let mut sink = SliceSink::new(&mut out);
        let _: Ticket = self
            .client
            .execute(&QueryStatus, &mut sink)
            .expect("submitting");
        let written = sink.written().len();
        self.stream.write_all(&out[..written]).expect("writing");
    }

    fn next_reply(&mut self) -> usize {
        self.read_until_with(|outcome| match outcome {
            ClientOutcome::Reply { message, .. } => {
                let status = QueryStatus::decode_reply(&message).expect("a query-status reply");
                let state = status.status.as_str().expect("a run state QEMU documents");
                Some(state.len())
            }
            ClientOutcome::Event(_) => None,
            other => panic!("unexpected: {other:?}"),
        })
    }
}

/// A command as the serde_json client writes it.
#[derive(Serialize)]
struct Execute<'a> {
    execute: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<serde_json::Value>,
    id: u64,
}

/// The usual line-splitting serde_json client.
struct SerdeLines {
    reader: BufReader<UnixStream>,
    writer: BufWriter<UnixStream>,
    line: String,
    next_id: u64,
    /// Pending commands by id: the command's name.
    pending: HashMap<u64, &'static str>,
}

impl SerdeLines {
    fn connect(stream: UnixStream) -> Self {
        let mut this = Self {
            reader: BufReader::with_capacity(READ_BUF, stream.try_clone().expect("cloning")),
            writer: BufWriter::new(stream),
            line: String::new(),
            next_id: 0,
            pending: HashMap::new(),
        };
        let greeting = this.read_message();
        assert!(greeting.get("QMP").is_some(), "not a greeting: {greeting}");
        this.send(
            "qmp_capabilities",
            Some(serde_json::json!({ "enable": ["oob"] })),
        );
        let reply = this.reply();
        assert!(
            reply.1.get("return").is_some(),
            "negotiation refused: {}",
            reply.1
        );
        this
    }

    fn read_message(&mut self) -> serde_json::Value {
        self.line.clear();
        let n = self.reader.read_line(&mut self.line).expect("reading");
        assert!(n > 0, "QEMU closed the connection");
        serde_json::from_str(&self.line).expect("QEMU sends JSON")
    }

    fn send(&mut self, execute: &'static str, arguments: Option<serde_json::Value>) {
        let id = self.next_id;
        self.next_id += 1;
        let command = Execute {
            execute,
            arguments,
            id,
        };
        serde_json::to_writer(&mut self.writer, &command).expect("writing");
        self.writer.write_all(b"\n").expect("writing");
        self.writer.flush().expect("writing");
        self.pending.insert(id, execute);
    }

    /// The next reply to a pending command, with that command's name.
    fn reply(&mut self) -> (&'static str, serde_json::Value) {
        loop {
            let message = self.read_message();
            if message.get("event").is_some() {
                continue;
            }
            let id = message.get("id").and_then(serde_json::Value::as_u64);
            if let Some(name) = id.and_then(|id| self.pending.remove(&id)) {
                return (name, message);
            }
            panic!("a reply nobody waits for: {message}");
        }
    }
}

impl Pipeline for SerdeLines {
    fn submit(&mut self) {
        self.send("query-status", None);
    }

    fn next_reply(&mut self) -> usize {
        let (name, reply) = self.reply();
        assert_eq!(name, "query-status");
        let status = reply
            .get("return")
            .and_then(|r| r.get("status"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_else(|| panic!("not a query-status return: {reply}"));
        status.len()
    }
}

// ---------------------------------------------------------------------------------
// Running them.

/// Wall and CPU time over every batch a client ran, for the closing summary.
#[derive(Default)]
struct Tally {
    commands: u64,
    wall: Duration,
    cpu: Duration,
    usage: Usage,
}

impl Tally {
    /// Run one batch, counting it.
    fn batch(&mut self, run: impl FnOnce(u64) -> usize) -> usize {
        let (wall, cpu, usage) = (Instant::now(), thread_cpu_time(), Usage::now());
        let sum = run(BATCH);
        self.cpu += thread_cpu_time().saturating_sub(cpu);
        self.usage.add_since(&usage);
        self.wall += wall.elapsed();
        self.commands += BATCH;
        sum
    }
}

/// Where the thread's CPU time went, from `getrusage(RUSAGE_THREAD)`: user and kernel
/// time, and how often it blocked (voluntary context switches: a read that found
/// nothing to read yet, mostly).
#[derive(Clone, Copy, Default)]
struct Usage {
    user: Duration,
    system: Duration,
    blocked: u64,
}

impl Usage {
    #[allow(unsafe_code)]
    fn now() -> Self {
        // SAFETY: all-zero bytes are a valid `rusage` (integers and `timeval`s).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable `rusage` for the duration of the call.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD) failed");
        let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Self {
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
            blocked: usage.ru_nvcsw as u64,
        }
    }

    fn add_since(&mut self, start: &Self) {
        let now = Self::now();
        self.user += now.user.saturating_sub(start.user);
        self.system += now.system.saturating_sub(start.system);
        self.blocked += now.blocked.saturating_sub(start.blocked);
    }
}

/// The clients in the order they are benchmarked.
const CLIENTS: [&str; 4] = [
    "qmp/blocking",
    "qmp/async",
    "qmp/session",
    "serde_json/lines",
];

/// Every client, each connected to a monitor of its own.
struct Clients {
    blocking: QmpBlocking,
    asynchronous: QmpAsync,
    session: QmpSession,
    serde: SerdeLines,
}

impl Clients {
    fn connect(qemu: &Qemu) -> Self {
        Self {
            blocking: QmpBlocking::connect(&qemu.sockets[0]),
            asynchronous: QmpAsync::connect(&qemu.sockets[1]),
            session: QmpSession::connect(qemu.connect(2)),
            serde: SerdeLines::connect(qemu.connect(3)),
        }
    }

    /// Run a batch of `n` commands on client `i` (of [`CLIENTS`]).
    fn batch(&mut self, i: usize, n: u64) -> usize {
        match i {
            0 => batch(&mut self.blocking, n),
            1 => self.asynchronous.batch(n),
            2 => batch(&mut self.session, n),
            _ => batch(&mut self.serde, n),
        }
    }
}

/// Benchmark every client in `group`, tallying every batch in `tallies`.
fn run_clients<M: Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    clients: &mut Clients,
    tallies: &mut [Tally; CLIENTS.len()],
) {
    for (i, (name, tally)) in CLIENTS.iter().zip(tallies).enumerate() {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(tally.batch(|n| clients.batch(i, n))))
        });
    }
}

/// Rounds of the interleaved pass: one batch of each client per round.
const ROUNDS: usize = 8;

/// The interleaved pass: [`ROUNDS`] rounds, each running one batch on every client,
/// starting with a different client each round. Whatever else loads the machine then
/// weighs on every client alike, which criterion's runs (one client after the other)
/// cannot promise.
fn interleaved(clients: &mut Clients) -> [Tally; CLIENTS.len()] {
    let mut tallies: [Tally; CLIENTS.len()] = Default::default();
    for round in 0..ROUNDS {
        for k in 0..CLIENTS.len() {
            let i = (round + k) % CLIENTS.len();
            black_box(tallies[i].batch(|n| clients.batch(i, n)));
        }
    }
    tallies
}

fn print_summary(title: &str, tallies: &[Tally; CLIENTS.len()]) {
    println!("\n{title}");
    println!(
        "{:<18} {:>8} {:>11} {:>9} {:>9} {:>12} {:>10}",
        "client", "commands", "commands/s", "CPU µs", "% of one", "user/kernel", "blocked"
    );
    println!(
        "{:<18} {:>8} {:>11} {:>9} {:>9} {:>12} {:>10}",
        "", "", "", "/command", "core", "µs/command", "/command"
    );
    for (name, tally) in CLIENTS.iter().zip(tallies) {
        if tally.commands == 0 {
            continue;
        }
        let commands = tally.commands as f64;
        let per_command = |d: Duration| d.as_secs_f64() * 1e6 / commands;
        println!(
            "{name:<18} {:>8} {:>11.0} {:>9.2} {:>9.2} {:>12} {:>10.2}",
            tally.commands,
            commands / tally.wall.as_secs_f64(),
            per_command(tally.cpu),
            tally.cpu.as_secs_f64() / tally.wall.as_secs_f64() * 100.0,
            format!(
                "{:.1}/{:.1}",
                per_command(tally.usage.user),
                per_command(tally.usage.system)
            ),
            tally.usage.blocked as f64 / commands,
        );
    }
    println!(
        "CPU: the benchmark thread's CPU time (user and kernel); % of one core: CPU time \
         over wall time;\nuser/kernel: the same split by getrusage (tick-based, so \
         coarser); blocked: times the thread waited for QEMU."
    );
}

fn main() {
    let Some(qemu) = Qemu::start(CLIENTS.len()) else {
        return;
    };
    let mut clients = Clients::connect(&qemu);
    let mut tallies: [Tally; CLIENTS.len()] = Default::default();

    let mut wall: Criterion<WallTime> = Criterion::default().configure_from_args();
    {
        let mut group = wall.benchmark_group("pipeline_wall");
        group
            .throughput(Throughput::Elements(BATCH))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        run_clients(&mut group, &mut clients, &mut tallies);
        group.finish();
    }

    // Measured in CPU time: 0.1 s of the client's CPU is 20 s of wall clock for a
    // client that needs 0.5 % of a core.
    let mut cpu = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .configure_from_args();
    {
        let mut group = cpu.benchmark_group("pipeline_cpu");
        group
            .throughput(Throughput::Elements(BATCH))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(20))
            .measurement_time(Duration::from_millis(100));
        run_clients(&mut group, &mut clients, &mut tallies);
        group.finish();
    }

    // `cargo bench` passes `--bench`; without it, or with `--test` (`cargo test`),
    // criterion runs each function once to check it, and the summary covers those runs.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test") {
        let tallies = interleaved(&mut clients);
        print_summary(
            &format!(
                "Interleaved pass: pipelined query-status, {IN_FLIGHT} in flight, {ROUNDS} \
                 batches of {BATCH} per client, the clients taking turns:"
            ),
            &tallies,
        );
    } else {
        print_summary(
            &format!("Pipelined query-status, {IN_FLIGHT} in flight, over the batches run above:"),
            &tallies,
        );
    }
    drop(clients);
    drop(qemu);

    wall.final_summary();
    cpu.final_summary();
}
