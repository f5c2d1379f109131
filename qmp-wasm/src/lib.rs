//! Browser bindings for `qmp-core`.
//!
//! This crate is a placeholder until the wasm issue lands: it re-exports the core crate
//! (as `qmp_wasm::qmp_core`) so the workspace builds it for `wasm32-unknown-unknown` from
//! the start.
#![forbid(unsafe_code)]

pub use qmp_core;

// `core` here is the language's core library: the re-export above keeps its own name, so
// it does not shadow `core` (this line would not compile if it did).
const _: core::option::Option<&str> = core::option::Option::None;
