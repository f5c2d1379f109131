//! Frame a QMP byte stream and list what comes out, in stream order: every message (with
//! its kind, and the event name, error class or command name where there is one), and
//! every stretch of bytes the framer had to skip. Then a count of each, and how fast the
//! same bytes frame and parse without printing.
//!
//! ```text
//! cargo run --release -p qmp-core --example decode -- [FILE] [--buffer BYTES] [--chunk BYTES]
//! ```
//!
//! Without FILE it reads the bundled capture of a real QEMU 10.0.2 session
//! (`testdata/captures/unix_basic.rx.bin`: what QEMU sent to a client, with a greeting,
//! negotiation, queries, error replies, a 236 KB `query-qmp-schema` reply and an event).
//! The bytes go through a framer with a buffer of the given size (default 256 KiB) in
//! chunks of the given size (default 4096 bytes), as they would arrive from a socket.
//!
//! Two kinds of error are told apart:
//!
//! - an **error reply** is a valid QMP message, `{"error": {"class": ..., "desc": ...}}`:
//!   the peer refusing a command. Nothing is wrong with the stream.
//! - a **stream error** ([`FrameError`]) is bytes the framer could not hand out as a
//!   message and skipped: `Invalid` (not valid JSON) or `TooLarge` (a valid message
//!   larger than the buffer).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::message::{Message, MessageError, QemuVersion};

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
            _ if arg.starts_with('-') => fail(&format!("unknown option {arg:?}")),
            _ if path.is_none() => path = Some(arg),
            _ => fail(&format!("unexpected argument {arg:?}")),
        }
    }
    let (path, name) = match path {
        Some(p) => (p.clone(), p),
        None => (
            DEFAULT_CAPTURE.to_string(),
            "testdata/captures/unix_basic.rx.bin (what QEMU 10.0.2 sent in one session)"
                .to_string(),
        ),
    };
    let data = std::fs::read(&path).unwrap_or_else(|e| fail(&format!("{name}: {e}")));

    println!("Input:  {name}, {} bytes", data.len());
    println!(
        "Framer: a {buffer}-byte buffer (the largest message it can hand out), \
         fed {chunk} bytes at a time"
    );
    println!();
    println!("One line per item the framer handed out, in stream order: where it starts");
    println!("(byte offset), its length, and what it is. A STREAM ERROR is bytes the");
    println!("framer skipped; an \"error reply\" is a valid message (the peer refusing a");
    println!("command), not a fault in the stream.");
    println!();
    println!("{:>8} {:>8}  item", "offset", "bytes");
    let mut framer = Framer::new(vec![0u8; buffer]);
    let mut tally = Tally::default();
    frame_all(&mut framer, &data, chunk, |item| {
        let (offset, len) = match &item {
            Ok(frame) => (frame.offset(), frame.len() as u64),
            Err(error) => (error.start(), error.skipped()),
        };
        println!("{offset:>8} {len:>8}  {}", tally.add(item, buffer));
    });
    println!();
    tally.print(buffer);

    println!();
    println!(
        "Throughput: the same {} bytes framed again from memory, in the same chunks and",
        data.len()
    );
    println!("through the same buffer, without printing (MB = 10^6 bytes):");
    let [framing, with_parse] = throughputs(&data, |parse| {
        let mut count = Tally::default();
        if parse {
            frame_all(&mut framer, &data, chunk, |item| {
                count.add_parsed(item.map(|frame| black_box(Message::parse(frame))));
            });
        } else {
            frame_all(&mut framer, &data, chunk, |item| count.add_frame_only(item));
        }
        count
    });
    println!("  framing only (every byte validated):          {framing}");
    println!("  framing + Message::parse of every message:    {with_parse}");
    if cfg!(debug_assertions) {
        println!(
            "  (a debug build: these are far below a release build's; \
             add --release to cargo run)"
        );
    }
}

/// Feed `data` in `chunk`-sized pieces, then signal the end, handing every frame and
/// stream error to `each`. Starts from a fresh stream.
fn frame_all(
    framer: &mut Framer<Vec<u8>>,
    data: &[u8],
    chunk: usize,
    mut each: impl FnMut(Result<Frame<'_>, FrameError>),
) {
    framer.reset();
    for piece in data.chunks(chunk) {
        framer.feed(piece, &mut each);
    }
    framer.finish();
    framer.drain(&mut each);
}

/// Run `pass` (one framing of `data`: `pass(false)` framing only, `pass(true)` with
/// `Message::parse`) for about a second, alternating the two so that both see the same
/// machine, and describe the rate of each one's median pass (the median shrugs off
/// passes slowed by other work on the machine). Every pass must find the same items as
/// the first of its kind.
fn throughputs(data: &[u8], mut pass: impl FnMut(bool) -> Tally) -> [String; 2] {
    let first = [pass(false).counts(), pass(true).counts()];
    let started = Instant::now();
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    while started.elapsed() < Duration::from_secs(1) || times[1].len() < 3 {
        for (kind, parse) in [false, true].into_iter().enumerate() {
            let start = Instant::now();
            let counts = pass(parse).counts();
            times[kind].push(start.elapsed());
            assert_eq!(counts, first[kind], "framing is deterministic");
        }
    }
    times.map(|mut times| {
        times.sort();
        let median = times[times.len() / 2].as_secs_f64();
        format!(
            "{:>6.0} MB/s (median of {} passes)",
            data.len() as f64 / 1e6 / median,
            times.len()
        )
    })
}

/// What came out, by kind.
#[derive(Default)]
struct Tally {
    greetings: usize,
    returns: usize,
    error_replies: usize,
    events: usize,
    requests: usize,
    /// Valid JSON, but not a QMP message.
    not_qmp: usize,
    /// Frames not classified (framing-only passes).
    frames: usize,
    too_large: usize,
    /// Invalid JSON, by what was wrong.
    invalid: BTreeMap<&'static str, usize>,
    other_errors: usize,
}

impl Tally {
    /// Count one item and describe it.
    fn add(&mut self, item: Result<Frame<'_>, FrameError>, buffer: usize) -> String {
        let frame = match item {
            Ok(frame) => frame,
            Err(error) => return self.add_stream_error(error, buffer),
        };
        match Message::parse(frame) {
            Ok(Message::Greeting(g)) => {
                self.greetings += 1;
                let version = match g.version.map(|v| v.qemu) {
                    Some(QemuVersion::Triple {
                        major,
                        minor,
                        micro,
                    }) => format!("QEMU {major}.{minor}.{micro}"),
                    Some(QemuVersion::Text(text)) => format!("QEMU {text}"),
                    None => "no version".into(),
                };
                format!("greeting: {version}, capabilities {}", g.capabilities)
            }
            Ok(Message::Return(r)) => {
                self.returns += 1;
                format!("return{}", id(r.id))
            }
            Ok(Message::Error(e)) => {
                self.error_replies += 1;
                format!(
                    "error reply {}{}: {}",
                    e.class.name(),
                    id(e.id),
                    shorten(&e.desc.to_string())
                )
            }
            Ok(Message::Event(e)) => {
                self.events += 1;
                format!("event {}", e.name)
            }
            Ok(Message::Request(c)) => {
                self.requests += 1;
                format!("request {}{}", c.name, id(c.id))
            }
            Err(e) => {
                self.not_qmp += 1;
                format!("valid JSON, but not a QMP message: {e}")
            }
        }
    }

    fn add_stream_error(&mut self, error: FrameError, buffer: usize) -> String {
        match error {
            FrameError::TooLarge { len, .. } => {
                self.too_large += 1;
                format!(
                    "STREAM ERROR TooLarge: a {len}-byte message does not fit the \
                     {buffer}-byte buffer; skipped"
                )
            }
            FrameError::Invalid { error, skipped, .. } => {
                *self.invalid.entry(error.kind.description()).or_default() += 1;
                format!(
                    "STREAM ERROR Invalid: {} (at byte {}); skipped {skipped} byte{} to \
                     get back in step",
                    error.kind,
                    error.offset,
                    if skipped == 1 { "" } else { "s" }
                )
            }
            other => {
                self.other_errors += 1;
                format!("STREAM ERROR {other}")
            }
        }
    }

    /// Count an item without classifying frames.
    fn add_frame_only(&mut self, item: Result<Frame<'_>, FrameError>) {
        match item {
            Ok(_) => self.frames += 1,
            Err(error) => {
                self.add_stream_error(error, 0);
            }
        }
    }

    /// Count an item classified by `Message::parse`, without describing it.
    fn add_parsed(&mut self, item: Result<Result<Message<'_>, MessageError>, FrameError>) {
        match item {
            Ok(Ok(Message::Greeting(_))) => self.greetings += 1,
            Ok(Ok(Message::Return(_))) => self.returns += 1,
            Ok(Ok(Message::Error(_))) => self.error_replies += 1,
            Ok(Ok(Message::Event(_))) => self.events += 1,
            Ok(Ok(Message::Request(_))) => self.requests += 1,
            Ok(Err(_)) => self.not_qmp += 1,
            Err(error) => {
                self.add_stream_error(error, 0);
            }
        }
    }

    /// Frames handed out, and stream errors.
    fn counts(&self) -> (usize, usize) {
        let frames = self.frames
            + self.greetings
            + self.returns
            + self.error_replies
            + self.events
            + self.requests
            + self.not_qmp;
        let errors = self.too_large + self.invalid.values().sum::<usize>() + self.other_errors;
        (frames, errors)
    }

    fn print(&self, buffer: usize) {
        let (frames, errors) = self.counts();
        println!(
            "Messages:      {:>4}  (greeting: {}, return: {}, error reply: {}, event: {}, \
             request: {})",
            frames - self.not_qmp,
            self.greetings,
            self.returns,
            self.error_replies,
            self.events,
            self.requests,
        );
        println!(
            "Not QMP:       {:>4}  (valid JSON texts that are not QMP messages)",
            self.not_qmp
        );
        let invalid: usize = self.invalid.values().sum();
        let mut kinds: Vec<String> = self
            .invalid
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        if self.other_errors > 0 {
            kinds.push(format!("{} other", self.other_errors));
        }
        let kinds = if kinds.is_empty() {
            String::new()
        } else {
            format!(": {}", kinds.join(", "))
        };
        println!(
            "Stream errors: {errors:>4}  (TooLarge: {}, messages larger than the {buffer}-byte \
             buffer; Invalid: {invalid}, bytes that are not JSON{kinds})",
            self.too_large,
        );
    }
}

/// `, id X` when there is an id.
fn id(id: Option<impl std::fmt::Display>) -> String {
    id.map(|id| format!(", id {id}")).unwrap_or_default()
}

/// At most 100 characters of `text`.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("decode: {msg}");
    std::process::exit(2)
}
