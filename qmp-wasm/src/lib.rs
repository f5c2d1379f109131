//! Browser bindings for `qmp-core`: QMP for pages that reach QEMU through a websocket
//! proxy (websockify in front of the QMP socket).
//!
//! The crate is thin: each JS class is one file, and every error crosses into JS through
//! one mapping ([`error`]).
//!
//! - [`Decoder`] (`decoder.rs`): push websocket bytes in chunks of any size; get every
//!   message with its kind, event name or error class, id and payload, as one batch of
//!   text plus a table of offsets, so that a push costs a few calls across the boundary
//!   whatever the number of messages. Bytes that are not JSON come out as JS errors with
//!   their offset and size, and the decoder goes on.
//! - [`encode_command`] and [`encode_line`] (`encode.rs`, exported to JS as one
//!   [`encode()`]): a command from a name and arguments (a JS object or JSON text), or
//!   from a line in the human command syntax of [`qmp_core::shell`], as the bytes to
//!   send; `exec-oob` on request.
//! - [`Client`] (`client.rs`): the sans-IO [`qmp_core::session::Client`] with its own
//!   framer and output buffer, for the promise-based TypeScript client of the npm package
//!   (`js/src/client.ts`), which only moves bytes between it and a `WebSocket`.
//!
//! Everything is usable from Rust too (the crate is also an `rlib`), which is how the
//! `wasm-bindgen-test` suites in `tests/` drive it.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod client;
mod decoder;
mod encode;
pub mod error;
mod js;
mod sink;

pub use client::{outcome, send, Client};
pub use decoder::{memory, record, Decoder};
pub use encode::{encode, encode_command, encode_line};
pub use qmp_core;

/// Without `std` (the npm package's build), a panic traps at once: nothing is formatted.
/// The same as a panic with `std` and `panic = "abort"` seen from JS (a
/// `WebAssembly.RuntimeError`), without the code that would format a message nobody
/// reads.
#[cfg(all(not(feature = "std"), target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

// The allocator of the .wasm: talc rather than std's dlmalloc, 6.2 KB smaller after
// wasm-opt. Single-threaded wasm only (talc's cell is not a lock).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
