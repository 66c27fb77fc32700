"""The Stores and Products pages against totals computed by hand from the rows of the fake lake."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dashboard_fake_lake import (
    MISSING_DAY,
    STORES,
    YEAR_BEFORE_MISSING,
    ZERO_SALES_DAY,
    cash_difference,
    select,
    totals,
)

from dashboard import queries
from dashboard.pages import stores

FEB_1, FEB_14 = date(2025, 2, 1), date(2025, 2, 14)
RAW = {"start": str(FEB_1), "end": str(FEB_14)}


def _stores(raw: dict) -> dict[str, Any]:
    return dict(zip(stores.RENDER_OUTPUTS, stores.render(raw), strict=True))


def _text(tree: Any) -> str:
    if tree is None:
        return ""
    if isinstance(tree, str):
        return tree
    if isinstance(tree, (list, tuple)):
        return " ".join(_text(t) for t in tree)
    return _text(getattr(tree, "children", None))


def _cents(value: float | None) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_stores_side_by_side_match_the_rows(
    two_year_env: Path, lake_rows: list[dict], year_before_rows: list[dict]
) -> None:
    page = queries.load_stores(RAW)
    table = page.data["stores"].set_index("store_id")
    assert set(table.index) == set(STORES)
    lfl_days = [
        d
        for d in (FEB_1 + timedelta(days=i) for i in range(14))
        if d != MISSING_DAY and d.replace(year=2024) != YEAR_BEFORE_MISSING
    ]
    assert page.data["lfl_days"] == lfl_days and len(lfl_days) == 12  # the zero-sales day is loaded: it counts
    assert ZERO_SALES_DAY in lfl_days
    for store_id, name in STORES.items():
        row = table.loc[store_id]
        expected = totals(select(lake_rows, FEB_1, FEB_14, store=store_id))
        assert row["store_name"] == name
        assert _cents(row["revenue"]) == expected["revenue"]
        assert int(row["orders"]) == expected["orders"]
        assert _cents(row["margin"]) == expected["margin"]
        assert row["basket"] == pytest.approx(float(expected["revenue"]) / expected["orders"])
        now = sum((r["revenue"] for r in lake_rows if r["store_id"] == store_id and r["date"] in lfl_days), Decimal(0))
        before_days = {d.replace(year=2024) for d in lfl_days}
        before = sum(
            (r["revenue"] for r in year_before_rows if r["store_id"] == store_id and r["date"] in before_days),
            Decimal(0),
        )
        assert _cents(row["lfl_now"]) == now and _cents(row["lfl_before"]) == before
        assert row["lfl_growth"] == pytest.approx(float((now - before) / before * 100))
        days_with_sales = {r["date"] for r in select(lake_rows, FEB_1, FEB_14, store=store_id)}
        assert int(row["sessions"]) == len(days_with_sales)
        short = sum((cash_difference(d, store_id) for d in days_with_sales), Decimal(0))
        assert _cents(row["cash_difference"]) == short
        assert int(row["with_difference"]) == sum(cash_difference(d, store_id) != 0 for d in days_with_sales)


def test_stores_page_says_what_counts_and_its_csv_is_what_it_draws(two_year_env: Path) -> None:
    shown = _stores(RAW)
    text = _text(shown["messages"])
    assert "only the days of this period loaded in both years" in text and "12 of 14 day(s) count" in text
    assert "2025-02-10" in text  # the missing day of the period
    bars = shown["lfl"]["data"][0]
    assert [r["Growth (%)"] for r in shown["lfl_rows"]] == pytest.approx(bars["x"][::-1], abs=0.005)  # CSV in cents
    assert len(shown["daily_rows"]) == 3 * 14
    gap = [r for r in shown["daily_rows"] if r["Date"] == str(MISSING_DAY)]
    assert gap and all(r["Revenue (EUR)"] is None for r in gap)  # a missing day is a gap, not a zero
    assert {r["store_name"] for r in shown["rows"]} == set(STORES.values())
    assert shown["columns"][1]["headerName"] == "Revenue (EUR)"


def test_stores_page_follows_the_store_filter_and_ignores_category(two_year_env: Path, lake_rows: list[dict]) -> None:
    shown = _stores({**RAW, "store": "2", "category": "All / Saleable / Food"})
    assert [r["store_name"] for r in shown["rows"]] == [STORES[2]]
    expected = totals(select(lake_rows, FEB_1, FEB_14, store=2))
    assert _cents(shown["rows"][0]["revenue"]) == expected["revenue"]


def test_stores_page_without_last_year_or_data(lake_env: Path) -> None:
    shown = _stores(RAW)
    assert "0 of 14 day(s) count" in _text(shown["messages"])
    assert all(r["lfl_growth"] is None for r in shown["rows"])
    outside = _stores({"start": "2024-06-01", "end": "2024-06-07"})
    assert "No day of this period is loaded" in _text(outside["messages"])
    bad = _stores({"store": "99"})
    assert "Invalid filter" in _text(bad["messages"]) and bad["rows"] == []
