#!/usr/bin/env bash
# A flood of bogus logins against the release binary: how much memory the server holds
# while 64 (or $1) log-ins with wrong passwords arrive at once, each from its own
# loopback address (so per-address throttling does not turn them away before argon2).
# Argon2id holds 19 MiB per hash; the server runs at most one per core at once.
#   bench/login_flood.sh [CONCURRENT] [ROUNDS]
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
N="${1:-64}"; ROUNDS="${2:-3}"
cargo build -q --release -p server
BIN="$CARGO_TARGET_DIR/release/langmart"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
echo "owner-password-1" | "$BIN" user create --email owner@bench.local --handle owner --admin \
  --password-stdin --data-dir "$work/data" >/dev/null 2>&1
"$BIN" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --health-check-interval-secs 0 > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
rss() { awk -v k="$1:" '$1==k {print $2/1024}' "/proc/$pid/status"; }
echo "idle RSS: $(rss VmRSS) MB"
for round in $(seq 1 "$ROUNDS"); do
  start=$(date +%s.%N)
  for i in $(seq 1 "$N"); do
    curl -s -o /dev/null -w '%{http_code}\n' --interface "127.0.$round.$((i % 250 + 1))" \
      -H "Origin: http://127.0.0.1:$port" -H 'Accept: application/json' \
      --data-urlencode "email=user$i@bench.local" --data-urlencode "password=wrong-password-$i" \
      "http://127.0.0.1:$port/api/fn/login" >> "$work/codes" &
  done
  wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
  end=$(date +%s.%N)
  echo "round $round: $N concurrent bogus logins in $(python3 -c "print(f'{$end-$start:.2f}')") s; RSS now $(rss VmRSS) MB, peak $(rss VmHWM) MB"
done
echo "answers: $(sort "$work/codes" | uniq -c | tr '\n' ' ')"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Origin: http://127.0.0.1:$port" -H 'Accept: application/json' \
  --data-urlencode "email=owner@bench.local" --data-urlencode "password=owner-password-1" \
  "http://127.0.0.1:$port/api/fn/login")
echo "owner logs in afterwards: $code"
