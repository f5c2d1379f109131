//! Connect to a QEMU monitor, say which QEMU it is and whether its guest runs, then print
//! one line per event until the monitor goes away or you press Ctrl-C.
//!
//! ```text
//! cargo run -p qmp-core --features std --example agent -- MONITOR
//! ```
//!
//! MONITOR is where QEMU serves QMP: `HOST:PORT` for TCP (`-qmp tcp:HOST:PORT,...`), a
//! path for a unix socket (`-qmp unix:PATH,...`). An argument with a `/` is always a
//! path; one without that ends in `:` and digits is `HOST:PORT`; anything else is a path
//! (`qmp.sock`). For example, in one terminal a QEMU with its human monitor on the
//! terminal and a QMP monitor for the agent:
//!
//! ```text
//! qemu-system-x86_64 -machine none -display none -monitor stdio -qmp unix:/tmp/qmp.sock,server=on,wait=off
//! ```
//!
//! in another `cargo run -p qmp-core --features std --example agent -- /tmp/qmp.sock`,
//! then `stop`, `cont` and `quit` at QEMU's `(qemu)` prompt print:
//!
//! ```text
//! QEMU 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)
//! status: running
//! events: time (seconds.microseconds since the epoch, from QEMU), name, details
//! 1796044850.554916 STOP
//! 1796044850.857379 RESUME
//! 1796044851.159905 SHUTDOWN guest=false reason=host-qmp-quit
//! connection closed
//! ```
//!
//! With `-vnc 127.0.0.1:0`, a VNC client shows as
//! `1796044208.481042 VNC_CONNECTED client 127.0.0.1:49736 (ipv4)`.
//!
//! The first two lines are the replies to `query-version` and `query-status`. Each event
//! line is the event's timestamp (QEMU's clock, `?` when QEMU could not read it), its
//! name and the fields that say what happened, read through the typed
//! [`Event`](qmp_core::schema::Event); an event without a typed form shows its `data` as
//! QEMU sent it (JSON), and one whose `data` does not have the documented shape shows it
//! too, followed by why it did not decode.
//!
//! Two counts appear only when they are not zero, each time they grow: events that did
//! not fit the connection's event queue (1 KiB, the default: an event larger than that
//! is counted and not shown; QEMU's common events take 80 to 200 bytes), and messages that had no place in the conversation (bytes
//! that are not JSON, JSON that is not QMP, replies to no command of ours). Both are the
//! peer's doing, never the agent's.
//!
//! # Exit status
//!
//! - 0: the monitor closed the connection after the agent had started streaming (QEMU
//!   quit, or its monitor was closed): `connection closed` is the last line.
//! - 1: an error, with one line on standard error saying what and where: the monitor
//!   cannot be reached, the peer does not speak QMP (no greeting within [`TIMEOUT`], or
//!   something else first), QEMU refused a command, the connection closed or failed
//!   before streaming, or a read failed while streaming.
//! - 2: a usage error (the usage is printed on standard error).
//! - Ctrl-C ends the agent the default way (killed by SIGINT, status 130 in a shell).
//!
//! The agent sends nothing after its two queries, so it never changes the guest. It
//! waits at most [`TIMEOUT`] for the monitor to accept, greet, negotiate and answer;
//! while streaming, a quiet monitor is normal and the agent waits as long as it takes.
//! A QEMU monitor serves one client at a time: give the agent a monitor of its own
//! (`-qmp` or `-mon` can be given several times).

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use qmp_core::io::std::{connect_tcp, connect_unix, StdIo};
use qmp_core::io::{Connection, Error};
use qmp_core::json::JsonStr;
use qmp_core::message::{EventMessage, Timestamp};
use qmp_core::schema::commands::{QueryStatus, QueryVersion};
use qmp_core::schema::events::{Event, NetworkAddressFamily, VncClientInfo};

/// How long to wait for the monitor to accept, and then for each read and write.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The framer's buffer: the largest message the agent reads (QEMU's events are far
/// smaller; a larger message is counted as discarded).
const BUFFER: usize = 64 * 1024;

/// The agent's connection: to a unix or TCP socket `S`, reading into a heap buffer,
/// with the default pending table and event queue.
type Agent<S> = Connection<StdIo<S>, Vec<u8>>;

const USAGE: &str = "\
usage: agent MONITOR

Connect to the QMP monitor at MONITOR (HOST:PORT for TCP, or the path of a unix
socket), print the QEMU version and the run state, then one line per event:
time (seconds.microseconds, from QEMU), name, details. Ctrl-C stops it.

Exit status: 0 when the monitor closes the connection, 1 on an error, 2 on bad usage.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let monitor = match args.as_slice() {
        [help] if help == "-h" || help == "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [arg] if !arg.starts_with('-') => Monitor::parse(arg),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let buf = vec![0; BUFFER];
    let result = match &monitor {
        Monitor::Unix(path) => connect_unix(path, buf, Some(TIMEOUT))
            .map_err(connect_error)
            .and_then(run),
        Monitor::Tcp(addr) => connect_tcp(addr.as_str(), buf, Some(TIMEOUT))
            .map_err(connect_error)
            .and_then(run),
    };
    match result {
        Ok(()) => {
            println!("connection closed");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("agent: {monitor}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Where the monitor is.
enum Monitor {
    /// A unix socket's path.
    Unix(String),
    /// `HOST:PORT`.
    Tcp(String),
}

impl Monitor {
    fn parse(arg: &str) -> Self {
        let port = arg.rsplit_once(':').map(|(_, port)| port);
        let is_port = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !arg.contains('/') && port.is_some_and(is_port) {
            Self::Tcp(arg.to_owned())
        } else {
            Self::Unix(arg.to_owned())
        }
    }
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix socket {path}"),
            Self::Tcp(addr) => write!(f, "tcp {addr}"),
        }
    }
}

/// What went wrong while connecting and negotiating.
fn connect_error(error: Error<std::io::Error>) -> String {
    match error {
        Error::Io(e) => format!("cannot connect: {e}"),
        Error::Timeout => format!(
            "nothing within {} s: no server accepted, or it sent no QMP greeting (not a QMP \
             monitor, or one busy with another client)",
            TIMEOUT.as_secs()
        ),
        Error::NoGreeting => "not a QMP monitor: the peer did not greet with QMP".to_owned(),
        Error::Closed => "the peer closed the connection before negotiating".to_owned(),
        Error::Failed(refusal) => format!("the monitor refused qmp_capabilities: {refusal}"),
        other => format!("negotiating: {other}"),
    }
}

/// Print the version and the status, then the events. `Ok` once the monitor has closed
/// the connection; `Err` with what went wrong otherwise.
fn run<S: std::io::Read + std::io::Write>(mut qmp: Agent<S>) -> Result<(), String> {
    let version = qmp
        .execute(&QueryVersion)
        .map_err(|e| format!("query-version: {e}"))?;
    let triple = version.qemu;
    print!("QEMU {}.{}.{}", triple.major, triple.minor, triple.micro);
    if version.package.raw_bytes().is_empty() {
        println!();
    } else {
        println!(" ({})", version.package);
    }
    let status = qmp
        .execute(&QueryStatus)
        .map_err(|e| format!("query-status: {e}"))?;
    println!("status: {}", status.status);
    println!("events: time (seconds.microseconds since the epoch, from QEMU), name, details");

    let mut counts = Counts::default();
    loop {
        match qmp.next_event() {
            Ok(event) => println!("{}", EventLine(&event)),
            // A quiet monitor: the read timeout only bounds each read.
            Err(Error::Timeout) => {}
            Err(Error::Closed) => break,
            Err(e) => return Err(format!("reading events: {e}")),
        }
        counts.report(&qmp);
    }
    counts.report(&qmp);
    Ok(())
}

/// The counts of events dropped and messages discarded, as last printed.
#[derive(Default)]
struct Counts {
    dropped: u64,
    discarded: u64,
}

impl Counts {
    /// Print each count that grew since the last call.
    fn report<S: std::io::Read + std::io::Write>(&mut self, qmp: &Agent<S>) {
        let dropped = qmp.events_dropped();
        if dropped > self.dropped {
            println!("(events dropped so far: {dropped}: too large for the event queue)");
            self.dropped = dropped;
        }
        let discarded = qmp.discarded();
        if discarded > self.discarded {
            println!(
                "(messages discarded so far: {discarded}: not JSON, not QMP, or a reply to \
                 no command of ours)"
            );
            self.discarded = discarded;
        }
    }
}

/// One event as one line: time, name, details.
struct EventLine<'a, 'b>(&'a EventMessage<'b>);

impl fmt::Display for EventLine<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event = self.0;
        write!(f, "{} {}", Time(event.timestamp), event.name)?;
        match Event::from_message(event) {
            Ok(typed) => details(f, &typed, event),
            Err(e) => {
                if let Some(data) = event.data {
                    write!(f, " {data}")?;
                }
                write!(f, " (not the documented form: {e})")
            }
        }
    }
}

/// The timestamp as `seconds.microseconds`, or `?` for QEMU's "no clock" (-1, -1).
struct Time(Timestamp);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Timestamp {
            seconds,
            microseconds,
        } = self.0;
        if seconds >= 0 && (0..1_000_000).contains(&microseconds) {
            write!(f, "{seconds}.{microseconds:06}")
        } else {
            f.write_str("?")
        }
    }
}

/// What the typed event says, each field as ` key=value` (a network peer as
/// ` client ADDRESS (FAMILY)`); the raw `data` for events without a typed form.
/// Free text is quoted as on the wire.
fn details(f: &mut fmt::Formatter<'_>, event: &Event<'_>, raw: &EventMessage<'_>) -> fmt::Result {
    match event {
        Event::SpiceConnected(e) => client(f, e.client.host, e.client.port, e.client.family),
        Event::SpiceDisconnected(e) => client(f, e.client.host, e.client.port, e.client.family),
        Event::SpiceInitialized(e) => {
            let c = &e.client;
            client(f, c.host, c.port, c.family)?;
            let kind = format!("{:?}", c.kind()).to_lowercase();
            write!(f, " channel={kind}:{} tls={}", c.channel_id, c.tls)
        }
        Event::VncConnected(e) => {
            let c = &e.client;
            client(f, c.host, Some(c.service), c.family)?;
            websocket(f, c.websocket)
        }
        Event::VncInitialized(e) => vnc_client(f, &e.client),
        Event::VncDisconnected(e) => vnc_client(f, &e.client),
        Event::Shutdown(e) => {
            optional(f, "guest", e.guest)?;
            optional(f, "reason", e.reason)
        }
        Event::Reset(e) => {
            optional(f, "guest", e.guest)?;
            optional(f, "reason", e.reason)
        }
        Event::GuestPanicked(e) => {
            write!(f, " action={}", e.action)?;
            optional(f, "info", e.info.map(|info| info.kind))
        }
        Event::DeviceDeleted(e) => {
            optional(f, "device", e.device)?;
            optional(f, "path", e.path)
        }
        Event::BlockJobCompleted(e) => {
            write!(f, " device={} type={}", e.device, e.kind)?;
            write!(f, " offset={} len={} speed={}", e.offset, e.len, e.speed)?;
            optional(f, "error", e.error.map(Quoted))
        }
        Event::BlockJobCancelled(e) => {
            write!(f, " device={} type={}", e.device, e.kind)?;
            write!(f, " offset={} len={} speed={}", e.offset, e.len, e.speed)
        }
        Event::BlockJobReady(e) => {
            write!(f, " device={}", e.device)?;
            optional(f, "type", e.kind)?;
            optional(f, "offset", e.offset)?;
            optional(f, "len", e.len)?;
            optional(f, "speed", e.speed)
        }
        Event::BlockJobError(e) => write!(
            f,
            " device={} operation={} action={}",
            e.device, e.operation, e.action
        ),
        Event::JobStatusChange(e) => write!(f, " id={} status={}", e.id, e.status),
        Event::Migration(e) => write!(f, " status={}", e.status),
        Event::BalloonChange(e) => write!(f, " actual={}", e.actual),
        Event::RtcChange(e) => {
            write!(f, " offset={}", e.offset)?;
            optional(f, "qom-path", e.qom_path)
        }
        Event::Watchdog(e) => write!(f, " action={}", e.action),
        // Events whose name says it all (STOP, RESUME, POWERDOWN, ...).
        Event::SpiceMigrateCompleted
        | Event::Powerdown
        | Event::Stop
        | Event::Resume
        | Event::Suspend
        | Event::Wakeup => Ok(()),
        // No typed form (`Unknown`, and any variant a later qmp-core adds): the data as
        // QEMU sent it.
        _ => match raw.data {
            Some(data) => write!(f, " {data}"),
            None => Ok(()),
        },
    }
}

/// ` client HOST:PORT (FAMILY)`: `[HOST]:PORT` for IPv6, no address when QEMU gives
/// none (a unix socket client).
fn client(
    f: &mut fmt::Formatter<'_>,
    host: JsonStr<'_>,
    port: Option<JsonStr<'_>>,
    family: NetworkAddressFamily<'_>,
) -> fmt::Result {
    f.write_str(" client")?;
    let port = port.filter(|p| !p.raw_bytes().is_empty());
    match (host.raw_bytes().is_empty(), port) {
        (true, None) => {}
        (_, None) => write!(f, " {host}")?,
        (_, Some(port)) if family == NetworkAddressFamily::Ipv6 => write!(f, " [{host}]:{port}")?,
        (_, Some(port)) => write!(f, " {host}:{port}")?,
    }
    write!(f, " ({family})")
}

/// A VNC client that got past the handshake: its address, and who it authenticated as.
fn vnc_client(f: &mut fmt::Formatter<'_>, c: &VncClientInfo<'_>) -> fmt::Result {
    client(f, c.host, Some(c.service), c.family)?;
    websocket(f, c.websocket)?;
    optional(f, "x509-dname", c.x509_dname.map(Quoted))?;
    optional(f, "sasl-username", c.sasl_username.map(Quoted))
}

/// ` websocket` for a client that came over a websocket.
fn websocket(f: &mut fmt::Formatter<'_>, websocket: Option<bool>) -> fmt::Result {
    if websocket == Some(true) {
        f.write_str(" websocket")?;
    }
    Ok(())
}

/// ` KEY=VALUE` when the member is present.
fn optional(
    f: &mut fmt::Formatter<'_>,
    key: &str,
    value: Option<impl fmt::Display>,
) -> fmt::Result {
    match value {
        Some(value) => write!(f, " {key}={value}"),
        None => Ok(()),
    }
}

/// Free text in double quotes, escaped as QEMU sent it (a space cannot split it).
struct Quoted<'a>(JsonStr<'a>);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.raw())
    }
}
