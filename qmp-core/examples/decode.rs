//! Frame a QMP byte stream and print every frame's offset, size and kind (with the
//! event name or error class), then the framing throughput.
//!
//! ```text
//! cargo run --release -p qmp-core --example decode [FILE] [--buffer BYTES] [--chunk BYTES]
//! ```
//!
//! Without FILE it decodes the bundled capture of a real QEMU 10.0.2 session
//! (`testdata/captures/unix_basic.rx.bin`: greeting, negotiation, queries, errors, a
//! 236 KB `query-qmp-schema` reply, events). The file is fed through a framer with a
//! caller-chosen buffer (default 256 KiB) in chunks of a chosen size (default 4096 bytes),
//! as it would arrive from a socket.

use std::time::{Duration, Instant};

use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::message::Message;

const DEFAULT_CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/captures/unix_basic.rx.bin"
);

fn main() {
    let mut path = None;
    let mut buffer = 256 * 1024;
    let mut chunk = 4096;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> usize {
            match args.next().map(|v| v.parse()) {
                Some(Ok(n)) if n > 0 => n,
                _ => fail(&format!("{name} needs a positive number")),
            }
        };
        match arg.as_str() {
            "--buffer" => buffer = number("--buffer"),
            "--chunk" => chunk = number("--chunk"),
            "-h" | "--help" => {
                println!("usage: decode [FILE] [--buffer BYTES] [--chunk BYTES]");
                return;
            }
            _ if path.is_none() => path = Some(arg),
            _ => fail(&format!("unexpected argument {arg:?}")),
        }
    }
    let (path, name) = match path {
        Some(p) => (p.clone(), p),
        None => (
            DEFAULT_CAPTURE.to_string(),
            "bundled capture testdata/captures/unix_basic.rx.bin".to_string(),
        ),
    };
    let data = std::fs::read(&path).unwrap_or_else(|e| fail(&format!("{name}: {e}")));

    println!(
        "{name}: {} bytes, buffer {buffer} B, chunks of {chunk} B",
        data.len()
    );
    println!("{:>10} {:>8}  kind", "offset", "size");
    let mut framer = Framer::new(vec![0u8; buffer]);
    let (frames, errors) = frame_all(&mut framer, &data, chunk, |item| match item {
        Ok(frame) => println!(
            "{:>10} {:>8}  {}",
            frame.offset(),
            frame.len(),
            kind(&frame)
        ),
        Err(err) => println!("{:>10} {:>8}  error: {err}", err.start(), err.skipped()),
    });
    println!("{frames} frames, {errors} errors");

    // Throughput: frame the same bytes repeatedly for about half a second.
    let started = Instant::now();
    let mut rounds = 0u64;
    while started.elapsed() < Duration::from_millis(500) || rounds < 3 {
        framer.reset();
        let counts = frame_all(&mut framer, &data, chunk, |_| {});
        assert_eq!(counts, (frames, errors), "framing is deterministic");
        rounds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let mb = (data.len() as u64 * rounds) as f64 / 1e6;
    println!(
        "throughput: {:.0} MB/s ({rounds} rounds of {} bytes in {secs:.2} s, release build recommended)",
        mb / secs,
        data.len()
    );
}

/// Feed `data` in `chunk`-sized pieces and call `each` for every frame and error.
/// Returns the number of frames and errors.
fn frame_all(
    framer: &mut Framer<Vec<u8>>,
    data: &[u8],
    chunk: usize,
    mut each: impl FnMut(Result<Frame<'_>, FrameError>),
) -> (usize, usize) {
    let (mut frames, mut errors) = (0, 0);
    let mut drain = |framer: &mut Framer<Vec<u8>>| {
        while let Some(item) = framer.next() {
            match item {
                Ok(_) => frames += 1,
                Err(_) => errors += 1,
            }
            each(item);
        }
    };
    for piece in data.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let n = framer.push(rest);
            rest = &rest[n..];
            drain(framer);
        }
    }
    framer.finish();
    drain(framer);
    (frames, errors)
}

/// What the frame is, through the message layer: the kind, and the event name, the
/// error class or the command name where there is one.
fn kind(frame: &Frame<'_>) -> String {
    match Message::parse(*frame) {
        Ok(Message::Greeting(_)) => "greeting".into(),
        Ok(Message::Return(_)) => "return".into(),
        Ok(Message::Error(e)) => format!("error {}", e.class.name()),
        Ok(Message::Event(e)) => format!("event {}", e.name),
        Ok(Message::Request(c)) => format!("command {}", c.name),
        Err(e) => format!("not a QMP message: {e}"),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("decode: {msg}");
    std::process::exit(2)
}
