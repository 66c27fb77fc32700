#!/usr/bin/env bash
# NK Dash in one command: Odoo simulator, Airflow (api-server, scheduler, dag-processor,
# triggerer as separate processes), a backfill of the last DEMO_DAYS days, and the dashboard.
#
#   scripts/demo.sh                 # first run: creates .venv, then starts everything
#   DEMO_DAYS=3 scripts/demo.sh     # a shorter backfill
#   scripts/demo.sh --no-wait       # start and return without watching the backfill
#   scripts/stop.sh                 # stop it all
#
# Settings come from .env if present (see .env.example), else from built-in defaults.
# Everything it creates lives in .run/ (git-ignored): AIRFLOW_HOME, secrets, pids, logs.
# Running it again reuses what already runs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"

if [[ ! -x .venv/bin/python ]]; then
    echo "Creating .venv and installing requirements.txt (about a minute) ..."
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip uv
    .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -r requirements.txt
elif ! .venv/bin/python -c "import airflow, odoorpc, dash, duckdb" 2>/dev/null; then
    echo "Installing requirements.txt into .venv ..."
    .venv/bin/python -m pip install --quiet uv
    .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -r requirements.txt
fi

mkdir -p .run
exec .venv/bin/python -m scripts.stack up "$@"
