"""`airflow dags test` with real servers: a failed task mails its owner once, after its retries (or at
once when no retry can mend it); a successful run records its figures, emits the fact_sales Asset
event and StatsD metrics."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from include.etl import lake, metrics
from odoo_sim.testing import free_port
from tests.airflow_env import REPO, airflow, airflow_env
from tests.alerts.conftest import TZ
from tests.alerts.servers import body_text

GOOD_DAY = date(2025, 1, 6)
FAILED_DAY = date(2025, 1, 7)  # Odoo unreachable: a transient fault, retried
REFUSED_DAY = date(2025, 1, 8)  # wrong password: fails at once (nk_odoo_hook.fail_fast)
WRONG_PASSWORD = "Wr0ng-S3cret-pass-7f3a"
UNREACHABLE_PASSWORD = "Unre4chable-S3cret-9c1d"
TO = "owner@example.test"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, simulator, smtp, statsd):
    work = tmp_path_factory.mktemp("alerts_dags_test")
    env = airflow_env(
        work / "airflow",
        tz=TZ,
        lake=work / "lake",
        conn_uri=simulator.conn_uri(),
        NK_DASH_ALERT_EMAIL_TO=TO,
        AIRFLOW_CONN_SMTP_DEFAULT=smtp.conn_uri(),
        NK_DASH_TASK_RETRIES="1",
        NK_DASH_RETRY_DELAY_S="1",
        NK_DASH_LOOKBACK_DAYS="0",
        AIRFLOW__METRICS__STATSD_ON="True",
        AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
        AIRFLOW__METRICS__STATSD_PORT=str(statsd.port),
        AIRFLOW__METRICS__STATSD_PREFIX="airflow",
        AIRFLOW__API__BASE_URL="http://airflow.example.test:8080",
    )
    airflow(env, "db", "migrate")
    good = airflow(env, "dags", "test", "nk_dash_daily", GOOD_DAY.isoformat())
    password = f":{quote(simulator.password, safe='')}@"
    # Nothing listens on that port; one attempt inside the client, then Airflow's retry.
    unreachable = (simulator.conn_uri().replace(password, f":{UNREACHABLE_PASSWORD}@")
                   .replace(f":{simulator.port}/", f":{free_port()}/") + "&max_attempts=1&backoff_base=0.01")
    refused = simulator.conn_uri().replace(password, f":{WRONG_PASSWORD}@")
    assert UNREACHABLE_PASSWORD in unreachable and WRONG_PASSWORD in refused
    failed = airflow({**env, "AIRFLOW_CONN_ODOO_DEFAULT": unreachable}, "dags", "test", "nk_dash_daily",
                     FAILED_DAY.isoformat(), check=False)
    airflow({**env, "AIRFLOW_CONN_ODOO_DEFAULT": refused}, "dags", "test", "nk_dash_daily",
            REFUSED_DAY.isoformat(), check=False)
    return env, work / "lake", good, failed


def test_a_failed_task_sends_one_mail_after_its_retries(runs, smtp):
    _env, _lake, _good, failed = runs
    out = failed.stdout + failed.stderr
    assert "up_for_retry" in out.lower() or "UP_FOR_RETRY" in out, "extract should have been retried once"
    msg = smtp.inbox.wait_for(lambda m: FAILED_DAY.isoformat() in m["Subject"], timeout=30)
    assert msg["To"] == TO
    assert msg["Subject"] == f"[NK Dash] business day {FAILED_DAY}: task extract failed"
    text = body_text(msg)
    assert f"Business day: {FAILED_DAY}" in text
    assert "Task: extract (try 2, final)" in text
    cause = re.search(r"Cause: (.*)", text)[1]
    assert cause.strip() and len(cause) <= 300
    log_link = re.search(r"Log: (\S+)", text)[1]
    assert log_link.startswith("http://airflow.example.test:8080/dags/nk_dash_daily/runs/")
    assert log_link.split("?")[0].endswith("/tasks/extract")
    Path("artifacts").mkdir(exist_ok=True)
    Path("artifacts/alert-mail-failed-task.txt").write_text(f"Subject: {msg['Subject']}\n\n{text}")
    mails = [m for m in smtp.inbox.messages if FAILED_DAY.isoformat() in m["Subject"]]
    assert len(mails) == 1, "one mail per failed task, not one per try"


def test_a_wrong_password_fails_at_once_and_mails_the_cause(runs, smtp):
    msg = smtp.inbox.wait_for(lambda m: REFUSED_DAY.isoformat() in m["Subject"], timeout=30)
    assert msg["Subject"] == f"[NK Dash] business day {REFUSED_DAY}: task extract failed"
    text = body_text(msg)
    assert "Task: extract (try 1, final)" in text
    cause = re.search(r"Cause: (.*)", text)[1]
    Path("artifacts/alert-mail-refused-login.txt").write_text(f"Subject: {msg['Subject']}\n\n{text}")
    assert cause.startswith("OdooAuthError: Odoo login on connection"), cause
    assert re.search(r"login .* was refused", cause) and "not retried" in cause, cause
    assert len([m for m in smtp.inbox.messages if REFUSED_DAY.isoformat() in m["Subject"]]) == 1


def test_the_mails_carry_no_secret(runs, smtp):
    smtp.inbox.wait_for(lambda m: FAILED_DAY.isoformat() in m["Subject"], timeout=30)
    smtp.inbox.wait_for(lambda m: REFUSED_DAY.isoformat() in m["Subject"], timeout=30)
    raw = b"\n".join(smtp.inbox.raw)
    for secret in (WRONG_PASSWORD, UNREACHABLE_PASSWORD):
        assert secret.encode() not in raw


def test_a_successful_run_records_its_figures(runs, simulator):
    _env, root, good, _failed = runs
    out = good.stdout + good.stderr
    assert re.search(r"Marking run <DagRun nk_dash_daily[^>]*> successful", out)
    receipt = re.search(
        r"extract receipt: day=2025-01-06 orders=(\d+) lines=(\d+) .*?rpc_calls=(\d+) .*?retries=(\d+)", out
    )
    recorded = metrics.read_day(str(root), GOOD_DAY)
    assert recorded["extract"]["figures"] == {
        "orders_read": int(receipt[1]),
        "lines_read": int(receipt[2]),
        "rpc_calls": int(receipt[3]),
        "rpc_retries": int(receipt[4]),
    }
    import pyarrow.parquet as pq

    fact_rows = pq.read_metadata(lake.partition_file(root, lake.FACT_SALES, GOOD_DAY)).num_rows
    rejects = pq.read_metadata(lake.partition_file(root, lake.REJECTS, GOOD_DAY)).num_rows
    assert recorded["publish"]["figures"] == {"rows_loaded": fact_rows}
    assert recorded["clean"]["figures"]["rejects"] == rejects
    assert recorded["reload_late_changes"]["figures"] == {"reloaded_days": 0}
    assert "check_anomalies" in recorded
    for task in ("extract", "save_raw", "clean", "load_fact", "upsert_dims", "publish"):
        assert 0 < recorded[task]["seconds"] < 120, task


def test_publish_emits_the_fact_sales_asset_event_with_the_business_day(runs):
    env, root, _good, _failed = runs
    code = (
        "import json; from airflow.utils.session import create_session; from airflow.models.asset import AssetEvent;"
        "s=create_session().__enter__();"
        "print(json.dumps([[e.asset.uri, e.extra, e.source_task_id] for e in s.query(AssetEvent).all()]))"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    events = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [
        (uri, extra["business_day"], task) for uri, extra, task in events
    ] == [("x-nk-dash://star-schema/fact_sales", GOOD_DAY.isoformat(), "publish")]
    assert events[0][1]["path"] == str(lake.partition_file(root, lake.FACT_SALES, GOOD_DAY))


def test_airflow_sends_its_statsd_metrics(runs, statsd):
    names = statsd.names()
    Path("artifacts").mkdir(exist_ok=True)
    Path("artifacts/statsd-names.txt").write_text("\n".join(sorted(names)))
    assert {
        "airflow.ti.finish.nk_dash_daily.extract.up_for_retry",
        "airflow.ti.finish.nk_dash_daily.extract.failed",
        "airflow.ti.finish.nk_dash_daily.publish.success",
        "airflow.dag.nk_dash_daily.publish.duration",
    } <= names, sorted(names)
    # The statsd-exporter mapping of the monitoring profile matches what Airflow really sends.
    mapping = yaml.safe_load((REPO / "docker" / "monitoring" / "statsd_mapping.yml").read_text())["mappings"]
    for pattern in [m["match"] for m in mapping if m["match"].startswith(("airflow.ti.", "airflow.dag."))]:
        regex = re.escape(pattern).replace(r"\*", r"[^.]+")
        assert any(re.fullmatch(regex, n) for n in names), pattern
