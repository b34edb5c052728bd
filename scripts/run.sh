#!/usr/bin/env bash
# Builds LangMart in release mode and starts it: console on http://127.0.0.1:3000,
# data (SQLite + master key) in ./data. Installs missing build tools on first use.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

ensure_wasm_target
ensure_wasm_bindgen
ensure_binaryen
build_site release
log "building the server (release)"
cargo build --release -p server
log "starting LangMart"
exec "$CARGO_TARGET_DIR/release/langmart" serve \
  --addr "${LANGMART_ADDR:-127.0.0.1:3000}" --data-dir "${LANGMART_DATA_DIR:-./data}" "$@"
