"""The query layer against a lake whose totals are known by construction."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from dashboard_fake_lake import (
    BRANDS,
    CATEGORIES,
    DAYS,
    END,
    MISSING_DAY,
    NO_BRAND_PRODUCT,
    PRODUCTS,
    START,
    STORES,
    ZERO_SALES_DAY,
    select,
    totals,
    write_lake,
)

from dashboard import queries
from include.etl import lake, schema, serving

DEFAULT_START = END - timedelta(days=29)


def _kpi_dict(k: queries.Kpis) -> dict:
    return {
        "revenue": k.revenue,
        "revenue_excl_tax": k.revenue_excl_tax,
        "orders": k.orders,
        "units": k.units,
        "margin": k.margin,
        "discounts": k.discounts,
        "refunds": k.refunds,
        "refund_lines": k.refund_lines,
        "refund_orders": k.refund_orders,
        "lines": k.lines,
    }


def _check_period(o: queries.Overview, rows: list[dict], **where: object) -> None:
    f = o.filters
    assert f is not None, o.error
    expected_now = totals(select(rows, f.start, f.end, **where))
    expected_before = totals(select(rows, *f.previous, **where))
    assert _kpi_dict(o.current) == expected_now
    assert _kpi_dict(o.previous) == expected_before


def test_default_period_is_the_last_30_days_with_data(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({}, str(fake_lake))
    assert o.error is None
    assert (o.filters.start, o.filters.end) == (DEFAULT_START, END)
    assert o.filters.previous == (DEFAULT_START - timedelta(days=30), DEFAULT_START - timedelta(days=1))
    _check_period(o, lake_rows)
    assert o.currency == "EUR"
    assert o.info.last_loaded_day == END
    assert o.info.stores == tuple(sorted(STORES.items(), key=lambda kv: kv[1]))


def test_derived_kpis_and_their_previous_values(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({}, str(fake_lake))
    for kpis, (lo, hi) in ((o.current, (o.filters.start, o.filters.end)), (o.previous, o.filters.previous)):
        t = totals(select(lake_rows, lo, hi))
        assert t["orders"] > 0 and t["refund_lines"] > 0
        assert kpis.avg_basket == t["revenue"] / t["orders"]
        assert kpis.units_per_order == t["units"] / t["orders"]
        assert kpis.margin_pct == t["margin"] / t["revenue_excl_tax"] * 100
        assert kpis.refunds < 0


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"store": "2"}, {"store": 2}),
        ({"category": CATEGORIES[11]}, {"category": CATEGORIES[11]}),
        ({"brand": "Acme"}, {"brand": "Acme"}),
        ({"brand": "No brand"}, {"brand": "No brand"}),
        (
            {"store": "3", "category": CATEGORIES[10], "brand": "Brewco"},
            {"store": 3, "category": CATEGORIES[10], "brand": "Brewco"},
        ),
    ],
)
def test_each_filter(fake_lake: Path, lake_rows: list[dict], raw: dict, where: dict) -> None:
    o = queries.load_overview(raw, str(fake_lake))
    _check_period(o, lake_rows, **where)
    assert 0 < o.current.revenue < totals(select(lake_rows, DEFAULT_START, END))["revenue"]


def test_explicit_date_range_and_previous_period(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({"start": "2025-02-01", "end": "2025-02-14"}, str(fake_lake))
    assert o.filters.previous == (date(2025, 1, 18), date(2025, 1, 31))
    _check_period(o, lake_rows)
    only_start = queries.load_overview({"start": "2025-01-05"}, str(fake_lake))
    assert (only_start.filters.start, only_start.filters.end) == (date(2025, 1, 5), END)


def test_brandless_product_is_no_brand(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({"brand": "No brand"}, str(fake_lake))
    assert set(o.top_products["product_id"]) == {NO_BRAND_PRODUCT}
    assert set(o.top_products["brand"]) == {"No brand"}
    assert "No brand" in o.info.brands


def test_missing_day_and_zero_sales_day(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({"start": "2025-02-09", "end": "2025-02-12"}, str(fake_lake))
    assert o.missing_days == [MISSING_DAY]
    assert o.missing_previous_days == []
    trend = o.trend.set_index("date")
    assert math.isnan(trend.loc[MISSING_DAY, "revenue"])  # not loaded: a gap
    assert trend.loc[ZERO_SALES_DAY, "revenue"] == 0  # loaded, no sales: zero
    zero = queries.load_overview(
        {"start": ZERO_SALES_DAY.isoformat(), "end": ZERO_SALES_DAY.isoformat()}, str(fake_lake)
    )
    assert zero.current.lines == 0 and zero.missing_days == [] and zero.top_products.empty


def test_trend_is_aligned_by_day_offset(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({}, str(fake_lake))
    prev_start, _ = o.filters.previous
    assert len(o.trend) == 30
    for row in o.trend.itertuples():
        assert row.date == DEFAULT_START + timedelta(days=row.offset)
        assert row.prev_date == prev_start + timedelta(days=row.offset)
        if row.date != MISSING_DAY:
            assert Decimal(str(row.revenue)) == totals(select(lake_rows, row.date, row.date))["revenue"]
        assert Decimal(str(row.prev_revenue)) == totals(select(lake_rows, row.prev_date, row.prev_date))["revenue"]


def test_weekday_hour_buckets(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({"store": "1"}, str(fake_lake))
    assert len(o.heatmap) == 7 * 24
    expected: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for row in select(lake_rows, o.filters.start, o.filters.end, store=1):
        expected[(row["date"].isoweekday(), row["local_hour"])] += row["revenue"]
    for cell in o.heatmap.itertuples():
        assert Decimal(str(cell.revenue)) == expected.get((cell.weekday, cell.hour), Decimal(0)), cell
    assert o.heatmap.query("hour < 7")["revenue"].eq(0).all()


def test_top_products_ordering_and_limit(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({}, str(fake_lake))
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    qty: dict[int, Decimal] = defaultdict(Decimal)
    for row in select(lake_rows, DEFAULT_START, END):
        revenue[row["product_id"]] += row["revenue"]
        qty[row["product_id"]] += row["quantity"]
    expected = sorted(revenue, key=lambda pid: (-revenue[pid], pid))[:20]
    assert len(revenue) > 20
    assert list(o.top_products["product_id"]) == expected
    first = o.top_products.iloc[0]
    assert Decimal(str(first["revenue"])) == revenue[expected[0]]
    assert Decimal(str(first["qty"])) == qty[expected[0]]
    assert first["product_name"] == PRODUCTS[expected[0]].name
    assert first["product_category"] == CATEGORIES[PRODUCTS[expected[0]].category_id]


def test_mixes_add_up_to_revenue(fake_lake: Path, lake_rows: list[dict]) -> None:
    o = queries.load_overview({}, str(fake_lake))
    total = o.current.revenue
    for frame in (o.by_category, o.by_brand, o.by_store):
        assert Decimal(str(round(frame["revenue"].sum(), 2))) == total
    assert set(o.by_category["name"]) == set(CATEGORIES.values())
    assert set(o.by_brand["name"]) == {*BRANDS.values(), "No brand"}
    assert dict(zip(o.by_store["store_id"], o.by_store["store_name"], strict=True)) == STORES
    for sid in STORES:
        got = o.by_store.set_index("store_id").loc[sid, "revenue"]
        assert Decimal(str(got)) == totals(select(lake_rows, DEFAULT_START, END, store=sid))["revenue"]


def test_empty_lake(empty_lake: Path) -> None:
    o = queries.load_overview({"store": "1"})
    assert o.info.empty and o.filters is None and o.error is None
    assert queries.read_lake_info().stores == ()


def test_new_partitions_are_seen_without_restart(tmp_path: Path, lake_rows: list[dict]) -> None:
    root = tmp_path / "growing"
    root.mkdir()
    assert queries.load_overview({}, str(root)).info.empty
    day_one = [r for r in lake_rows if r["date"] == START]
    write_lake(root, day_one)  # writes every day: only day one has rows
    for path in root.glob("star-schema/fact_sales/**/*.parquet"):
        if START.isoformat() not in path.name:
            path.unlink()
    first = queries.load_overview({}, str(root))
    assert first.current.revenue == totals(day_one)["revenue"]
    day_two = [r for r in lake_rows if r["date"] == START + timedelta(days=1)]
    table = pa.Table.from_pylist(day_two, schema=schema.FACT_SALES)
    lake.write_parquet_atomic(table, lake.partition_file(root, lake.FACT_SALES, START + timedelta(days=1)))
    second = queries.load_overview({}, str(root))
    assert second.info.last_loaded_day == START + timedelta(days=1)
    assert second.current.revenue == totals(day_one + day_two)["revenue"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"start": "2025-02-30"}, "not a real date"),
        ({"start": "20250201"}, "YYYY-MM-DD"),
        ({"start": "2025-02-10", "end": "2025-02-01"}, "after"),
        ({"store": "99"}, "no store 99"),
        ({"store": "-1"}, "whole number"),
        ({"category": "All / Nope"}, "unknown category"),
        ({"brand": "Nope"}, "unknown brand"),
        ({"brand": "x" * 1000}, "too long"),
        ({"start": "1900-01-01", "end": "2025-01-01"}, "longer than"),
    ],
)
def test_invalid_filters_are_clean_errors(fake_lake: Path, raw: dict, message: str) -> None:
    info = queries.read_lake_info(str(fake_lake))
    with pytest.raises(queries.InvalidFilter, match=message):
        queries.resolve_filters(raw, info)
    o = queries.load_overview(raw, str(fake_lake))
    assert o.filters is None and message in o.error


_INJECTIONS = (
    "1; DROP VIEW fact_sales; --",
    "' OR 1=1 --",
    "2025-01-01'; DROP TABLE x; --",
    "1 OR 1=1",
    "Acme' OR '1'='1",
    '") UNION SELECT * FROM dim_products --',
)


@pytest.mark.parametrize("key", queries.FILTER_KEYS)
@pytest.mark.parametrize("value", _INJECTIONS)
def test_sql_injection_changes_nothing(fake_lake: Path, lake_rows: list[dict], key: str, value: str) -> None:
    before = {p: p.stat().st_mtime_ns for p in fake_lake.rglob("*") if p.is_file()}
    o = queries.load_overview({key: value}, str(fake_lake))
    assert o.filters is None and o.error  # a clean validation message, not a DuckDB error
    assert "Error" not in o.error
    after = {p: p.stat().st_mtime_ns for p in fake_lake.rglob("*") if p.is_file()}
    assert after == before
    clean = queries.load_overview({}, str(fake_lake))
    assert clean.current.revenue == totals(select(lake_rows, DEFAULT_START, END))["revenue"]


def test_injection_in_a_valid_looking_value_is_only_data(fake_lake: Path, tmp_path: Path) -> None:
    """Even past validation, values are bind parameters: a quote in a category is just text."""
    info = queries.read_lake_info(str(fake_lake))
    tricky = queries.LakeInfo(
        info.root,
        info.loaded_days,
        info.last_sale_day,
        info.stores,
        (*info.categories, "' OR 1=1 --"),
        info.brands,
    )
    f = queries.resolve_filters({"category": "' OR 1=1 --"}, tricky)
    with queries.snapshot(str(fake_lake)) as cur:
        current, _previous = queries.kpis(queries._Reader(cur, tricky, f))
        assert current.lines == 0
        assert cur.execute("SELECT sum(lines) FROM agg_day").fetchone()[0] > 0
    con = queries.connect(str(fake_lake))
    try:
        assert con.execute("SELECT count(*) FROM fact_sales").fetchone()[0] > 0
    finally:
        con.close()


def test_parse_search_and_round_trip() -> None:
    raw = queries.parse_search("?start=2025-01-01&end=2025-01-31&store=1&category=All+%2F+Food&x=1&brand=")
    assert raw == {"start": "2025-01-01", "end": "2025-01-31", "store": "1", "category": "All / Food"}
    f = queries.Filters(date(2025, 1, 1), date(2025, 1, 31), 1, "All / Saleable / Food", "No brand")
    assert queries.parse_search(f.search()) == f.query()
    assert queries.parse_search(None) == {}


def test_a_changed_day_is_the_only_one_recomputed(tmp_path: Path, lake_rows: list[dict]) -> None:
    root = tmp_path / "lake"
    write_lake(root, lake_rows)
    state = serving.Serving(str(root))
    assert state.sync() == DAYS - 1  # every loaded day once (one was never loaded)
    assert state.sync() == 0  # nothing changed: nothing recomputed
    day = START + timedelta(days=3)
    rows = [r for r in lake_rows if r["date"] == day][:1]
    lake.write_parquet_atomic(
        pa.Table.from_pylist(rows, schema=schema.FACT_SALES), lake.partition_file(root, lake.FACT_SALES, day)
    )
    assert state.sync() == 1
    assert state.con.execute("SELECT sum(lines) FROM agg_day WHERE date = $d", {"d": day}).fetchone()[0] == 1
