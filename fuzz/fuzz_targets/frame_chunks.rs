#![no_main]
// The same input framed whole and in fuzzer-chosen chunks must give identical results.
libfuzzer_sys::fuzz_target!(|input: (&[u8], &[u8])| qmp_core::fuzz::frame_chunks(input.0, input.1));
