//! The cost of receiving a message on this core: a real capture of QEMU's output (a
//! session with VNC clients coming and going: greeting, replies, events), embedded in
//! the image, framed and parsed from memory in 64-byte reads, as the UART would deliver
//! it, timed with the board's timer. Under QEMU with `-icount shift=0` a timer tick is
//! 40 instructions, so the figure is instructions per message; on real hardware (or
//! without `-icount`) it is a time.

use qmp_core::frame::Framer;
use qmp_core::message::Message;

use crate::timer::{self, Instant};

/// The capture: exactly the bytes QEMU 10.0.2 sent.
const CAPTURE: &[u8] = include_bytes!("../../../testdata/captures/vnc_events.rx.bin");
/// How many times the capture is decoded.
const PASSES: u32 = 20;

/// Decode the capture [`PASSES`] times and print messages, ticks and the cost per
/// message.
pub fn decode() {
    let mut framer = Framer::new([0u8; 1024]);
    let (mut messages, mut refused) = (0u32, 0u32);
    let start = Instant::now();
    for _ in 0..PASSES {
        for read in CAPTURE.chunks(64) {
            framer.feed(read, |item| match item.map(Message::parse) {
                Ok(Ok(_)) => messages += 1,
                _ => refused += 1,
            });
        }
    }
    let ticks = start.elapsed();
    let per_message =
        u64::from(ticks) * 1_000_000_000 / u64::from(timer::HZ) / u64::from(messages.max(1));
    say!(
        "decode: {messages} messages ({} bytes, {refused} refused) in {ticks} ticks: {per_message} instructions per message with -icount shift=0",
        CAPTURE.len() as u32 * PASSES
    );
}
