#!/usr/bin/env bash
# qmp-wasm's own suite (scripts/test runs it after scripts/install-wasm-tools):
#
# 1. clippy for wasm32 with -D warnings, with and without the feature `std`, and of
#    floor/ (the throughput breakdown's measuring module);
# 2. the wasm-bindgen-test suite in Node and in headless Chromium;
# 3. the npm package build (build.sh) and `tsc --noEmit` of an example project against
#    its .d.ts files;
# 4. the TypeScript client's Node tests against a real QEMU behind websockify (each test
#    starts and stops its own QEMU, websockify and splitting proxy);
# 5. the end-to-end test of the demo page in headless Chromium, with a screenshot;
# 6. the budgets: .wasm size and a short throughput run with its breakdown, reported (a
#    case decoded wrong fails).
#
# A missing tool is a failure, never a skip. Prints one `test result:` line per suite.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
step() { printf '\n==> qmp-wasm: %s\n' "$*"; }

for tool in wasm-bindgen wasm-bindgen-test-runner chromium chromedriver websockify qemu-system-x86_64 node; do
    command -v "$tool" >/dev/null || { echo "qmp-wasm/test.sh: $tool not found (scripts/install-wasm-tools installs it)" >&2; exit 1; }
done
[[ -d js/node_modules/typescript && -d js/node_modules/playwright-core && -d js/node_modules/binaryen ]] ||
    { echo "qmp-wasm/test.sh: npm packages missing (scripts/install-wasm-tools)" >&2; exit 1; }

step "clippy, wasm32 (-D warnings)"
cargo clippy -p qmp-wasm --all-targets --target wasm32-unknown-unknown -- -D warnings
# The npm package's build: no_std, without the default feature `std` (build.sh).
cargo clippy -p qmp-wasm --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
# The measuring module of the throughput breakdown (its own workspace).
(cd floor && cargo fmt --check &&
    CARGO_TARGET_DIR="$root/target/floor" cargo clippy --release --target wasm32-unknown-unknown -- -D warnings)

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
step "wasm-bindgen-test in Node"
cargo test -p qmp-wasm --target wasm32-unknown-unknown --test node

step "wasm-bindgen-test in headless Chromium"
webdriver=$(mktemp)
trap 'rm -f "$webdriver"' EXIT
cat >"$webdriver" <<'JSON'
{ "goog:chromeOptions": { "args": ["--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"] } }
JSON
CHROMEDRIVER=$(command -v chromedriver) WASM_BINDGEN_TEST_WEBDRIVER_JSON=$webdriver \
    cargo test -p qmp-wasm --target wasm32-unknown-unknown --test browser

step "npm package (build.sh) and tsc --noEmit of the example project"
./build.sh
js/node_modules/.bin/tsc -p js/example/tsconfig.json
echo "test result: ok. 1 passed; 0 failed; (tsc --noEmit js/example)"

step "TypeScript client against QEMU behind websockify (Node)"
report=$(mktemp)
trap 'rm -f "$webdriver" "$report"' EXIT
status=0
node --experimental-websocket --no-warnings --test --test-reporter=spec \
    --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$report" \
    js/test/client.test.mjs || status=$?
pass=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$report")
fail=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$report")
echo "test result: $([[ $status == 0 ]] && echo ok || echo FAILED). ${pass:-0} passed; ${fail:-0} failed; (node --test js/test)"
[[ $status == 0 ]]

step "end to end: the demo page in headless Chromium through websockify to QEMU"
node js/test/e2e.mjs "$root/target/qmp-wasm-e2e/console.png"
echo "test result: ok. 1 passed; 0 failed; (js/test/e2e.mjs)"

step "budgets: .wasm size and a short throughput run (measured and reported; a wrong decode fails)"
./budgets.sh --quick --breakdown
