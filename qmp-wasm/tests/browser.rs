//! The wasm-bindgen-test suite in headless Chromium: as `tests/node.rs`, with
//! `CHROMEDRIVER` set to chromedriver's path and `--test browser`.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod suite;
