"""The production shape, for real: PostgreSQL metadata DB, Redis broker, CeleryExecutor, lake on S3.

API server, scheduler, DAG processor and two Celery workers (separate processes, each its
own hostname) run as separate processes (the helpers of `scripts/stack.py`, as the demo uses
them), against the Odoo simulator, with the lake on an S3 API on 127.0.0.1 (moto_server) so
that no worker relies on a shared disk: staging, pending files and the lake are all objects.
A 7-day `airflow backfill create` must succeed with tasks on both workers; the lake's daily
totals must equal the simulator's exactly; a task log read through the REST API must carry
the row count and no secret.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import secrets
import time
import urllib.error
import urllib.request
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from scripts import stack

pytestmark = pytest.mark.e2e

_PG = {"host": "127.0.0.1", "port": 5432, "user": os.environ.get("NK_DASH_PG_USER", "postgres")}
_REDIS = ("127.0.0.1", 6379)
_TZ = "America/New_York"  # not UTC, and behind it: business days end at 04:00/05:00 UTC
_DAYS = 7
_TASKS = ("extract", "save_raw", "clean", "load_fact", "upsert_dims")
_BACKFILL_TIMEOUT_S = 360  # ≈ 60 s on an idle 2-core machine


def _pg_connect(dbname: str = "postgres"):
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        conn = psycopg2.connect(dbname=dbname, connect_timeout=3, **_PG)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def metadata_db():
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    if importlib.util.find_spec("asyncpg") is None:  # Airflow 3 opens an async engine to PostgreSQL too
        pytest.skip("asyncpg is not installed (needed for a PostgreSQL metadata DB)")
    name = f"nk_dash_ci_{secrets.token_hex(4)}"
    conn = _pg_connect()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_PG['user']}@{_PG['host']}:{_PG['port']}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="module")
def redis_db():
    """An empty Redis database number (not 0), flushed afterwards."""
    redis = pytest.importorskip("redis")
    for number in secrets.SystemRandom().sample(range(1, 16), 15):
        client = redis.Redis(*_REDIS, db=number, socket_connect_timeout=3)
        try:
            if client.dbsize() == 0:
                break
        except redis.ConnectionError as exc:
            pytest.skip(f"Redis not reachable at {_REDIS}: {exc}")
    else:
        pytest.skip("no empty Redis database number left")
    try:
        yield f"redis://{_REDIS[0]}:{_REDIS[1]}/{number}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def s3_lake():
    """The S3 test server and a lake root on it; this process reads it with the same credentials."""
    from include.etl import lake
    from tests.s3.server import BUCKET, start_s3_server, stop_s3_server

    server = start_s3_server()
    lake.configure_s3(**server.options())
    try:
        yield server, f"s3://{BUCKET}/celery-{secrets.token_hex(3)}"
    finally:
        lake.configure_s3()
        stop_s3_server(server)


def _aws_connection(server) -> str:
    """The Airflow Connection `aws_default` (Amazon provider conventions) for the test server, as JSON."""
    import json

    from tests.s3.server import KEY, REGION, SECRET

    return json.dumps(
        {
            "conn_type": "aws",
            "login": KEY,
            "password": SECRET,
            "extra": {"endpoint_url": server.endpoint, "region_name": REGION},
        }
    )


WORKERS = ("localhost", "127.0.0.1")  # two hostnames that both resolve to this machine


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory, metadata_db, redis_db, s3_lake):
    """Simulator + Airflow (Celery) up and healthy; everything stopped with one SIGTERM each at the end."""
    from odoo_sim.testing import start_simulator

    tmp = tmp_path_factory.mktemp("celery_stack")
    password = f"pw-{secrets.token_hex(8)}"  # the secret no log may show
    # the newest day whose run is due (before 02:00 store time yesterday's run would wait in the queue)
    last = stack.last_due_day(_TZ)
    first = last - dt.timedelta(days=_DAYS - 1)
    sim = start_simulator(
        seed=7, timezone=_TZ, lines_per_day=300, start_date=(first - dt.timedelta(days=3)).isoformat(),
        password=password, api_key=f"key-{secrets.token_hex(8)}",
    )
    port = stack.free_port()
    cfg = {
        "AIRFLOW_HOST": "127.0.0.1",
        "AIRFLOW_PORT": str(port),
        "AIRFLOW_PARALLELISM": "4",
        "AIRFLOW_LOG_SERVER_PORT": str(stack.free_port()),
        "AIRFLOW_TRIGGER_LOG_SERVER_PORT": str(stack.free_port()),
        "DATA_LAKE_PATH": s3_lake[1],
        "STORE_TIMEZONE": _TZ,
        "AIRFLOW_CONN_ODOO_DEFAULT": sim.conn_uri(),
        **stack.generate_secrets(),
    }
    env = stack.airflow_env(
        cfg,
        home=tmp / "airflow",
        executor="CeleryExecutor",
        extra={
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{metadata_db}",
            "AIRFLOW__CELERY__BROKER_URL": redis_db,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{metadata_db}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW_CONN_AWS_DEFAULT": _aws_connection(s3_lake[0]),
            # no AWS_* variable: the workers must take the credentials from the Connection
            **{k: "" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")},
        },
    )
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        env.pop(k)
    admin_password = stack.ensure_admin_password(tmp / "airflow")
    run_dir = tmp / "run"
    procs: list[stack.Proc] = []
    timings: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        stack.airflow_cli(env, "db", "migrate")
        timings["db_migrate_s"] = time.monotonic() - t0
        t0 = time.monotonic()
        airflow = stack.airflow_bin()
        for name, argv in (
            ("api-server", [airflow, "api-server"]),
            ("scheduler", [airflow, "scheduler"]),
            ("dag-processor", [airflow, "dag-processor"]),
        ):
            procs.append(stack.start(name, argv, env, run_dir))
        for i, host in enumerate(WORKERS):
            worker_env = {
                **env,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.ops.worker_hostname.hostname",
                "NK_DASH_WORKER_HOSTNAME": host,
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(stack.free_port())
                if i
                else env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"],
            }
            argv = [airflow, "celery", "worker", "--concurrency", "2", "--celery-hostname", f"nk-worker-{i}@%h"]
            procs.append(stack.start(f"celery-worker-{i}", argv, worker_env, run_dir))
        api = stack.AirflowApi(env["AIRFLOW__API__BASE_URL"], stack.ADMIN_USER, admin_password)
        stack.wait_until(lambda: stack.healthy(api, ("scheduler", "dag_processor")), "Airflow healthy", 120, procs)
        timings["healthy_s"] = time.monotonic() - t0
        stack.wait_until(lambda: _dag_exists(api), "nk_dash_daily parsed", 90, procs, interval=1)
        timings["dag_parsed_s"] = time.monotonic() - t0
        yield {
            "api": api, "env": env, "sim": sim, "procs": procs, "first": first, "last": last, "tmp": tmp,
            "password": password, "lake": cfg["DATA_LAKE_PATH"], "timings": timings,
        }
    except Exception:
        _dump_logs(procs, sim)
        raise
    finally:
        t0 = time.monotonic()
        stack.stop(procs)
        sim.stop()
        print(f"timings: {timings}, stop {time.monotonic() - t0:.1f}s")
        assert not [p for p in procs if p.alive()], "a component survived stop()"
        assert not [m for p in procs for m in stack.group_members(p.pid)], "a child process survived stop()"


def _dag_exists(api: stack.AirflowApi) -> bool:
    try:
        api.get("/api/v2/dags/nk_dash_daily")
        return True
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise


def _dump_logs(procs: list[stack.Proc], sim) -> None:
    for p in procs:
        print(f"\n===== {p.name} (pid {p.pid}, alive={p.alive()}) {p.log_path}\n{p.log_tail(80)}")
    print(f"\n===== odoo_sim\n{sim.read_log()[-4000:]}")


def test_api_requires_login(stack_env):
    url = stack_env["env"]["AIRFLOW__API__BASE_URL"] + "/api/v2/dags"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code in (401, 403)
    with pytest.raises(urllib.error.HTTPError) as err:
        stack.AirflowApi(url.rsplit("/api", 1)[0], stack.ADMIN_USER, "wrong-password").token()
    assert err.value.code in (401, 403)


def test_backfill_seven_days_on_celery(stack_env):
    api, env, sim = stack_env["api"], stack_env["env"], stack_env["sim"]
    first, last = stack_env["first"], stack_env["last"]
    t0 = time.monotonic()
    try:
        api.request("PATCH", "/api/v2/dags/nk_dash_daily", {"is_paused": False})
        stack.backfill_cli(env, "nk_dash_daily", first, last)
        runs = stack.wait_for_runs(api, "nk_dash_daily", first, last, _TZ, _BACKFILL_TIMEOUT_S,
                                   procs=stack_env["procs"], every=3)
    except Exception:
        _dump_logs(stack_env["procs"], sim)
        raise
    wall = time.monotonic() - t0
    memory = {p.name: round(stack.group_pss_mib(p.pid)) for p in stack_env["procs"]}
    print(f"backfill of {_DAYS} days: {wall:.0f}s; setup {stack_env['timings']}; PSS MiB {memory}")
    failed = [(r["dag_run_id"], r["state"]) for r in runs if r["state"] != "success"]
    if failed:
        _dump_failed_tasks(api, failed)
    assert not failed
    assert len(runs) == _DAYS

    # Both workers executed tasks: the task instances name the hostname that ran them.
    tis = api.get("/api/v2/dags/nk_dash_daily/dagRuns/~/taskInstances", limit=1000)["task_instances"]
    by_host: dict[str, int] = {}
    for ti in tis:
        if ti["state"] == "success":
            by_host[ti["hostname"]] = by_host.get(ti["hostname"], 0) + 1
    print(f"tasks per worker: {by_host}")
    assert set(by_host) == set(WORKERS), by_host
    from include.etl import lake

    published = lake.Lake(stack_env["lake"]).published_files(lake.FACT_SALES)
    assert set(published) == set(stack.business_days(first, last)), "every day is published in the S3 catalog"
    assert not (stack.REPO_ROOT / "s3:").exists(), "no worker wrote the lake to a local folder"

    lake_totals = _lake_totals(stack_env["lake"])
    zone = ZoneInfo(_TZ)
    for day in stack.business_days(first, last):
        lo = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC).replace(tzinfo=None)
        hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC).replace(tzinfo=None)
        expected = sim.stats(lo.isoformat(sep=" "), hi.isoformat(sep=" "))
        got = lake_totals.get(day, (0, Decimal(0), Decimal(0)))
        assert got == (int(expected["lines"]), Decimal(expected["quantity"]), Decimal(expected["revenue"])), day

    # One run's logs, as the UI shows them: row count of load_fact = rows in the partition; no secret.
    run = next(r for r in runs if r["dag_run_id"].startswith("backfill"))
    day = dt.datetime.fromisoformat(run["logical_date"].replace("Z", "+00:00")).astimezone(zone).date()
    logs = {task: api.task_log("nk_dash_daily", run["dag_run_id"], task) for task in _TASKS}
    match = re.search(r"wrote (\d+) fact rows", logs["load_fact"])
    assert match, logs["load_fact"][-2000:]
    assert int(match.group(1)) == lake_totals[day][0]
    for task, text in logs.items():
        assert stack_env["password"] not in text, f"the Odoo password leaked into the {task} log"
    assert not (stack_env["tmp"] / "lake").exists(), "nothing of the lake on the local disk"
    on_disk = [p for p in (stack_env["tmp"] / "airflow" / "logs").rglob("*") if p.is_file()]
    assert on_disk
    leaked = [str(p) for p in on_disk if stack_env["password"] in p.read_text(errors="replace")]
    assert not leaked, f"the Odoo password is in {leaked}"


def _lake_totals(lake: str) -> dict[dt.date, tuple[int, Decimal, Decimal]]:
    from include.etl.views import connect

    con = connect(lake)
    rows = con.execute(
        "SELECT date, count(*), sum(quantity), sum(revenue) FROM fact_sales GROUP BY date"
    ).fetchall()
    return {d: (n, Decimal(q or 0), Decimal(r or 0)) for d, n, q, r in rows}


def _dump_failed_tasks(api: stack.AirflowApi, failed: list[tuple[str, str]]) -> None:
    run_id = failed[0][0]
    for task in _TASKS:
        try:
            print(f"\n===== {run_id} {task}\n{api.task_log('nk_dash_daily', run_id, task)[-3000:]}")
        except urllib.error.HTTPError as exc:
            print(f"{task}: no log ({exc.code})")

