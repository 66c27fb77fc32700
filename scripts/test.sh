#!/usr/bin/env bash
# The test command of the README: builds .venv from the lock if needed, lints, runs every test.
# Needs PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379 and Debian's chromium (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/.requirements.txt; then
  echo "== creating .venv from requirements.txt"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade uv
  .venv/bin/uv pip install -q -p .venv/bin/python -r requirements.txt
  cp requirements.txt .venv/.requirements.txt
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff check --select AIR3 dags plugins

echo "== pytest"
mkdir -p artifacts
set +e
PYTHONPATH="$PWD" .venv/bin/pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
