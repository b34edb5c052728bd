# Shared steps of the long bench scripts (soak, slow stream, slowloris): the release
# binaries, a work directory cleaned up on exit with every process started in it, a mock
# upstream, the gateway, a user with a key, a connection.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# BENCH_BIN_DIR: binaries built earlier (a long run that later builds must not replace).
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  BIN="$BENCH_BIN_DIR"
else
  cargo build -q --release -p server -p bench
  BIN="$CARGO_TARGET_DIR/release"
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work="$(mktemp -d)"
bench_cleanup() {
  [ -f "$work/pids" ] && xargs -r kill < "$work/pids" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

# Starts a mock upstream with the given flags and prints its base URL.
bench_mock() {
  local out="$work/mock.$RANDOM"
  "$BIN/mock_upstream" "$@" > "$out" 2>/dev/null &
  echo $! >> "$work/pids"
  for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.05; done
  echo "http://$(head -n1 "$out")"
}

# Starts the gateway on a free port with the given extra flags; sets `gw` (its URL) and
# `gw_pid`, and returns once it answers /health.
bench_gateway() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$BIN/langmart" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --health-check-interval-secs 0 \
    --allow-private-endpoints "$@" > "$work/langmart.log" 2>&1 &
  gw_pid=$!
  echo "$gw_pid" >> "$work/pids"
  gw="http://127.0.0.1:$port"
  for _ in $(seq 1 200); do curl -fsS "$gw/health" >/dev/null 2>&1 && break; sleep 0.05; done
}

# Creates the user HANDLE (HANDLE@bench.local) and prints a new key of theirs.
bench_user_key() {
  "$BIN/langmart" user create --email "$1@bench.local" --handle "$1" --password-stdin --data-dir "$work/data" <<< "bench-password-1" >/dev/null 2>&1
  "$BIN/langmart" key create --email "$1@bench.local" --name bench --data-dir "$work/data" 2>/dev/null
}

# bench_connect KEY NAME BASE_URL [EXTRA_JSON]: an OpenAI-compatible connection to BASE_URL/v1.
bench_connect() {
  curl -fsS -X POST "$gw/api/connections" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -d "{\"provider\":\"openai\",\"name\":\"$2\",\"api_key\":\"sk-bench\",\"endpoint_url\":\"$3/v1\"${4:-}}" >/dev/null
}
