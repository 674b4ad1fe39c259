#!/usr/bin/env bash
# Set up a development checkout on a fresh machine.
#   scripts/setup.sh          Python venv with rclaude and its dev dependencies (enough to run tasks)
#   scripts/setup.sh --all    also the Debian packages the tests need (scripts/apt-packages.txt)
#                             and the web terminal's front-end build (npm)
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

all=0
[ "${1:-}" = "--all" ] && all=1

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.rclaude-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi

if [ "$all" = 1 ]; then
  missing=()
  while read -r pkg; do
    pkg=${pkg%%#*}; pkg=$(echo "$pkg" | xargs)
    [ -z "$pkg" ] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < scripts/apt-packages.txt
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    # policy-rc.d stops package scripts from starting services (cloud-init, redis, postgres).
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    $SUDO rm -f /usr/sbin/policy-rc.d
  fi
  if [ -x scripts/build-web.sh ]; then
    scripts/build-web.sh
  fi
fi
