#!/usr/bin/env bash
# Build the firmware agent and print its section sizes, and how much of its .text is
# qmp-core's: the functions whose symbols name a qmp_core item (LTO inlines some
# qmp-core code into the agent's own functions, which this leaves out; it also leaves
# out the agent's own formatting and semihosting, the timer, the UART driver and
# compiler-builtins). Goal: qmp-core's part <= 24 KiB.
#
# Installs what it needs (idempotent): the thumbv7em-none-eabihf target and rustup's
# llvm-tools component (llvm-size, llvm-nm).
set -euo pipefail
cd "$(dirname "$0")"

TARGET=thumbv7em-none-eabihf
rustup target add "$TARGET" >/dev/null 2>&1 || rustup target add "$TARGET"
rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools
HOST=$(rustc -vV | sed -n 's/^host: //p')
BIN_DIR="$(rustc --print sysroot)/lib/rustlib/$HOST/bin"

cargo build --release --quiet --target-dir target
ELF=target/$TARGET/release/qmp-firmware-agent

"$BIN_DIR/llvm-size" -A "$ELF" | awk '$1 ~ /^\.(text|rodata|data|bss|vector_table)$/ { printf "%-14s %7d\n", $1, $2 }'
# Text symbols by owner: qmp_core, the agent, the float and integer helpers, the rest.
"$BIN_DIR/llvm-nm" -S -C --radix=d "$ELF" | awk '
    $3 ~ /^[tT]$/ {
        name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
        owner = "core, compiler-builtins, semihosting"
        if (name ~ /qmp_core/) owner = "qmp-core"
        else if (name ~ /qmp_firmware_agent|^Reset$/) owner = "the agent (script, reports, UART, timer)"
        size[owner] += $2
    }
    END { for (o in size) printf "  %-42s %7d\n", o, size[o] }' | sort
