#!/usr/bin/env bash
# User-space instructions per command of each client of the `pipeline` bench, counted
# by callgrind (valgrind) inside the batches only (`Tally::batch`): the client's own
# work (encoding, framing, parsing, matching replies, the system call wrappers), without
# the kernel's share and without the noise of a shared machine. The count moves only
# a little from run to run (by how many replies each read happens to bring).
#
#   benches/pipeline-instructions.sh                 # every client
#   benches/pipeline-instructions.sh qmp/blocking    # some of them
#
# Needs valgrind and QEMU (scripts/install-qemu). Runs the bench once per client in
# criterion's test mode (one batch per group) under callgrind; QEMU runs natively.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
bin=$(cargo bench -q -p qmp-benches --bench pipeline --no-run --message-format=json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "pipeline" and msg.get("executable"):
        print(msg["executable"])
')
[[ -n $bin ]] || { echo "the pipeline bench did not build" >&2; exit 1; }

clients=("$@")
[[ ${#clients[@]} -gt 0 ]] || clients=(qmp/blocking qmp/async qmp/session serde_json/lines)
echo "| client | commands | user-space instructions/command |"
echo "|---|---:|---:|"
for client in "${clients[@]}"; do
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect='pipeline::Tally::batch*' "$bin" --test "$client" 2>&1)
    # The bench's summary row for the client gives the number of commands run.
    commands=$(awk -v c="$client" '$1 == c && $2 ~ /^[0-9]+$/ { print $2 }' <<<"$out")
    collected=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out" | sort -n | tail -n 1)
    if [[ -z $commands || -z $collected ]]; then
        echo "$client: no count (did the bench run? its output follows)" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "| $client | $commands | $((collected / commands)) |"
done
