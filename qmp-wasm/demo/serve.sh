#!/usr/bin/env bash
# Serves the demo console: websockify on 127.0.0.1:PORT (8080) serves the page and the
# npm package over HTTP and proxies its websocket to a QMP unix socket: the one given,
# or a QEMU it starts for the purpose (`-machine none`, stopped on exit). Then open
# http://127.0.0.1:PORT/demo/ and press Connect.
#
#   qmp-wasm/demo/serve.sh [--port PORT] [QMP_SOCKET]
#
# Builds the package first if qmp-wasm/pkg is missing (qmp-wasm/build.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
port=8080
socket=
while (($#)); do
    case $1 in
        --port) port=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) socket=$1; shift ;;
    esac
done
[[ -f $here/pkg/index.js ]] || "$here/build.sh"

if [[ -z $socket ]]; then
    dir=$(mktemp -d)
    socket=$dir/qmp.sock
    qemu-system-x86_64 -machine none -nodefaults -display none \
        -qmp "unix:$socket,server=on,wait=off" &
    qemu=$!
    trap 'kill $qemu 2>/dev/null; rm -rf "$dir"' EXIT
    for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.05; done
fi
echo "demo console: http://127.0.0.1:$port/demo/  (QMP socket $socket; Ctrl-C stops)"
websockify --web "$here" --unix-target="$socket" "127.0.0.1:$port"
