#![no_main]
// The same input framed whole and by a fuzzer-chosen schedule gives identical results.
libfuzzer_sys::fuzz_target!(|data: &[u8]| qmp_core::fuzz::frame_chunks(data));
