"""One `airflow dags test`: load_payments runs in the DAG and publishes payments and sessions with the sales."""

from __future__ import annotations

from datetime import date

import pytest

from include.etl import views
from odoo_sim.testing import start_simulator
from tests.airflow_env import airflow, airflow_env
from tests.payments._support import SIM_OPTIONS, TZ_NAME, window

pytestmark = pytest.mark.e2e

DAY = date(2025, 3, 30)  # the spring DST change: a 23-hour business day


def test_the_dag_publishes_payments_and_sessions_with_the_sales(tmp_path) -> None:
    with start_simulator(**(SIM_OPTIONS | {"odoo_version": 18})) as sim:
        env = airflow_env(tmp_path / "airflow", tz=TZ_NAME, lake=tmp_path / "lake", conn_uri=sim.conn_uri())
        airflow(env, "db", "migrate")
        proc = airflow(env, "dags", "test", "nk_dash_daily", DAY.isoformat())
        exp = sim.stats(*window(DAY))
    out = proc.stdout + proc.stderr
    assert out.count("new_state=success") == 11  # with load_payments and check_anomalies
    assert "task_id=load_payments" in out and "load_payments receipt" in out
    con = views.connect(str(tmp_path / "lake"))
    try:
        by_method = dict(
            con.execute(
                "SELECT payment_method_name, sum(amount) FROM fact_payments WHERE date = ? GROUP BY 1", [DAY]
            ).fetchall()
        )
        sessions = con.execute(
            "SELECT session_id, expected_cash, counted_cash, cash_difference FROM fact_sessions WHERE date = ? "
            "ORDER BY 1",
            [DAY],
        ).fetchall()
        customers = con.execute(
            "SELECT count(DISTINCT order_id) FILTER (WHERE partner_id IS NOT NULL) FROM fact_sales WHERE date = ?",
            [DAY],
        ).fetchone()[0]
        dim_customers = con.execute("SELECT count(*) FROM dim_customers").fetchone()[0]
    finally:
        con.close()
    assert len(by_method) >= 4
    assert {k: str(v) for k, v in by_method.items()} == exp["payments"]["by_method"]
    assert [(s, str(e), str(c), str(d)) for s, e, c, d in sessions] == [
        (s["id"], s["expected"], s["counted"], s["difference"]) for s in sorted(exp["sessions"], key=lambda s: s["id"])
    ]
    assert customers == exp["customers"]["orders_with_customer"] > 0
    assert dim_customers == len(exp["customers"]["partner_ids"])
