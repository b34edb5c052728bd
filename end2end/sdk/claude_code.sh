#!/usr/bin/env bash
# Claude Code (npm @anthropic-ai/claude-code, pinned) against LangMart: `claude -p` with
# its own default model id mapped by an alias (`claude-*` → anthropic/claude-mock), and
# with `--model anthropic/claude-mock`. The mock model calls Claude Code's Bash tool to
# write a marker file, then answers with the command's output; the test reads both, and
# checks at the mock that Claude Code's betas and cache breakpoints arrived.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
passed=0; failed=0
curl -fsS -X POST "$LANGMART_BASE/api/aliases" -H "Authorization: Bearer $LANGMART_KEY" -H 'Content-Type: application/json' \
  -d '{"name":"claude-*","target":"anthropic/claude-mock","description":"Claude Code default models"}' >/dev/null
run_claude() { # description, extra args...
  local what="$1" home work; shift
  home="$(mktemp -d)"; work="$(mktemp -d)"
  : > "$MOCK_CAPTURE"
  if (cd "$work" && env -i PATH="$PATH" HOME="$home" ANTHROPIC_BASE_URL="$LANGMART_BASE" ANTHROPIC_API_KEY="$LANGMART_KEY" \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 \
        timeout 180 "$here/node_modules/.bin/claude" -p "Write the marker file." --output-format json --allowedTools Bash "$@" \
        </dev/null >"$work/out.json" 2>"$work/stderr.txt") \
     && grep -q "agent-ran-the-tool" "$work/agent_marker.txt" 2>/dev/null \
     && python3 - "$work/out.json" "$MOCK_CAPTURE" <<'PY'
import json, sys
out = json.load(open(sys.argv[1]))
assert not out.get("is_error") and "Done:" in out["result"] and "marker-written" in out["result"], out
calls = [json.loads(l) for l in open(sys.argv[2]) if '"/anthropic/v1/messages' in l]
assert calls, "Claude Code's requests reached the Anthropic connection"
first = calls[0]
body = json.loads(first["body"])
assert body["model"] == "claude-mock", body["model"]
assert "claude-code-20250219" in first["headers"].get("anthropic-beta", ""), first["headers"]
assert "cache_control" in first["body"], "cache breakpoints pass through"
PY
  then
    passed=$((passed + 1)); echo "ok   claude-code: -p with the Bash tool, $what"
  else
    failed=$((failed + 1)); echo "FAIL claude-code: -p with the Bash tool, $what"
    tail -n 30 "$work/stderr.txt" "$work/out.json" 2>/dev/null || true
  fi
  rm -rf "$home" "$work"
}
run_claude "its default model through the claude-* alias"
run_claude "--model anthropic/claude-mock" --model anthropic/claude-mock
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
