#!/usr/bin/env bash
# Replicas on one PostgreSQL and one Redis, on this machine: throughput of one replica and
# of two (load spread over both, no balancer), and what the Redis round trip adds per
# request (a rate-limited connection, whose window lives in Redis, against an unlimited
# one, which touches no shared state). Needs PostgreSQL and Redis on 127.0.0.1 (see
# ../shared/services.md). Prints one JSON line per measurement.
#
#   bench/replicas.sh [SECONDS=10] [CONCURRENCY=64]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECONDS_EACH="${1:-10}"
CONC="${2:-64}"
PG_ADMIN="${LANGMART_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${LANGMART_BENCH_REDIS_URL:-redis://127.0.0.1:6379}"

pg_isready -h 127.0.0.1 >/dev/null || { echo "PostgreSQL is not running" >&2; exit 1; }
redis-cli -h 127.0.0.1 ping >/dev/null || { echo "Redis is not running" >&2; exit 1; }
db="langmart_bench_$RANDOM$RANDOM"
psql "$PG_ADMIN" -qc "CREATE DATABASE $db" >/dev/null
db_url="${PG_ADMIN%/*}/$db"
prefix="bench$RANDOM:"
cleanup() {
  bench_cleanup
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 --scan --pattern "$prefix*" | xargs -r redis-cli -h 127.0.0.1 del >/dev/null 2>&1 || true
}
trap cleanup EXIT

fast="$(bench_mock)"
common=(--database-url "$db_url" --redis-url "$REDIS_URL" --redis-prefix "$prefix" --log-flush-ms 200)

bench_gateway "${common[@]}"
one="$gw"; one_pid="$gw_pid"
"$BIN/langmart" user create --email bench@bench.local --handle bench --password-stdin --database-url "$db_url" --data-dir "$work/data" <<< "bench-password-1" >/dev/null 2>&1
key="$("$BIN/langmart" key create --email bench@bench.local --name bench --database-url "$db_url" --data-dir "$work/data" 2>/dev/null)"
# Unlimited: no shared state per request. Limited: one Redis script before, one after.
curl -fsS -X POST "$gw/api/connections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"openai\",\"name\":\"free\",\"api_key\":\"sk-bench\",\"endpoint_url\":\"$fast/v1\"}" >/dev/null
curl -fsS -X POST "$gw/api/connections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"groq\",\"name\":\"limited\",\"api_key\":\"sk-bench\",\"endpoint_url\":\"$fast/v1\",\"rate_limit_rpm\":1000000000,\"rate_limit_tpm\":1000000000000}" >/dev/null

lg() { "$BIN/loadgen" "$@"; }
report() { printf '{"name":"%s","data":%s}\n' "$1" "$2"; }

# Added latency at a light, fixed rate (no queueing): unlimited vs limited.
report "one replica, unlimited connection, 200 rps" "$(lg rate --url "$one/v1" --key "$key" --model openai/bench-model --rps 200 --seconds "$SECONDS_EACH")"
report "one replica, limited connection (Redis window), 200 rps" "$(lg rate --url "$one/v1" --key "$key" --model groq/bench-model --rps 200 --seconds "$SECONDS_EACH")"
# Throughput of one replica.
report "one replica, unlimited, saturation" "$(lg concurrency --url "$one/v1" --key "$key" --model openai/bench-model --concurrency "$CONC" --seconds "$SECONDS_EACH" --pid "$one_pid")"
report "one replica, limited (Redis), saturation" "$(lg concurrency --url "$one/v1" --key "$key" --model groq/bench-model --concurrency "$CONC" --seconds "$SECONDS_EACH" --pid "$one_pid")"

bench_gateway "${common[@]}"
two="$gw"
report "two replicas, unlimited, saturation" "$(lg concurrency --url "$one/v1,$two/v1" --key "$key" --model openai/bench-model --concurrency "$CONC" --seconds "$SECONDS_EACH")"
report "two replicas, limited (Redis), saturation" "$(lg concurrency --url "$one/v1,$two/v1" --key "$key" --model groq/bench-model --concurrency "$CONC" --seconds "$SECONDS_EACH")"
