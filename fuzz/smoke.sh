#!/usr/bin/env bash
# Fuzz smoke run, for CI: install cargo-fuzz if missing, build every target, seed the
# corpora, then run each target for FUZZ_SECONDS (default 20) with the QMP dictionary.
# Any crash, panic, timeout or out-of-memory fails the run (non-zero exit); libFuzzer
# leaves the input in fuzz/artifacts/<target>/.
#
# Runs on stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly flags, and `-s none`
# turns the sanitizer off (qmp-core is #![forbid(unsafe_code)]). `-a` keeps debug
# assertions and overflow checks on in the optimized build.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-20}
flags=(-s none -a)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# A failed plain-stable attempt caches its nightly probe here; start clean.
rm -f target/.rustc_info.json
cargo fuzz build "${flags[@]}"
./seed.sh

# The largest input each target gets (longer ones only slow it down: encode_arbitrary
# reads 2048 bytes at most, and the stream targets find nothing new in long repeats).
max_len() {
    case $1 in
        encode_arbitrary) echo 2048 ;;
        frame_chunks) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo fuzz list); do
    printf '\n==> fuzz %s for %ss\n' "$target" "$seconds"
    mkdir -p "artifacts/$target"
    if ! cargo fuzz run "${flags[@]}" "$target" -- \
        -max_total_time="$seconds" -dict=qmp.dict -max_len="$(max_len "$target")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        printf '\nfuzz target %s failed; the input is in fuzz/artifacts/%s/\n' "$target" "$target" >&2
        exit 1
    fi
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
done
printf '\nfuzz smoke: every target ran %ss without a crash\n' "$seconds"
