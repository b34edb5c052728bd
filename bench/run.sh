#!/usr/bin/env bash
# LangMart's benchmark: the gateway's added latency, throughput, streaming, memory and
# cold start, each against a direct call to the same mock upstream, in one run.
#   bench/run.sh           full run (release build, ~5 minutes of load)
#   bench/run.sh --smoke   a few seconds of each scenario (debug build), as CI runs it
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

if [ "${1:-}" = "--smoke" ]; then
  MODE=smoke; PROFILE=debug; RATES="100 300"; SECONDS_EACH=2; SAT_SECONDS=2; STREAMS=20; HOLD=50; SETTLE_MS=200; SEQUENTIAL=3
  cargo build -q -p server -p bench
else
  MODE=full; PROFILE=release; RATES="500 2000 5000"; SECONDS_EACH=20; SAT_SECONDS=10; STREAMS=200; HOLD=2000; SETTLE_MS=3000; SEQUENTIAL=30
  cargo build -q --release -p server -p bench
fi
BIN="$CARGO_TARGET_DIR/$PROFILE"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work="$(mktemp -d)"
# Every process started here, by pid (mocks start in subshells, so a file, not an array).
cleanup() {
  [ -f "$work/pids" ] && xargs -r kill < "$work/pids" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a helper binary (mock upstream, bare pass-through proxy) and prints its address.
helper() {
  local bin="$1" out="$work/helper.$RANDOM"; shift
  "$BIN/$bin" "$@" > "$out" 2>>"$work/mock.log" &
  echo $! >> "$work/pids"
  for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.05; done
  head -n1 "$out"
}
mock() { helper mock_upstream "$@"; }
fast="http://$(mock --latency-ms 0)"
streamy="http://$(mock --chunks 20 --chunk-interval-ms 20)"
slow="http://$(mock --chunks 100000 --chunk-interval-ms 1000)"
# The baseline a gateway is held to: the same request through a proxy that only forwards.
bare="http://$(helper passthrough --upstream "$fast")"
bare_pid="$(tail -n1 "$work/pids")"
bare_streamy="http://$(helper passthrough --upstream "$streamy")"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN/langmart" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --health-check-interval-secs 0 --allow-private-endpoints > "$work/langmart.log" 2>&1 &
gw_pid=$!
echo "$gw_pid" >> "$work/pids"
gw="http://127.0.0.1:$port"
for _ in $(seq 1 200); do curl -fsS "$gw/health" >/dev/null 2>&1 && break; sleep 0.05; done

# One user per scenario, so "openai/bench-model" routes to that user's connection.
user_key() {
  "$BIN/langmart" user create --email "$1@bench.local" --password "bench-password-1" --handle "$1" --data-dir "$work/data" 2>/dev/null
  "$BIN/langmart" key create --email "$1@bench.local" --name bench --data-dir "$work/data" 2>/dev/null
}
connect() { # key name base [extra json] [provider]
  local id
  id="$(curl -fsS -X POST "$gw/api/connections" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -d "{\"provider\":\"${5:-openai}\",\"name\":\"$2\",\"api_key\":\"sk-bench\",\"endpoint_url\":\"$3\"${4:-}}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  curl -fsS -X POST "$gw/api/connections/$id/test" -H "Authorization: Bearer $1" >/dev/null
}
collection() { # key name member...
  local key="$1" name="$2"; shift 2
  local members; members="$(printf '"%s",' "$@")"
  curl -fsS -X POST "$gw/api/collections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$name\",\"strategy\":\"fallback\",\"models\":[${members%,}]}" >/dev/null
}
k_fast="$(user_key bench-fast)"; connect "$k_fast" fast "$fast/v1"
k_stream="$(user_key bench-stream)"; connect "$k_stream" streamy "$streamy/v1"
k_slow="$(user_key bench-slow)"; connect "$k_slow" slow "$slow/v1"
k_fb="$(user_key bench-fallback)"
connect "$k_fb" failing "$fast/fail/v1" ',"prefer_score":200,"max_retries":0'
connect "$k_fb" backup "$fast/v1"
# collection/NAME with three healthy members (the first serves), and one whose first
# member fails, so the second serves.
k_coll="$(user_key bench-coll)"
connect "$k_coll" one "$fast/v1" "" openai
connect "$k_coll" two "$fast/v1" "" groq
connect "$k_coll" three "$fast/v1" "" mistral
connect "$k_coll" down "$fast/fail/v1" ',"max_retries":0' deepseek
collection "$k_coll" three openai/bench-model groq/bench-model mistral/bench-model
collection "$k_coll" first-fails deepseek/bench-model openai/bench-model groq/bench-model

lg() { "$BIN/loadgen" "$@"; }
results="$work/results.jsonl"
record() { printf '{"name":"%s","side":"%s","data":%s}\n' "$1" "$2" "$3" >> "$results"; }

# Memory first, on a process no overload has grown yet.
record hold gateway "$(lg hold --url "$gw/v1" --key "$k_slow" --model openai/bench-model --streams "$HOLD" --pid "$gw_pid" --settle-ms "$SETTLE_MS")"

for rps in $RATES; do
  record "rate_$rps" direct "$(lg rate --url "$fast/v1" --model bench-model --rps "$rps" --seconds "$SECONDS_EACH")"
  record "rate_$rps" passthrough "$(lg rate --url "$bare/v1" --model bench-model --rps "$rps" --seconds "$SECONDS_EACH")"
  record "rate_$rps" gateway "$(lg rate --url "$gw/v1" --key "$k_fast" --model openai/bench-model --rps "$rps" --seconds "$SECONDS_EACH")"
done
record saturation direct "$(lg concurrency --url "$fast/v1" --model bench-model --concurrency 64 --seconds "$SAT_SECONDS")"
record saturation passthrough "$(lg concurrency --url "$bare/v1" --model bench-model --concurrency 64 --seconds "$SAT_SECONDS" --pid "$bare_pid")"
record saturation gateway "$(lg concurrency --url "$gw/v1" --key "$k_fast" --model openai/bench-model --concurrency 64 --seconds "$SAT_SECONDS" --pid "$gw_pid")"
record streams direct "$(lg streams --url "$streamy/v1" --model bench-model --streams "$STREAMS")"
record streams passthrough "$(lg streams --url "$bare_streamy/v1" --model bench-model --streams "$STREAMS")"
record streams gateway "$(lg streams --url "$gw/v1" --key "$k_stream" --model openai/bench-model --streams "$STREAMS")"
record stream_one direct "$(lg streams --sequential --url "$streamy/v1" --model bench-model --streams "$SEQUENTIAL")"
record stream_one passthrough "$(lg streams --sequential --url "$bare_streamy/v1" --model bench-model --streams "$SEQUENTIAL")"
record stream_one gateway "$(lg streams --sequential --url "$gw/v1" --key "$k_stream" --model openai/bench-model --streams "$SEQUENTIAL")"
first_rate="${RATES%% *}"
record fallback gateway "$(lg rate --url "$gw/v1" --key "$k_fb" --model openai/bench-model --rps "$first_rate" --seconds "$SECONDS_EACH")"
record collection gateway "$(lg rate --url "$gw/v1" --key "$k_coll" --model collection/three --rps "$first_rate" --seconds "$SECONDS_EACH")"
record collection_fallback gateway "$(lg rate --url "$gw/v1" --key "$k_coll" --model collection/first-fails --rps "$first_rate" --seconds "$SECONDS_EACH")"
cold_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
record coldstart gateway "$(lg coldstart --bin "$BIN/langmart" --data-dir "$work/cold" --port "$cold_port")"

python3 "$ROOT/bench/report.py" "$results" "$MODE"
