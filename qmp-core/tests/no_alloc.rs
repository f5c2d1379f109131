//! The codec makes no heap allocation: a counting global allocator sees none while
//!
//! - 10 000 messages are framed through a stack buffer, by `push` + `next` and by
//!   `spare_mut` + `commit`, and while bad input is reported and skipped;
//! - 10 000 real QEMU messages (SPICE and VNC events, replies and errors from the
//!   captures) are framed, parsed with `Message::parse`, decoded into typed events
//!   (`schema::Event::from_message`, then fed to a `SpiceSessions` tracker) and
//!   re-encoded with `encode::message_to_slice` into a stack buffer, then parsed again;
//! - 10 000 commands are encoded from a borrowed serde struct (`encode::command` +
//!   `Ser`) and parsed back.
//!
//! Test data is prepared before counting starts. The counter is per thread, so the test
//! harness's own threads do not disturb it.

use qmp_core::encode::{self, Id, Ser, SliceSink};
use qmp_core::frame::Framer;
use qmp_core::fuzz::oracle::opt_json_eq;
use qmp_core::json::RawJson;
use qmp_core::message::Message;
use qmp_core::schema::{self, SpiceSessions};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{allocations, StackWriter};

const COUNT: usize = 10_000;

/// 10 000 varied messages (compact, pretty, escapes, UTF-8, numbers), CRLF-terminated,
/// and the (start, end) of each.
fn stream() -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut data = Vec::new();
    let mut spans = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let start = data.len();
        let msg = match i % 4 {
            0 => format!("{{\"return\": {{}}, \"id\": {i}}}"),
            1 => format!(
                "{{\"timestamp\": {{\"seconds\": {i}, \"microseconds\": 554287}}, \
                 \"event\": \"SHUTDOWN\", \"data\": {{\"guest\": false, \"reason\": \"host-qmp-quit\"}}}}"
            ),
            2 => format!("{{\n    \"return\": [\n        -{i}.5e-3,\n        true,\n        null\n    ]\n}}"),
            _ => format!("{{\"return\": \"vm-\\u00e9 \u{20ac} \\\"{i}\\\"\\n\"}}"),
        };
        data.extend_from_slice(msg.as_bytes());
        spans.push((start, data.len()));
        data.extend_from_slice(b"\r\n");
    }
    (data, spans)
}

/// Frame `data` with `push` + `next` through `framer`, checking each frame against
/// `spans` without allocating. Returns the number of frames.
fn push_all(framer: &mut Framer<[u8; 4096]>, data: &[u8], spans: &[(usize, usize)]) -> usize {
    let mut seen = 0;
    let mut rest = data;
    let mut step = 1usize;
    while !rest.is_empty() {
        // Vary the chunk size: 1, 2, ... 997, then wrap.
        step = step % 997 + 1;
        let n = framer.push(&rest[..step.min(rest.len())]);
        rest = &rest[n..];
        while let Some(item) = framer.next() {
            let frame = item.expect("no errors in this stream");
            let (s, e) = spans[seen];
            assert_eq!(frame.offset(), s as u64);
            assert!(frame.as_bytes() == &data[s..e]);
            seen += 1;
        }
    }
    framer.finish();
    assert!(framer.next().is_none());
    seen
}

/// The same with `spare_mut` + `commit`.
fn read_all(framer: &mut Framer<[u8; 4096]>, data: &[u8], spans: &[(usize, usize)]) -> usize {
    let mut seen = 0;
    let mut rest = data;
    let mut step = 1usize;
    while !rest.is_empty() {
        step = step % 1499 + 1;
        let spare = framer.spare_mut();
        let n = step.min(rest.len()).min(spare.len());
        spare[..n].copy_from_slice(&rest[..n]);
        framer.commit(n);
        rest = &rest[n..];
        while let Some(item) = framer.next() {
            let frame = item.expect("no errors in this stream");
            let (s, e) = spans[seen];
            assert_eq!(frame.offset(), s as u64);
            assert!(frame.as_bytes() == &data[s..e]);
            seen += 1;
        }
    }
    framer.finish();
    assert!(framer.next().is_none());
    seen
}

#[test]
fn framing_with_push_does_not_allocate() {
    let (data, spans) = stream();
    let (allocs, seen) = allocations(|| {
        let mut framer = Framer::new([0u8; 4096]);
        push_all(&mut framer, &data, &spans)
    });
    assert_eq!(seen, COUNT);
    assert_eq!(allocs, 0, "framing with push allocated {allocs} times");
}

#[test]
fn framing_with_spare_mut_does_not_allocate() {
    let (data, spans) = stream();
    let (allocs, seen) = allocations(|| {
        let mut framer = Framer::new([0u8; 4096]);
        read_all(&mut framer, &data, &spans)
    });
    assert_eq!(seen, COUNT);
    assert_eq!(allocs, 0, "framing with spare_mut allocated {allocs} times");
}

/// Errors and recovery do not allocate either: garbage, an oversized message, a
/// truncated one and a 0xFF reset.
#[test]
fn errors_do_not_allocate() {
    let mut data = b"garbage\r\n{\"return\": \"".to_vec();
    data.resize(data.len() + 10_000, b'x');
    data.extend_from_slice(
        b"\"}\r\n{\"return\": [1,\r\n{\"execute\": \"qu\xff{\"return\": {}}\r\n",
    );
    let (allocs, (errors, frames)) = allocations(|| {
        let mut framer = Framer::new([0u8; 4096]);
        let (mut errors, mut frames) = (0, 0);
        for chunk in data.chunks(100) {
            framer.feed(chunk, |item| match item {
                Ok(_) => frames += 1,
                Err(e) => {
                    // Display must not need the heap either: format into a stack buffer.
                    let mut buf = [0u8; 256];
                    let mut w = StackWriter(&mut buf, 0);
                    std::fmt::Write::write_fmt(&mut w, format_args!("{e}")).unwrap();
                    assert!(w.1 > 0);
                    errors += 1;
                }
            });
        }
        framer.finish();
        assert!(framer.next().is_none());
        (errors, frames)
    });
    assert_eq!((errors, frames), (4, 1));
    assert_eq!(allocs, 0, "error handling allocated {allocs} times");
}

/// The counter works: a deliberate allocation is seen.
#[test]
fn the_counter_sees_allocations() {
    let (allocs, v) = allocations(|| Vec::<u8>::with_capacity(1));
    assert!(allocs >= 1, "the counting allocator missed an allocation");
    drop(v);
    let (allocs, _) = allocations(|| std::hint::black_box(Box::new(7u64)));
    assert!(allocs >= 1, "the counting allocator missed a Box");
    let (allocs, ()) = allocations(|| ());
    assert_eq!(allocs, 0);
}

// ---------------------------------------------------------------------------------
// The whole client path on real QEMU output: framing, `Message::parse`, typed events,
// SPICE session tracking and re-encoding, plus command encoding from a serde struct.

/// The largest message kept for the real-shaped stream (everything but the 236 KB
/// schema reply), and the size of the stack buffers that carry it.
const REAL_MAX: usize = 8 * 1024;

/// The frames of a capture in `testdata/captures`, framed before counting starts.
fn capture_frames(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/../testdata/captures/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut framer = Framer::new(vec![0u8; 256 * 1024]);
    assert_eq!(framer.push(&data), data.len());
    framer.finish();
    let mut out = Vec::new();
    while let Some(item) = framer.next() {
        out.push(item.expect("the captures are clean").as_bytes().to_vec());
    }
    out
}

/// What kind of message a frame is, for the expectations of the counted run.
fn kind(m: &Message<'_>) -> usize {
    match m {
        Message::Greeting(_) => 0,
        Message::Request(_) => 1,
        Message::Return(_) => 2,
        Message::Error(_) => 3,
        Message::Event(_) => 4,
    }
}

/// 10 000 real messages, CRLF-terminated: the SPICE and VNC event captures' events
/// (in capture order, so each SPICE cycle is a complete session) interleaved with
/// every reply (and the one event) of `unix_basic.rx.bin` up to [`REAL_MAX`] bytes.
/// Returns the stream, each message's span, and the count of each kind.
fn real_stream() -> (Vec<u8>, Vec<(usize, usize)>, [usize; 5]) {
    let mut templates = Vec::new();
    for name in [
        "spice_events.rx.bin",
        "vnc_events.rx.bin",
        "unix_basic.rx.bin",
    ] {
        for frame in capture_frames(name) {
            let m = Message::parse(RawJson::parse(&frame).unwrap()).unwrap();
            let wanted = match name {
                "unix_basic.rx.bin" => !matches!(m, Message::Greeting(_)),
                _ => matches!(m, Message::Event(_)),
            };
            if wanted && frame.len() <= REAL_MAX {
                templates.push(frame);
            }
        }
    }
    assert!(
        templates.len() > 30,
        "too few templates: {}",
        templates.len()
    );
    let mut data = Vec::new();
    let mut spans = Vec::with_capacity(COUNT);
    let mut kinds = [0usize; 5];
    for i in 0..COUNT {
        let t = &templates[i % templates.len()];
        kinds[kind(&Message::parse(RawJson::parse(t).unwrap()).unwrap())] += 1;
        spans.push((data.len(), data.len() + t.len()));
        data.extend_from_slice(t);
        data.extend_from_slice(b"\r\n");
    }
    (data, spans, kinds)
}

/// What the counted run saw.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    kinds: [usize; 5],
    typed_events: usize,
    spice_outcomes: usize,
    bytes_encoded: usize,
}

/// Frame, parse, decode and re-encode every message of `data`, on the stack only.
fn client_path(data: &[u8], spans: &[(usize, usize)]) -> Tally {
    let mut framer = Framer::new([0u8; REAL_MAX + 64]);
    let mut out = [0u8; REAL_MAX];
    let mut sessions = SpiceSessions::<16>::new();
    let mut tally = Tally::default();
    let mut seen = 0;
    let mut rest = data;
    let mut step = 1usize;
    while !rest.is_empty() {
        step = step % 1999 + 1;
        let n = framer.push(&rest[..step.min(rest.len())]);
        rest = &rest[n..];
        while let Some(item) = framer.next() {
            let frame = item.expect("no errors in this stream");
            let (s, e) = spans[seen];
            assert!(frame.offset() == s as u64 && frame.as_bytes() == &data[s..e]);
            seen += 1;

            let message = Message::parse(frame).expect("real messages parse");
            tally.kinds[kind(&message)] += 1;
            if let Message::Event(ev) = &message {
                let typed = schema::Event::from_message(ev).expect("real events decode");
                assert!(typed.is_known() && ev.name == typed.name());
                tally.typed_events += 1;
                if let Some(_outcome) = sessions.handle(&typed).expect("room for the sessions") {
                    tally.spice_outcomes += 1;
                }
            }

            let n = encode::message_to_slice(&message, &mut out).expect("fits");
            let again = Message::parse(RawJson::parse(&out[..n]).expect("valid output"))
                .expect("output parses");
            assert!(kind(&again) == kind(&message));
            // Payloads compared by meaning with the fuzz oracle, which allocates nothing
            // either (it runs inside the count).
            assert!(opt_json_eq(message.id(), again.id()), "the id changed");
            let ok = match (&message, &again) {
                (Message::Return(a), Message::Return(b)) => {
                    opt_json_eq(Some(a.value), Some(b.value))
                }
                (Message::Error(a), Message::Error(b)) => {
                    a.class == b.class && a.desc == b.desc && opt_json_eq(a.data, b.data)
                }
                (Message::Event(a), Message::Event(b)) => {
                    a.timestamp == b.timestamp && a.name == b.name && opt_json_eq(a.data, b.data)
                }
                _ => false,
            };
            assert!(ok, "the payload changed");
            tally.bytes_encoded += n;
        }
    }
    framer.finish();
    assert!(framer.next().is_none());
    assert_eq!(seen, spans.len());
    tally
}

#[test]
fn the_client_path_does_not_allocate() {
    let (data, spans, kinds) = real_stream();
    let (allocs, tally) = allocations(|| client_path(&data, &spans));
    assert_eq!(allocs, 0, "the client path allocated {allocs} times");
    assert_eq!(tally.kinds, kinds);
    assert_eq!(tally.typed_events, kinds[4]);
    assert!(tally.spice_outcomes > 0 && tally.bytes_encoded > data.len() / 2);
}

/// A command's arguments as a borrowed serde struct, nested, with an optional member,
/// a list, a float and a string that needs escaping.
#[derive(serde::Serialize)]
struct BlockdevAdd<'a> {
    driver: &'a str,
    #[serde(rename = "node-name")]
    node_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    discard: Option<&'a str>,
    file: File<'a>,
    #[serde(rename = "cache-sizes")]
    cache_sizes: &'a [u64],
    ratio: f64,
}

#[derive(serde::Serialize)]
struct File<'a> {
    driver: &'a str,
    filename: &'a str,
    #[serde(rename = "read-only")]
    read_only: bool,
}

#[test]
fn command_encoding_does_not_allocate() {
    let names = ["disk0", "disk\u{e9}1", "d\"isk\\2"];
    let files = ["/tmp/a.qcow2", "/var/lib/\u{1f600}.img"];
    let cache = [1u64 << 20, 0, u64::MAX];
    let (allocs, total) = allocations(|| {
        let mut buf = [0u8; 512];
        let mut total = 0usize;
        for i in 0..COUNT {
            let args = BlockdevAdd {
                driver: "qcow2",
                node_name: names[i % names.len()],
                discard: (i % 2 == 0).then_some("unmap"),
                file: File {
                    driver: "file",
                    filename: files[i % files.len()],
                    read_only: i % 3 == 0,
                },
                cache_sizes: &cache[..i % 4],
                ratio: i as f64 / 7.0,
            };
            let mut sink = SliceSink::new(&mut buf);
            let id = match i % 3 {
                0 => Id::U64(i as u64),
                1 => Id::I64(-(i as i64)),
                _ => Id::Str("blockdev-add"),
            };
            encode::command(&mut sink, "blockdev-add", Ser(&args), Some(id)).expect("fits");
            let n = sink.len();
            // Parse what was written and look at it, still without the heap.
            let json = RawJson::parse(&buf[..n]).expect("valid");
            let Ok(Message::Request(c)) = Message::parse(json) else {
                panic!("not a command")
            };
            let node = c
                .arguments
                .and_then(|a| a.get("node-name"))
                .and_then(|v| v.as_json_str());
            assert!(c.name == "blockdev-add" && node.is_some_and(|s| s == names[i % names.len()]));
            assert!(buf[..n].is_ascii());
            // And the argument-less form, the most common command of all.
            let mut sink = SliceSink::new(&mut buf);
            encode::command(&mut sink, "query-status", (), Some(Id::U64(i as u64))).unwrap();
            total += n + sink.len();
        }
        total
    });
    assert_eq!(allocs, 0, "command encoding allocated {allocs} times");
    assert!(total > COUNT * 100);
}
