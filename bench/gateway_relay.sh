#!/usr/bin/env bash
# What a self-hosted gateway adds: the same mock upstream reached by LangMart directly (a
# cloud connection) and through a `langmart gateway` agent (a type-3 connection), side by
# side — whole-request latency at two rates, and streaming time to first byte, one stream
# at a time and many at once. The agent runs on this machine too, so the difference is
# the relay itself (two extra hops over loopback: server → agent → upstream), not a WAN.
#   bench/gateway_relay.sh           release build, ~2 minutes of load
#   bench/gateway_relay.sh --smoke   a few seconds, debug build
set -euo pipefail
if [ "${1:-}" = "--smoke" ]; then
  RATES="100"; SECONDS_EACH=2; STREAMS=20; SEQUENTIAL=5
  source "$(dirname "$0")/../scripts/lib.sh"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  cargo build -q -p server -p bench
  BENCH_BIN_DIR="$CARGO_TARGET_DIR/debug"
else
  RATES="200 1000"; SECONDS_EACH=20; STREAMS=100; SEQUENTIAL=50
fi
source "$(dirname "$0")/lib.sh"
fast="$(bench_mock --latency-ms 0)"
streamy="$(bench_mock --chunks 20 --chunk-interval-ms 20)"
bench_gateway
key="$(bench_user_key relay)"
api() { curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Direct: cloud connections (openai → fast, groq → streamy).
for pair in "openai fast $fast" "groq streamy $streamy"; do
  set -- $pair
  id="$(api -X POST "$gw/api/connections" -d "{\"provider\":\"$1\",\"name\":\"$2\",\"api_key\":\"sk-bench\",\"endpoint_url\":\"$3/v1\"}" | json '["id"]')"
  api -X POST "$gw/api/connections/$id/test" >/dev/null
done
# Relayed: one agent with the same two upstreams (custom → fast, ollama → streamy).
token="$(api -X POST "$gw/api/gateways" -d '{"name":"bench"}' | json '["token"]')"
cat > "$work/gateway.toml" <<TOML
[[upstream]]
name = "fast"
provider = "custom"
url = "$fast/v1"

[[upstream]]
name = "streamy"
provider = "ollama"
url = "$streamy/v1"
TOML
LANGMART_GATEWAY_TOKEN="$token" "$BIN/langmart" gateway --server "$gw" --config "$work/gateway.toml" > "$work/agent.log" 2>&1 &
echo $! >> "$work/pids"
for _ in $(seq 1 200); do
  ready="$(api "$gw/api/connections?gateway_type=3" | python3 -c 'import json,sys; c=json.load(sys.stdin)["connections"]; print(sum(1 for x in c if x["model_count"]>0 and x["status"]=="active"))')"
  [ "$ready" = 2 ] && break; sleep 0.05
done
[ "$ready" = 2 ] || { echo "the agent's connections did not become active" >&2; tail -n 20 "$work/agent.log" "$work/langmart.log" >&2; exit 1; }

lg() { "$BIN/loadgen" "$@"; }
results="$work/results.jsonl"
record() { printf '{"name":"%s","side":"%s","data":%s}\n' "$1" "$2" "$3" >> "$results"; }
for rps in $RATES; do
  record "rate_$rps" direct "$(lg rate --url "$gw/v1" --key "$key" --model openai/bench-model --rps "$rps" --seconds "$SECONDS_EACH")"
  record "rate_$rps" relay "$(lg rate --url "$gw/v1" --key "$key" --model custom/bench-model --rps "$rps" --seconds "$SECONDS_EACH")"
done
record stream_one direct "$(lg streams --sequential --url "$gw/v1" --key "$key" --model groq/bench-model --streams "$SEQUENTIAL")"
record stream_one relay "$(lg streams --sequential --url "$gw/v1" --key "$key" --model ollama/bench-model --streams "$SEQUENTIAL")"
record streams direct "$(lg streams --url "$gw/v1" --key "$key" --model groq/bench-model --streams "$STREAMS")"
record streams relay "$(lg streams --url "$gw/v1" --key "$key" --model ollama/bench-model --streams "$STREAMS")"

python3 - "$results" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault(r["name"], {})[r["side"]] = r["data"]
ms = lambda us: f"{us / 1000:.3f}"
print("| scenario | LangMart → upstream p50 | LangMart → agent → upstream p50 | added p50 | added p99 | errors (direct / relay) |")
print("|---|---|---|---|---|---|")
for name, d in rows.items():
    if name.startswith("rate_"):
        a, b = d["direct"], d["relay"]
        print(f"| whole, {name[5:]} rps | {ms(a['p50_us'])} | {ms(b['p50_us'])} | {ms(b['p50_us'] - a['p50_us'])} | {ms(b['p99_us'] - a['p99_us'])} | {a['errors']} / {b['errors']} |")
for name, label in [("stream_one", "stream TTFB, one at a time"), ("streams", "stream TTFB, all at once")]:
    a, b = rows[name]["direct"]["ttfb"], rows[name]["relay"]["ttfb"]
    print(f"| {label} ({a['count']}) | {ms(a['p50_us'])} | {ms(b['p50_us'])} | {ms(b['p50_us'] - a['p50_us'])} | {ms(b['p99_us'] - a['p99_us'])} | {rows[name]['direct']['errors']} / {rows[name]['relay']['errors']} |")
bad = [n for n, d in rows.items() for s, v in d.items() if (v.get("errors") or 0) > 0]
if bad:
    sys.exit(f"errors in {bad}")
PY
