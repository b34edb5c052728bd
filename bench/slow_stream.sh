#!/usr/bin/env bash
# The long-run cell of the fault table: one slow stream through the release gateway, a
# chunk every second for MINUTES minutes (default 20), on a connection whose first-byte
# timeout is 10 s and whose pause limit is 30 s. It must arrive whole: every chunk, then
# [DONE], with a 200 row in the request log. Prints what arrived, how long it took, the
# gateway's RSS before and after, and the row.
#   bench/slow_stream.sh [MINUTES]
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MINUTES="${1:-20}"
CHUNKS=$((MINUTES * 60))
# BENCH_BIN_DIR: use binaries built earlier (a long run that later builds must not replace).
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  BIN="$BENCH_BIN_DIR"
else
  cargo build -q --release -p server -p bench
  BIN="$CARGO_TARGET_DIR/release"
fi
work="$(mktemp -d)"
cleanup() {
  [ -f "$work/pids" ] && xargs -r kill < "$work/pids" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN/mock_upstream" --chunks "$CHUNKS" --chunk-interval-ms 1000 > "$work/mock" 2>/dev/null &
echo $! >> "$work/pids"
for _ in $(seq 1 100); do [ -s "$work/mock" ] && break; sleep 0.05; done
upstream="http://$(head -n1 "$work/mock")"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN/langmart" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --health-check-interval-secs 0 \
  --allow-private-endpoints > "$work/langmart.log" 2>&1 &
gw_pid=$!
echo "$gw_pid" >> "$work/pids"
gw="http://127.0.0.1:$port"
for _ in $(seq 1 200); do curl -fsS "$gw/health" >/dev/null 2>&1 && break; sleep 0.05; done
"$BIN/langmart" user create --email slow@bench.local --handle slow --password-stdin --data-dir "$work/data" <<< "bench-password-1" >/dev/null 2>&1
key="$("$BIN/langmart" key create --email slow@bench.local --name bench --data-dir "$work/data" 2>/dev/null)"
curl -fsS -X POST "$gw/api/connections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"openai\",\"name\":\"slow\",\"api_key\":\"sk-bench\",\"endpoint_url\":\"$upstream/v1\",\"timeout_ms\":10000,\"idle_timeout_ms\":30000}" >/dev/null

rss() { echo "$(( $(ps -o rss= -p "$gw_pid" | tr -d ' ') / 1024 )) MB"; }
echo "slow stream: $CHUNKS chunks, one a second (~$MINUTES min); first-byte timeout 10 s, pause limit 30 s"
echo "gateway RSS before: $(rss)"
start=$SECONDS
curl -sS -N --max-time $((MINUTES * 60 + 120)) "$gw/v1/chat/completions" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' \
  -d '{"model":"openai/bench-model","stream":true,"messages":[{"role":"user","content":"take your time"}]}' \
  > "$work/stream.txt" || true
took=$((SECONDS - start))
chunks="$(grep -c '"content":"x"' "$work/stream.txt" || true)"
done_seen="$(grep -c '^data: \[DONE\]' "$work/stream.txt" || true)"
errors="$(grep -c '"error"' "$work/stream.txt" || true)"
echo "gateway RSS after:  $(rss)"
echo "took ${took} s; content chunks ${chunks}/${CHUNKS}; [DONE] ${done_seen}; error events ${errors}"
sleep 1  # the row is written within the log flush interval
row="$(curl -fsS "$gw/api/logs?limit=1" -H "Authorization: Bearer $key" | python3 -c '
import json, sys
r = json.load(sys.stdin)["logs"][0]
print("status {}, error_code {}, latency {:.1f} s".format(r["status"], r["error_code"], r["latency_ms"] / 1000))')"
echo "log row: $row"
if [ "$chunks" -eq "$CHUNKS" ] && [ "$done_seen" -eq 1 ] && [ "$errors" -eq 0 ] && [[ "$row" == status\ 200* ]]; then
  echo "PASS: the stream arrived whole"
else
  echo "FAIL: the stream did not arrive whole"; exit 1
fi
