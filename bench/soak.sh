#!/usr/bin/env bash
# Soak: the release gateway under mixed load for a long while, its RSS printed every minute.
# Whole answers at a fixed rate (~1% of them to a connection that always fails, with no
# fallback, so they end in errors), plus streams opened in waves of 20 (20 chunks each).
#   bench/soak.sh [MINUTES] [RPS]     (default 10 minutes at 1000 rps)
# Prints one line a minute (elapsed, RSS, request-log rows) and, at the end, each load's
# summary and whether RSS stayed within 10% of its first-minute value.
set -euo pipefail
MINUTES="${1:-10}"
RPS="${2:-1000}"
source "$(dirname "$0")/lib.sh"

fast="$(bench_mock --latency-ms 0)"
streamy="$(bench_mock --chunks 20 --chunk-interval-ms 20)"
bench_gateway
k_ok="$(bench_user_key soakok)"; bench_connect "$k_ok" fast "$fast"
k_bad="$(bench_user_key soakbad)"; bench_connect "$k_bad" failing "$fast/fail" ',"max_retries":0,"allow_fallback":false'
k_stream="$(bench_user_key soakstream)"; bench_connect "$k_stream" streamy "$streamy"

seconds=$((MINUTES * 60))
failing_rps=$(( RPS / 100 > 0 ? RPS / 100 : 1 ))
"$BIN/loadgen" rate --url "$gw/v1" --key "$k_ok" --model openai/bench-model --rps "$((RPS - failing_rps))" --seconds "$seconds" > "$work/whole.json" &
echo $! >> "$work/pids"; whole_pid=$!
"$BIN/loadgen" rate --url "$gw/v1" --key "$k_bad" --model openai/bench-model --rps "$failing_rps" --seconds "$seconds" > "$work/failing.json" &
echo $! >> "$work/pids"; failing_pid=$!
(
  end=$((SECONDS + seconds))
  waves=0
  while [ "$SECONDS" -lt "$end" ]; do
    "$BIN/loadgen" streams --url "$gw/v1" --key "$k_stream" --model openai/bench-model --streams 20 > "$work/streams.last" 2>/dev/null || true
    waves=$((waves + 1))
  done
  echo "$waves" > "$work/streams.waves"
) &
echo $! >> "$work/pids"; streams_pid=$!

echo "soak: ${MINUTES} min, whole answers at $((RPS - failing_rps)) rps + ${failing_rps} rps failing, streams in waves of 20"
echo "| minute | RSS (MB) | /health in_flight | log rows queued / dropped |"
echo "|---|---|---|---|"
first=""
last=""
for minute in $(seq 1 "$MINUTES"); do
  sleep 60
  rss_kb="$(ps -o rss= -p "$gw_pid" | tr -d ' ')"
  health="$(curl -fsS "$gw/health" || echo '{}')"
  read -r in_flight queued dropped < <(python3 -c 'import json,sys; h=json.loads(sys.argv[1] or "{}"); l=h.get("request_log",{}); print(h.get("in_flight","?"), l.get("queued","?"), l.get("dropped","?"))' "$health")
  mb="$(python3 -c "print(round($rss_kb/1024, 1))")"
  [ -z "$first" ] && first="$mb"
  last="$mb"
  echo "| $minute | $mb | $in_flight | $queued / $dropped |"
done
wait "$whole_pid" "$failing_pid" "$streams_pid" 2>/dev/null || true
echo "whole:   $(cat "$work/whole.json")"
echo "failing: $(cat "$work/failing.json")"
echo "streams: $(cat "$work/streams.waves" 2>/dev/null || echo '?') waves of 20; last wave: $(cat "$work/streams.last" 2>/dev/null)"
python3 -c "
first, last = $first, $last
change = (last - first) / first * 100
print(f'RSS first minute {first} MB, last minute {last} MB: {change:+.1f}% ({\"flat within 10%\" if abs(change) <= 10 else \"NOT flat\"})')
"
