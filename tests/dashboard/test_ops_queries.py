"""Payments & cash and Customers figures against totals recomputed in Python from the generated rows."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from ops_fake_lake import (
    CUSTOMERS,
    END,
    FIRST_NEW_DAY,
    MISSING_DAY,
    OPEN_SESSION_STORE,
    START,
    OpsLake,
    customer_totals,
    flagged_sessions,
    generate,
    payment_totals,
    write,
)

from dashboard import ops_queries

CASES = [
    {"start": START.isoformat(), "end": END.isoformat()},
    {"start": "2025-02-01", "end": "2025-02-28", "store": "2"},
    {"start": "2025-01-03", "end": "2025-01-20", "store": "1"},
    {"start": "2025-02-11", "end": "2025-02-11"},  # loaded, no sales
    {"start": "2025-03-01", "end": "2025-03-01", "store": "1"},  # the open session
]


@pytest.fixture(scope="module")
def ops() -> OpsLake:
    return generate()


@pytest.fixture(scope="module")
def ops_lake(ops: OpsLake, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ops-lake")
    write(root, ops)
    return root


def _period(raw: dict) -> tuple[date, date, int | None]:
    store = raw.get("store")
    return date.fromisoformat(raw["start"]), date.fromisoformat(raw["end"]), int(store) if store else None


def _d(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.mark.parametrize("raw", CASES)
def test_payment_figures_equal_the_generated_payments(ops: OpsLake, ops_lake: Path, raw: dict) -> None:
    start, end, store = _period(raw)
    want = payment_totals(ops, start, end, store)
    page = ops_queries.load_payments(raw, str(ops_lake))
    assert page.error is None and page.filters is not None
    t = page.totals
    assert (t.amount, t.payments, t.change, t.change_count, t.refunds, t.refund_count, t.rounding) == (
        want["amount"],
        want["payments"],
        want["change"],
        want["change_count"],
        want["refunds"],
        want["refund_count"],
        want["rounding"],
    ), raw
    m = page.methods
    methods = {name: (_d(a), n) for name, a, n in zip(m["method"], m["amount"], m["payments"], strict=True)}
    assert methods == {m: (a, want["count_by_method"][m]) for m, a in want["by_method"].items()}
    assert dict(zip(page.types["type"], map(_d, page.types["amount"]), strict=True)) == want["by_type"]
    if want["amount"]:
        assert math.isclose(page.methods["share"].sum(), 100.0) and math.isclose(page.types["share"].sum(), 100.0)
        assert list(page.types["type"]) == [t for t in ("cash", "bank", "pay_later") if t in want["by_type"]]
    assert page.currency == "EUR"


def test_store_2_rounds_cash_and_the_others_do_not(ops: OpsLake, ops_lake: Path) -> None:
    whole = {"start": FIRST_NEW_DAY.isoformat(), "end": END.isoformat()}
    rounded = ops_queries.load_payments({**whole, "store": "2"}, str(ops_lake)).totals.rounding
    assert rounded != 0 and rounded == payment_totals(ops, FIRST_NEW_DAY, END, 2)["rounding"]
    for store in ("1", "3"):
        assert ops_queries.load_payments({**whole, "store": store}, str(ops_lake)).totals.rounding == 0


def test_daily_payments_leave_gaps_where_no_payments_were_loaded(ops: OpsLake, ops_lake: Path) -> None:
    raw = {"start": START.isoformat(), "end": END.isoformat()}
    page = ops_queries.load_payments(raw, str(ops_lake))
    daily = page.daily.set_index("date")
    assert len(daily) == (END - START).days + 1
    gaps = {d for d, v in daily["total"].items() if v is None or math.isnan(v)}
    assert gaps == {START + timedelta(days=i) for i in range(5)} | {MISSING_DAY}
    assert page.missing_days == [MISSING_DAY]
    assert page.without_payments == [START + timedelta(days=i) for i in range(5)]
    assert daily.loc[date(2025, 2, 11), "total"] == 0  # loaded, nothing sold
    for day in (date(2025, 1, 6), date(2025, 2, 20), END):
        want = payment_totals(ops, day, day)
        got = daily.loc[day]
        assert (_d(got["total"]), _d(got["change"]), _d(got["rounding"])) == (
            want["amount"],
            want["change"],
            want["rounding"],
        )
        assert _d(got["cash"] + got["bank"] + got["pay_later"]) == want["amount"]
    assert _d(daily["rounding"].sum()) == page.totals.rounding


@pytest.mark.parametrize("threshold", ["0", "0.50", "5", "100"])
def test_sessions_above_the_threshold_and_the_open_one(ops: OpsLake, ops_lake: Path, threshold: str) -> None:
    raw = {"start": START.isoformat(), "end": END.isoformat()}
    page = ops_queries.load_sessions(raw, Decimal(threshold), str(ops_lake))
    want = flagged_sessions(ops, START, END, Decimal(threshold))
    assert sorted(page.rows["session_name"]) == sorted(s["session_name"] for s in want)
    assert list(page.rows["date"]) == sorted(page.rows["date"], reverse=True)
    still_open = page.rows[page.rows["status"] == "open"]
    assert len(still_open) == 1 and still_open["store_id"].iloc[0] == OPEN_SESSION_STORE
    assert math.isnan(still_open["cash_difference"].iloc[0])  # unknown, never 0
    closed = page.rows[page.rows["status"] == "closed"]
    assert (closed["cash_difference"].abs() >= float(threshold)).all()
    assert set(closed["store_name"]) <= {"Brussels Centre", "Ghent Korenmarkt", "Antwerp Meir"}
    by_name = {s["session_name"]: s for s in want}
    for _, row in closed.iterrows():
        s = by_name[row["session_name"]]
        assert (_d(row["expected_cash"]), _d(row["counted_cash"]), _d(row["cash_difference"])) == (
            s["expected_cash"],
            s["counted_cash"],
            s["cash_difference"],
        )
    assert page.without_sessions == [START + timedelta(days=i) for i in range(5)]


def test_sessions_of_one_store(ops: OpsLake, ops_lake: Path) -> None:
    raw = {"start": "2025-02-01", "end": "2025-02-28", "store": "3"}
    page = ops_queries.load_sessions(raw, Decimal("0.50"), str(ops_lake))
    want = flagged_sessions(ops, date(2025, 2, 1), date(2025, 2, 28), Decimal("0.50"), 3)
    assert len(want) > 2 and sorted(page.rows["session_name"]) == sorted(s["session_name"] for s in want)
    counts = ops_queries.load_payments(raw, str(ops_lake))
    closed = [s for s in ops.sessions if s["store_id"] == 3 and date(2025, 2, 1) <= s["date"] <= date(2025, 2, 28)]
    assert counts.sessions == len(closed) and counts.open_sessions == 0
    assert counts.cash_difference == sum((s["cash_difference"] for s in closed), Decimal(0))


@pytest.mark.parametrize("raw", CASES)
def test_customer_figures_equal_the_generated_orders(ops: OpsLake, ops_lake: Path, raw: dict) -> None:
    start, end, store = _period(raw)
    want = customer_totals(ops, start, end, store)
    page = ops_queries.load_customers(raw, str(ops_lake))
    s = page.share
    assert (s.revenue, s.revenue_known, s.orders, s.orders_known) == (
        want["revenue"],
        want["revenue_known"],
        want["orders"],
        want["orders_known"],
    ), raw
    assert (page.split.new, page.split.returning, page.split.new_revenue) == (
        want["new"],
        want["returning"],
        want["new_revenue"],
    )
    top = page.top
    assert len(top) == min(ops_queries.TOP_CUSTOMERS, want["customers"])
    ranked = sorted(want["by_customer"].items(), key=lambda kv: (-kv[1][0], kv[0]))[: len(top)]
    assert list(top["customer_id"]) == [c for c, _ in ranked]
    assert [(_d(r), int(n)) for r, n in zip(top["revenue"], top["orders"], strict=True)] == [v for _, v in ranked]
    assert list(top["customer_name"]) == [CUSTOMERS[c] for c, _ in ranked]
    assert list(top.columns) == ["customer_id", "customer_name", "revenue", "orders", "share", "first_day"]
    daily = page.daily.dropna()
    assert int(daily["new"].sum()) == want["new"]


def test_old_days_without_customers_are_partial_not_zero(ops: OpsLake, ops_lake: Path) -> None:
    raw = {"start": START.isoformat(), "end": "2025-01-10"}
    page = ops_queries.load_customers(raw, str(ops_lake))
    assert page.without_customers == [START + timedelta(days=i) for i in range(5)]
    # the share counts only the days that record customers
    want = customer_totals(ops, START, date(2025, 1, 10))
    assert page.share.revenue == want["revenue"] and page.share.revenue_known == want["revenue_known"]
    assert page.daily["new"].iloc[:5].isna().all() and page.daily["new"].iloc[5:].notna().all()
    # every customer of the first recorded day is new then
    first_day = customer_totals(ops, FIRST_NEW_DAY, FIRST_NEW_DAY)
    assert first_day["new"] == first_day["customers"] > 0


def test_empty_lake_and_invalid_filters(ops_lake: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for page in (
        ops_queries.load_payments({}, str(empty)),
        ops_queries.load_customers({}, str(empty)),
        ops_queries.load_sessions({}, Decimal(1), str(empty)),
    ):
        assert page.info.empty and page.filters is None and page.error is None
    for raw in ({"store": "99"}, {"start": "2025-02-30"}, {"store": "1 OR 1=1"}):
        assert ops_queries.load_payments(raw, str(ops_lake)).error
        assert ops_queries.load_customers(raw, str(ops_lake)).error
        assert ops_queries.load_sessions(raw, Decimal(1), str(ops_lake)).error


def test_parse_threshold() -> None:
    assert ops_queries.parse_threshold("2,5") == Decimal("2.5")
    assert ops_queries.parse_threshold(" 10 ") == Decimal(10)
    for bad in ("", None, "abc", "-1", "nan", "inf", "1e40"):
        assert ops_queries.parse_threshold(bad) == ops_queries.DEFAULT_THRESHOLD


def test_a_lake_loaded_before_payments_and_customers_existed(ops: OpsLake, tmp_path: Path) -> None:
    """No file has `partner_id`, no payments or sessions file: the pages say so, nothing fails."""
    import pyarrow as pa

    from include.etl import lake, schema

    days = [FIRST_NEW_DAY + timedelta(days=i) for i in range(3)]
    for day in days:
        rows = [r for r in ops.rows if r["date"] == day]
        table = pa.Table.from_pylist(rows, schema=schema.FACT_SALES).drop_columns(["partner_id"])
        lake.write_parquet_atomic(table, lake.partition_file(tmp_path, lake.FACT_SALES, day))
    raw = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    pay = ops_queries.load_payments(raw, str(tmp_path))
    assert pay.without_payments == days and pay.totals.amount == 0 and pay.methods.empty
    assert pay.daily["total"].isna().all()
    cust = ops_queries.load_customers(raw, str(tmp_path))
    assert cust.without_customers == days and cust.share.share is None and cust.top.empty
    assert cust.split.customers == 0
    sessions = ops_queries.load_sessions(raw, Decimal(0), str(tmp_path))
    assert sessions.without_sessions == days and sessions.rows.empty
