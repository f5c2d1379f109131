#![no_main]
// Arbitrary messages encode to valid, compact ASCII JSON that parses back equal.
libfuzzer_sys::fuzz_target!(|data: &[u8]| qmp_core::fuzz::encode_arbitrary(
    data,
    qmp_fuzz::accepts,
    qmp_fuzz::render
));
