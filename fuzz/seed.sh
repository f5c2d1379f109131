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
targets=(frame_chunks json_differential message_roundtrip encode_arbitrary typed_events shell_syntax
    session_ops)

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

# session_ops (see qmp_core::fuzz::session_ops): the first byte picks the mode.
# Client (0x3C: Client<4>, 1024-byte framer; 0x12: Client<4>, 8 bytes; 0x15: 48 bytes;
# 0x0C: Client<1>): each capture as server bytes in chunks of at most 255 (op 0x00, length,
# bytes), negotiating with oob (0x44) after the first and sending execute_raw (0x05),
# execute_oob (0x08), execute (0x09), resync (0x0a) between the others; then close (0x0c).
if command -v python3 >/dev/null 2>&1; then
    python3 - "$tmp" "$captures"/*.rx.bin <<'PY'
import sys
out, files = sys.argv[1], sys.argv[2:]
def program(settings, data):
    p = bytearray([settings])
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        p += bytes([0, len(chunk)]) + chunk
        p += b"\x44" if i == 0 else b"\x05\x08\x09\x0a"
    return bytes(p + b"\x0c")
n = 0
for f in files:
    data = open(f, "rb").read()[:16 * 1024]
    for settings in (0x3C, 0x15, 0x0C):
        open(f"{out}/session.{n}", "wb").write(program(settings, data))
        n += 1
PY
    for f in "$tmp"/session.*; do
        add session_ops "$f"
    done
fi
greeting='{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": ["oob"]}}\r\n'
# Texts in printf's escapes: ret ID gives a reply's; feed TEXT writes op 0x00, the
# length and the bytes.
ret() { printf '{"return": {}, "id": %s}\\r\\n' "$1"; }
feed() {
    printf "$1" >"$tmp/chunk"
    printf '\x00'
    printf "\\x$(printf %02x "$(wc -c <"$tmp/chunk")")"
    cat "$tmp/chunk"
}
{
    printf '\x3c'
    feed "$greeting"
    printf '\x44'
    feed "$(ret 0)"
    printf '\x05\x09\x17\x85\x08\x05'
    feed "$(ret 3)$(ret 1)$(ret 1)"
    printf '\x0a'
    feed '{"error": {"class": "GenericError", "desc": "JSON parse error"}}\r\n'
    printf '\x0c\x09\x0d'
    feed "$greeting"
    printf '\x04'
    feed "$(ret 6)"
    printf '\x17\x05\x0d'
} >"$tmp/client.crafted"
add session_ops "$tmp/client.crafted"
# Server (0x31: no oob, 0x3D: oob offered and a version; both with a 1024-byte framer):
# client requests, good and bad.
requests='{"execute": "query-name", "id": "a"}{"execute": "qmp_capabilities", "arguments": {"enable": ["oob", 1]}, "id": 2}
{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}, "id": [3]}
{"execute": "x", "arguments": {"a": [1, "\u00e9"]}, "id": {"k": 1}}\xff[1]{"exec-oob": "qmp_capabilities", "id": 3}
{"execute": "qmp_capabilities"}{"execute": 1, "id": null}{"exec-oob": "y", "id": "z"}{"execute": "y", "x": 1}'
for settings in '\x31' '\x3d' '\x01'; do
    printf "$settings$requests" >"$tmp/server"
    add session_ops "$tmp/server"
done
# Pair (0x02: no oob, 0x06: oob offered): commands (0x00-0x02, 0x08: out of band), events
# (0x03), deliveries to the server (0x04/0x05) and to the client (0x06/0x07), the upper
# five bits the chunk size (0: everything).
for settings in '\x02' '\x06'; do
    printf "$settings"'\x06\x00\x04\x06\x00\x08\x00\x03\x01\x08\x03\x0c\x0e\x1e\x04\x0c\x16\x02\x03\x03\x00\x00\x00\x00\x0c\x04\x06\x03' >"$tmp/pair"
    add session_ops "$tmp/pair"
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
