#!/usr/bin/env bash
# Refreshes docs/screenshots/ from a built binary: end2end/screenshots.sh BIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../docs/screenshots"
mkdir -p "$out"
SCREENSHOTS_DIR="$out" bash "$here/run.sh" "$1" screenshots.spec.ts
