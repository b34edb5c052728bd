#!/usr/bin/env bash
# The long-run cell of the fault table: one slow stream through the release gateway, a
# chunk every second for MINUTES minutes (default 20), on a connection whose first-byte
# timeout is 10 s and whose pause limit is 30 s. It must arrive whole: every chunk, then
# [DONE], with a 200 row in the request log. Prints what arrived, how long it took, the
# gateway's RSS before and after, and the row.
#   bench/slow_stream.sh [MINUTES]
set -euo pipefail
MINUTES="${1:-20}"
CHUNKS=$((MINUTES * 60))
source "$(dirname "$0")/lib.sh"

upstream="$(bench_mock --chunks "$CHUNKS" --chunk-interval-ms 1000)"
bench_gateway
key="$(bench_user_key slow)"
bench_connect "$key" slow "$upstream" ',"timeout_ms":10000,"idle_timeout_ms":30000'

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
