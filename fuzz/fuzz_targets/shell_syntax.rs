#![no_main]
// Human command lines: no panic, and an accepted line encodes to the request it describes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| qmp_core::fuzz::shell_syntax(data));
