#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: set-up (Python, Debian packages, web build),
# lint, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --all
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
exec .venv/bin/pytest "$@"
