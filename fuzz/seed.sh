#!/usr/bin/env bash
# Build the seed corpora fuzz/corpus/<target>/ from the repository's test data:
# the QEMU captures (testdata/captures/*.rx.bin, whole and split into lines), the
# JSONTestSuite parsing cases, and a few hand-made inputs for the targets whose input is
# not plain JSON. Corpora are generated, never committed (fuzz/corpus is git-ignored);
# running this again only adds files (named by content hash, as libFuzzer names them).
set -euo pipefail
cd "$(dirname "$0")"

captures=../testdata/captures
suite=../testdata/JSONTestSuite/test_parsing
# Files above the fuzzers' -max_len (see smoke.sh) are left out whole; their lines stay.
max_len=65536
targets=(frame_chunks json_differential message_roundtrip encode_arbitrary typed_events shell_syntax)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# add TARGET FILE: copy FILE into the target's corpus under its SHA-1.
add() {
    local size
    size=$(wc -c <"$2")
    if ((size == 0 || size > max_len)); then
        return
    fi
    local hash
    hash=$(sha1sum "$2" | cut -c1-40)
    cp "$2" "corpus/$1/$hash"
}

# add_framed FILE: FILE behind several frame_chunks headers (settings byte, schedule
# length, schedule; see qmp_core::fuzz::frame_chunks).
add_framed() {
    local h i=0
    for h in '\x06\x00' '\x07\x01\x41' '\x05\x03\x03\x00\xbf' '\x0e\x02\x10\x50' \
        '\x03\x04\x01\x02\x00\x7f' '\x80\x01\x3f'; do
        {
            printf "$h"
            cat "$1"
        } >"$tmp/framed.$i"
        add frame_chunks "$tmp/framed.$i"
        i=$((i + 1))
    done
}

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
done

# Captures: whole files and one message line each.
for f in "$captures"/*.rx.bin; do
    rm -f "$tmp"/line.*
    split -l 1 -d -a 5 "$f" "$tmp/line."
    for piece in "$f" "$tmp"/line.*; do
        for t in json_differential message_roundtrip typed_events encode_arbitrary; do
            add "$t" "$piece"
        done
        add_framed "$piece"
    done
done

# JSONTestSuite: every y_, n_ and i_ case, as documents and as framer input.
for f in "$suite"/*.json; do
    add json_differential "$f"
    add message_roundtrip "$f"
done

# A trimmed query-qmp-schema reply (the first entries of the real one), for the
# introspection views.
if command -v python3 >/dev/null 2>&1; then
    python3 - "$captures/query-qmp-schema.json" "$tmp/schema.json" <<'PY'
import json, sys
reply = json.load(open(sys.argv[1]))
entries = reply["return"]
by_meta = {}
for e in entries:
    by_meta.setdefault(e["meta-type"], []).append(e)
small = entries[:40] + [e for es in by_meta.values() for e in es[:6]]
json.dump({"return": small}, open(sys.argv[2], "w"))
PY
    add typed_events "$tmp/schema.json"
    add message_roundtrip "$tmp/schema.json"
fi

# SPICE session sequences for the tracker: main channel + one more, both closed;
# one connection abandoned; a 0.12-style initialized without port.
server='"server": {"port": "5931", "family": "ipv4", "host": "127.0.0.1"}'
ts='"timestamp": {"seconds": 1755977653, "microseconds": 248749}'
client() { printf '"client": {"port": "%s", "family": "ipv4", "host": "127.0.0.1"' "$1"; }
{
    for port in 59206 59207; do
        printf '{%s, "event": "SPICE_CONNECTED", "data": {%s, %s}}}\r\n' "$ts" "$server" "$(client $port)"
    done
    printf '{%s, "event": "SPICE_INITIALIZED", "data": {%s, %s, "channel-type": 1, "connection-id": 1933299969, "channel-id": 0, "tls": false}}}\r\n' \
        "$ts" "$server" "$(client 59206)"
    printf '{%s, "event": "SPICE_INITIALIZED", "data": {%s, %s, "channel-type": 2, "connection-id": 1933299969, "channel-id": 0, "tls": true}}}\r\n' \
        "$ts" "$server" "$(client 59207)"
    printf '{%s, "event": "SPICE_INITIALIZED", "data": {%s, "client": {"family": "ipv4", "host": "127.0.0.1", "channel-type": 3, "connection-id": 1933299969, "channel-id": 0, "tls": false}}}\r\n' \
        "$ts" "$server"
    for port in 59207 59206 59208; do
        printf '{%s, "event": "SPICE_DISCONNECTED", "data": {%s, %s}}}\r\n' "$ts" "$server" "$(client $port)"
    done
} >"$tmp/spice"
add typed_events "$tmp/spice"
add message_roundtrip "$tmp/spice"
add_framed "$tmp/spice"

# encode_arbitrary: a message kind, a name, an id and a payload selector, then bytes
# for the payload (see qmp_core::fuzz::encode_arbitrary's Reader).
for kind in 0 1 2 3 4 5 6; do
    for payload in 0 1 2 3 4 7 8 9; do
        printf "\\x$kind\\x00\\x0cquery-status\\x03\\x04q-id\\x0$payload\\x40\\x00" >"$tmp/enc"
        printf '\x18\x05\x1c\x01a\x0e\x05hello\x0b\x00\x00\x00\x00\x00\x00\xf8\x7f\x1d\x03\x00\x01\x0e\x02\xc3\xa9' >>"$tmp/enc"
        printf '{"device": "cd0", "n": [1, 2.5, -3e10, true, null, "\\u00e9\\ud83d\\ude00"]}' >>"$tmp/enc"
        add encode_arbitrary "$tmp/enc"
    done
done

# Human command lines, as people type them at a QMP shell.
i=0
while IFS= read -r line; do
    printf '%s' "$line" >"$tmp/shell.$i"
    add shell_syntax "$tmp/shell.$i"
    i=$((i + 1))
done <<'LINES'
query-status
qmp_capabilities enable=["oob"]
device_del id=net0
block-job-set-speed device=j0 speed=1048576
blockdev-add driver=null-co node-name=n0
blockdev-add driver=qcow2 node-name=d0 file.driver=file file.filename=/tmp/a.qcow2
human-monitor-command command-line="info version"
object-add qom-type=memory-backend-ram id=m0 size=1073741824 share=true
migrate-set-parameters max-bandwidth=-1 downtime-limit=0.5 x.y.z=null
x a.x=1 b=2 a.y={"k": [1, "\u00e9"]} c="two words" d=-1.5e3 e=TRUE
LINES

for t in "${targets[@]}"; do
    printf '%-18s %5d seeds\n' "$t" "$(find "corpus/$t" -type f | wc -l)"
done
