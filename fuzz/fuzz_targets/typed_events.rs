#![no_main]
// Typed events, replies, schema views and the SPICE tracker on arbitrary frames.
libfuzzer_sys::fuzz_target!(|data: &[u8]| qmp_core::fuzz::typed_events(data));
