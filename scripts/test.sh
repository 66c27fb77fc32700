#!/usr/bin/env bash
# The test command of the README: everything the tests need, then ruff and pytest.
#   - .venv from the lock (requirements.txt), rebuilt when the lock changes;
#   - Debian's chromium + chromium-driver for the browser test, docker-compose for the compose
#     check and prometheus (with promtool) for the metrics tests (installed with apt when root);
#   - PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (started when installed but down).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/etl -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { echo "scripts/test.sh: $*" >&2; exit 1; }

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v docker-compose >/dev/null \
    || ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  [ "$(id -u)" -eq 0 ] || need "install Debian's chromium, chromium-driver, docker-compose and prometheus with apt-get"
  echo "== installing Debian's chromium (browser tests; never a downloaded browser), docker-compose (config check)" \
       "and prometheus (metrics tests)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver docker-compose prometheus >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || need "PostgreSQL must listen on 127.0.0.1:5432 (trust auth for local tests)"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || need "Redis must listen on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/nk-dash-redis.log
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break
  sleep 1
done

if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/.requirements.txt; then
  echo "== creating .venv from requirements.txt"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade uv
  # --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on our machines) nothing would ever
  # cache .pyc files, and every process (each Airflow task, each CLI call) would compile
  # Airflow, pandas & co. from source again: ≈ 3.2 s instead of 1.3 s of imports per process.
  .venv/bin/uv pip install -q --compile-bytecode -p .venv/bin/python -r requirements.txt
  cp requirements.txt .venv/.requirements.txt
fi

echo "== ruff"
.venv/bin/ruff check .

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
