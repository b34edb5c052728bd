#!/usr/bin/env bash
# The console's first impression on a slow network: the release bundle's bytes on the wire
# and the time from navigation to an interactive (hydrated) log-in page, in Chromium with
# network emulation, for the bundle as round 1 served it (one name, uncompressed, revalidated)
# and as it is served now (content-named, brotli, cached for good); a cold and a warm load each.
#   bench/console_load.sh [MBIT]   (default 10 Mbit/s down, 5 up, 40 ms round trip)
# BENCH_SITE=dir uses a release site built earlier instead of building one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_chromium
ensure_end2end_deps
mbit="${1:-10}"

site="${BENCH_SITE:-$work/site}"
[ -n "${BENCH_SITE:-}" ] || build_site release "$site"
hash="$(cat "$site/pkg/hash.txt")"
# Round 1's layout: the same three files under pkg/, no compressed copies, no hash.
plain="$work/plain-site"
mkdir -p "$plain/pkg"
cp "$site/pkg/$hash/langmart.js" "$site/pkg/$hash/langmart_bg.wasm" "$site/pkg/$hash/langmart.css" "$plain/pkg/"
cp "$site/favicon.svg" "$plain/" 2>/dev/null || true

start() { # start NAME SITE: prints the base URL
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$BIN/langmart" serve --addr "127.0.0.1:$port" --data-dir "$work/$1" --site-root "$2" \
    --health-check-interval-secs 0 > "$work/$1.log" 2>&1 &
  echo $! >> "$work/pids"
  for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.05; done
  echo "http://127.0.0.1:$port"
}
before="$(start before "$plain")"
after="$(start after "$site")"
echo "release bundle: wasm $(stat -c %s "$site/pkg/$hash/langmart_bg.wasm") B, brotli $(stat -c %s "$site/pkg/$hash/langmart_bg.wasm.br") B, gzip $(stat -c %s "$site/pkg/$hash/langmart_bg.wasm.gz") B; js $(stat -c %s "$site/pkg/$hash/langmart.js") B"
node "$ROOT/bench/console_load.cjs" "$before" "$after" "$mbit"
