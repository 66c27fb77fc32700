"""Through a real scheduler, triggerer and API server (SQLite, LocalExecutor):

- the Deadline Alert: a scheduled run that had not published its day by `NK_DASH_PUBLISH_BY`
  mails the owner, from the triggerer, naming the day;
- the Asset: `publish` triggers the example consumer DAG, which writes the weekly summary;
- the metrics: the exporter serves the run's figures, Prometheus (Debian's) scrapes them,
  and its query API returns each figure with the value the lake holds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from include.etl import lake, metrics, weekly
from odoo_sim.testing import free_port
from scripts import stack
from tests.alerts.conftest import TZ
from tests.alerts.servers import Prometheus, body_text

TO = "owner@example.test"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def _latest_business_day(now: datetime) -> date:
    """The day of the newest scheduled run: yesterday once 02:00 store time has passed, else the day before."""
    local = now.astimezone(ZoneInfo(TZ))
    return local.date() - timedelta(days=1 if local.hour >= 2 else 2)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, simulator, smtp):
    work = tmp_path_factory.mktemp("alerts_stack")
    root = work / "lake"
    cfg = {
        "DATA_LAKE_PATH": str(root),
        "STORE_TIMEZONE": TZ,
        "AIRFLOW_PORT": str(free_port()),
        "AIRFLOW_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW_TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW_PARALLELISM": "4",
        **stack.generate_secrets(),
    }
    env = stack.airflow_env(
        cfg,
        home=work / "airflow",
        extra={
            "AIRFLOW_CONN_ODOO_DEFAULT": simulator.conn_uri(),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp.conn_uri(),
            "NK_DASH_ALERT_EMAIL_TO": TO,
            # The scheduled run is queued at 02:00 store time: a 02:00 deadline has passed while it runs.
            "NK_DASH_PUBLISH_BY": "02:00",
            "NK_DASH_LOOKBACK_DAYS": "0",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        },
    )
    stack.airflow_cli(env, "db", "migrate")
    password = stack.ensure_admin_password(work / "airflow")
    run_dir = work / "run"
    procs = [stack.start(name, [stack.airflow_bin(), name], env, run_dir) for name in COMPONENTS]
    api = stack.AirflowApi(env["AIRFLOW__API__BASE_URL"], stack.ADMIN_USER, password)
    try:
        stack.wait_until(lambda: stack.healthy(api, ("scheduler", "dag_processor", "triggerer")), "healthy", 120, procs)
        both = {"nk_dash_daily", "nk_dash_weekly_summary"}
        stack.wait_until(
            lambda: {d["dag_id"] for d in api.get("/api/v2/dags")["dags"]} >= both, "both DAGs parsed", 120, procs,
            interval=2,
        )
        day = _latest_business_day(datetime.now(ZoneInfo("UTC")))
        for dag_id in ("nk_dash_weekly_summary", "nk_dash_daily"):
            api.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        started = time.monotonic()
        stack.wait_until(
            lambda: any(r["state"] in ("success", "failed") for r in api.dag_runs("nk_dash_daily")),
            "the scheduled run of nk_dash_daily", 300, procs, interval=2,
        )
        daily_seconds = time.monotonic() - started
        stack.wait_until(
            lambda: any(r["state"] in ("success", "failed") for r in api.dag_runs("nk_dash_weekly_summary")),
            "the asset-triggered run of nk_dash_weekly_summary", 180, procs, interval=2,
        )
        yield env, api, root, day, procs, daily_seconds
    finally:
        stack.stop(procs, timeout=45, say=lambda _msg: None)


def test_the_scheduled_run_loaded_the_latest_business_day(deployment):
    _env, api, root, day, _procs, seconds = deployment
    [run] = api.dag_runs("nk_dash_daily")
    assert run["run_type"] == "scheduled" and run["state"] == "success", run
    assert lake.partition_file(root, lake.FACT_SALES, day).is_file()
    print(f"scheduled run of {day}: {seconds:.0f} s from unpause to success")


def test_the_deadline_alert_mails_that_the_day_is_still_missing(deployment, smtp):
    _env, _api, _root, day, _procs, _s = deployment
    msg = smtp.inbox.wait_for(lambda m: "still missing" in m["Subject"], timeout=60)
    assert msg["Subject"] == f"[NK Dash] business day {day} is still missing: not published by 02:00 store time"
    assert msg["To"] == TO
    text = body_text(msg)
    assert f"Business day: {day}" in text
    assert "(scheduled)" in text and "scheduled__" in text
    assert "/dags/nk_dash_daily/runs/scheduled__" in text
    missing = [m for m in smtp.inbox.messages if "still missing" in m["Subject"]]
    assert len(missing) == 1


def test_publish_triggers_the_consumer_dag_with_the_business_day(deployment):
    _env, api, root, day, _procs, _s = deployment
    [run] = api.dag_runs("nk_dash_weekly_summary")
    assert run["run_type"] == "asset_triggered" and run["state"] == "success", run
    events = api.get(f"/api/v2/dags/nk_dash_weekly_summary/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")
    assert [e["extra"]["business_day"] for e in events["asset_events"]] == [day.isoformat()]
    table = pq.read_table(weekly.summary_file(str(root), weekly.week_start(day)))
    fact = pq.read_table(lake.partition_file(root, lake.FACT_SALES, day))
    assert table.column("days_loaded").to_pylist() == [1] * table.num_rows
    assert sum(table.column("revenue").to_pylist()) == sum(fact.column("revenue").to_pylist())
    assert sorted(table.column("store_id").to_pylist()) == sorted(set(fact.column("store_id").to_pylist()))


def test_prometheus_scrapes_each_figure_with_the_lake_s_value(deployment, tmp_path):
    env, _api, root, day, _procs, _s = deployment
    port = free_port()
    exporter = subprocess.Popen(
        [sys.executable, "-m", "include.etl.metrics", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "DATA_LAKE_PATH": str(root)}, cwd=stack.REPO_ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        with Prometheus(tmp_path / "prometheus", [f"127.0.0.1:{port}"]) as prom:
            recorded = metrics.read_day(str(root), day)
            fact_rows = pq.read_metadata(lake.partition_file(root, lake.FACT_SALES, day)).num_rows
            rejects = pq.read_metadata(lake.partition_file(root, lake.REJECTS, day)).num_rows
            raw_lines = pq.read_metadata(lake.partition_file(root, lake.RAW_LINES, day)).num_rows
            expected = {
                "nk_dash_lines_read": raw_lines,
                "nk_dash_orders_read": recorded["extract"]["figures"]["orders_read"],
                "nk_dash_rpc_calls": recorded["extract"]["figures"]["rpc_calls"],
                "nk_dash_rpc_retries": 0,
                "nk_dash_rejects": rejects,
                "nk_dash_rows_loaded": fact_rows,
                "nk_dash_reloaded_days": 0,
                "nk_dash_anomalies": 0,
            }
            assert expected["nk_dash_rpc_calls"] > 3 and expected["nk_dash_rows_loaded"] > 100
            for name, value in expected.items():
                assert prom.wait_value(f'{name}{{day="{day}"}}') == value, name
            for task in ("extract", "clean", "load_fact", "publish"):
                seconds = prom.wait_value(f'nk_dash_task_seconds{{day="{day}",task="{task}"}}')
                assert seconds == pytest.approx(recorded[task]["seconds"]) and seconds > 0
            end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), ZoneInfo(TZ))
            age = prom.wait_value("nk_dash_freshness_seconds")
            assert age == pytest.approx((datetime.now(ZoneInfo(TZ)) - end_of_day).total_seconds(), abs=30)
            start = prom.wait_value("nk_dash_newest_published_day_timestamp_seconds")
            assert start == (end_of_day - timedelta(days=1)).timestamp()
            assert prom.wait_value('up{job="nk_dash"}') == 1
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
