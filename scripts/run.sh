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
# The binary's own defaults (127.0.0.1:3000, ./data) apply unless a flag, a LANGMART_*
# variable or `--config langmart.toml` says otherwise: extra arguments pass straight
# through, so `./scripts/run.sh --addr 127.0.0.1:8080` works.
exec "$CARGO_TARGET_DIR/release/langmart" serve "$@"
