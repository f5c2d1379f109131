//! A code-size probe: the smallest realistic firmware that speaks QMP with qmp-core.
//!
//! It frames bytes as a UART would deliver them (16 at a time), classifies each frame
//! with `Message::parse`, decodes the two events it cares about into typed payloads
//! (`SpiceConnected::from_message`, `Shutdown::from_message`), and answers with typed
//! commands (`schema::commands`, written by `Command::encode`) into a stack buffer. Every result goes through
//! `core::hint::black_box`, so the optimiser keeps all of it. The image is never run;
//! `measure.sh` builds it and prints its section sizes.
//!
//! Two default features split the image into layers for `measure.sh`'s breakdown:
//! `typed-events` (decode the two events into typed payloads; without it, only the
//! message layer's name and raw data are read) and `encode` (send commands; without it,
//! nothing is encoded). `all-events` decodes through `schema::Event::from_message`
//! instead, which links the decoders of the whole event catalogue.
//!
//! No `unsafe` code: the only unsafe-looking token is the `#[unsafe(no_mangle)]`
//! attribute that exports the `Reset` entry symbol for the linker script.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

#[cfg(feature = "encode")]
use qmp_core::encode::{Id, SliceSink};
use qmp_core::frame::{Frame, Framer};

use qmp_core::message::{self, Message};
use qmp_core::schema::commands::{Command, DeviceDel, QmpCapabilities, QueryStatus};
#[cfg(all(feature = "typed-events", not(feature = "all-events")))]
use qmp_core::schema::events::{EventData, Shutdown, SpiceConnected};
#[cfg(feature = "all-events")]
use qmp_core::schema::Event;

/// What the UART receives: real QEMU 10.0.2 output (greeting, two returns, a
/// `SPICE_CONNECTED` and a `SHUTDOWN` event), CRLF-terminated as QEMU sends it.
static UART_RX: &[u8] = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"capabilities\": [\"oob\"]}}\r\n\
{\"return\": {}, \"id\": 1}\r\n\
{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 2}\r\n\
{\"timestamp\": {\"seconds\": 1795639847, \"microseconds\": 267082}, \"event\": \"SPICE_CONNECTED\", \"data\": {\"server\": {\"port\": \"5931\", \"family\": \"ipv4\", \"host\": \"127.0.0.1\"}, \"client\": {\"port\": \"59196\", \"family\": \"ipv4\", \"host\": \"127.0.0.1\"}}}\r\n\
{\"timestamp\": {\"seconds\": 1795639852, \"microseconds\": 349927}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n";

/// Bytes per UART read.
const READ: usize = 16;

#[unsafe(no_mangle)]
pub extern "C" fn Reset() -> ! {
    let mut framer = Framer::new([0u8; 1024]);
    let mut tx = [0u8; 256];
    let mut next_id = 1u64;
    loop {
        framer.reset();
        for read in black_box(UART_RX).chunks(READ) {
            let mut rest = read;
            while !rest.is_empty() {
                let n = framer.push(rest);
                rest = &rest[n..];
                drain(&mut framer, &mut tx, &mut next_id);
            }
        }
        framer.finish();
        drain(&mut framer, &mut tx, &mut next_id);
    }
}

/// Handle every complete frame.
fn drain(framer: &mut Framer<[u8; 1024]>, tx: &mut [u8], next_id: &mut u64) {
    while let Some(frame) = framer.next() {
        match frame {
            Ok(frame) => handle(frame, tx, next_id),
            Err(e) => {
                black_box((e.start(), e.skipped()));
            }
        }
    }
}

/// React to one message, answering with a command where a client would.
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

/// Encode `command` with id `id` into `tx`, as it would go to the UART.
#[cfg(feature = "encode")]
fn send<C: Command>(tx: &mut [u8], command: &C, id: u64) {
    let mut sink = SliceSink::new(tx);
    let sent = command.encode(&mut sink, Some(Id::U64(id)));
    black_box(sent.is_ok());
    black_box(sink.written());
}

/// Without encoding: only say which command would go out.
#[cfg(not(feature = "encode"))]
fn send<C: Command>(tx: &mut [u8], command: &C, id: u64) {
    let _ = command;
    black_box((tx, C::NAME, id));
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}
