#!/usr/bin/env bash
# Instructions per byte of framing, and of framing plus Message::parse, on each benchmark
# corpus, counted by callgrind (valgrind): exact and the same on every run of the same
# build, where wall-clock figures on a shared machine move by tens of percent.
#
#   benches/instructions.sh            # all four corpora
#   benches/instructions.sh chatter    # some of them
#
# Needs valgrind (Debian: apt-get install valgrind). Each count is that of two passes
# minus that of none (building the corpus), halved.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -q -p qmp-benches --example passes
bin=${CARGO_TARGET_DIR:-target}/release/examples/passes

count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p; s/.*refs: *\([0-9,]*\).*/\1/p' | tr -d , | tail -n 1
}

corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(schema events chatter pretty)
echo "| corpus | bytes | framer, instructions/byte | framer + Message::parse, instructions/byte | framer ÷ (framer + parse) |"
echo "|---|---:|---:|---:|---:|"
for corpus in "${corpora[@]}"; do
    bytes=$("$bin" "$corpus" frame 0 | cut -d' ' -f1)
    base=$(count "$corpus" frame 0)
    frame=$(count "$corpus" frame 2)
    parse=$(count "$corpus" parse 2)
    python3 - "$corpus" "$bytes" "$base" "$frame" "$parse" <<'PY'
import sys
corpus, size, base, frame, parse = sys.argv[1], *map(int, sys.argv[2:])
f = (frame - base) / 2 / size
p = (parse - base) / 2 / size
print(f"| {corpus} | {size} | {f:.2f} | {p:.2f} | {f / p:.2f} |")
PY
done
