#!/usr/bin/env bash
# Builds the measuring module of `node qmp-wasm/js/bench/throughput.mjs --breakdown`
# into qmp-wasm/floor/floor.wasm (see src/lib.rs), with qmp-wasm's compiler settings
# and `wasm-opt -Oz` as qmp-wasm/build.sh does. Needs what scripts/install-wasm-tools
# installs.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
export CARGO_TARGET_DIR=$root/target/floor
cargo build --release --target wasm32-unknown-unknown
../js/node_modules/.bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-sign-ext \
    --enable-mutable-globals --enable-nontrapping-float-to-int --enable-multivalue \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/qmp_wasm_floor.wasm" -o floor.wasm
echo "qmp-wasm/floor/floor.wasm: $(stat -c %s floor.wasm) bytes"
