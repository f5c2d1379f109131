#!/usr/bin/env bash
# Speed of `qmp decode` on a 30 MB stream made of the bundled QEMU captures, side by
# side in one run with `jq -c .` and Python's `json` module reading the same bytes line
# by line (what people reach for to read a QMP log).
#
#   qmp-cli/speed.sh [MEGABYTES]        # default 30
#
# Needs jq and python3: when jq is missing it is installed with apt-get if this runs as
# root (a no-op when present), else its rows are skipped with a message saying so.
# Each tool reads the stream from a file and writes to /dev/null; each figure is the
# median wall-clock time of 3 runs, MB = 10^6 bytes. A benchmark, not a test: it is not
# part of scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."

megabytes=${1:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v python3 >/dev/null; then
    echo "speed.sh: python3 is needed (to time the runs and for the Python row)" >&2
    exit 2
fi
if ! command -v jq >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "speed.sh: installing jq (apt-get install -y jq)" >&2
        apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }
    else
        echo "speed.sh: jq not found and cannot be installed here (not root): its row is skipped" >&2
    fi
fi

cargo build --release -q -p qmp-cli
qmp=target/release/qmp

# The stream: every bundled capture but extras.rx.bin, in turn, until MEGABYTES. extras
# holds the one line QEMU writes that is not JSON (`inf` for the id 1e999), at which
# `jq -c .` stops with an error, so that it could not be timed on the whole stream; the
# pretty capture (chardev_mon_pretty) is in, which jq reads and a line-based reader
# cannot.
python3 - "$work/stream.bin" "$megabytes" <<'EOF'
import glob, sys
out, megabytes = sys.argv[1], float(sys.argv[2])
parts = [open(p, "rb").read() for p in sorted(glob.glob("testdata/captures/*.rx.bin"))
         if not p.endswith("extras.rx.bin")]
target = int(megabytes * 1e6)
with open(out, "wb") as f:
    written = 0
    while written < target:
        for part in parts:
            f.write(part)
            written += len(part)
EOF

cat > "$work/lines.py" <<'EOF'
# Python's json reading the stream line by line, as a QMP log reader does.
import json, sys
ok = bad = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        if not line.strip():
            continue
        try:
            json.loads(line)
            ok += 1
        except ValueError:
            bad += 1
print(f"{ok} messages parsed, {bad} lines failed", file=sys.stderr)
EOF

python3 - "$work" "$qmp" <<'EOF'
import os, shutil, subprocess, sys, time
work, qmp = sys.argv[1], sys.argv[2]
stream = os.path.join(work, "stream.bin")
size = os.path.getsize(stream)
runs = [
    ("qmp decode (one line per message)", [qmp, "decode", stream], None),
    ("qmp decode --json (JSON Lines)", [qmp, "decode", "--json", stream], None),
    ("qmp decode -s (summary only)", [qmp, "decode", "-s", stream], None),
    ("jq -c .", ["jq", "-c", "."], stream),
    ("python3 json.loads per line", [sys.executable, os.path.join(work, "lines.py"), stream], None),
]
print(f"stream: {size} bytes ({size / 1e6:.1f} MB) of the bundled captures; "
      f"median of 3 runs each, MB/s = 10^6 bytes per second")
print(f"{'reader':<36} {'seconds':>8} {'MB/s':>8}  what it found")
for name, cmd, stdin in runs:
    if shutil.which(cmd[0]) is None and not os.path.exists(cmd[0]):
        print(f"{name:<36} {'skipped':>8} {'':>8}  ({cmd[0]} not installed)")
        continue
    times, found = [], ""
    for _ in range(3):
        with open(stdin or os.devnull, "rb") as inp:
            start = time.perf_counter()
            done = subprocess.run(cmd, stdin=inp, stdout=subprocess.PIPE if name.startswith("jq") else subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            times.append(time.perf_counter() - start)
        err = done.stderr.decode(errors="replace").strip().splitlines()
        if name.startswith("jq"):
            texts = done.stdout.count(b"\n")
            found = f"{texts} texts" + (f"; exit {done.returncode}: {err[-1]}" if done.returncode else "")
        elif name.startswith("python"):
            found = err[-1] if err else ""
        elif "-s" in cmd:
            found = ""
        if name.startswith("qmp") and done.returncode not in (0, 1):
            found = f"exit {done.returncode}: {err[-1] if err else ''}"
    if name.startswith("qmp decode -s"):
        summary = subprocess.run(cmd, capture_output=True).stdout.decode().splitlines()
        found = "; ".join(l.split(":", 1)[1].strip() for l in summary if l.startswith(("messages", "stream errors")))
    times.sort()
    median = times[1]
    print(f"{name:<36} {median:>8.3f} {size / 1e6 / median:>8.0f}  {found}")
EOF
