#!/usr/bin/env bash
# Build the web terminal's front-end (xterm.js bundle) into src/rclaude/server/static/dist.
# Needs node >= 18 and npm; packages come from the npm registry as pinned by package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../src/rclaude/server/web"
npm ci --no-audit --no-fund
npm run build
