//! A bare-metal QMP client: firmware for Arm's MPS2 board with the AN386 image
//! (Cortex-M4F, QEMU's `mps2-an386`) that talks QMP over a UART with
//! [`qmp_core::io::Connection`], no heap and no operating system.
//!
//! UART0 goes to a QMP server (a QEMU monitor); UART1 is a console where the program
//! says what happens. It waits for the greeting, negotiates, asks `query-status`, then
//! writes one line per event, asking `query-status` again after each STOP and RESUME:
//!
//! ```text
//! qmp agent: waiting for a QMP greeting on UART0
//! qmp: negotiated
//! status: running
//! 1796044208.470446 STOP
//! status: paused
//! 1796044208.790796 SHUTDOWN guest=false reason=host-qmp-quit
//! ```
//!
//! When the session fails (the peer's bytes are not QMP, a reply cannot be read, ...)
//! the console says why and the program waits for the next greeting: a QEMU monitor
//! greets each new client. A command the peer refuses is only reported.
//!
//! Build it from this folder (`.cargo/config.toml` selects `thumbv7em-none-eabihf` and
//! the linker script `link.x`, which lays the image out for the board):
//!
//! ```sh
//! cargo build --release
//! ```
//!
//! The QMP code is generic over any [`embedded_io::Read`] + [`embedded_io::Write`]
//! transport and needs no `unsafe`; the UART driver ([`uart`]) and the start-up code
//! ([`rt`]) hold the few lines that do.

#![no_std]
#![no_main]
#![deny(unsafe_code)]
// `io::Error` carries the peer's error text inline (there is no heap to box it in).
#![allow(clippy::result_large_err)]

mod rt;
mod uart;

use core::convert::Infallible;
use core::fmt::{self, Write as _};

use qmp_core::io::{Connection, Error};
use qmp_core::message::{EventMessage, Timestamp};
use qmp_core::schema::commands::QueryStatus;
use qmp_core::schema::events::{EventData, Shutdown};

use uart::{Port, Uart};

/// The framer's buffer: the largest message the program reads. QEMU's replies to
/// `qmp_capabilities` and `query-status` and its common events take under 300 bytes; a
/// larger event is skipped and counted.
const BUFFER: usize = 1024;
/// The event queue, in bytes: room for the events that come while a command waits for
/// its reply.
const EVENTS: usize = 512;
/// Commands awaiting a reply at once (the program sends one at a time).
const PENDING: usize = 2;

/// A QMP session over the transport `T`.
type Qmp<T> = Connection<T, [u8; BUFFER], PENDING, EVENTS>;

/// Called by the reset handler.
fn main() -> ! {
    let mut console = Uart::new(Port::Uart1);
    let mut monitor = Uart::new(Port::Uart0);
    let _ = writeln!(console, "qmp agent: waiting for a QMP greeting on UART0");
    loop {
        let Err(error) = session(&mut monitor, &mut console);
        let _ = writeln!(console, "qmp: {error}; waiting for a new greeting");
    }
}

/// Negotiate over `transport`, report the run state, then report events until
/// something fails. Returns only with the failure.
fn session<T>(transport: T, console: &mut impl fmt::Write) -> Result<Infallible, Error<T::Error>>
where
    T: embedded_io::Read + embedded_io::Write,
    T::Error: 'static,
{
    let mut qmp: Qmp<T> = Connection::connect(transport, [0; BUFFER])?;
    let _ = writeln!(console, "qmp: negotiated");
    status(&mut qmp, console)?;
    let (mut dropped, mut discarded) = (0, 0);
    loop {
        let event = qmp.next_event()?;
        let _ = log_event(console, &event);
        let run_state_changed = event.name == "STOP" || event.name == "RESUME";
        if run_state_changed {
            status(&mut qmp, console)?;
        }
        if qmp.events_dropped() > dropped {
            dropped = qmp.events_dropped();
            let _ = writeln!(console, "qmp: {dropped} events did not fit the queue");
        }
        if qmp.discarded() > discarded {
            discarded = qmp.discarded();
            let _ = writeln!(console, "qmp: {discarded} messages discarded");
        }
    }
}

/// Ask `query-status` and write the run state. A refusal or a reply of another shape
/// is written too and the session goes on; a transport or session error ends it.
fn status<T>(qmp: &mut Qmp<T>, console: &mut impl fmt::Write) -> Result<(), Error<T::Error>>
where
    T: embedded_io::Read + embedded_io::Write,
    T::Error: 'static,
{
    match qmp.execute(&QueryStatus) {
        Ok(status) => {
            let _ = writeln!(console, "status: {}", status.status);
            Ok(())
        }
        Err(error @ (Error::Failed(_) | Error::Decode(_) | Error::ReplyTooLarge { .. })) => {
            let _ = writeln!(console, "query-status: {error}");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// One line: the event's time and name, then SHUTDOWN's fields typed, or the `data`
/// of any other event as QEMU sent it.
fn log_event(console: &mut impl fmt::Write, event: &EventMessage<'_>) -> fmt::Result {
    let Timestamp {
        seconds,
        microseconds,
    } = event.timestamp;
    write!(console, "{seconds}.{microseconds:06} {}", event.name)?;
    match Shutdown::from_message(event) {
        Some(Ok(shutdown)) => {
            if let Some(guest) = shutdown.guest {
                write!(console, " guest={guest}")?;
            }
            if let Some(reason) = shutdown.reason {
                write!(console, " reason={reason}")?;
            }
        }
        _ => {
            if let Some(data) = event.data {
                write!(console, " {data}")?;
            }
        }
    }
    writeln!(console)
}
