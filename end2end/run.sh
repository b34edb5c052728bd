#!/usr/bin/env bash
# Starts the given langmart binary on a free port with a fresh data directory, waits for
# /health, runs the Playwright suite against it, and stops the server. Arguments after the
# binary go to Playwright and run only the browser tests (e.g. `run.sh BIN loads.spec.ts`).
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
here="$(cd "$(dirname "$0")" && pwd)"
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$data/server.log"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port="$(free_port)"
export MOCK_CAPTURE="$data/mock-requests.jsonl"
python3 "$here/mock_provider.py" "$mock_port" &
mock_pid=$!

# The operator makes the admin from the shell (the password on stdin, not in the process
# list); the tests' visitors then sign up freely (--signup open). The mock provider
# listens on loopback: let connections reach it.
"$bin" user create --email operator@example.com --handle e2e-operator --admin --password-stdin \
  --data-dir "$data" <<<"correct horse battery" 2>/dev/null
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$data" --allow-private-endpoints --signup open >"$log" 2>&1 &
pid=$!
# A second, fresh install with the default policy (invite): its first account needs the
# setup token it prints in its log.
fresh="$data/fresh"
fresh_port="$(free_port)"
fresh_log="$data/fresh.log"
mkdir -p "$fresh"
"$bin" serve --addr "127.0.0.1:$fresh_port" --data-dir "$fresh" >"$fresh_log" 2>&1 &
fresh_pid=$!
cleanup() {
  kill "$pid" "$mock_pid" "$fresh_pid" 2>/dev/null || true
  wait "$pid" "$mock_pid" "$fresh_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

wait_healthy() {
  for _ in $(seq 1 200); do
    if curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then cat "$3" >&2; echo "server exited" >&2; exit 1; fi
    sleep 0.1
  done
}
wait_healthy "$port" "$pid" "$log"
wait_healthy "$fresh_port" "$fresh_pid" "$fresh_log"

cd "$here"
base="http://127.0.0.1:$port"
fail() { echo "--- server log ---" >&2; tail -n 100 "$log" >&2; exit 1; }
FRESH_BASE_URL="http://127.0.0.1:$fresh_port" FRESH_LOG="$fresh_log" \
LANGMART_BIN="$bin" BASE_URL="$base" MOCK_PROVIDER_URL="http://127.0.0.1:$mock_port/v1" npx playwright test "$@" || fail
[ "$#" -eq 0 ] || exit 0

# The official OpenAI SDKs (Python from PyPI, Node from npm) against the same server,
# routed to the mock provider through a connection made with the REST API.
"$bin" user create --email sdk@example.com --password-stdin --handle sdk-tests --data-dir "$data" <<<"correct horse battery" 2>/dev/null
key="$("$bin" key create --email sdk@example.com --name sdk --data-dir "$data" 2>/dev/null)"
conn="$(curl -fsS -X POST "$base/api/connections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"openai\",\"name\":\"sdk mock\",\"api_key\":\"sk-e2e-sdk-0001\",\"endpoint_url\":\"http://127.0.0.1:$mock_port/v1\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
curl -fsS -X POST "$base/api/connections/$conn/test" -H "Authorization: Bearer $key" >/dev/null
# An Anthropic connection to the mock's Messages API (for tool calls across formats).
claude="$(curl -fsS -X POST "$base/api/connections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"anthropic\",\"name\":\"sdk claude mock\",\"api_key\":\"sk-e2e-claude-0001\",\"endpoint_url\":\"http://127.0.0.1:$mock_port/anthropic\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
curl -fsS -X POST "$base/api/connections/$claude/test" -H "Authorization: Bearer $key" >/dev/null
# A Groq connection to the same mock: Groq has no Responses API, so Responses requests to
# it are translated to chat (an OpenAI connection takes them natively).
groq="$(curl -fsS -X POST "$base/api/connections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"groq\",\"name\":\"sdk groq mock\",\"api_key\":\"sk-e2e-groq-0001\",\"endpoint_url\":\"http://127.0.0.1:$mock_port/v1\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
curl -fsS -X POST "$base/api/connections/$groq/test" -H "Authorization: Bearer $key" >/dev/null
export LANGMART_BASE="$base" LANGMART_KEY="$key"
"${PYTHON_SDK:-python3}" "$here/sdk/openai_python.py" || fail
node "$here/sdk/openai_node.mjs" || fail
"${PYTHON_SDK:-python3}" "$here/sdk/anthropic_python.py" || fail
# Agent SDKs and coding agents, each pinned from its registry.
"${PYTHON_SDK:-python3}" "$here/sdk/agents_python.py" || fail
node "$here/sdk/ai_sdk.mjs" || fail
bash "$here/sdk/codex.sh" || fail
bash "$here/sdk/claude_code.sh" || fail
