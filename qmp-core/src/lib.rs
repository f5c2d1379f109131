//! # qmp-core
//!
//! An allocation-free codec for the QEMU Monitor Protocol (QMP): `#![no_std]`, no
//! allocator, no `unsafe`, and no panics on any input.
//!
//! The crate is built in layers, each a module, from the top:
//!
//! - [`shell`] — [`ShellCommand`](shell::ShellCommand): the `NAME KEY=VALUE` lines people
//!   type at a QMP shell, checked with column-carrying errors and encoded as commands.
//! - [`message`] — [`Message`](message::Message): greeting, command, return, error and
//!   event, classified by key and borrowed from the frame; plus QEMU's request rules for
//!   servers.
//! - [`encode`] — compact, ASCII-only JSON for every message kind into a caller buffer or
//!   an `embedded_io::Write`, with payloads from any `Serialize` type or raw JSON.
//! - [`json`] — zero-copy views into validated frames: [`RawJson`](json::RawJson) (kind,
//!   members, elements, numbers as `i64`/`u64`/`f64`, serde-json-core decoding) and
//!   [`JsonStr`](json::JsonStr) (escaped strings, decoded only on request).
//! - [`frame`] — a [`Framer`](frame::Framer) over a caller-provided buffer turns bytes in
//!   any chunking into complete JSON texts ([`Frame`](frame::Frame)), found by structure
//!   rather than by newline, with typed, offset-carrying errors and automatic
//!   resynchronisation after bad input.
//! - [`scan`] — the resumable strict RFC 8259 [`Scanner`](scan::Scanner) underneath: a
//!   byte-level state machine that never examines a byte twice and never recurses.
//!
//! ```
//! use qmp_core::frame::Framer;
//!
//! let mut framer = Framer::new([0u8; 1024]);
//! framer.push(b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \
//!     \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n{\"return\"");
//! let greeting = framer.next().unwrap().unwrap();
//! assert!(greeting.as_bytes().starts_with(b"{\"QMP\""));
//! // The second message is still partial: "need more" is not an error.
//! assert!(framer.next().is_none());
//! framer.push(b": {}}\r\n");
//! assert_eq!(framer.next().unwrap().unwrap().as_bytes(), b"{\"return\": {}}");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "std")]
extern crate std;

pub mod encode;
pub mod frame;
pub mod json;
pub mod message;
pub mod scan;
pub mod schema;
pub mod shell;

#[cfg(any(test, feature = "fuzz"))]
#[doc(hidden)]
pub mod fuzz;

/// The repository README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
