#!/usr/bin/env bash
# Stop everything scripts/demo.sh started: one SIGTERM per process, SIGKILL only for a
# process still alive after a timeout (and for worker children that outlive their parent).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY="${PYTHON:-python3}"; fi
exec "$PY" -m scripts.stack down
