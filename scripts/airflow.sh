#!/usr/bin/env bash
# The Airflow CLI against the demo's deployment (same AIRFLOW_HOME, secrets, time zone):
#   scripts/airflow.sh dags list-runs nk_dash_daily
#   scripts/airflow.sh backfill create --dag-id nk_dash_daily --from-date 2025-01-01 --to-date 2025-01-07
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
eval "$(.venv/bin/python -m scripts.stack env)"
exec .venv/bin/airflow "$@"
