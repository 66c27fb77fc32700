"""The Payments & cash and Customers figures on a lake the ETL loaded from the Odoo simulator.

Three business days (store 2 rounds cash, several methods, change, refunds, sessions with
differences, orders with and without a customer) loaded through `tasks.run_day`, what the
DAG runs; every figure of the two pages is compared with the simulator's own totals, and
the same days loaded into an S3 lake (the S3 test server) give the same figures.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dashboard import ops_queries
from include.etl import lake, tasks
from odoo_sim.testing import SimulatorProcess, start_simulator
from tests.payments._support import SIM_OPTIONS, TZ, client, expected

DAYS = [date(2025, 3, 27) + timedelta(days=i) for i in range(3)]
RAW = {"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat()}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with start_simulator(**{**SIM_OPTIONS, "lines_per_day": 200}) as proc:
        yield proc


@pytest.fixture(scope="module")
def sim_lake(sim: SimulatorProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ops-sim-lake")
    odoo = client(sim)
    for day in DAYS:
        tasks.run_day(odoo, day, TZ, str(root))
    return root


@pytest.fixture(scope="module")
def stats(sim: SimulatorProcess) -> dict[date, dict]:
    return {day: expected(sim, day) for day in DAYS}


def test_payments_page_equals_the_simulator(sim_lake: Path, stats: dict) -> None:
    page = ops_queries.load_payments(RAW, str(sim_lake))
    assert page.error is None and page.missing_days == [] and page.without_payments == []
    pay = [s["payments"] for s in stats.values()]
    total = sum((Decimal(p["total"]) for p in pay), Decimal(0))
    t = page.totals
    assert t.amount == total
    assert t.payments + t.change_count == sum(p["count"] for p in pay)  # change lines are not payments
    assert t.change == -sum((Decimal(p["change"]) for p in pay), Decimal(0)) > 0
    assert t.rounding == sum((Decimal(p["rounding"]) for p in pay), Decimal(0)) != 0
    assert t.revenue == sum((Decimal(s["revenue"]) for s in stats.values()), Decimal(0))
    by_method: dict[str, Decimal] = {}
    for p in pay:
        for method, amount in p["by_method"].items():
            by_method[method] = by_method.get(method, Decimal(0)) + Decimal(amount)
    got = {
        m: Decimal(str(a)).quantize(Decimal("0.01"))
        for m, a in zip(page.methods["method"], page.methods["amount"], strict=True)
    }
    assert got == by_method
    assert set(page.types["type"]) == {"cash", "bank", "pay_later"}
    daily = page.daily.set_index("date")
    for day, s in stats.items():
        assert Decimal(str(daily.loc[day, "total"])).quantize(Decimal("0.01")) == Decimal(s["payments"]["total"])


def test_sessions_grid_equals_the_simulator(sim_lake: Path, stats: dict) -> None:
    sessions = [s for day_stats in stats.values() for s in day_stats["sessions"]]
    for threshold in (Decimal(0), Decimal("0.50"), Decimal(5)):
        page = ops_queries.load_sessions(RAW, threshold, str(sim_lake))
        want = [s for s in sessions if s["state"] != "closed" or abs(Decimal(s["difference"])) >= threshold]
        assert sorted(page.rows["session_id"]) == sorted(s["id"] for s in want), threshold
        for row in page.rows.itertuples():
            s = next(s for s in want if s["id"] == row.session_id)
            assert Decimal(str(row.cash_difference)).quantize(Decimal("0.01")) == Decimal(s["difference"])
    everything = ops_queries.load_sessions(RAW, Decimal(0), str(sim_lake)).rows
    assert len(everything) == len(sessions) and any(Decimal(s["difference"]) for s in sessions)
    assert (everything["opened_by"].notna()).all()


def test_customers_page_equals_the_simulator(sim_lake: Path, stats: dict) -> None:
    page = ops_queries.load_customers(RAW, str(sim_lake))
    custs = [s["customers"] for s in stats.values()]
    assert page.without_customers == []
    assert page.share.revenue_known == sum((Decimal(c["revenue_with_customer"]) for c in custs), Decimal(0))
    assert page.share.orders_known == sum(c["orders_with_customer"] for c in custs)
    assert page.share.orders == sum(s["orders"] for s in stats.values())
    everyone = set().union(*(c["partner_ids"] for c in custs))
    assert page.split.customers == len(everyone) == page.split.new  # the lake starts with these days
    # on the last day alone, a customer seen on an earlier day is returning
    last = ops_queries.load_customers({"start": RAW["end"], "end": RAW["end"]}, str(sim_lake))
    before = set().union(*(c["partner_ids"] for c in custs[:-1]))
    assert last.split.returning == len(set(custs[-1]["partner_ids"]) & before) > 0
    assert last.split.new == len(set(custs[-1]["partner_ids"]) - before)
    assert set(page.top["customer_id"]) <= everyone and page.top["customer_name"].notna().all()


@pytest.fixture(scope="module")
def s3_lake(sim: SimulatorProcess) -> Iterator[str]:
    """The same days loaded into an S3 lake: the serving layer reads its catalog, not a listing."""
    from tests.s3.server import BUCKET, start_s3_server, stop_s3_server

    server = start_s3_server()
    saved_env = {k: os.environ.get(k) for k in server.env()}
    saved_options = dict(lake._s3_options)
    os.environ.update(server.env())
    lake.configure_s3(**server.options())
    try:
        root = f"s3://{BUCKET}/ops-{secrets.token_hex(3)}"
        odoo = client(sim)
        for day in DAYS:
            tasks.run_day(odoo, day, TZ, root)
        yield root
    finally:
        lake.configure_s3(**saved_options)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        stop_s3_server(server)


def test_an_s3_lake_gives_the_same_pages(s3_lake: str, sim_lake: Path) -> None:
    on_s3, on_disk = ops_queries.load_payments(RAW, s3_lake), ops_queries.load_payments(RAW, str(sim_lake))
    assert on_s3.totals == on_disk.totals and on_s3.totals.amount > 0 and on_s3.without_payments == []
    assert on_s3.methods.equals(on_disk.methods) and on_s3.daily.equals(on_disk.daily)
    on_s3, on_disk = ops_queries.load_customers(RAW, s3_lake), ops_queries.load_customers(RAW, str(sim_lake))
    assert on_s3.share == on_disk.share and on_s3.split == on_disk.split and on_s3.top.equals(on_disk.top)
    assert on_s3.without_customers == [] and on_s3.share.revenue_known > 0
    on_s3 = ops_queries.load_sessions(RAW, Decimal(0), s3_lake)
    on_disk = ops_queries.load_sessions(RAW, Decimal(0), str(sim_lake))
    assert on_s3.rows.equals(on_disk.rows) and len(on_s3.rows) > 0
