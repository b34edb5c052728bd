#!/usr/bin/env bash
# Starts the given langmart binary on a free port with a fresh data directory, waits for
# /health, runs the Playwright suite against it, and stops the server.
set -euo pipefail
bin="$1"
here="$(cd "$(dirname "$0")" && pwd)"
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$data/server.log"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port="$(free_port)"
python3 "$here/mock_provider.py" "$mock_port" &
mock_pid=$!

"$bin" serve --addr "127.0.0.1:$port" --data-dir "$data" >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" "$mock_pid" 2>/dev/null || true
  wait "$pid" "$mock_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 200); do
  if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$log" >&2; echo "server exited" >&2; exit 1; fi
  sleep 0.1
done

cd "$here"
if ! BASE_URL="http://127.0.0.1:$port" MOCK_PROVIDER_URL="http://127.0.0.1:$mock_port/v1" npx playwright test; then
  echo "--- server log ---" >&2
  tail -n 100 "$log" >&2
  exit 1
fi
