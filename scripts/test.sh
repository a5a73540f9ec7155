#!/usr/bin/env bash
# Lint, check the import layering (pyproject.toml [tool.importlinter]) and run the whole test
# suite in .venv (run scripts/setup.sh first). Extra arguments go to pytest, e.g. `bash scripts/test.sh -k codec`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check . || { echo "run: .venv/bin/ruff format ."; exit 1; }
.venv/bin/lint-imports --no-cache
exec .venv/bin/pytest -q --timeout 1200 "$@"
