#!/usr/bin/env bash
# The server and a simulated monitor feed for `make demo`; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
SERVER="" SIM=""
stop() { [ -n "$SIM" ] && kill "$SIM" 2>/dev/null; [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait; }
trap stop EXIT INT TERM
"$BIN/vigil" serve --port "$PORT" &
SERVER=$!
"$BIN/python" - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.5)
PY
echo
echo "Open http://127.0.0.1:$PORT/ and sign in as nurse (password vigil-demo-2026);"
echo "the 6-digit code it asks next comes from: .venv/bin/vigil demo-codes (demo only)."
echo "Simulated monitors on Seattle CHEL's booths; an overdose begins within a minute."
echo
"$BIN/vigil" simulate --site "Seattle CHEL" --booths 10 --scenario overdose --onset 45 --every 600 &
SIM=$!
wait "$SERVER"
