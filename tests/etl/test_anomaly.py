"""The 'today looks unusual' check on a lake written with the real schema and writer: figures, robust
z-scores, and no false alarm from closed days, new stores, days never loaded or a flat history."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from include.etl import anomaly, lake, schema

DAY = date(2025, 3, 3)  # a Monday
WEEKS = [DAY - timedelta(weeks=w) for w in range(1, 9)]
CENT = Decimal("0.01")


def _rows(day: date, store_id: int, orders: int, revenue_per_order: Decimal, refunds: int = 0,
          discount_pct: Decimal = Decimal(0), start_id: int = 0) -> list[dict]:
    """`orders` one-line orders; `refunds` of them are refunds of the same amount; a discount on each sale."""
    rows = []
    for i in range(orders):
        refund = i < refunds
        qty = Decimal(-1 if refund else 1)
        price = revenue_per_order / (1 - discount_pct / 100) if discount_pct else revenue_per_order
        revenue = (qty * revenue_per_order).quantize(CENT)
        rows.append({
            "date": day, "order_id": start_id + i, "order_name": f"O{start_id + i}", "line_id": start_id + i,
            "product_id": 1, "store_id": store_id, "store_name": f"Store {store_id}", "session_id": 1,
            "company_id": 1, "currency": "EUR", "order_state": "paid",
            "order_ts_utc": datetime(day.year, day.month, day.day, 12), "local_hour": 12,
            "quantity": qty.quantize(Decimal("0.001")), "price_unit": price.quantize(Decimal("0.0001")),
            "discount_pct": discount_pct.quantize(CENT), "revenue": revenue, "revenue_excl_tax": revenue,
            "tax_amount": Decimal("0.00"),
            "discount_amount": (price * qty * discount_pct / 100).quantize(CENT) if not refund else Decimal("0.00"),
            "cost": Decimal("0.00"), "margin": revenue, "is_refund": refund, "refunded_line_id": None,
        })
    return rows


def write_day(root, day: date, *stores: list[dict]) -> None:
    rows = [r for store in stores for r in store]
    lake.write_parquet_atomic(pa.Table.from_pylist(rows, schema=schema.FACT_SALES),
                              lake.partition_file(root, lake.FACT_SALES, day))


def usual_history(root, store_id: int = 1, skip: tuple[date, ...] = ()) -> None:
    """Eight Mondays of 95..105 orders of 10.00, 2 refunds, 5 % discount."""
    for n, d in enumerate(WEEKS):
        if d not in skip:
            write_day(root, d, _rows(d, store_id, 95 + (n * 3) % 11, Decimal(10), refunds=2,
                                     discount_pct=Decimal(5), start_id=n * 1000))


def test_figures_of_a_store_day(tmp_path):
    write_day(tmp_path, DAY, _rows(DAY, 1, 10, Decimal(20), refunds=1, discount_pct=Decimal(10)))
    figures = anomaly.store_day_figures([str(lake.partition_file(tmp_path, lake.FACT_SALES, DAY))])[(1, DAY)]
    # 9 sales of 20.00 and one refund of 20.00: revenue 160, refunds 20 / 180 gross.
    assert figures["revenue"] == 160.0
    assert figures["orders"] == 10
    assert figures["refunds_share"] == pytest.approx(20 / 180, abs=1e-4)
    # each sale: price 22.22 before 10 % discount, discount 2.22 -> 19.98 / (180 + 19.98)
    assert figures["discount_share"] == pytest.approx(19.98 / 199.98, abs=1e-4)


def test_a_usual_day_raises_nothing(tmp_path):
    usual_history(tmp_path)
    write_day(tmp_path, DAY, _rows(DAY, 1, 101, Decimal(10), refunds=2, discount_pct=Decimal(5), start_id=90000))
    [check] = anomaly.check_day(str(tmp_path), DAY)
    assert check.status == "scored" and check.history_days == 8
    assert check.anomalies == []
    assert all(abs(z) < 3.5 for z in check.zscore.values())


def test_a_collapsed_revenue_is_flagged_and_recorded(tmp_path):
    usual_history(tmp_path)
    write_day(tmp_path, DAY, _rows(DAY, 1, 30, Decimal(10), refunds=2, discount_pct=Decimal(5), start_id=90000))
    result = anomaly.check_and_record(str(tmp_path), DAY)
    flagged = {a["figure"]: a for a in result["anomalies"]}
    assert {"revenue", "orders"} <= set(flagged)
    assert flagged["orders"]["value"] == 30 and flagged["orders"]["zscore"] < -3.5
    assert flagged["revenue"]["median"] > 900
    on_disk = json.loads(anomaly.anomalies_file(str(tmp_path), DAY).read_text())
    assert on_disk["anomalies"] == result["anomalies"]
    assert anomaly.latest_anomalies(str(tmp_path)) == result["anomalies"]


def test_a_refund_wave_is_flagged_on_the_share_not_the_order_count(tmp_path):
    usual_history(tmp_path)
    write_day(tmp_path, DAY, _rows(DAY, 1, 100, Decimal(10), refunds=30, discount_pct=Decimal(5), start_id=90000))
    [check] = anomaly.check_day(str(tmp_path), DAY)
    assert "refunds_share" in check.anomalies and "orders" not in check.anomalies


def test_the_threshold_is_configurable(tmp_path, monkeypatch):
    usual_history(tmp_path)
    write_day(tmp_path, DAY, _rows(DAY, 1, 80, Decimal(10), refunds=2, discount_pct=Decimal(5), start_id=90000))
    strict = anomaly.check_day(str(tmp_path), DAY, anomaly.Settings(threshold=2.0))[0]
    monkeypatch.setenv("NK_DASH_ANOMALY_Z", "50")
    lax = anomaly.check_day(str(tmp_path), DAY)[0]
    assert "orders" in strict.anomalies and lax.anomalies == []


def test_a_closed_store_is_reported_closed_not_flagged(tmp_path):
    usual_history(tmp_path, store_id=1)
    # Store 2 trades today; store 1 (usual history) has no order at all today: closed.
    write_day(tmp_path, DAY, _rows(DAY, 2, 50, Decimal(10), start_id=90000))
    checks = {c.store_id: c for c in anomaly.check_day(str(tmp_path), DAY)}
    assert checks[1].status == "closed" and checks[1].anomalies == []
    assert checks[2].status == "new" and checks[2].anomalies == []


def test_closed_days_and_days_never_loaded_stay_out_of_the_baseline(tmp_path):
    # Two Mondays were never loaded, one was a holiday (loaded, no sales): 5 usual Mondays remain.
    usual_history(tmp_path, skip=(WEEKS[0], WEEKS[3], WEEKS[5]))
    write_day(tmp_path, WEEKS[5])  # an empty, typed file: loaded, zero sales
    write_day(tmp_path, DAY, _rows(DAY, 1, 100, Decimal(10), refunds=2, discount_pct=Decimal(5), start_id=90000))
    [check] = anomaly.check_day(str(tmp_path), DAY)
    assert check.history_days == 5 and check.status == "scored"
    assert check.anomalies == [] and check.median["orders"] > 90


def test_a_new_store_is_not_scored_until_it_has_enough_history(tmp_path):
    for d in WEEKS[:3]:
        write_day(tmp_path, d, _rows(d, 7, 100, Decimal(10), start_id=d.toordinal() * 1000))
    write_day(tmp_path, DAY, _rows(DAY, 7, 5, Decimal(10), start_id=90000))
    [check] = anomaly.check_day(str(tmp_path), DAY)
    assert check.status == "new" and check.history_days == 3 and check.anomalies == []
    scored = anomaly.check_day(str(tmp_path), DAY, anomaly.Settings(min_weeks=3))[0]
    assert scored.status == "scored" and "orders" in scored.anomalies


def test_a_flat_history_does_not_alarm_on_a_tiny_change(tmp_path):
    for n, d in enumerate(WEEKS):
        write_day(tmp_path, d, _rows(d, 1, 100, Decimal(10), start_id=n * 1000))
    write_day(tmp_path, DAY, _rows(DAY, 1, 101, Decimal(10), start_id=90000))
    [check] = anomaly.check_day(str(tmp_path), DAY)
    assert check.median["orders"] == 100 and check.anomalies == []
    med, z = anomaly.robust_z(101, [100.0] * 8, "orders")
    assert med == 100 and z == pytest.approx(1 / 5)  # scale floored at 5 % of the median


def test_latest_anomalies_reads_the_newest_checked_day(tmp_path):
    assert anomaly.latest_anomalies(str(tmp_path)) == []
    usual_history(tmp_path)
    write_day(tmp_path, WEEKS[0] + timedelta(days=1), _rows(WEEKS[0] + timedelta(days=1), 1, 3, Decimal(1)))
    write_day(tmp_path, DAY, _rows(DAY, 1, 30, Decimal(10), start_id=90000))
    anomaly.check_and_record(str(tmp_path), DAY)
    anomaly.check_and_record(str(tmp_path), WEEKS[0])  # an older day checked later (a reload)
    newest = anomaly.latest_anomalies(str(tmp_path))
    assert newest and {a["day"] for a in newest} == {DAY.isoformat()}
