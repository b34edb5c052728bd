# Shared steps of the run and test scripts. Each `ensure_*` installs a missing tool from
# the package registries (crates.io, npm, Debian) and does nothing when it is present.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BINARYEN_VERSION="132.0.0"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
ensure_wasm_bindgen() {
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
  if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "=$want"
  fi
}

# wasm-opt from npm's binaryen (Debian's older binaryen produces bundles that never hydrate).
ensure_binaryen() {
  if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
    log "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm into .tools/"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-save --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
  export PATH="$TOOLS/node_modules/.bin:$PATH"
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Chromium from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# Playwright, the openai npm SDK, the AI SDK, Codex CLI and Claude Code (each ships its
# native binary inside its npm package: nothing is downloaded at run time). Reinstalled
# whenever package-lock.json changes.
ensure_end2end_deps() {
  local stamp="$ROOT/end2end/node_modules/.installed-lock" want
  want="$(sha256sum "$ROOT/end2end/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing end-to-end test packages (npm ci)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null)
    echo "$want" > "$stamp"
  fi
}

# The official `openai` and `anthropic` Python SDKs and the OpenAI Agents SDK, pinned, in a
# virtualenv under .tools/, with `openapi-spec-validator` (the OpenAPI document's test).
OPENAI_PY_VERSION="3.54.0"
ANTHROPIC_PY_VERSION="2.14.0"
AGENTS_PY_VERSION="0.24.0"
OPENAPI_VALIDATOR_VERSION="0.9.0"
ensure_python_sdk() {
  local venv="$TOOLS/venv"
  if ! "$venv/bin/python" -c "import openai, anthropic, sys; from importlib.metadata import version; sys.exit(openai.__version__ != '$OPENAI_PY_VERSION' or anthropic.__version__ != '$ANTHROPIC_PY_VERSION' or version('openai-agents') != '$AGENTS_PY_VERSION' or version('openapi-spec-validator') != '$OPENAPI_VALIDATOR_VERSION')" 2>/dev/null; then
    log "installing the openai $OPENAI_PY_VERSION, anthropic $ANTHROPIC_PY_VERSION and openai-agents $AGENTS_PY_VERSION Python SDKs and openapi-spec-validator $OPENAPI_VALIDATOR_VERSION into .tools/venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "openai==$OPENAI_PY_VERSION" "anthropic==$ANTHROPIC_PY_VERSION" "openai-agents==$AGENTS_PY_VERSION" "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"
  fi
  export PYTHON_SDK="$venv/bin/python"
}

# Builds the browser bundle and the site directory the server serves:
#   $CARGO_TARGET_DIR/site/pkg/<hash>/{langmart.js, langmart_bg.wasm, langmart.css} with a
#   .br and a .gz copy of each, pkg/hash.txt naming <hash>, and favicon.svg.
# The directory is named by the files' content hash so browsers may cache them for good;
# the copies are compressed here, once, at the best levels (Node's zlib has brotli).
# A second argument puts the site elsewhere. This is what cargo-leptos does, without
# installing cargo-leptos.
build_site() {
  local mode="$1" target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  local site="${2:-$target_dir/site}" wasm out hash
  log "building the console bundle ($mode)"
  if [ "$mode" = release ]; then
    ensure_binaryen
    cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
    wasm="$target_dir/wasm32-unknown-unknown/wasm-release/frontend.wasm"
  else
    cargo build -p frontend --lib --target wasm32-unknown-unknown
    wasm="$target_dir/wasm32-unknown-unknown/debug/frontend.wasm"
  fi
  rm -rf "$site" && mkdir -p "$site/pkg"
  out="$site/pkg/build"
  mkdir -p "$out"
  wasm-bindgen --target web --no-typescript --out-name langmart --out-dir "$out" "$wasm"
  if [ "$mode" = release ]; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      -o "$out/langmart_bg.wasm" "$out/langmart_bg.wasm"
  fi
  cp "$ROOT/style/main.css" "$out/langmart.css"
  hash="$(cat "$out/langmart.js" "$out/langmart_bg.wasm" "$out/langmart.css" | sha256sum | cut -c1-16)"
  mv "$out" "$site/pkg/$hash"
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    for (const f of process.argv.slice(1)) {
      const data = fs.readFileSync(f);
      fs.writeFileSync(f + ".br", zlib.brotliCompressSync(data, { params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } }));
      fs.writeFileSync(f + ".gz", zlib.gzipSync(data, { level: 9 }));
    }' "$site/pkg/$hash/langmart.js" "$site/pkg/$hash/langmart_bg.wasm" "$site/pkg/$hash/langmart.css"
  echo "$hash" >"$site/pkg/hash.txt"
  cp -r "$ROOT/public/." "$site/"
}

# Starts PostgreSQL when it is installed but stopped; returns non-zero if it is unavailable.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 2>/dev/null; then return 0; fi
  if [ -d /etc/postgresql ]; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && return 0; sleep 1; done
  fi
  return 1
}
