"""Units of the alerts and metrics: message text and redaction, when a deadline alerts, the deadline's
interval, the metrics collector over a lake, the dashboard banner, the monitoring files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import nk_alerts  # noqa: E402 - plugins/ is put on the path by tests/alerts/conftest.py, as Airflow does
import pytest
import yaml

from include.etl import anomaly, metrics
from tests.airflow_env import REPO


def test_one_line_keeps_the_first_line_and_drops_secrets():
    exc = RuntimeError(
        "login failed for odoo://etl%40shop.example:Sup3r-Secret@odoo.example.com:443/prod\n"
        "Traceback (most recent call last): ... password=hunter2"
    )
    line = nk_alerts.one_line(exc)
    assert line.startswith("RuntimeError: login failed for odoo://etl%40shop.example:***@odoo.example.com")
    assert "Sup3r-Secret" not in line and "\n" not in line and "Traceback" not in line
    assert nk_alerts.one_line(ValueError("api_key=abc123 token: xyz")) == "ValueError: api_key=*** token: ***"
    assert len(nk_alerts.one_line("x" * 1000)) == 300


def test_failure_message_names_the_store_day_task_cause_and_log(monkeypatch):
    monkeypatch.setenv("STORE_TIMEZONE", "Asia/Tokyo")
    ti = SimpleNamespace(dag_id="nk_dash_daily", task_id="clean", run_id="scheduled__x", try_number=4,
                         log_url="http://ui/dags/nk_dash_daily/runs/scheduled__x/tasks/clean?try_number=4")
    # Logical date: 5 January 00:00 in Tokyo = 4 January 15:00 UTC.
    context = {"ti": ti, "logical_date": datetime(2025, 1, 4, 15, tzinfo=UTC),
               "exception": ValueError("share of rejected lines 3.2 % > 1 %")}
    subject, body = nk_alerts.failure_message(context)
    assert subject == "[NK Dash] business day 2025-01-05: task clean failed"
    assert "Cause: ValueError: share of rejected lines 3.2 % > 1 %" in body
    assert "Log: http://ui/dags/nk_dash_daily/runs/scheduled__x/tasks/clean?try_number=4" in body


def test_deadline_interval_follows_the_configured_store_hour(monkeypatch):
    # from the scheduled run's queue time, 02:00 store time, to the configured hour
    assert nk_alerts.deadline_interval() == timedelta(hours=5)
    monkeypatch.setenv("NK_DASH_PUBLISH_BY", "06:30")
    assert nk_alerts.publish_by() == time(6, 30)
    assert nk_alerts.deadline_interval() == timedelta(hours=4, minutes=30)
    monkeypatch.setenv("NK_DASH_PUBLISH_BY", "01:00")  # before the run starts: the next night
    assert nk_alerts.deadline_interval() == timedelta(hours=23)


def test_a_backfill_created_after_its_deadline_does_not_alert():
    deadline = "2025-01-06T06:00:00+00:00"
    assert nk_alerts.should_alert_deadline({"run_type": "scheduled", "queued_at": "2025-01-07T00:00:00Z"}, deadline)
    assert not nk_alerts.should_alert_deadline({"run_type": "backfill", "queued_at": "2025-03-01T00:00:00Z"}, deadline)
    assert nk_alerts.should_alert_deadline({"run_type": "manual", "queued_at": "2025-01-06T01:00:00Z"}, deadline)


def test_the_dag_has_the_deadline_when_the_scheduler_parses_it(monkeypatch):
    monkeypatch.setattr("sys.argv", ["airflow", "dag-processor"])
    alert = nk_alerts.publish_deadline()
    assert alert.interval == timedelta(hours=5)
    assert type(alert.reference).__name__ == "DagRunQueuedAtDeadline"
    assert alert.callback.path == "nk_alerts.deadline_missed"
    monkeypatch.setattr("sys.argv", ["airflow", "dags", "test", "nk_dash_daily"])
    assert nk_alerts.publish_deadline() is None


def _fake_lake(root: Path) -> None:
    fact = root / "star-schema/fact_sales/year=2025/month=01/day=06/fact_sales_2025-01-06.parquet"
    fact.parent.mkdir(parents=True)
    fact.write_bytes(b"")  # freshness looks at names only
    metrics.record(str(root), date(2025, 1, 6), "extract", 2.5,
                   {"lines_read": 812, "orders_read": 240, "rpc_calls": 9, "rpc_retries": 1})
    metrics.record(str(root), date(2025, 1, 6), "publish", 0.25, {"rows_loaded": 810})


def test_the_collector_exposes_recorded_figures_and_freshness(tmp_path):
    from prometheus_client import CollectorRegistry, generate_latest

    _fake_lake(tmp_path)
    registry = CollectorRegistry()
    registry.register(metrics.LakeCollector(str(tmp_path), ZoneInfo("Europe/Brussels")))
    text = generate_latest(registry).decode()
    assert 'nk_dash_lines_read{day="2025-01-06"} 812.0' in text
    assert 'nk_dash_rpc_retries{day="2025-01-06"} 1.0' in text
    assert 'nk_dash_rows_loaded{day="2025-01-06"} 810.0' in text
    assert 'nk_dash_task_seconds{day="2025-01-06",task="extract"} 2.5' in text
    start = datetime(2025, 1, 6, tzinfo=ZoneInfo("Europe/Brussels")).timestamp()
    exposed = re.search(r"^nk_dash_newest_published_day_timestamp_seconds (\S+)$", text, re.M)[1]
    assert float(exposed) == start
    now = datetime(2025, 1, 7, 7, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    day, _start, age = metrics.freshness(str(tmp_path), ZoneInfo("Europe/Brussels"), now)
    assert day == date(2025, 1, 6) and age == 7 * 3600


def test_the_banner_lists_the_newest_anomalies(tmp_path):
    from dashboard.anomaly_banner import BANNER_ID, banner

    assert banner(str(tmp_path)) is None
    path = anomaly.anomalies_file(str(tmp_path), date(2025, 1, 6))
    path.parent.mkdir(parents=True)
    flagged = [{"day": "2025-01-06", "store_id": 2, "store_name": "Ghent", "figure": "revenue",
                "value": 312.4, "median": 1204.1, "zscore": -4.23},
               {"day": "2025-01-06", "store_id": 2, "store_name": "Ghent", "figure": "refunds_share",
                "value": 0.12, "median": 0.02, "zscore": 6.0}]
    path.write_text(json.dumps({"day": "2025-01-06", "stores": [], "anomalies": flagged}))
    component = banner(str(tmp_path))
    assert component.id == BANNER_ID and component.role == "alert"
    items = [li.children for li in component.children[2].children]
    assert items == ["Ghent: revenue 312.40, usually 1,204.10 (robust z -4.2)",
                     "Ghent: refunds share 12.0 %, usually 2.0 % (robust z +6.0)"]
    assert "2025-01-06 looks unusual" in component.children[0].children
    path.write_text(json.dumps({"day": "2025-01-06", "stores": [], "anomalies": []}))
    assert banner(str(tmp_path)) is None


MONITORING = REPO / "docker" / "monitoring"


def test_prometheus_config_and_rules_pass_promtool(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "Debian's prometheus (with promtool) is installed by scripts/test.sh"
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    config = (MONITORING / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml")))
    for args in (["check", "config", str(tmp_path / "prometheus.yml")],
                 ["check", "rules", str(tmp_path / "alerts.yml")]):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_grafana_dashboard_queries_only_metrics_that_exist():
    board = json.loads((MONITORING / "grafana" / "dashboards" / "nk_dash.json").read_text())
    exprs = [re.sub(r'"[^"]*"', "", t["expr"]) for p in board["panels"] for t in p["targets"]]  # not label values
    ours = {m for e in exprs for m in re.findall(r"\bnk_dash_[a-z_]+", e)}
    exported = set(metrics.DAY_FIGURES) | {
        "nk_dash_task_seconds", "nk_dash_anomaly_zscore", "nk_dash_freshness_seconds",
        "nk_dash_newest_published_day_timestamp_seconds",
    }
    assert ours and ours <= exported
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    rule_metrics = {m for g in rules["groups"] for r in g["rules"] for m in re.findall(r"\bnk_dash_[a-z_]+", r["expr"])}
    assert rule_metrics <= exported
    mapped = {m["name"] for m in yaml.safe_load((MONITORING / "statsd_mapping.yml").read_text())["mappings"]}
    airflow_metrics = {m for e in exprs for m in re.findall(r"\bairflow_[a-z_]+?(?=_bucket|_count|\b)", e)}
    assert airflow_metrics and airflow_metrics <= mapped


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_compose_monitoring_profile(tmp_path):
    shutil.copy(REPO / "docker-compose.yaml", tmp_path / "docker-compose.yaml")
    text = (REPO / ".env.example").read_text()
    text = re.sub(r"^(AIRFLOW__CORE__FERNET_KEY|AIRFLOW__API_AUTH__JWT_SECRET|AIRFLOW__API__SECRET_KEY|"
                  r"AIRFLOW_ADMIN_PASSWORD|POSTGRES_PASSWORD|DASH_SECRET_KEY)=$", r"\1=test-secret", text, flags=re.M)
    (tmp_path / ".env").write_text(text)
    res = subprocess.run(["docker-compose", "--profile", "monitoring", "config", "--services"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert {"statsd-exporter", "nk-dash-metrics", "prometheus", "grafana"} <= set(res.stdout.split())
    services = yaml.safe_load((REPO / "docker-compose.yaml").read_text())["services"]
    for name in ("statsd-exporter", "nk-dash-metrics", "prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"], f"{name} must be opt-in"


def test_unusual_days_are_mailed_only_when_asked(smtp, monkeypatch):
    from tests.alerts.servers import body_text

    result = {"day": "2025-01-06", "anomalies": [
        {"day": "2025-01-06", "store_id": 2, "store_name": "Ghent", "figure": "orders", "value": 30.0,
         "median": 101.0, "zscore": -9.87}]}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp.conn_uri())
    monkeypatch.setenv("NK_DASH_ALERT_EMAIL_TO", "owner@example.test")
    before = len(smtp.inbox.messages)
    assert nk_alerts.notify_anomalies(result) == 0, "off unless NK_DASH_ANOMALY_NOTIFY is true"
    monkeypatch.setenv("NK_DASH_ANOMALY_NOTIFY", "true")
    assert nk_alerts.notify_anomalies({**result, "anomalies": []}) == 0
    assert nk_alerts.notify_anomalies(result) == 1
    msg = smtp.inbox.wait_for(lambda m: "looks unusual" in m["Subject"], timeout=10)
    assert len(smtp.inbox.messages) == before + 1
    assert msg["Subject"] == "[NK Dash] business day 2025-01-06 looks unusual (1 figure(s))"
    assert "Ghent: orders 30.0 (usual 101.0, robust z -9.9)" in body_text(msg)


def test_slack_gets_the_failure_and_the_deadline_messages(monkeypatch):
    import asyncio

    from tests.alerts.servers import SlackApi

    token = "xoxb-test-Secret-token-42"
    with SlackApi() as slack:
        monkeypatch.setenv("AIRFLOW_CONN_NK_SLACK", slack.conn_json(token))
        monkeypatch.setenv("NK_DASH_SLACK_CONN_ID", "nk_slack")
        monkeypatch.setenv("NK_DASH_SLACK_CHANNEL", "#store-ops")
        monkeypatch.delenv("NK_DASH_ALERT_EMAIL_TO", raising=False)
        assert nk_alerts.send("[NK Dash] business day 2025-01-07: task clean failed", "Cause: x\n") == 1
        context = {"dag_run": {"dag_id": "nk_dash_daily", "dag_run_id": "scheduled__2025-01-06T23:00:00+00:00",
                               "run_type": "scheduled", "state": "running",
                               "logical_date": "2025-01-06T23:00:00Z", "queued_at": "2025-01-07T01:00:05Z"},
                   "deadline": {"id": "x", "deadline_time": "2025-01-08T06:00:00+00:00"}}
        monkeypatch.setenv("STORE_TIMEZONE", "Europe/Brussels")
        assert asyncio.run(nk_alerts.deadline_missed(context, publish_by="07:00")) == "sent 1"
    assert [c["path"] for c in slack.calls] == ["/api/chat.postMessage"] * 2
    assert all(c["auth"] == f"Bearer {token}" and c["json"]["channel"] == "#store-ops" for c in slack.calls)
    assert slack.calls[0]["json"]["text"].startswith("*[NK Dash] business day 2025-01-07: task clean failed*")
    deadline_text = slack.calls[1]["json"]["text"]
    assert "business day 2025-01-07 is still missing: not published by 07:00 store time" in deadline_text
    assert "Run: scheduled__2025-01-06T23:00:00+00:00 (scheduled), state running" in deadline_text
    assert token not in deadline_text
