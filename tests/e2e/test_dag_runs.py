"""End to end: the simulator as a real server, the DAG run through `airflow dags test`, the lake checked."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from include.etl import lake, views
from include.etl.business_day import day_window_utc, odoo_datetime
from odoo_sim.testing import start_simulator
from tests.airflow_env import airflow, airflow_env

pytestmark = pytest.mark.e2e

# (store time zone, business days run through Airflow)
CASES = {
    "Europe/Brussels": [date(2025, 3, 29), date(2025, 3, 30)],  # 30 March: DST starts, a 23-hour day
    "America/New_York": [date(2025, 1, 5)],
    "Asia/Tokyo": [date(2025, 1, 5)],
}


def day_totals(con, day: date) -> tuple[int, Decimal, Decimal]:
    rows, qty, revenue = con.execute(
        "SELECT count(*), coalesce(sum(quantity), 0), coalesce(sum(revenue), 0) FROM fact_sales WHERE date = ?",
        [day],
    ).fetchone()
    return rows, Decimal(qty), Decimal(revenue)


def fact_snapshot(root: Path, day: date) -> list[tuple]:
    con = views.connect(str(root))
    return con.execute("SELECT * FROM fact_sales WHERE date = ? ORDER BY line_id", [day]).fetchall()


@pytest.fixture(scope="module", params=sorted(CASES))
def loaded(request, tmp_path_factory):
    """A simulator and an Airflow home for one store time zone, with its days loaded by `airflow dags test`."""
    tz = request.param
    work = tmp_path_factory.mktemp(tz.replace("/", "_"))
    with start_simulator(timezone=tz, start_date="2025-01-01", end_date="2025-04-30", lines_per_day=800) as sim:
        env = airflow_env(work / "airflow", tz=tz, lake=work / "lake", conn_uri=sim.conn_uri())
        airflow(env, "db", "migrate")
        logs = {day: airflow(env, "dags", "test", "nk_dash_daily", day.isoformat()) for day in CASES[tz]}
        yield tz, sim, env, work / "lake", logs


def test_every_task_succeeded_and_logged_a_receipt(loaded):
    _tz, _sim, _env, _lake, logs = loaded
    for day, proc in logs.items():
        out = proc.stdout + proc.stderr
        assert out.count("new_state=success") == 11, f"not all eleven tasks of {day} succeeded"
        assert re.search(r"Marking run <DagRun nk_dash_daily[^>]*> successful", out)
        assert re.search(r"load_fact receipt: day=" + day.isoformat() + r" wrote \d+ fact rows", out)
        assert "rpc_calls=" in out


def test_lake_totals_equal_the_simulators_own_data(loaded):
    tz, sim, _env, root, _logs = loaded
    con = views.connect(str(root))
    for day in CASES[tz]:
        start, end = day_window_utc(day, ZoneInfo(tz))
        expected = sim.stats(odoo_datetime(start), odoo_datetime(end))
        assert expected["lines"] > 100
        assert day_totals(con, day) == (
            expected["lines"],
            Decimal(expected["quantity"]),
            Decimal(expected["revenue"]),
        )
        line_ids = {r[0] for r in con.execute("SELECT line_id FROM fact_sales WHERE date = ?", [day]).fetchall()}
        assert line_ids == set(expected["line_ids"])


def test_the_layout_of_architecture_md(loaded):
    tz, _sim, _env, root, _logs = loaded
    for day in CASES[tz]:
        for table in (lake.RAW_LINES, lake.CLEAN_LINES, lake.FACT_SALES):
            assert lake.partition_file(root, table, day).is_file()
    for name in ("dim_products", "dim_categories", "dim_brands"):
        assert lake.dimension_file(root, name).is_file()
    assert not list(root.rglob(".*tmp*")), "temp files left behind"
    assert not (root / "_staging").exists() or not any((root / "_staging").rglob("*.json.gz"))


def test_draft_and_cancelled_orders_are_absent(loaded):
    tz, sim, _env, root, _logs = loaded
    con = views.connect(str(root))
    day = CASES[tz][0]
    start, end = day_window_utc(day, ZoneInfo(tz))
    excluded = sim.stats(odoo_datetime(start), odoo_datetime(end))["order_ids_excluded"]
    ids = excluded["draft"] + excluded["cancel"]
    assert ids, "the simulator should have draft and cancelled orders that day"
    assert con.execute("SELECT count(*) FROM fact_sales WHERE list_contains(?, order_id)", [ids]).fetchone()[0] == 0
    states = {r[0] for r in con.execute("SELECT DISTINCT order_state FROM fact_sales").fetchall()}
    assert states <= {"paid", "done", "invoiced"}


def test_an_order_at_23_50_local_time_lands_on_its_local_day(loaded):
    tz, _sim, _env, root, _logs = loaded
    con = views.connect(str(root))
    for day in CASES[tz]:
        rows = con.execute(
            "SELECT date, order_ts_utc, local_hour FROM fact_sales WHERE local_hour = 23 AND date = ?", [day]
        ).fetchall()
        late = [r for r in rows if r[1].replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).minute == 50]
        assert late, f"no 23:50 order on {day}"
        for fact_day, ts_utc, _hour in late:
            local = ts_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
            assert (local.date(), local.hour, local.minute) == (day, 23, 50)
            assert fact_day == day


def test_the_architecture_queries_run_unchanged(loaded):
    _tz, _sim, _env, root, _logs = loaded
    con = views.connect(str(root))
    con.execute("SELECT * FROM fact_sales WHERE date >= current_date - INTERVAL 30 DAY").fetchall()
    top = con.execute(
        """
        SELECT p.product_id, p.product_category, SUM(f.quantity) AS qty, SUM(f.revenue) AS revenue
        FROM fact_sales f LEFT JOIN dim_products p USING (product_id)
        WHERE date_trunc('month', date) = date_trunc('month', DATE '2025-01-05')
        GROUP BY 1,2 ORDER BY revenue DESC LIMIT 20
        """
    ).fetchall()
    assert len(top) == 20 or _tz == "Europe/Brussels"
    missing = con.execute("SELECT count(*) FROM fact_sales f ANTI JOIN dim_products p USING (product_id)").fetchone()[0]
    assert missing == 0
    assert con.execute("SELECT count(*) FROM dim_products WHERE product_category IS NULL").fetchone()[0] == 0


def test_a_rerun_changes_nothing(loaded):
    tz, _sim, env, root, _logs = loaded
    day = CASES[tz][0]
    before = fact_snapshot(root, day)
    airflow(env, "dags", "test", "nk_dash_daily", day.isoformat())
    assert fact_snapshot(root, day) == before
    assert len(list(lake.partition_file(root, lake.FACT_SALES, day).parent.iterdir())) == 1


def test_backfill_range_maps_to_exactly_the_business_days(loaded):
    tz, _sim, env, _root, _logs = loaded
    out = airflow(
        env,
        "backfill",
        "create",
        "--dag-id",
        "nk_dash_daily",
        "--from-date",
        "2025-01-01",
        "--to-date",
        "2025-03-31",
        "--reprocess-behavior",
        "completed",
        "--dry-run",
    ).stdout
    logical = [datetime.fromisoformat(m) for m in re.findall(r"\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d) ", out)]
    days = [d.astimezone(ZoneInfo(tz)) for d in logical]
    assert len(days) == 90
    assert all((d.hour, d.minute) == (0, 0) for d in days)
    assert days[0].date() == date(2025, 1, 1) and days[-1].date() == date(2025, 3, 31)
