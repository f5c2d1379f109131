//! Message-level throughput of qmp-core against serde_json, serde-json-core and
//! simd-json: decoding typed events and encoding commands.
//!
//! # `typed_events`
//!
//! The [`qmp_benches::events`] corpus (about 1 MiB, 212 bytes per event), cut into one
//! slice per event before timing ([`qmp_benches::line_messages`]). Every function turns
//! each slice into an event name plus a little decoded content, validating the JSON
//! as it goes, and reports `Throughput::Bytes` of the whole corpus:
//!
//! - `qmp/typed`: `Frame::parse` (strict validation, noting where the nested members
//!   end) → `Message::parse` → `schema::Event::from_message`, the typed payload (open
//!   enums, `JsonStr` strings).
//! - `qmp/framer_typed`: the same, but the corpus goes through a `Framer` (4 KiB reads)
//!   inside the timed loop, so framing is included, and `Message::parse(frame)` needs
//!   no second validation pass and no walk over `data` and `timestamp` (the frame
//!   carries their ends). This is what a client actually runs.
//! - `qmp/envelope`: `Frame::parse` → `Message::parse` only (name, timestamp, raw
//!   `data`).
//! - `qmp/validate`: `RawJson::parse` alone, the strict validation every qmp function
//!   above starts with (the same scanner as `Frame::parse`). It decodes nothing, so it is the ceiling for any decoder that
//!   validates every byte at the scanner's speed.
//! - `serde_json/value`: `serde_json::from_slice::<Value>`.
//! - `serde_json/typed`: serde_json into a borrowed envelope (`event: &str`, timestamp,
//!   `data: Option<&RawValue>`), then `data` decoded by event name into borrowed structs
//!   mirroring qmp-core's payloads (strings and enum values as plain `&str`, which is
//!   cheaper than qmp-core's open enums and would fail on escaped strings).
//! - `serde_json/untagged`: serde_json into an envelope whose `data` is a
//!   `#[serde(untagged)]` enum of the same payload structs (the usual serde idiom; the
//!   `#[serde(untagged)]` row of the README's typed-decoding table).
//! - `serde_json_core/envelope`: serde-json-core into an envelope with the event name
//!   (`&str`) and the timestamp only; `data` is skipped as an unknown member. Skipping
//!   is not validating: serde-json-core 0.7 accepts `01`, `1.`, `tru`, `"\q"` and raw
//!   control characters inside a skipped member, so this does less work than the
//!   strict decoders above.
//! - `simd_json/borrowed`: `simd_json::to_borrowed_value` on a copy of the slice in a
//!   reused scratch buffer (simd-json parses in place), then the name looked up.
//!
//! The setup checks that every function sees the same events with the same names, and
//! that the typed decoders read the same field values (a per-event "touch": a string
//! length or number taken from the decoded payload, summed).
//!
//! # `encode_commands`
//!
//! 100 000 commands `{"execute":"device_del","arguments":{"id":"netN"},"id":N}` with
//! `N` from 0, appended one after the other into one reused buffer (ids prepared before
//! timing). `Throughput::Bytes` is the bytes produced (the same for every function):
//!
//! - `qmp/encode`: `encode::command` with `Ser(&DeviceDel { id })` (qmp-core's own
//!   typed command) and `Id::U64(n)`, into a `SliceSink` over the buffer.
//! - `qmp/raw_args`: `encode::command` with the arguments as a pre-validated `RawJson`
//!   (raw passthrough, which re-compacts and escapes while copying).
//! - `serde_json/to_writer`: `serde_json::to_writer` of an equivalent struct into a
//!   reused `Vec`.
//! - `serde_json_core/to_slice`: `serde_json_core::to_slice` of the same struct into
//!   the buffer.
//!
//! The setup checks that all four produce byte-identical output, and that it parses
//! (serde_json) into the expected commands.
//!
//! # `parse_reply`
//!
//! `Message::parse` of the real 236 KB `query-qmp-schema` reply (`{"return": [...],
//! "id": "schema"}`), validated before timing: `qmp/frame` from a `Frame`, whose outline
//! gives the end of `return`, and `qmp/raw_json` from the same text as a `RawJson`, which
//! walks the whole array to reach `id`. `Throughput::Bytes` is the reply's size, so the
//! MB/s say how much JSON one parse stands for; `ratios.py` also prints the time per
//! parse.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qmp_core::encode::{self, Id, Ser, SliceSink};
use qmp_core::frame::{Frame, Framer};
use qmp_core::json::RawJson;
use qmp_core::message::{Message, Source};
use qmp_core::schema::commands::DeviceDel;
use qmp_core::schema::Event;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use simd_json::prelude::*;

/// Framer buffer for `qmp/framer_typed`: far more than the largest event.
const FRAMER_BUF: usize = 64 * 1024;
/// Read size of `qmp/framer_typed`.
const CHUNK: usize = 4 * 1024;
/// Commands encoded per iteration of `encode_commands`.
const COMMANDS: usize = 100_000;

// ---------------------------------------------------------------------------------------
// typed_events
// ---------------------------------------------------------------------------------------

/// What one pass of a decoder saw: the number of events and the sum of the touched
/// values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    events: usize,
    touched: u64,
}

impl Tally {
    fn add(&mut self, touched: u64) {
        self.events += 1;
        self.touched = self.touched.wrapping_add(touched);
    }
}

/// A field value read from a qmp-core typed event, so that decoding cannot be skipped.
/// `serde_touch` reads the same fields from the serde_json structs.
fn qmp_touch(event: &Event<'_>) -> u64 {
    let len = |s: Option<qmp_core::json::JsonStr<'_>>| s.map_or(0, |s| s.raw().len() as u64);
    match event {
        Event::SpiceConnected(e) => len(e.client.port),
        Event::SpiceDisconnected(e) => len(e.client.port),
        Event::SpiceInitialized(e) => e.client.connection_id as u64,
        Event::VncConnected(e) => e.client.service.raw().len() as u64,
        Event::VncInitialized(e) => e.client.service.raw().len() as u64,
        Event::VncDisconnected(e) => e.client.service.raw().len() as u64,
        Event::JobStatusChange(e) => {
            e.id.raw().len() as u64 + e.status.as_str().map_or(0, |s| s.len() as u64)
        }
        Event::BlockJobCompleted(e) => e.len as u64 + e.kind.as_str().map_or(0, str::len) as u64,
        Event::Shutdown(e) => u64::from(e.guest == Some(false)) + 2,
        Event::Stop | Event::Resume => 1,
        other => panic!("event not in the corpus: {}", other.name()),
    }
}

/// `qmp/typed` and `qmp/framer_typed` per frame: message, then typed payload.
#[inline(always)]
fn qmp_typed_one<'a>(source: impl Into<Source<'a>>, on_event: &mut impl FnMut(&str, u64)) {
    let Ok(Message::Event(message)) = Message::parse(source) else {
        panic!("not an event")
    };
    let event = Event::from_message(&message).expect("typed payload");
    on_event(event.name(), qmp_touch(&event));
}

fn qmp_typed(frames: &[&[u8]], on_event: &mut impl FnMut(&str, u64)) {
    for frame in frames {
        qmp_typed_one(Frame::parse(frame).expect("valid JSON"), on_event);
    }
}

fn qmp_framer_typed(
    framer: &mut Framer<Vec<u8>>,
    corpus: &[u8],
    on_event: &mut impl FnMut(&str, u64),
) {
    framer.reset();
    let mut drain = |framer: &mut Framer<Vec<u8>>| {
        while let Some(frame) = framer.next() {
            qmp_typed_one(frame.expect("valid frame"), on_event);
        }
    };
    for piece in corpus.chunks(CHUNK) {
        let mut rest = piece;
        while !rest.is_empty() {
            let n = framer.push(rest);
            rest = &rest[n..];
            drain(framer);
        }
    }
    framer.finish();
    drain(framer);
}

fn qmp_envelope(frames: &[&[u8]], on_event: &mut impl FnMut(&str, u64)) {
    for frame in frames {
        let frame = Frame::parse(frame).expect("valid JSON");
        let Ok(Message::Event(message)) = Message::parse(frame) else {
            panic!("not an event")
        };
        black_box(message.data);
        on_event(message.name.raw(), message.timestamp.microseconds as u64);
    }
}

/// `qmp/validate`: the number of frames and their total length, so the work stays.
fn qmp_validate(frames: &[&[u8]]) -> (usize, usize) {
    let mut bytes = 0;
    for frame in frames {
        bytes += RawJson::parse(frame).expect("valid JSON").as_bytes().len();
    }
    (frames.len(), bytes)
}

fn serde_value(frames: &[&[u8]], on_event: &mut impl FnMut(&str, u64)) {
    for frame in frames {
        let value: serde_json::Value = serde_json::from_slice(frame).expect("valid JSON");
        let micros = value["timestamp"]["microseconds"]
            .as_u64()
            .expect("timestamp");
        on_event(value["event"].as_str().expect("event name"), micros);
    }
}

/// The serde_json mirror of qmp-core's `Timestamp`.
#[derive(Deserialize)]
struct Timestamp {
    #[allow(dead_code)]
    seconds: i64,
    microseconds: i64,
}

/// `serde_json/typed`: the envelope, with `data` kept raw until the name is known.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: &'a str,
    #[allow(dead_code)]
    timestamp: Timestamp,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

// Borrowed payload structs mirroring qmp-core's (`schema::events`), with every member
// the corpus carries. Enum values are `&str`: cheaper than qmp-core's open enums.
#[allow(dead_code)]
mod payload {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct SpiceBasicInfo<'a> {
        pub host: &'a str,
        #[serde(default)]
        pub port: Option<&'a str>,
        pub family: &'a str,
    }

    #[derive(Deserialize)]
    pub struct SpiceServerInfo<'a> {
        pub host: &'a str,
        #[serde(default)]
        pub port: Option<&'a str>,
        pub family: &'a str,
        #[serde(default)]
        pub auth: Option<&'a str>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct SpiceChannel<'a> {
        pub host: &'a str,
        #[serde(default)]
        pub port: Option<&'a str>,
        pub family: &'a str,
        pub connection_id: i64,
        pub channel_type: i64,
        pub channel_id: i64,
        pub tls: bool,
    }

    #[derive(Deserialize)]
    pub struct VncServerInfo<'a> {
        pub host: &'a str,
        pub service: &'a str,
        pub family: &'a str,
        #[serde(default)]
        pub websocket: Option<bool>,
        #[serde(default)]
        pub auth: Option<&'a str>,
    }

    #[derive(Deserialize)]
    pub struct VncClientInfo<'a> {
        pub host: &'a str,
        pub service: &'a str,
        pub family: &'a str,
        #[serde(default)]
        pub websocket: Option<bool>,
        #[serde(default)]
        pub x509_dname: Option<&'a str>,
        #[serde(default)]
        pub sasl_username: Option<&'a str>,
    }

    /// `SPICE_CONNECTED`, `SPICE_DISCONNECTED`.
    #[derive(Deserialize)]
    pub struct SpiceConnection<'a> {
        #[serde(borrow)]
        pub server: SpiceBasicInfo<'a>,
        #[serde(borrow)]
        pub client: SpiceBasicInfo<'a>,
    }

    /// `SPICE_INITIALIZED`.
    #[derive(Deserialize)]
    pub struct SpiceInitialized<'a> {
        #[serde(borrow)]
        pub server: SpiceServerInfo<'a>,
        #[serde(borrow)]
        pub client: SpiceChannel<'a>,
    }

    /// `VNC_CONNECTED`, `VNC_INITIALIZED`, `VNC_DISCONNECTED` (qmp-core's
    /// `VncConnected` has a `VncBasicInfo` client: the same members minus the optional
    /// ones).
    #[derive(Deserialize)]
    pub struct VncConnection<'a> {
        #[serde(borrow)]
        pub server: VncServerInfo<'a>,
        #[serde(borrow)]
        pub client: VncClientInfo<'a>,
    }

    /// `SHUTDOWN`.
    #[derive(Deserialize)]
    pub struct Shutdown<'a> {
        #[serde(default)]
        pub guest: Option<bool>,
        #[serde(default, borrow)]
        pub reason: Option<&'a str>,
    }

    /// `JOB_STATUS_CHANGE`.
    #[derive(Deserialize)]
    pub struct JobStatusChange<'a> {
        pub id: &'a str,
        pub status: &'a str,
    }

    /// `BLOCK_JOB_COMPLETED`.
    #[derive(Deserialize)]
    pub struct BlockJobCompleted<'a> {
        #[serde(rename = "type")]
        pub kind: &'a str,
        pub device: &'a str,
        pub len: i64,
        pub offset: i64,
        pub speed: i64,
        #[serde(default)]
        pub error: Option<&'a str>,
    }
}

fn data<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> T {
    serde_json::from_str(raw.expect("event has data").get()).expect("typed payload")
}

fn serde_typed(frames: &[&[u8]], on_event: &mut impl FnMut(&str, u64)) {
    use payload::*;
    for frame in frames {
        let env: Envelope<'_> = serde_json::from_slice(frame).expect("valid envelope");
        let touched = match env.event {
            "SPICE_CONNECTED" | "SPICE_DISCONNECTED" => {
                let e: SpiceConnection<'_> = data(env.data);
                e.client.port.map_or(0, |p| p.len() as u64)
            }
            "SPICE_INITIALIZED" => {
                let e: SpiceInitialized<'_> = data(env.data);
                e.client.connection_id as u64
            }
            "VNC_CONNECTED" | "VNC_INITIALIZED" | "VNC_DISCONNECTED" => {
                let e: VncConnection<'_> = data(env.data);
                e.client.service.len() as u64
            }
            "JOB_STATUS_CHANGE" => {
                let e: JobStatusChange<'_> = data(env.data);
                (e.id.len() + e.status.len()) as u64
            }
            "BLOCK_JOB_COMPLETED" => {
                let e: BlockJobCompleted<'_> = data(env.data);
                e.len as u64 + e.kind.len() as u64
            }
            "SHUTDOWN" => {
                let e: Shutdown<'_> = data(env.data);
                u64::from(e.guest == Some(false)) + 2
            }
            "STOP" | "RESUME" => 1,
            other => panic!("event not in the corpus: {other}"),
        };
        on_event(env.event, touched);
    }
}

/// `serde_json/untagged`: the payload chosen by shape, as `#[serde(untagged)]` does it.
/// Variants with more required members come first, since unknown members are ignored.
#[derive(Deserialize)]
#[serde(untagged)]
enum Data<'a> {
    #[serde(borrow)]
    SpiceInitialized(payload::SpiceInitialized<'a>),
    #[serde(borrow)]
    Vnc(payload::VncConnection<'a>),
    #[serde(borrow)]
    Spice(payload::SpiceConnection<'a>),
    #[serde(borrow)]
    BlockJobCompleted(payload::BlockJobCompleted<'a>),
    #[serde(borrow)]
    JobStatusChange(payload::JobStatusChange<'a>),
    #[serde(borrow)]
    Shutdown(payload::Shutdown<'a>),
}

#[derive(Deserialize)]
struct UntaggedEnvelope<'a> {
    #[serde(borrow)]
    event: &'a str,
    #[allow(dead_code)]
    timestamp: Timestamp,
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
}

fn serde_untagged(frames: &[&[u8]], on_event: &mut impl FnMut(&str, u64)) {
    for frame in frames {
        let env: UntaggedEnvelope<'_> = serde_json::from_slice(frame).expect("valid envelope");
        let touched = match env.data {
            Some(Data::Spice(e)) => e.client.port.map_or(0, |p| p.len() as u64),
            Some(Data::SpiceInitialized(e)) => e.client.connection_id as u64,
            Some(Data::Vnc(e)) => e.client.service.len() as u64,
            Some(Data::JobStatusChange(e)) => (e.id.len() + e.status.len()) as u64,
            Some(Data::BlockJobCompleted(e)) => e.len as u64 + e.kind.len() as u64,
            Some(Data::Shutdown(e)) => u64::from(e.guest == Some(false)) + 2,
            None => 1,
        };
        on_event(env.event, touched);
    }
}

/// `serde_json_core/envelope`: name and timestamp; `data` is an unknown member, skipped.
#[derive(Deserialize)]
struct CoreEnvelope<'a> {
    event: &'a str,
    timestamp: Timestamp,
}

fn core_envelope(frames: &[&[u8]], on_event: &mut impl FnMut(&str, u64)) {
    for frame in frames {
        let (env, _): (CoreEnvelope<'_>, usize) =
            serde_json_core::from_slice(frame).expect("valid envelope");
        on_event(env.event, env.timestamp.microseconds as u64);
    }
}

fn simd_borrowed(frames: &[&[u8]], scratch: &mut Vec<u8>, on_event: &mut impl FnMut(&str, u64)) {
    for frame in frames {
        scratch.clear();
        scratch.extend_from_slice(frame);
        let value = simd_json::to_borrowed_value(scratch).expect("valid JSON");
        let micros = value
            .get("timestamp")
            .and_then(|t| t.get_u64("microseconds"))
            .expect("timestamp");
        on_event(value.get_str("event").expect("event name"), micros);
    }
}

/// Every event name a decoder reports, and its tally.
fn names(run: impl FnOnce(&mut dyn FnMut(&str, u64))) -> (Vec<String>, Tally) {
    let mut names = Vec::new();
    let mut tally = Tally::default();
    run(&mut |name, touched| {
        names.push(name.to_owned());
        tally.add(touched);
    });
    (names, tally)
}

fn typed_events(c: &mut Criterion) {
    let corpus = qmp_benches::events();
    let frames = qmp_benches::line_messages(&corpus);
    let mut framer = Framer::new(vec![0u8; FRAMER_BUF]);
    let mut scratch = Vec::with_capacity(frames.iter().map(|f| f.len()).max().unwrap_or(0));

    // Same events, same names, for every decoder; same touched values for the typed
    // ones and for the envelope ones.
    let (expected, typed) = names(|f| qmp_typed(&frames, &mut |n, t| f(n, t)));
    let runs = [
        (
            "qmp/framer_typed",
            names(|f| qmp_framer_typed(&mut framer, &corpus, &mut |n, t| f(n, t))),
        ),
        (
            "qmp/envelope",
            names(|f| qmp_envelope(&frames, &mut |n, t| f(n, t))),
        ),
        (
            "serde_json/value",
            names(|f| serde_value(&frames, &mut |n, t| f(n, t))),
        ),
        (
            "serde_json/typed",
            names(|f| serde_typed(&frames, &mut |n, t| f(n, t))),
        ),
        (
            "serde_json/untagged",
            names(|f| serde_untagged(&frames, &mut |n, t| f(n, t))),
        ),
        (
            "serde_json_core/envelope",
            names(|f| core_envelope(&frames, &mut |n, t| f(n, t))),
        ),
        (
            "simd_json/borrowed",
            names(|f| simd_borrowed(&frames, &mut scratch, &mut |n, t| f(n, t))),
        ),
    ];
    assert_eq!(expected.len(), frames.len());
    let envelope = runs[1].1 .1;
    for (name, (seen, tally)) in &runs {
        assert_eq!(seen, &expected, "{name}: event names differ from qmp/typed");
        let reference = if name.ends_with("typed") || name.ends_with("untagged") {
            typed
        } else {
            envelope
        };
        assert_eq!(*tally, reference, "{name}: touched values differ");
    }
    eprintln!(
        "typed_events: {} bytes, {} events, {:.0} bytes/event",
        corpus.len(),
        frames.len(),
        corpus.len() as f64 / frames.len() as f64
    );

    let mut group = c.benchmark_group("typed_events");
    group.throughput(Throughput::Bytes(corpus.len() as u64));

    macro_rules! bench {
        ($id:literal, $expected:expr, |$on:ident| $run:expr) => {
            group.bench_function($id, |b| {
                b.iter(|| {
                    let mut tally = Tally::default();
                    let $on = &mut |name: &str, touched: u64| {
                        black_box(name);
                        tally.add(touched);
                    };
                    $run;
                    assert_eq!(tally, $expected);
                    black_box(tally)
                })
            });
        };
    }
    bench!("qmp/typed", typed, |on| qmp_typed(black_box(&frames), on));
    bench!("qmp/framer_typed", typed, |on| qmp_framer_typed(
        &mut framer,
        black_box(&corpus),
        on
    ));
    bench!("qmp/envelope", envelope, |on| qmp_envelope(
        black_box(&frames),
        on
    ));
    let validated = qmp_validate(&frames);
    assert_eq!(validated.0, expected.len(), "qmp/validate: frame count");
    group.bench_function("qmp/validate", |b| {
        b.iter(|| {
            let seen = qmp_validate(black_box(&frames));
            assert_eq!(seen, validated);
            black_box(seen)
        })
    });
    bench!("serde_json/value", envelope, |on| serde_value(
        black_box(&frames),
        on
    ));
    bench!("serde_json/typed", typed, |on| serde_typed(
        black_box(&frames),
        on
    ));
    bench!("serde_json/untagged", typed, |on| serde_untagged(
        black_box(&frames),
        on
    ));
    bench!("serde_json_core/envelope", envelope, |on| core_envelope(
        black_box(&frames),
        on
    ));
    bench!("simd_json/borrowed", envelope, |on| simd_borrowed(
        black_box(&frames),
        &mut scratch,
        on
    ));
    group.finish();
}

// ---------------------------------------------------------------------------------------
// encode_commands
// ---------------------------------------------------------------------------------------

/// The serde mirror of a `device_del` command, in QEMU's member order.
#[derive(Serialize)]
struct DeviceDelCommand<'a> {
    execute: &'a str,
    arguments: DeviceDelArgs<'a>,
    id: u64,
}

#[derive(Serialize)]
struct DeviceDelArgs<'a> {
    id: &'a str,
}

fn qmp_encode(ids: &[String], buf: &mut [u8]) -> usize {
    let mut sink = SliceSink::new(buf);
    for (n, id) in ids.iter().enumerate() {
        let args = DeviceDel { id };
        encode::command(&mut sink, "device_del", Ser(&args), Some(Id::U64(n as u64)))
            .expect("buffer is large enough");
    }
    sink.len()
}

fn qmp_raw_args(args: &[RawJson<'_>], buf: &mut [u8]) -> usize {
    let mut sink = SliceSink::new(buf);
    for (n, args) in args.iter().enumerate() {
        encode::command(&mut sink, "device_del", args, Some(Id::U64(n as u64)))
            .expect("buffer is large enough");
    }
    sink.len()
}

fn serde_to_writer(ids: &[String], out: &mut Vec<u8>) -> usize {
    out.clear();
    for (n, id) in ids.iter().enumerate() {
        let command = DeviceDelCommand {
            execute: "device_del",
            arguments: DeviceDelArgs { id },
            id: n as u64,
        };
        serde_json::to_writer(&mut *out, &command).expect("Vec grows");
    }
    out.len()
}

fn core_to_slice(ids: &[String], buf: &mut [u8]) -> usize {
    let mut pos = 0;
    for (n, id) in ids.iter().enumerate() {
        let command = DeviceDelCommand {
            execute: "device_del",
            arguments: DeviceDelArgs { id },
            id: n as u64,
        };
        pos +=
            serde_json_core::to_slice(&command, &mut buf[pos..]).expect("buffer is large enough");
    }
    pos
}

fn encode_commands(c: &mut Criterion) {
    let ids: Vec<String> = (0..COMMANDS).map(|n| format!("net{n}")).collect();
    let raw_texts: Vec<String> = ids
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\"}}"))
        .collect();
    let raw_args: Vec<RawJson<'_>> = raw_texts
        .iter()
        .map(|t| RawJson::parse(t.as_bytes()).expect("valid JSON"))
        .collect();

    // Every encoder writes the same bytes.
    let expected: Vec<u8> = (0..COMMANDS)
        .flat_map(|n| {
            format!(r#"{{"execute":"device_del","arguments":{{"id":"net{n}"}},"id":{n}}}"#)
                .into_bytes()
        })
        .collect();
    let len = expected.len();
    let mut buf = vec![0u8; len + 4096];
    let mut out = Vec::with_capacity(len + 4096);
    let n = qmp_encode(&ids, &mut buf);
    assert_eq!(&buf[..n], expected, "qmp/encode");
    buf.fill(0);
    let n = qmp_raw_args(&raw_args, &mut buf);
    assert_eq!(&buf[..n], expected, "qmp/raw_args");
    buf.fill(0);
    let n = core_to_slice(&ids, &mut buf);
    assert_eq!(&buf[..n], expected, "serde_json_core/to_slice");
    let n = serde_to_writer(&ids, &mut out);
    assert_eq!(&out[..n], expected, "serde_json/to_writer");
    // And the bytes are the intended commands.
    let commands: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&expected)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("valid JSON");
    assert_eq!(commands.len(), COMMANDS);
    for n in [0, 1, 9, 10, 12_345, COMMANDS - 1] {
        let id = format!("net{n}");
        assert_eq!(
            commands[n],
            serde_json::json!({"execute": "device_del", "arguments": {"id": id}, "id": n})
        );
    }
    eprintln!(
        "encode_commands: {COMMANDS} commands, {len} bytes, {:.1} bytes/command",
        len as f64 / COMMANDS as f64
    );

    let mut group = c.benchmark_group("encode_commands");
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function("qmp/encode", |b| {
        b.iter(|| {
            let n = qmp_encode(black_box(&ids), &mut buf);
            assert_eq!(n, len);
            black_box(&buf[..n]);
        })
    });
    group.bench_function("qmp/raw_args", |b| {
        b.iter(|| {
            let n = qmp_raw_args(black_box(&raw_args), &mut buf);
            assert_eq!(n, len);
            black_box(&buf[..n]);
        })
    });
    group.bench_function("serde_json/to_writer", |b| {
        b.iter(|| {
            let n = serde_to_writer(black_box(&ids), &mut out);
            assert_eq!(n, len);
            black_box(&out[..n]);
        })
    });
    group.bench_function("serde_json_core/to_slice", |b| {
        b.iter(|| {
            let n = core_to_slice(black_box(&ids), &mut buf);
            assert_eq!(n, len);
            black_box(&buf[..n]);
        })
    });
    group.finish();
}

/// Short runs, as in `framing.rs`.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

// ---------------------------------------------------------------------------------------
// parse_reply
// ---------------------------------------------------------------------------------------

/// `Message::parse` of the real 236 KB `query-qmp-schema` reply, already validated:
/// from a `Frame` (which knows where `return` ends) and from the same text as a
/// `RawJson` (which has to walk `return` to find the `id` after it).
fn parse_reply(c: &mut Criterion) {
    let schema = qmp_benches::schema();
    let frame = Frame::parse(&schema).expect("the schema reply is valid JSON");
    let raw = RawJson::from(frame);
    let expected = Message::parse(raw).expect("a reply");
    assert_eq!(Message::parse(frame), Ok(expected));
    let Message::Return(ret) = expected else {
        panic!("not a return")
    };
    assert!(ret.value.as_bytes().len() > 200_000, "the whole schema");
    assert!(ret
        .id
        .is_some_and(|id| id.as_json_str().is_some_and(|s| s == "schema")));

    let mut group = c.benchmark_group("parse_reply");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.bench_function("qmp/frame", |b| {
        b.iter(|| Message::parse(black_box(frame)).expect("a reply"))
    });
    group.bench_function("qmp/raw_json", |b| {
        b.iter(|| Message::parse(black_box(raw)).expect("a reply"))
    });
    group.finish();
}

criterion_group! {
    name = messages;
    config = config();
    targets = typed_events, encode_commands, parse_reply
}
criterion_main!(messages);
