#!/usr/bin/env bash
# Runs every test: formatting and lints, unit and integration tests on SQLite and on
# PostgreSQL, and the end-to-end browser tests. Installs missing tools on first use.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# Build output kept between runs (and fresh clones) on this machine; any directory works.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/langmart-target}"
# Each fresh clone would add its own incremental cache (tens of GB); CI gains nothing from it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
started=$(date +%s)

ensure_wasm_target
ensure_wasm_bindgen
ensure_chromium
ensure_end2end_deps
ensure_python_sdk

log "format and lints"
cargo fmt --all -- --check
cargo clippy -p server --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

build_site debug

log "unit and integration tests (SQLite)"
# A hung test fails the run in minutes instead of holding CI for its whole budget.
timeout 1200 cargo test -p server
cargo test -p app --lib

if ensure_postgres; then
  log "integration tests (PostgreSQL)"
  LANGMART_TEST_DATABASE=postgres timeout 900 cargo test -p server --test integration
else
  if [ "${CI:-}" = true ]; then
    echo "PostgreSQL is not available on 127.0.0.1:5432; CI requires it" >&2
    exit 1
  fi
  log "PostgreSQL is not available on 127.0.0.1:5432: skipping its integration run"
fi

log "end-to-end tests (Chromium) and the official OpenAI SDKs"
timeout 900 bash "$ROOT/end2end/run.sh" "$CARGO_TARGET_DIR/debug/langmart"

log "benchmark smoke run (a few seconds of each scenario; numbers from debug builds mean nothing)"
timeout 900 bash "$ROOT/bench/run.sh" --smoke
log "self-hosted gateway relay smoke run (a real agent process; numbers mean nothing here)"
timeout 300 bash "$ROOT/bench/gateway_relay.sh" --smoke

log "all tests passed in $(( $(date +%s) - started ))s"
