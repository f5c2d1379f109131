#!/usr/bin/env bash
# Builds qmp-wasm's npm package into qmp-wasm/pkg: the .wasm (profile wasm-release, then
# the wasm-bindgen CLI, then `wasm-opt -Oz` from the npm package binaryen), the
# ES-module glue and its TypeScript types, the TypeScript client compiled from js/src,
# and package.json. Works in browsers and Node (tested with Node 20):
# `import { connect, Decoder } from 'qmp-wasm'`.
#
# Needs what scripts/install-wasm-tools installs. Prints the sizes at the end.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
pkg=$PWD/pkg
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

# Without the default feature `std`: no_std, and a panic traps without formatting
# anything (qmp-wasm/Cargo.toml says why).
cargo build -p qmp-wasm --lib --target wasm32-unknown-unknown --profile wasm-release --no-default-features
rm -rf "$pkg"
wasm-bindgen --target web --out-dir "$pkg" --out-name qmp_wasm \
    "$target_dir/wasm32-unknown-unknown/wasm-release/qmp_wasm.wasm"
# --converge repeats -Oz while it still shrinks the module (148 bytes); the producers
# section only names the compilers (114 bytes).
js/node_modules/.bin/wasm-opt -Oz --converge --strip-producers \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    "$pkg/qmp_wasm_bg.wasm" -o "$pkg/qmp_wasm_bg.wasm"
rm -f "$pkg/.gitignore"

js/node_modules/.bin/tsc -p js/tsconfig.json

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
cat >"$pkg/package.json" <<JSON
{
  "name": "qmp-wasm",
  "version": "$version",
  "description": "QEMU Monitor Protocol for browsers and Node: a streaming decoder, command encoding and a promise-based WebSocket client, over qmp-core in WebAssembly",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./index.js",
  "types": "./index.d.ts",
  "exports": {
    ".": { "types": "./index.d.ts", "default": "./index.js" },
    "./qmp_wasm_bg.wasm": "./qmp_wasm_bg.wasm"
  },
  "files": ["*.js", "*.d.ts", "qmp_wasm_bg.wasm", "snippets/"],
  "sideEffects": false
}
JSON

raw=$(stat -c %s "$pkg/qmp_wasm_bg.wasm")
gz=$(gzip -9 -c "$pkg/qmp_wasm_bg.wasm" | wc -c)
echo "qmp-wasm package in $pkg: qmp_wasm_bg.wasm $raw bytes, $gz gzipped"
