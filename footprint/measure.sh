#!/usr/bin/env bash
# Build the footprint firmware for thumbv7em-none-eabihf and print its section sizes.
#
#   footprint/measure.sh            # the full image, then the per-layer breakdown
#   footprint/measure.sh --symbols  # also the 25 largest functions of the last image
#                                   # built, the whole-catalogue one (all-events)
#
# Works wherever cargo puts its output (CARGO_TARGET_DIR, a configured target-dir): the
# image's path is taken from cargo's own build report.
#
# Installs what it needs (idempotent): the thumbv7em-none-eabihf target and rustup's
# llvm-tools component (for llvm-size / llvm-nm). Links with rust-lld; no external
# toolchain. Goal: .text of the full image (the client session, two typed events) <= 24 KiB.
set -euo pipefail

cd "$(dirname "$0")"

TARGET=thumbv7em-none-eabihf
GOAL=$((24 * 1024))

rustup target add "$TARGET" >/dev/null 2>&1 || rustup target add "$TARGET"
rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools
HOST=$(rustc -vV | sed -n 's/^host: //p')
BIN_DIR="$(rustc --print sysroot)/lib/rustlib/$HOST/bin"
SIZE="$BIN_DIR/llvm-size"
NM="$BIN_DIR/llvm-nm"
[[ -x $SIZE && -x $NM ]] || { echo "llvm-size/llvm-nm not found in $BIN_DIR" >&2; exit 1; }

# The image built last (set by `row`).
ELF=

# section NAME: its size in the last built image (0 when absent).
section() {
    "$SIZE" -A "$ELF" | awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

# row LABEL CARGO-FEATURE-ARGS...: build one variant and print its table row.
row() {
    local label=$1
    shift
    ELF=$(cargo build --release --quiet --message-format=json-render-diagnostics "$@" |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    [[ -n $ELF && -f $ELF ]] || { echo "cargo reported no image for: $label" >&2; exit 1; }
    local text rodata data bss
    text=$(section .text)
    rodata=$(section .rodata)
    data=$(section .data)
    bss=$(section .bss)
    awk -v l="$label" -v t="$text" -v r="$rodata" -v d="$data" -v b="$bss" \
        'BEGIN { printf "| %s | %d (%.1f KiB) | %d | %d | %d |\n", l, t, t / 1024, r, d, b }'
}

echo "qmp-core footprint on $TARGET ($(rustc --version))"
echo "profile: opt-level=\"s\", lto, codegen-units=1, panic=abort"
echo
echo "| build | .text | .rodata | .data | .bss |"
echo "|---|---:|---:|---:|---:|"
row "framer + message" --no-default-features
row "framer + message + session (encode)" --no-default-features --features session
row "framer + message + typed events" --no-default-features --features typed-events
row "full: framer + message + typed events + session (encode)"
TEXT=$(section .text)
row "full, decoding the whole event catalogue (all-events)" --features all-events
echo
if ((TEXT <= GOAL)); then
    echo "full image .text = $TEXT bytes <= $GOAL (24 KiB): goal met"
else
    echo "full image .text = $TEXT bytes > $GOAL (24 KiB): goal missed by $((TEXT - GOAL)) bytes"
fi

if [[ ${1:-} == --symbols ]]; then
    echo
    echo "Largest functions of the whole-catalogue image, all-events (bytes):"
    "$NM" --size-sort --print-size --radix=d --demangle "$ELF" |
        awk '$3 ~ /^[tT]$/ { size = $2 + 0; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "%7d  %s\n", size, $0 }' |
        tail -25 | sort -rn
fi
