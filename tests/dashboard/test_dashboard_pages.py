"""The Stores and Products pages against totals computed by hand from the rows of the fake lake."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dashboard_fake_lake import (
    BIG_END,
    BIG_START,
    DESK_TEMPLATE,
    DESK_VARIANTS,
    END,
    MISSING_DAY,
    STORES,
    YEAR_BEFORE_MISSING,
    ZERO_SALES_DAY,
    big_select,
    cash_difference,
    select,
    totals,
)

from dashboard import queries
from dashboard.pages import products, stores

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


# ------------------------------------------------------------------ products


def _products(raw: dict, product: str | None, split: str = "together") -> dict[str, Any]:
    return dict(zip(products.RENDER_OUTPUTS, products.render(raw, product, split), strict=True))


def _card(shown: dict, name: str) -> str:
    for card in shown["kpis"]:
        value = card.children[1]
        if value.id == f"kpi-product-{name}":
            return value.title or value.children
    raise AssertionError(name)


def test_one_product_matches_its_lines(lake_env: Path, lake_rows: list[dict]) -> None:
    start = END - timedelta(days=29)
    mine = [r for r in select(lake_rows, start, END) if r["product_id"] == 101]
    expected = totals(mine)
    assert expected["refund_lines"] and expected["discounts"]  # the point of picking this one
    page = queries.load_product({}, "p:101")
    total = page.data["rollups"][("total", True)][0]
    assert _cents(total["revenue"]) == expected["revenue"] and int(total["orders"]) == expected["orders"]
    assert _cents(total["margin"]) == expected["margin"] and _cents(total["discounts"]) == expected["discounts"]
    assert _cents(total["refunds"]) == expected["refunds"]
    assert Decimal(str(total["qty"])) == expected["units"]
    shown = _products({}, "p:101")
    assert _card(shown, "revenue") == f"€{expected['revenue']:,.2f}"
    assert _card(shown, "refunds") == f"-€{-expected['refunds']:,.2f}"
    hours = {r["Hour"]: r["Revenue (EUR)"] for r in shown["hours_rows"]}
    for hour in {r["local_hour"] for r in mine}:
        part = sum((r["revenue"] for r in mine if r["local_hour"] == hour), Decimal(0))
        assert _cents(hours[f"{hour:02d}h"]) == part
    assert sum(Decimal(str(r["Revenue (EUR)"])) for r in shown["stores_rows"]) == expected["revenue"]
    trend = shown["trend_rows"]
    assert len(trend) == 30 and [r["Revenue (EUR)"] for r in trend] == shown["trend"]["data"][0]["y"]
    assert next(r for r in trend if r["Date"] == str(MISSING_DAY))["Revenue (EUR)"] is None
    assert shown["rows"][0]["name"] == "Product 101" and shown["rows"][0]["refunds"] == float(expected["refunds"])


def test_product_page_follows_the_store_filter(lake_env: Path, lake_rows: list[dict]) -> None:
    start = END - timedelta(days=29)
    mine = [r for r in select(lake_rows, start, END, store=3) if r["product_id"] == 101]
    shown = _products({"store": "3"}, "p:101")
    assert _card(shown, "revenue") == f"€{totals(mine)['revenue']:,.2f}"
    assert {r["Store"] for r in shown["stores_rows"]} <= {STORES[3]}


def test_product_page_messages(lake_env: Path) -> None:
    assert "Search a product or template" in _text(_products({}, None)["messages"])
    assert "not known" in _text(_products({}, "x:1; DROP")["messages"])
    day = str(ZERO_SALES_DAY)
    assert f"No sales between {day} and {day}" in _text(_products({"start": day, "end": day}, "p:101")["messages"])
    outside = _products({"start": "2024-06-01", "end": "2024-06-03"}, "p:101")
    assert "No day of this period is loaded" in _text(outside["messages"])


def test_search_finds_templates_and_variants(big_env: Path) -> None:
    found = dict(queries.search_products("customizable DESK"))
    assert found[f"t:{DESK_TEMPLATE}"] == "Customizable Desk — all 5 variants"
    assert {f"p:{pid}" for pid in DESK_VARIANTS} <= set(found)
    assert queries.search_products("no such thing at all") == []
    options = products.search_options("oak", f"p:{min(DESK_VARIANTS)}")
    assert options[0]["value"] == f"p:{min(DESK_VARIANTS)}"  # the chosen one stays in the list


def test_template_variants_together_or_apart(big_env: Path, big_rows: list[dict]) -> None:
    rows = [r for r in big_select(big_rows, BIG_START, BIG_END) if r["product_id"] in DESK_VARIANTS]
    per_variant = {
        pid: sum((r["revenue"] for r in rows if r["product_id"] == pid), Decimal(0)) for pid in DESK_VARIANTS
    }
    raw = {"start": str(BIG_START), "end": str(BIG_END)}
    together = _products(raw, f"t:{DESK_TEMPLATE}", "together")
    apart = _products(raw, f"t:{DESK_TEMPLATE}", "apart")
    assert len(together["trend"]["data"]) == 1 and len(apart["trend"]["data"]) == 5
    assert sum(Decimal(str(r["Revenue (EUR)"])) for r in together["trend_rows"]) == sum(per_variant.values())
    by_name = {r["name"]: Decimal(str(r["revenue"])) for r in apart["rows"]}
    assert by_name == {values: per_variant[pid] for pid, values in DESK_VARIANTS.items()}
    assert products._choice_in_url(f"t:{DESK_TEMPLATE}", "apart", "?store=1") == (
        f"?store=1&product=t%3A{DESK_TEMPLATE}&variants=apart"
    )


def test_period_shortcuts_and_last_year_by_the_calendar() -> None:
    sunday, monday = date(2025, 3, 2), date(2025, 3, 3)
    assert queries.period_range("4w", sunday) == (date(2025, 2, 3), sunday)  # a Sunday closes a full week
    assert queries.period_range("4w", monday) == (date(2025, 2, 3), sunday)
    assert queries.period_range("wtd", monday) == (monday, monday)
    assert queries.period_range("mtd", date(2025, 2, 28)) == (date(2025, 2, 1), date(2025, 2, 28))
    assert queries.year_back(date(2024, 2, 29)) == date(2023, 2, 28)
    with pytest.raises(queries.InvalidFilter):
        queries.period_range("last-decade", monday)
    info = queries.LakeInfo("x", frozenset({date(2024, 2, 29), date(2023, 2, 28)}), None, (), (), ())
    assert queries.like_for_like_days(info, date(2024, 2, 28), date(2024, 3, 1)) == (
        [date(2024, 2, 29)],
        [date(2023, 2, 28)],
    )
    filters = queries.Filters(date(2025, 2, 1), date(2025, 2, 28), compare="year", period="mtd")
    assert filters.previous == (date(2024, 2, 1), date(2024, 2, 28))
    assert filters.query() == {"period": "mtd", "compare": "year"}


def test_a_reloaded_day_shows_on_the_next_product_and_stores_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lake_rows: list[dict]
) -> None:
    """Both pages keep results per version of the lake: a corrected day (fact and sessions files) shows at once."""
    import pyarrow as pa
    from dashboard_fake_lake import session_rows, write_days, write_lake

    from include.etl import lake, schema

    root = tmp_path / "lake"
    write_lake(root, lake_rows)
    monkeypatch.setenv("DATA_LAKE_PATH", str(root))
    raw = {"start": "2025-02-01", "end": "2025-02-14", "store": "1"}
    day = date(2025, 2, 3)
    extra = dict(next(r for r in lake_rows if r["date"] == day and r["store_id"] == 1 and not r["is_refund"]))
    product = f"p:{extra['product_id']}"
    before = queries.load_product(raw, product).data["rollups"][("total", True)][0]["revenue"]
    sessions_before = queries.load_stores(raw).data["stores"].set_index("store_id").loc[1, "sessions"]
    assert queries.load_product(raw, product).data["rollups"][("total", True)][0]["revenue"] == before  # cached

    extra.update(order_id=99_999, line_id=999_999, session_id=77_777)  # one more sale, in a new session
    corrected = [r for r in lake_rows if r["date"] == day] + [extra]
    write_days(root, corrected, [day])  # a late correction republishes the day: its sales and sessions
    sessions = session_rows(corrected)
    sessions.append({**next(x for x in sessions if x["store_id"] == 1), "session_id": 77_777})
    lake.write_parquet_atomic(
        pa.Table.from_pylist(sessions, schema=schema.FACT_SESSIONS), lake.partition_file(root, lake.FACT_SESSIONS, day)
    )

    after = queries.load_product(raw, product).data["rollups"][("total", True)][0]["revenue"]
    assert _cents(after) == _cents(before) + extra["revenue"]
    sessions_after = queries.load_stores(raw).data["stores"].set_index("store_id").loc[1, "sessions"]
    assert sessions_after == sessions_before + 1  # the new session of that day
