#![no_main]
// validate and the framer accept exactly what serde_json accepts.
libfuzzer_sys::fuzz_target!(|data: &[u8]| qmp_core::fuzz::json_differential(
    data,
    qmp_fuzz::accepts
));
