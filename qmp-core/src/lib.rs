//! # qmp-core
//!
//! An allocation-free codec for the QEMU Monitor Protocol (QMP): `#![no_std]`, no
//! allocator, no `unsafe`, and no panics on any input.
//!
//! ```
//! use qmp_core::frame::{Frame, FrameError, Framer};
//! use qmp_core::message::Message;
//!
//! // Bytes arrive in pieces of any size: a greeting, then a reply split in two.
//! let reads: [&[u8]; 2] = [
//!     b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \
//!       \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n{\"return\"",
//!     b": {}, \"id\": 1}\r\n",
//! ];
//! let mut framer = Framer::new([0u8; 1024]);
//! let mut kinds = Vec::new();
//! let mut on_item = |item: Result<Frame<'_>, FrameError>| match item.map(Message::parse) {
//!     Ok(Ok(Message::Greeting(g))) => kinds.push(if g.offers("oob") { "greeting+oob" } else { "greeting" }),
//!     Ok(Ok(Message::Return(_))) => kinds.push("return"),
//!     Ok(Ok(_)) => kinds.push("other"),
//!     Ok(Err(_not_qmp)) => kinds.push("not a QMP message"),
//!     Err(_bad_bytes) => kinds.push("bad bytes"),
//! };
//! for read in reads {
//!     // `feed` takes all of `read`, handing out each message as soon as it is complete;
//!     // a message still partial is kept for the next read, not an error.
//!     framer.feed(read, &mut on_item);
//! }
//! framer.finish(); // the end of the stream
//! framer.drain(&mut on_item);
//! assert_eq!(kinds, ["greeting+oob", "return"]);
//! ```
//!
//! # Layers
//!
//! The modules are the layers. Each uses only the ones below it (`scripts/check-layers`
//! enforces this in the test suite); from the top:
//!
//! - [`io`] — drivers over `embedded_io` transports: the blocking
//!   [`Connection`](io::Connection) and, with feature `async`, `io::AsyncConnection`
//!   over `embedded_io_async` (tokio through `embedded-io-adapters`). They connect,
//!   negotiate, execute typed or raw commands (in band or out of band) and wait for
//!   their replies, pipeline commands (`submit` / `next_reply`), resync, and keep a
//!   bounded, overflow-counting event queue; with feature `std`, unix and TCP sockets
//!   with timeouts (`io::std::connect_unix`, `io::std::connect_tcp`).
//! - [`session`] — sans-IO state machines: a [`Client`](session::Client) (greeting,
//!   capabilities negotiation with or without `oob`, id allocation, a bounded table of
//!   pending commands, replies matched by id in any order) and a
//!   [`Server`](session::Server) (QEMU's side: greeting, negotiation mode, QEMU's errors
//!   for bad input, dispatch to a handler). Framer items in, outcomes and bytes out; no
//!   I/O, no clock.
//! - [`shell`] — [`ShellCommand`](shell::ShellCommand): the `NAME KEY=VALUE` lines people
//!   type at a QMP shell, checked with column-carrying errors and encoded as commands
//!   through [`encode`]. It sits beside the typed layer, on the encoder.
//! - [`schema`] — typed payloads: [`schema::Event`] (the common events, decoded by
//!   name), the [`schema::Command`] trait (a command as a Rust type, with the glue that
//!   encodes it and reads its reply) and the common commands, `query-qmp-schema` views,
//!   and a SPICE session tracker.
//! - [`encode`] — compact, ASCII-only JSON for every message kind into a caller buffer or
//!   an `embedded_io::Write`, with payloads from any `Serialize` type or raw JSON.
//! - [`message`] — [`Message`](message::Message): greeting, request, return, error reply
//!   and event, classified by key and borrowed from the frame; plus QEMU's request rules
//!   for servers ([`parse_request`](message::parse_request)).
//! - [`json`] — zero-copy views into validated JSON: [`RawJson`](json::RawJson) (kind,
//!   members, elements, numbers, serde-json-core decoding) and
//!   [`JsonStr`](json::JsonStr) (escaped strings, decoded only on request), walked by
//!   one cursor.
//! - [`frame`] — a [`Framer`](frame::Framer) over a caller-provided buffer turns bytes in
//!   any chunking into complete JSON texts ([`Frame`](frame::Frame)), found by structure
//!   rather than by newline, with typed, offset-carrying errors and automatic
//!   resynchronisation after bad input.
//! - [`scan`] — the resumable strict RFC 8259 [`Scanner`](scan::Scanner) underneath: a
//!   byte-level state machine that never examines a byte twice and never recurses.
//! - [`describe`] — beneath them all: [`Describe`](describe::Describe), the errors' texts
//!   written in pieces without `core::fmt` (their `Display` goes through it), for images
//!   where formatting code costs too much (wasm, firmware).
//!
//! # Names
//!
//! One name, one meaning, across the crate:
//!
//! - **The layer is in the type name** where two layers see the same thing. The wire
//!   forms of the message layer are [`Request`](message::Request) (a command as it
//!   travels, arguments still raw), [`Return`](message::Return),
//!   [`ErrorReply`](message::ErrorReply), [`EventMessage`](message::EventMessage) (name,
//!   raw `data`, timestamp) and [`Greeting`](message::Greeting); the typed forms of the
//!   schema layer are [`schema::Command`] (a trait: a command as a Rust type) and
//!   [`schema::Event`] (an event decoded by name). `Raw…` means "still JSON, not
//!   decoded" ([`RawJson`](json::RawJson), [`RawList`](schema::RawList)); `Json…` a view
//!   of validated JSON ([`JsonStr`](json::JsonStr)).
//! - **Accessors keep one shape per name**: `as_bytes()` is always `&[u8]`; `as_str()` is
//!   always `Option<&str>`, the text borrowed when that needs no decoding;
//!   `as_json_str()` the escaped [`JsonStr`](json::JsonStr); `name()` the wire name;
//!   `description()` a static text.
//! - **Errors are `…Error` with a `kind` and an `offset`** where a position exists
//!   ([`ScanError`](scan::ScanError), [`MessageError`](message::MessageError),
//!   [`DecodeError`](schema::DecodeError); [`FrameError`](frame::FrameError) says where
//!   the bad region starts and how long it is): offsets are absolute stream offsets when
//!   the input came from a [`Frame`](frame::Frame). Each layer has its own small errors,
//!   and a sink's error is the sink's ([`BufferFull`](encode::BufferFull),
//!   [`WriteError`](encode::WriteError)).
//! - **Configuration** is [`ScanConfig`](scan::ScanConfig), for the scanner and the
//!   framer alike; limits are const generics or constructor arguments.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "std")]
extern crate std;

pub mod describe;
pub mod encode;
pub mod frame;
pub mod io;
pub mod json;
pub mod message;
pub mod scan;
pub mod schema;
pub mod session;
pub mod shell;

#[cfg(any(test, feature = "fuzz"))]
#[doc(hidden)]
pub mod fuzz;

/// The repository README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
