"""One `airflow dags test` of nk_dash_daily against Odoo 20 over JSON-2 only (no /jsonrpc on the server)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from include.etl import views
from include.etl.business_day import day_window_utc, odoo_datetime
from odoo_sim.testing import start_simulator
from tests.airflow_env import airflow, airflow_env

pytestmark = pytest.mark.e2e

TZ = "Europe/Brussels"
DAY = date(2025, 1, 7)


def test_the_dag_loads_a_day_from_odoo_20_over_json2(tmp_path):
    with start_simulator(
        odoo_version=20,
        no_jsonrpc=True,
        timezone=TZ,
        start_date="2025-01-01",
        end_date="2025-01-10",
        lines_per_day=400,
        now="2025-03-01 12:00:00",
    ) as sim:
        env = airflow_env(tmp_path / "airflow", tz=TZ, lake=tmp_path / "lake", conn_uri=sim.conn_uri(api="json2"))
        airflow(env, "db", "migrate")
        proc = airflow(env, "dags", "test", "nk_dash_daily", DAY.isoformat())
        out = proc.stdout + proc.stderr
        calls = sim.calls()
        start, end = day_window_utc(DAY, ZoneInfo(TZ))
        expected = sim.stats(odoo_datetime(start), odoo_datetime(end))
    assert out.count("new_state=success") == 11  # nine tasks, load_payments and check_anomalies
    assert "over json2" in out
    assert sim.api_key not in out
    assert {row["service"] for row in calls["calls"]} == {"json2"}
    con = views.connect(str(tmp_path / "lake"))
    rows, qty, revenue = con.execute(
        "SELECT count(*), sum(quantity), sum(revenue) FROM fact_sales WHERE date = ?", [DAY]
    ).fetchone()
    assert expected["lines"] > 100
    assert (rows, Decimal(qty), Decimal(revenue)) == (
        expected["lines"],
        Decimal(expected["quantity"]),
        Decimal(expected["revenue"]),
    )
