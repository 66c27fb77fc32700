"""fact_payments, fact_sessions and the customers against the simulator's own figures, loaded through run_day."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from include.etl import lake, schema, tasks, views
from include.etl.extract import drop_staging
from odoo_sim.testing import SimulatorProcess
from tests.payments._support import DAYS, TZ, client, expected


@pytest.fixture(scope="module")
def con(loaded_lake: Path):
    connection = views.connect(str(loaded_lake))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def sim_days(sim: SimulatorProcess) -> dict:
    return {day: expected(sim, day) for day in DAYS}


def test_payments_per_method_equal_the_simulator(con, sim_days) -> None:
    methods_seen: set[str] = set()
    for day, exp in sim_days.items():
        got = dict(
            con.execute(
                "SELECT payment_method_name, sum(amount) FROM fact_payments WHERE date = ? GROUP BY 1", [day]
            ).fetchall()
        )
        assert {k: str(v) for k, v in got.items()} == exp["payments"]["by_method"], day
        count, total, change = con.execute(
            "SELECT count(*), sum(amount), coalesce(sum(amount) FILTER (WHERE is_change), 0) "
            "FROM fact_payments WHERE date = ?",
            [day],
        ).fetchone()
        assert (count, str(total), str(change)) == (
            exp["payments"]["count"],
            exp["payments"]["total"],
            exp["payments"]["change"],
        )
        methods_seen |= set(got)
    # several methods per store: a cash method for each register, the card and the customer account
    assert {"Card", "Customer Account"} <= methods_seen and sum(m.startswith("Cash") for m in methods_seen) == 3
    types = {r[0] for r in con.execute("SELECT DISTINCT payment_method_type FROM fact_payments").fetchall()}
    assert types == {"cash", "bank", "pay_later"}


def test_each_day_reconciles_payments_with_order_totals_change_and_rounding_included(con, sim_days) -> None:
    """sum(amount) = sum(fact_sales.revenue) + cash rounding (docs/lake-contract.md), change lines included."""
    rounding_days = 0
    for day, exp in sim_days.items():
        paid = con.execute("SELECT sum(amount) FROM fact_payments WHERE date = ?", [day]).fetchone()[0]
        revenue = con.execute("SELECT sum(revenue) FROM fact_sales WHERE date = ?", [day]).fetchone()[0]
        assert str(revenue) == exp["revenue"] == exp["amount_total"]
        assert paid == revenue + Decimal(exp["payments"]["rounding"]), day
        rounding_days += bool(exp["payments"]["rounded_orders"])
    assert rounding_days, "the simulator should round cash on some days"
    # per order, payments minus revenue is the cash rounding: zero except on the store that rounds, < 0.05 there
    diffs = con.execute(
        "WITH p AS (SELECT order_id, any_value(store_id) AS store_id, sum(amount) AS paid "
        "FROM fact_payments GROUP BY 1), "
        "s AS (SELECT order_id, sum(revenue) AS revenue FROM fact_sales GROUP BY 1) "
        "SELECT p.store_id, p.paid - s.revenue AS diff FROM p JOIN s USING (order_id) WHERE p.paid <> s.revenue"
    ).fetchall()
    assert diffs, "some orders should be rounded"
    assert {store for store, _ in diffs} == {2}
    assert all(Decimal("-0.02") <= diff <= Decimal("0.02") for _, diff in diffs)
    # every counted order that has a total is paid, and no payment belongs to an order outside fact_sales
    unpaid, orphans = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT order_id, sum(revenue) r FROM fact_sales GROUP BY 1) s "
        "        ANTI JOIN fact_payments p USING (order_id) WHERE s.r <> 0), "
        "       (SELECT count(*) FROM fact_payments p ANTI JOIN fact_sales s USING (order_id))"
    ).fetchone()
    assert (unpaid, orphans) == (0, 0)


def test_change_and_refund_lines(con) -> None:
    change = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE amount < 0 AND payment_method_type = 'cash' AND NOT is_refund) "
        "FROM fact_payments WHERE is_change"
    ).fetchone()
    assert change[0] > 10 and change[0] == change[1]
    # a change line goes with a cash payment of the same order larger than the amount due
    overpaid = con.execute(
        "SELECT count(*) FROM (SELECT order_id, sum(amount) FILTER (WHERE NOT is_change AND payment_method_type = "
        "'cash') AS tendered, sum(amount) AS paid FROM fact_payments GROUP BY 1 HAVING bool_or(is_change)) "
        "WHERE tendered <= paid"
    ).fetchone()[0]
    assert overpaid == 0
    refunds = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE o.revenue < 0) FROM fact_payments p JOIN "
        "(SELECT order_id, sum(revenue) AS revenue FROM fact_sales GROUP BY 1) o USING (order_id) WHERE p.is_refund"
    ).fetchone()
    assert refunds[0] > 0 and refunds[0] == refunds[1]


def test_sessions_equal_the_simulator_with_cash_differences(con, sim_days) -> None:
    differences = 0
    for day, exp in sim_days.items():
        rows = con.execute(
            "SELECT session_id, store_id, state, expected_cash, counted_cash, cash_difference, opened_by, closed_by, "
            "start_local FROM fact_sessions WHERE date = ? ORDER BY session_id",
            [day],
        ).fetchall()
        want = sorted(exp["sessions"], key=lambda s: s["id"])
        assert [(r[0], r[1], r[2], str(r[3]), str(r[4]), str(r[5])) for r in rows] == [
            (s["id"], s["store_id"], s["state"], s["expected"], s["counted"], s["difference"]) for s in want
        ]
        assert all(r[6] and r[7] for r in rows), "opened and closed by whom"
        assert all(r[8] == datetime.combine(day, time()) for r in rows), "start in store time"
        differences += sum(1 for r in rows if r[5] != 0)
    assert differences > 0, "some sessions should close with a cash difference"
    # the loss-prevention question: sessions whose difference exceeds a threshold
    threshold = Decimal("0.50")
    flagged = con.execute("SELECT count(*) FROM fact_sessions WHERE abs(cash_difference) >= ?", [threshold]).fetchone()
    want = sum(abs(Decimal(s["difference"])) >= threshold for exp in sim_days.values() for s in exp["sessions"])
    assert flagged[0] == want <= differences
    # expected cash = opening + cash moves + the session's cash payments (pos_session._compute_cash_balance)
    mismatched = con.execute(
        "SELECT count(*) FROM fact_sessions s LEFT JOIN (SELECT session_id, sum(amount) AS cash FROM fact_payments "
        "WHERE payment_method_type = 'cash' GROUP BY 1) p USING (session_id) "
        "WHERE s.expected_cash <> s.opening_cash + s.cash_moves + coalesce(p.cash, 0)"
    ).fetchone()[0]
    assert mismatched == 0


def test_customers_share_and_names_only(con, sim_days, loaded_lake: Path) -> None:
    seen: set[int] = set()
    for day, exp in sim_days.items():
        with_customer, revenue, partners = con.execute(
            "SELECT count(DISTINCT order_id) FILTER (WHERE partner_id IS NOT NULL), "
            "coalesce(sum(revenue) FILTER (WHERE partner_id IS NOT NULL), 0), "
            "list(DISTINCT partner_id) FILTER (WHERE partner_id IS NOT NULL) FROM fact_sales WHERE date = ?",
            [day],
        ).fetchone()
        cust = exp["customers"]
        assert (with_customer, str(revenue), sorted(partners)) == (
            cust["orders_with_customer"],
            cust["revenue_with_customer"],
            cust["partner_ids"],
        )
        assert 0 < with_customer < exp["orders"], "orders with and without a customer"
        seen |= set(partners)
    dim = dict(con.execute("SELECT customer_id, customer_name FROM dim_customers").fetchall())
    assert set(dim) == seen and all(dim.values())
    # returning customers exist: some customer bought on more than one day of the week
    returning = con.execute(
        "SELECT count(*) FROM (SELECT partner_id FROM fact_sales WHERE partner_id IS NOT NULL "
        "GROUP BY 1 HAVING count(DISTINCT date) > 1)"
    ).fetchone()[0]
    assert returning > 0
    assert pq.read_schema(loaded_lake / "star-schema" / "dim_customers.parquet").names == schema.DIM_CUSTOMERS.names
    assert schema.DIM_CUSTOMERS.names == ["customer_id", "customer_name", "source_write_date"]


def test_partitions_and_empty_views(loaded_lake: Path, tmp_path: Path) -> None:
    for day in DAYS:
        for table in ("fact_payments", "fact_sessions"):
            folder = loaded_lake / "star-schema" / table / f"year={day:%Y}" / f"month={day:%m}" / f"day={day:%d}"
            assert [p.name for p in folder.iterdir()] == [f"{table}_{day.isoformat()}.parquet"]
    assert not list((loaded_lake / "_staging").glob("*/*")), "staging dropped after publish"
    empty = views.connect(str(tmp_path))
    try:
        for name, arrow_schema in (
            ("fact_payments", schema.FACT_PAYMENTS),
            ("fact_sessions", schema.FACT_SESSIONS),
            ("dim_customers", schema.DIM_CUSTOMERS),
        ):
            cols = [r[0] for r in empty.execute(f"DESCRIBE {name}").fetchall()]
            assert cols == arrow_schema.names and empty.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 0
    finally:
        empty.close()


def test_payment_rpcs_are_paged(sim: SimulatorProcess, loaded_lake: Path) -> None:
    """Calls for payments grow with rows / page size, never with orders (no read per order)."""
    odoo = client(sim, page_size=50)
    sim.reset_calls()
    staging = tasks.extract(odoo, DAYS[0], TZ, str(loaded_lake))
    by_model: dict[str, int] = defaultdict(int)
    for row in sim.calls()["calls"]:
        by_model[row["model"] or ""] += row["count"]
    drop_staging(staging)
    exp = expected(sim, DAYS[0])
    pages = -(-exp["payments"]["count"] // 50)
    assert exp["payments"]["count"] > 100 and exp["orders"] > 100
    # fields_get once, then one search_read per page (the last one may come back short)
    assert pages <= by_model["pos.payment"] <= pages + 2
    assert by_model["pos.payment.method"] <= 2 and by_model["pos.session"] <= 3


def test_days_loaded_before_customers_existed_read_partner_id_as_null(loaded_lake: Path, tmp_path: Path) -> None:
    """A fact_sales file written without `partner_id` (an older lake) reads it as NULL beside a new one."""
    old_day, new_day = DAYS[0], DAYS[1]
    for day in (old_day, new_day):
        table = pq.read_table(lake.partition_file(loaded_lake, lake.FACT_SALES, day))
        if day == old_day:
            table = table.drop_columns(["partner_id"])
        lake.write_parquet_atomic(table, lake.partition_file(tmp_path, lake.FACT_SALES, day))
    con = views.connect(str(tmp_path))
    try:
        known = dict(
            con.execute("SELECT date, count(partner_id) FROM fact_sales GROUP BY 1 ORDER BY 1").fetchall()
        )
    finally:
        con.close()
    assert known[old_day] == 0 and known[new_day] > 0
