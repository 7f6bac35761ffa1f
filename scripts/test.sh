#!/usr/bin/env bash
# Install Sealbox with its test dependencies into .venv, then lint, type-check and test.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check --quiet src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
