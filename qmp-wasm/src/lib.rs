//! Browser bindings for `qmp-core`.
//!
//! This crate is a placeholder until the wasm issue lands: it re-exports the core crate so
//! the workspace builds it for `wasm32-unknown-unknown` from the start.
#![forbid(unsafe_code)]

pub use qmp_core as core;
