#!/usr/bin/env bash
# qmp-wasm's budgets, measured:
#
# - the .wasm of the npm package after `wasm-opt -Oz` (build.sh): at most 64 KiB, raw and
#   gzipped (-9);
# - decode throughput in Node on the real captures, side by side with the naive JS
#   approach in one run (js/bench/throughput.mjs): at least 2x with the payload as text,
#   at least 1x with every payload made a JS value; and the cases where the naive
#   approach is wrong.
#
# A case qmp-wasm decodes wrong is always a failure (counted in a `test result:` line).
# A budget missed is a measurement, not a test: it is reported on a `budgets:` line and
# fails the script only with `--strict` (the throughput figures of a shared machine move
# between runs).
#
#   qmp-wasm/budgets.sh [--quick] [--strict] [--breakdown]
#
# --quick: 1 MB corpora, 3 rounds. --breakdown: also where the time goes on the schema
# session, and how far WebAssembly could come down (builds floor/, see its src/lib.rs).
set -euo pipefail
cd "$(dirname "$0")"
options=() strict=false
for arg in "$@"; do
    case $arg in
        --quick) options+=(--quick) ;;
        --breakdown) floor/build.sh; options+=(--breakdown) ;;
        --strict) strict=true ;;
        *) echo "budgets.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
[[ -f pkg/qmp_wasm_bg.wasm ]] || ./build.sh

budget=65536
raw=$(stat -c %s pkg/qmp_wasm_bg.wasm)
gz=$(gzip -9 -c pkg/qmp_wasm_bg.wasm | wc -c)
echo "qmp_wasm_bg.wasm after wasm-opt -Oz: $raw bytes raw, $gz bytes gzipped (budget $budget each)"
missed=()
((raw <= budget && gz <= budget)) || missed+=(size)

code=0
node js/bench/throughput.mjs "${options[@]}" || code=$?
case $code in
    0) ;;
    3) missed+=(throughput) ;;
    *) echo "budgets.sh: qmp-wasm decoded a case wrong" >&2; exit 1 ;;
esac
echo "test result: ok. 1 passed; 0 failed; (qmp-wasm decodes every correctness case of the throughput run)"
echo "budgets: $((2 - ${#missed[@]})) of 2 met (size, throughput); missed: ${missed[*]:-none}"
if ((${#missed[@]})) && $strict; then
    echo "budgets.sh: over budget: ${missed[*]}" >&2
    exit 1
fi
