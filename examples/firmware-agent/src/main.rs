//! A QMP agent in firmware: a `no_std`, `no_main` image for Arm's MPS2 board with the
//! AN386 image (Cortex-M4F, QEMU's `mps2-an386`) that drives a QEMU over its UART with
//! qmp-core's blocking [`Connection`], no heap and no operating system, and reports
//! through semihosting.
//!
//! It runs a fixed script and checks every answer:
//!
//! 1. read the greeting and negotiate (with `oob` when offered);
//! 2. `query-status` (expects running), `query-name`;
//! 3. `stop` (expects the STOP event before its reply), `query-status` (paused);
//! 4. `cont` (RESUME), a command typed in the human syntax
//!    (`human-monitor-command command-line="info version"`), `query-status` (running);
//!
//! printing each typed reply and every typed event as it goes, then the counts of what
//! it passed over, the cost of decoding a real capture, and its stack's high-water
//! mark. It exits (semihosting `SYS_EXIT_EXTENDED`) with:
//!
//! | status | meaning |
//! |---|---|
//! | 0 | every step got the answer it expected |
//! | 1 | the script ran to its end, but some answers differed (each is printed as a typed error) |
//! | 2 | the session broke off (closed, timed out, no QMP greeting) |
//! | 3 | the watchdog fired: the UART read budget ran out |
//! | 4 | a processor fault; 101: a panic (neither is expected) |
//!
//! Build it from this folder (`.cargo/config.toml` selects `thumbv7em-none-eabihf` and
//! the linker script `link.x`): `cargo build --release`. `qmp-core/tests/live_firmware.rs`
//! runs it against a real QEMU and against a hostile peer.

#![no_std]
#![no_main]
#![deny(unsafe_code)]
// `io::Error` carries the peer's error text inline (there is no heap to box it in).
#![allow(clippy::result_large_err)]

#[macro_use]
mod host;
mod bench;
mod hw;
mod rt;
mod timer;
mod uart;

use core::fmt;

use qmp_core::io::{Connection, Error, RawReply};
use qmp_core::json::RawJson;
use qmp_core::message::EventMessage;
use qmp_core::schema::commands::{Command, Cont, QueryName, QueryStatus, RunState, Stop};
use qmp_core::schema::events::{EventData, Reset, Shutdown};
use qmp_core::shell::ShellCommand;

use uart::{Uart, UartError};

/// The framer's buffer: the largest message the agent reads. QEMU's replies to this
/// script and its common events take under 300 bytes.
const BUFFER: usize = 1024;
/// The event queue, in bytes: the events that come while a command waits for its reply.
const EVENTS: usize = 512;
/// Commands awaiting a reply at once (the script sends one at a time).
const PENDING: usize = 2;

/// The agent's QMP connection.
type Qmp = Connection<Uart, [u8; BUFFER], PENDING, EVENTS>;

/// The command typed in the human syntax.
const HUMAN: &str = r#"human-monitor-command command-line="info version""#;

/// Called by the reset handler.
fn main() -> ! {
    timer::start();
    say!("firmware agent: QMP over UART0");
    let mut tally = Tally::default();
    let code = match script(&mut tally) {
        Ok(()) if tally.differed == 0 => 0,
        Ok(()) => 1,
        Err(Halt::Watchdog) => 3,
        Err(Halt::Broken) => 2,
    };
    say!(
        "steps: {} of {} as expected",
        tally.steps - tally.differed,
        tally.steps
    );
    bench::decode();
    say!("stack: {} bytes at most", rt::stack_high_water());
    say!("exit: {code}");
    hw::exit(code)
}

/// Why the script stopped early.
enum Halt {
    /// The session broke off.
    Broken,
    /// The watchdog fired.
    Watchdog,
}

/// The steps taken and how many got another answer than expected.
#[derive(Default)]
struct Tally {
    steps: u32,
    differed: u32,
}

impl Tally {
    /// Count a step and print `what` and its outcome.
    fn step(&mut self, what: &str, expected: bool, outcome: fmt::Arguments<'_>) {
        self.steps += 1;
        if expected {
            say!("{what}: {outcome}");
        } else {
            self.differed += 1;
            say!("{what}: {outcome} (not as expected)");
        }
    }
}

/// The script. `Err` when the session broke off (what happened is printed first).
fn script(tally: &mut Tally) -> Result<(), Halt> {
    let mut qmp: Qmp = match Connection::connect(Uart::new(), [0; BUFFER]) {
        Ok(qmp) => qmp,
        Err(e) => return Err(broken("connect", &e)),
    };
    match qmp.qemu_version() {
        Some([major, minor, micro]) => tally.step(
            "greeting",
            true,
            format_args!("QEMU {major}.{minor}.{micro}"),
        ),
        None => tally.step("greeting", false, format_args!("no version")),
    }
    let oob = if qmp.oob_enabled() { "on" } else { "off" };
    tally.step("negotiated", true, format_args!("oob {oob}"));

    status(&mut qmp, tally, RunState::Running)?;
    match qmp.execute(&QueryName) {
        Ok(name) => match name.name {
            Some(name) => tally.step("query-name", true, format_args!("{name}")),
            None => tally.step("query-name", true, format_args!("(no name)")),
        },
        Err(e) => settle(tally, "query-name", e)?,
    }
    events(&mut qmp);

    run_state_change(&mut qmp, tally, &Stop, "STOP")?;
    status(&mut qmp, tally, RunState::Paused)?;
    run_state_change(&mut qmp, tally, &Cont, "RESUME")?;

    // A human-syntax line is checked whole before anything is sent.
    let line = match ShellCommand::parse(HUMAN) {
        Ok(line) => line,
        Err(e) => {
            tally.step("human syntax", false, format_args!("{e}"));
            return Ok(());
        }
    };
    match qmp.execute_shell(&line) {
        Ok(RawReply::Return(ret)) => {
            let text = ret.value.as_json_str();
            let first = text.map(|t| t.to_str_lossy_line()).unwrap_or_default();
            tally.step(HUMAN, text.is_some(), format_args!("{first}"));
        }
        Ok(RawReply::Error(e)) => {
            tally.step(HUMAN, false, format_args!("{}: {}", e.class.name(), e.desc))
        }
        Err(e) => settle(tally, HUMAN, e)?,
    }
    status(&mut qmp, tally, RunState::Running)?;
    events(&mut qmp);

    say!(
        "passed over: {} events dropped (queue full), {} messages discarded; {} bytes received",
        qmp.events_dropped(),
        qmp.discarded(),
        qmp.transport().received
    );
    Ok(())
}

/// `stop` or `cont`: the reply, and the event `expected` among those that came first.
fn run_state_change<C: Command>(
    qmp: &mut Qmp,
    tally: &mut Tally,
    command: &C,
    expected: &str,
) -> Result<(), Halt> {
    match qmp.execute(command) {
        Ok(_) => tally.step(C::NAME, true, format_args!("ok")),
        Err(e) => return settle(tally, C::NAME, e),
    }
    let seen = events(qmp).contains(expected);
    tally.step(
        C::NAME,
        seen,
        format_args!("{expected} came before the reply: {seen}"),
    );
    Ok(())
}

/// `query-status`, expecting `want`.
fn status(qmp: &mut Qmp, tally: &mut Tally, want: RunState<'_>) -> Result<(), Halt> {
    match qmp.execute(&QueryStatus) {
        Ok(status) => tally.step(
            "query-status",
            status.status == want,
            format_args!("{} (running: {})", status.status, status.running),
        ),
        Err(e) => settle(tally, "query-status", e)?,
    }
    Ok(())
}

/// A step that failed: a refusal, a reply of another shape or too large counts as an
/// unexpected answer and the script goes on; anything else ends it.
fn settle(tally: &mut Tally, what: &str, error: Error<UartError>) -> Result<(), Halt> {
    match error {
        Error::Failed(_) | Error::Decode(_) | Error::ReplyTooLarge { .. } => {
            tally.step(what, false, format_args!("{error}"));
            Ok(())
        }
        error => Err(broken(what, &error)),
    }
}

/// Print why the session broke off.
fn broken(what: &str, error: &Error<UartError>) -> Halt {
    say!("{what}: {error}");
    match error {
        Error::Io(UartError::Watchdog) => Halt::Watchdog,
        _ => Halt::Broken,
    }
}

/// The names of the queued events, printed one per line as they are taken.
#[derive(Default)]
struct Seen {
    names: heapless::Vec<heapless::String<32>, 16>,
}

impl Seen {
    fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

/// Take and print every queued event.
fn events(qmp: &mut Qmp) -> Seen {
    let mut seen = Seen::default();
    while let Some(event) = qmp.try_next_event() {
        say!("event: {}", EventLine(&event));
        let mut name = heapless::String::new();
        for c in event.name.chars() {
            if name.push(c).is_err() {
                break;
            }
        }
        let _ = seen.names.push(name);
    }
    seen
}

/// An event as one line: its time and name, then its typed fields.
struct EventLine<'e, 'a>(&'e EventMessage<'a>);

impl fmt::Display for EventLine<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event = self.0;
        let time = event.timestamp;
        write!(
            f,
            "{} at {}.{:06}",
            event.name, time.seconds, time.microseconds
        )?;
        // Only the events this agent expects are decoded (the whole catalogue,
        // `schema::Event::from_message`, would add its decoders to the image).
        let typed = match (Shutdown::from_message(event), Reset::from_message(event)) {
            (Some(Ok(s)), _) => Some((s.guest, s.reason)),
            (_, Some(Ok(r))) => Some((r.guest, r.reason)),
            _ => None,
        };
        match typed {
            Some((guest, reason)) => {
                if let Some(guest) = guest {
                    write!(f, " guest={guest}")?;
                }
                if let Some(reason) = reason {
                    write!(f, " reason={reason}")?;
                }
                Ok(())
            }
            None => match event.data {
                Some(data) => write!(f, " {}", Short(data)),
                None => Ok(()),
            },
        }
    }
}

/// A JSON value cut to its first 60 bytes.
struct Short<'a>(RawJson<'a>);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.as_bytes();
        let cut = bytes.len().min(60);
        match core::str::from_utf8(bytes.get(..cut).unwrap_or_default()) {
            Ok(text) if cut < bytes.len() => write!(f, "{text}…"),
            Ok(text) => f.write_str(text),
            Err(_) => write!(f, "({} bytes)", bytes.len()),
        }
    }
}

/// The first line of a JSON string's text, unescaped, at most 64 characters.
trait FirstLine {
    fn to_str_lossy_line(&self) -> heapless::String<64>;
}

impl FirstLine for qmp_core::json::JsonStr<'_> {
    fn to_str_lossy_line(&self) -> heapless::String<64> {
        let mut line = heapless::String::new();
        for c in self.chars() {
            if c == '\r' || c == '\n' || line.push(c).is_err() {
                break;
            }
        }
        line
    }
}
