#!/usr/bin/env bash
# Instructions per request, which machine load does not move: the release `langmart`
# under callgrind serving N chat completions from the mock upstream, counters zeroed after
# a warm-up. Compare two builds by passing their target directories.
#   bench/callgrind.sh [TARGET_DIR] [REQUESTS]    (default: $CARGO_TARGET_DIR or target, 2000)
# Prints: instructions in the whole process / requests. Needs valgrind and a release build
# of `server` and `bench` in TARGET_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_BIN_DIR="${1:-${CARGO_TARGET_DIR:-$ROOT/target}}/release"
REQUESTS="${2:-2000}"
RPS=100
source "$(dirname "$0")/lib.sh"

upstream="$(bench_mock --latency-ms 0)"
key="$(bench_user_key cgbench)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  "$BIN/langmart" serve --addr "127.0.0.1:$port" --data-dir "$work/data" \
  --health-check-interval-secs 0 --allow-private-endpoints > "$work/serve.log" 2>&1 &
echo $! >> "$work/pids"
gw="http://127.0.0.1:$port"
for _ in $(seq 1 600); do curl -fsS "$gw/health" >/dev/null 2>&1 && break; sleep 0.1; done
bench_connect "$key" fast "$upstream"
# Warm-up (caches, pools, the routing snapshot), then count only the measured requests.
"$BIN/loadgen" rate --url "$gw/v1" --key "$key" --model openai/bench-model --rps 50 --seconds 4 >/dev/null
callgrind_control -z >/dev/null 2>&1
"$BIN/loadgen" rate --url "$gw/v1" --key "$key" --model openai/bench-model --rps "$RPS" --seconds "$((REQUESTS / RPS))" > "$work/load.json"
callgrind_control -d >/dev/null 2>&1
sleep 1
total="$(callgrind_annotate "$(ls -t "$work"/cg.out* | head -n1)" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')"
python3 - "$total" "$REQUESTS" "$work/load.json" <<'EOF'
import json, sys
total, requests = int(sys.argv[1]), int(sys.argv[2])
load = json.load(open(sys.argv[3]))
errors = load.get("errors", 0)
print(f"{total / requests / 1000:.1f} k instructions per request ({total:,} for {requests} requests, {errors} errors)")
EOF
# CALLGRIND_KEEP=FILE keeps the profile, for `callgrind_annotate --inclusive=yes FILE`.
if [ -n "${CALLGRIND_KEEP:-}" ]; then cp "$(ls -t "$work"/cg.out* | head -n1)" "$CALLGRIND_KEEP"; fi
