#!/usr/bin/env bash
# Codex CLI (npm @openai/codex, pinned) against LangMart: a custom model provider with
# wire_api = "responses" and LangMart's base URL, `codex exec` on a model served by a
# connection that does not speak the Responses API (translated to chat), and on one that
# does (OpenAI, native). The mock model calls Codex's shell tool to write a marker file,
# then answers with the command's output; the test reads both.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
passed=0; failed=0
run_codex() { # model
  local model="$1" home work out
  home="$(mktemp -d)"; work="$(mktemp -d)"; out="$work/last-message.txt"
  cat > "$home/config.toml" <<TOML
model = "$model"
model_provider = "langmart"
check_for_update_on_startup = false
web_search = "disabled"
[analytics]
enabled = false
[features]
plugins = false
apps = false
remote_plugin = false
goals = false
image_generation = false
tool_suggest = false
skill_search = false
shell_snapshot = false
[model_providers.langmart]
name = "LangMart"
base_url = "$LANGMART_BASE/v1"
env_key = "LANGMART_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 60000
TOML
  if (cd "$work" && CODEX_HOME="$home" timeout 180 "$here/node_modules/.bin/codex" exec --skip-git-repo-check --ephemeral \
        --dangerously-bypass-approvals-and-sandbox -o "$out" "Write the marker file." </dev/null >"$work/stdout.txt" 2>"$work/stderr.txt") \
     && grep -q "agent-ran-the-tool" "$work/agent_marker.txt" 2>/dev/null \
     && grep -q "Done:" "$out" && grep -q "marker-written" "$out"; then
    passed=$((passed + 1)); echo "ok   codex: exec with a shell tool, $model"
  else
    failed=$((failed + 1)); echo "FAIL codex: exec with a shell tool, $model"
    tail -n 30 "$work/stderr.txt" "$work/stdout.txt" 2>/dev/null || true
  fi
  rm -rf "$home" "$work"
}
run_codex "groq/mock-large"
run_codex "openai/mock-large"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
