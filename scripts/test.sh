#!/usr/bin/env bash
# Lint and run the whole test suite in .venv (run scripts/setup.sh first). Extra
# arguments go to pytest, e.g. `bash scripts/test.sh -k codec`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check . || { echo "run: .venv/bin/ruff format ."; exit 1; }
exec .venv/bin/pytest -q --timeout 1200 "$@"
