#![no_main]
// parse -> encode -> frame -> parse gives back an equal message.
libfuzzer_sys::fuzz_target!(|data: &[u8]| qmp_core::fuzz::message_roundtrip(data));
