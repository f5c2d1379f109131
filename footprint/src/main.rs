//! A code-size probe: the smallest realistic firmware that speaks QMP with qmp-core.
//!
//! It frames bytes as a UART would deliver them (16 at a time) and hands every framer
//! item to a sans-IO `session::Client`, which classifies it: the client negotiates
//! after the greeting, then sends two typed commands (`query-status`, `device_del`,
//! written by `Command::encode` into a stack buffer), matches their replies to its
//! tickets (decoding `query-status`'s) and hands the events over, two of which are
//! decoded into typed payloads (`SpiceConnected::from_message`,
//! `Shutdown::from_message`). Every result goes through `core::hint::black_box`, so the
//! optimiser keeps all of it. The image is never run; `measure.sh` builds it and prints
//! its section sizes.
//!
//! Two default features split the image into layers for `measure.sh`'s breakdown:
//! `typed-events` (decode the two events into typed payloads; without it, only the
//! message layer's name and raw data are read) and `session` (the client session, which
//! encodes its commands; without it, each frame is classified with `Message::parse` and
//! nothing is encoded). `all-events` decodes through `schema::Event::from_message`
//! instead, which links the decoders of the whole event catalogue.
//!
//! No `unsafe` code: the only unsafe-looking token is the `#[unsafe(no_mangle)]`
//! attribute that exports the `Reset` entry symbol for the linker script.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

#[cfg(feature = "session")]
use qmp_core::encode::SliceSink;
use qmp_core::frame::Framer;
use qmp_core::message::{self, Message};
use qmp_core::schema::commands::{DeviceDel, QueryStatus};
#[cfg(all(feature = "typed-events", not(feature = "all-events")))]
use qmp_core::schema::events::{EventData, Shutdown, SpiceConnected};
#[cfg(feature = "all-events")]
use qmp_core::schema::Event;
#[cfg(feature = "session")]
use qmp_core::session::{Client, ClientOutcome, Ticket};
#[cfg(not(feature = "session"))]
use qmp_core::{
    frame::Frame,
    schema::commands::{Command, QmpCapabilities},
};

/// What the UART receives: real QEMU 10.0.2 output (greeting, the replies to
/// `qmp_capabilities`, `query-status` and `device_del`, a `SPICE_CONNECTED` and a
/// `SHUTDOWN` event), CRLF-terminated as QEMU sends it, with the ids the client gives.
static UART_RX: &[u8] = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"capabilities\": [\"oob\"]}}\r\n\
{\"return\": {}, \"id\": 0}\r\n\
{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 1}\r\n\
{\"return\": {}, \"id\": 2}\r\n\
{\"timestamp\": {\"seconds\": 1795639847, \"microseconds\": 267082}, \"event\": \"SPICE_CONNECTED\", \"data\": {\"server\": {\"port\": \"5931\", \"family\": \"ipv4\", \"host\": \"127.0.0.1\"}, \"client\": {\"port\": \"59196\", \"family\": \"ipv4\", \"host\": \"127.0.0.1\"}}}\r\n\
{\"timestamp\": {\"seconds\": 1795639852, \"microseconds\": 349927}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n";

/// Bytes per UART read.
const READ: usize = 16;

/// The firmware's state: the framer, the transmit buffer and, with `session`, the client
/// and the ticket of the command whose reply it decodes.
struct Firmware {
    framer: Framer<[u8; 1024]>,
    tx: [u8; 256],
    #[cfg(feature = "session")]
    client: Client<2>,
    #[cfg(feature = "session")]
    status: Option<Ticket>,
    #[cfg(not(feature = "session"))]
    next_id: u64,
}

#[unsafe(no_mangle)]
pub extern "C" fn Reset() -> ! {
    let mut fw = Firmware {
        framer: Framer::new([0u8; 1024]),
        tx: [0u8; 256],
        #[cfg(feature = "session")]
        client: Client::new(),
        #[cfg(feature = "session")]
        status: None,
        #[cfg(not(feature = "session"))]
        next_id: 0,
    };
    loop {
        fw.framer.reset();
        for read in black_box(UART_RX).chunks(READ) {
            let mut rest = read;
            while !rest.is_empty() {
                let n = fw.framer.push(rest);
                rest = &rest[n..];
                fw.drain();
            }
        }
        fw.framer.finish();
        fw.drain();
        fw.reconnect();
    }
}

#[cfg(feature = "session")]
impl Firmware {
    /// Hand every complete framer item to the client and act on what it says.
    fn drain(&mut self) {
        while let Some(item) = self.framer.next() {
            let outcome = self.client.handle(item);
            react(&mut self.client, &mut self.status, outcome, &mut self.tx);
        }
    }

    /// A new connection: a fresh session, and the tickets the old one left unanswered.
    fn reconnect(&mut self) {
        black_box(self.client.reset().len());
        self.status = None;
    }
}

/// Act on one outcome of the client, writing any command into `tx`.
#[cfg(feature = "session")]
#[inline(never)]
fn react(
    client: &mut Client<2>,
    status: &mut Option<Ticket>,
    outcome: ClientOutcome<'_>,
    tx: &mut [u8],
) {
    let mut sink = SliceSink::new(tx);
    match outcome {
        ClientOutcome::Greeting(greeting) => {
            black_box(greeting.offers("oob"));
            black_box(client.negotiate(false, &mut sink).is_ok());
        }
        ClientOutcome::Negotiated { oob } => {
            black_box(oob);
            *status = client.execute(&QueryStatus, &mut sink).ok();
            let del = client.execute(&DeviceDel { id: "net0" }, &mut sink);
            black_box(del.is_ok());
        }
        ClientOutcome::Event(event) => {
            black_box(event.timestamp);
            on_event(&event);
        }
        ClientOutcome::Reply {
            ticket,
            message: Message::Return(ret),
        } => {
            // The status reply's one field this firmware needs, read raw (the typed
            // `decode_reply::<QueryStatus>` links the whole `StatusInfo` decoder).
            let running = ret.value.get("running").and_then(|r| r.as_bool());
            black_box((Some(ticket) == *status, running));
        }
        other => {
            black_box(other.ticket());
        }
    }
    black_box(sink.written());
}

#[cfg(not(feature = "session"))]
impl Firmware {
    /// Classify every complete frame by hand, saying which command would answer it.
    fn drain(&mut self) {
        while let Some(frame) = self.framer.next() {
            match frame {
                Ok(frame) => handle(frame, &mut self.tx, &mut self.next_id),
                Err(e) => {
                    black_box((e.start(), e.skipped()));
                }
            }
        }
    }

    fn reconnect(&mut self) {
        self.next_id = 0;
    }
}

/// React to one message, saying which command a client would answer with.
#[cfg(not(feature = "session"))]
fn handle(frame: Frame<'_>, tx: &mut [u8], next_id: &mut u64) {
    let id = *next_id;
    *next_id = next_id.wrapping_add(1);
    match Message::parse(frame) {
        Ok(Message::Greeting(greeting)) => {
            black_box(greeting.offers("oob"));
            send(tx, &QmpCapabilities { enable: None }, id);
        }
        Ok(Message::Return(ret)) => {
            black_box(ret.id.and_then(|id| id.as_u64()));
            black_box(ret.value.get("running").and_then(|r| r.as_bool()));
            send(tx, &QueryStatus, id);
        }
        Ok(Message::Event(event)) => {
            black_box(event.timestamp);
            on_event(&event);
            send(tx, &DeviceDel { id: "net0" }, id);
        }
        Ok(other) => {
            black_box(other.id());
        }
        Err(e) => {
            black_box(e);
        }
    }
}

/// Without the session nothing is encoded: only say which command would go out.
#[cfg(not(feature = "session"))]
fn send<C: Command>(tx: &mut [u8], command: &C, id: u64) {
    let _ = command;
    black_box((tx, C::NAME, id));
}

/// Decode the payloads of the events this firmware cares about, and read a field of
/// each. Only these two decoders are linked.
#[cfg(all(feature = "typed-events", not(feature = "all-events")))]
fn on_event(event: &message::EventMessage<'_>) {
    if let Some(spice) = SpiceConnected::from_message(event) {
        match spice {
            Ok(spice) => {
                black_box(spice.client.port);
                black_box(spice.client.family);
            }
            Err(e) => {
                black_box(e);
            }
        }
    } else if let Some(shutdown) = Shutdown::from_message(event) {
        match shutdown {
            Ok(shutdown) => {
                black_box(shutdown.reason);
            }
            Err(e) => {
                black_box(e);
            }
        }
    } else {
        black_box(event.name);
    }
}

/// Decode any event of the catalogue by name: links all 25 decoders.
#[cfg(feature = "all-events")]
fn on_event(event: &message::EventMessage<'_>) {
    match Event::from_message(event) {
        Ok(Event::SpiceConnected(spice)) => {
            black_box(spice.client.port);
            black_box(spice.client.family);
        }
        Ok(Event::Shutdown(shutdown)) => {
            black_box(shutdown.reason);
        }
        Ok(other) => {
            black_box(other.name());
        }
        Err(e) => {
            black_box(e);
        }
    }
}

/// Without typed events: the name and the raw payload only.
#[cfg(not(feature = "typed-events"))]
fn on_event(event: &message::EventMessage<'_>) {
    black_box(event.name);
    black_box(event.data);
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}
