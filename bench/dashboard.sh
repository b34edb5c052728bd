#!/usr/bin/env bash
# How fast the console's dashboard answers over a month of request-log rows: ROWS rows
# (default 1,000,000) of one user spread over the last 29 days, written straight into the
# SQLite database and counted into the hourly rollup (`langmart rebuild-rollups`, timed), then
# GET /api/dashboard for each period, RUNS times each (median, max). The hour and the day
# read the log, the week and the month the rollup.
#   bench/dashboard.sh [ROWS] [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
rows="${1:-1000000}"
runs="${2:-5}"

key="$(bench_user_key dash)"
db="$work/data/langmart.db"
python3 - "$db" "$rows" <<'PY'
import random, sqlite3, sys, time, uuid
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
user, key_id = con.execute("SELECT u.id, k.id FROM users u JOIN api_keys k ON k.user_id = u.id WHERE u.handle = 'dash'").fetchone()
now = int(time.time() * 1000)
span = 29 * 86_400_000
models = ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "groq/llama-3.3-70b"]
conns = [f"conn-bench-{i}" for i in range(6)]
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def ordered_id(ms):
    # As the server makes them (server/src/ids.rs): time first, so retention keeps the row.
    t = ""
    for _ in range(9):
        t = B62[ms % 62] + t
        ms //= 62
    return "req-" + t + "".join(random.choice(B62) for _ in range(11))
def row(i):
    ok = random.random() > 0.03
    at = now - random.randrange(span)
    return (ordered_id(at), uuid.uuid4().hex, at, user, key_id, "/v1/chat/completions",
            random.choice(models), "direct", random.choice([None, "collection/bench/everyday"]), random.choice(conns), "openai", "gpt-4o",
            200 if ok else 502, None if ok else "PROVIDER_OPENAI_502", int(random.lognormvariate(6, 0.8)),
            int(random.lognormvariate(5, 0.7)), random.randrange(10, 2000), random.randrange(1, 800),
            random.randrange(2), "[]", random.random() / 100, "reported")
started = time.time()
batch = 50_000
for lo in range(0, n, batch):
    con.executemany(
        "INSERT INTO request_logs (id, request_id, created_at, user_id, key_id, endpoint, requested_model, resolution, "
        "collection, connection_id, provider, upstream_model, status_code, error_code, latency_ms, ttft_ms, "
        "prompt_tokens, completion_tokens, stream, attempts, cost_usd, cost_basis) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (row(i) for i in range(lo, min(n, lo + batch))))
    con.commit()
print(f"wrote {n} rows in {time.time() - started:.1f} s", file=sys.stderr)
PY
started="$(date +%s.%N)"
"$BIN/langmart" rebuild-rollups --data-dir "$work/data" 2>&1 | tail -n1 >&2
python3 -c "import sys; print(f'rollup rebuilt in {float(sys.argv[2]) - float(sys.argv[1]):.1f} s', file=sys.stderr)" "$started" "$(date +%s.%N)"
bench_gateway
echo "dashboard over $rows request-log rows (SQLite, release build); $runs runs per period"
printf '%-7s %10s %10s %10s\n' period "median ms" "max ms" requests
for period in hour day week month; do
  times=()
  for _ in $(seq 1 "$runs"); do
    t="$(curl -fsS -o "$work/out.json" -w '%{time_total}' "$gw/api/dashboard?period=$period" -H "Authorization: Bearer $key")"
    times+=("$t")
  done
  count="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$work/out.json")"
  python3 - "$period" "$count" "${times[@]}" <<'PY'
import statistics, sys
period, count, ts = sys.argv[1], sys.argv[2], [float(t) * 1000 for t in sys.argv[3:]]
print(f"{period:<7} {statistics.median(ts):10.1f} {max(ts):10.1f} {count:>10}")
PY
done
