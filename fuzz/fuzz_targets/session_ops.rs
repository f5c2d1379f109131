#![no_main]
// Operation sequences against the sans-IO client and server, and a client/server pair.
libfuzzer_sys::fuzz_target!(|data: &[u8]| qmp_core::fuzz::session_ops(data));
