"""The Products page from the serving summaries equals a direct SQL over the fact files (issues 10 + 11).

The direct SQL is the one the page ran before it read the summaries: every line of the
chosen products in the period and the compared one, rolled up with exact distinct orders
(except that a day in both periods, when they overlap, now counts in both).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dashboard_fake_lake import (
    BIG_END,
    BIG_START,
    DESK_TEMPLATE,
    DESK_VARIANTS,
    END,
    START,
    write_big_lake,
    write_days,
    write_lake,
)

from dashboard import queries
from dashboard.pages import products
from include.etl import lake

_DIRECT = """
WITH chosen AS (
    SELECT date, store_id, CAST(local_hour AS INTEGER) AS local_hour, product_id, order_id, quantity,
           revenue, revenue_excl_tax, margin, discount_amount, is_refund
    FROM read_parquet($glob, hive_partitioning = false, union_by_name = true)
    WHERE list_contains($products, product_id) AND ($store IS NULL OR store_id = $store)
),
lines AS (
    SELECT *, true AS is_current FROM chosen WHERE date BETWEEN $lo AND $hi
    UNION ALL
    SELECT *, false AS is_current FROM chosen WHERE date BETWEEN $plo AND $phi
)
SELECT CASE WHEN GROUPING(date) = 0 AND GROUPING(product_id) = 0 THEN 'day_product'
            WHEN GROUPING(date) = 0 THEN 'day' WHEN GROUPING(store_id) = 0 THEN 'store'
            WHEN GROUPING(local_hour) = 0 THEN 'hour' WHEN GROUPING(product_id) = 0 THEN 'product'
            ELSE 'total' END AS part,
       is_current, date, store_id, local_hour, product_id,
       CAST(sum(quantity) AS DOUBLE) AS qty, CAST(sum(revenue) AS DOUBLE) AS revenue,
       CAST(sum(revenue_excl_tax) AS DOUBLE) AS revenue_excl_tax, CAST(sum(margin) AS DOUBLE) AS margin,
       CAST(sum(discount_amount) AS DOUBLE) AS discounts,
       CAST(coalesce(sum(revenue) FILTER (WHERE is_refund), 0) AS DOUBLE) AS refunds,
       CAST(coalesce(sum(-quantity) FILTER (WHERE is_refund), 0) AS DOUBLE) AS refunded_qty,
       count(DISTINCT order_id) AS orders, count(*) AS lines
FROM lines
GROUP BY GROUPING SETS ((is_current, date), (is_current, date, product_id), (is_current, store_id),
                        (is_current, local_hour), (is_current, product_id), (is_current))
"""
# What the page reads of each part (the others are the period's only: trend and hours).
_FIELDS = {
    "day": ("date", "revenue"),
    "day_product": ("date", "product_id", "revenue"),
    "store": ("store_id", "revenue", "orders"),
    "hour": ("local_hour", "revenue", "orders"),
    "product": (
        "product_id",
        "qty",
        "revenue",
        "revenue_excl_tax",
        "margin",
        "discounts",
        "refunds",
        "refunded_qty",
        "orders",
        "lines",
    ),
    "total": ("qty", "revenue", "revenue_excl_tax", "margin", "discounts", "refunds", "orders", "lines"),
}
_PERIOD_ONLY = {"day", "day_product", "hour"}


def _direct(root: Path, filters: queries.Filters, product_ids: list[int]) -> dict:
    plo, phi = filters.previous
    glob = str(Path(root, *lake.FACT_SALES, "**", "*.parquet"))
    con = duckdb.connect()
    try:
        result = con.execute(
            _DIRECT,
            {
                "glob": glob,
                "products": product_ids,
                "store": filters.store_id,
                "lo": filters.start,
                "hi": filters.end,
                "plo": plo,
                "phi": phi,
            },
        )
        names = [d[0] for d in result.description]
        out: dict = {}
        for row in result.fetchall():
            r = dict(zip(names, row, strict=True))
            out.setdefault((r["part"], bool(r["is_current"])), []).append(r)
        return out
    finally:
        con.close()


def _comparable(rollups: dict) -> dict:
    """Each part as a set of its read fields, money rounded to cents."""
    out = {}
    for (part, current), rows in rollups.items():
        if part in _PERIOD_ONLY and not current:
            continue
        out[(part, current)] = sorted(
            tuple(round(r[f], 2) if isinstance(r[f], float) else r[f] for f in _FIELDS[part]) for r in rows
        )
    return out


def _check(root: Path, raw: dict, product: str) -> queries.Page:
    page = queries.load_product(raw, product)
    assert page.filters is not None, page.error
    ids = [p for p, _n in page.data["variants"]]
    expected = _comparable(_direct(root, page.filters, ids))
    assert expected, "the case must have lines"
    assert _comparable(page.data["rollups"]) == expected
    return page


@pytest.mark.parametrize(
    "raw",
    [
        {},  # the last 30 days and the 30 before
        {"start": str(START), "end": str(END)},  # two whole months + an edge day, the previous 60 days
        {"start": "2025-01-15", "end": str(END), "compare": "year"},  # edges on both sides, last year
        {"start": "2025-02-01", "end": "2025-02-28", "store": "2"},  # one whole month, one store
        {"start": "2024-02-01", "end": str(END), "compare": "year"},  # overlapping periods, a gap year
    ],
)
def test_product_page_equals_direct_sql_over_the_fact_files(two_year_env: Path, raw: dict) -> None:
    for product in ("p:101", "p:105", "p:102"):
        _check(two_year_env, raw, product)


@pytest.fixture(scope="module")
def desk_lake(tmp_path_factory: pytest.TempPathFactory, big_rows: list[dict]) -> Path:
    """The big lake, where orders also buy a second variant of the desk template."""
    rows = [dict(r) for r in big_rows]
    variants = sorted(DESK_VARIANTS)
    line_id = max(r["line_id"] for r in rows)
    extra = []
    for i, r in enumerate(r for r in rows if r["product_id"] in DESK_VARIANTS):
        if i % 2 == 0:
            line_id += 1
            other = variants[(variants.index(r["product_id"]) + 1 + i % 3) % len(variants)]
            extra.append({**r, "line_id": line_id, "product_id": other})
    root = tmp_path_factory.mktemp("desk-lake")
    write_big_lake(root, rows + extra)
    return root


def test_template_orders_are_distinct_across_variants(desk_lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_LAKE_PATH", str(desk_lake))
    for raw in ({"start": str(BIG_START), "end": str(BIG_END)}, {"start": "2025-01-10", "end": "2025-01-20"}):
        page = _check(desk_lake, raw, f"t:{DESK_TEMPLATE}")
        total = page.data["rollups"][("total", True)][0]
        per_variant = sum(r["orders"] for r in page.data["rollups"][("product", True)])
        assert total["orders"] < per_variant  # orders with two variants count once for the template
        shown = dict(zip(products.RENDER_OUTPUTS, products.render(raw, f"t:{DESK_TEMPLATE}", "apart"), strict=True))
        assert sum(r["orders"] for r in shown["rows"]) == per_variant


def test_a_republished_day_changes_the_product_page_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lake_rows: list[dict]
) -> None:
    """A day inside a whole month (read from the month tables) is corrected: the next page shows it."""
    root = tmp_path / "lake"
    write_lake(root, lake_rows)
    monkeypatch.setenv("DATA_LAKE_PATH", str(root))
    raw = {"start": str(START), "end": "2025-02-28"}
    before = _check(root, raw, "p:101")
    line = dict(
        next(
            r
            for r in lake_rows
            if date(2025, 1, 10) <= r["date"] <= date(2025, 1, 30) and r["product_id"] == 101 and not r["is_refund"]
        )
    )
    day = line["date"]
    line.update(order_id=99_999, line_id=999_999, local_hour=6)  # one more sale, at an hour with none
    write_days(root, [r for r in lake_rows if r["date"] == day] + [line], [day])
    after = _check(root, raw, "p:101")
    total = before.data["rollups"][("total", True)][0]["revenue"]
    assert after.data["rollups"][("total", True)][0]["revenue"] == pytest.approx(total + float(line["revenue"]))
    hours = {r["local_hour"]: r["orders"] for r in after.data["rollups"][("hour", True)]}
    assert hours[6] == 1 and 6 not in {r["local_hour"] for r in before.data["rollups"][("hour", True)]}
    # the day removed again (a day unpublished): gone from the month at once
    for path in lake.partition_file(root, lake.FACT_SALES, day).parent.iterdir():
        path.unlink()
    gone = _check(root, raw, "p:101")
    assert day not in {r["date"] for r in gone.data["rollups"][("day", True)]}


def test_product_page_reads_no_fact_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lake_rows: list[dict]
) -> None:
    """Once the summaries are synced, a product page is answered from them alone: fact files made
    unreadable (same size and mtime, so the lake looks unchanged) change nothing."""
    root = tmp_path / "lake"
    write_lake(root, lake_rows)
    monkeypatch.setenv("DATA_LAKE_PATH", str(root))
    cases = [({}, "p:101"), ({"start": str(START), "end": str(END), "compare": "year", "store": "1"}, "p:103")]
    before = [_check(root, raw, product).data["rollups"] for raw, product in cases]
    files = list(Path(root, *lake.FACT_SALES).rglob("*.parquet"))
    for path in files:
        st = path.stat()
        path.write_bytes(b"x" * st.st_size)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(duckdb.Error):
        _direct(root, queries.load_product({}, "p:101").filters, [101])
    assert [queries.load_product(raw, product).data["rollups"] for raw, product in cases] == before


def test_a_variant_moved_to_another_template_recounts_its_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, desk_lake: Path
) -> None:
    """A changed product → template mapping recomputes the days that sold it (orders counted once per template)."""
    import shutil

    import pyarrow.parquet as pq

    root = tmp_path / "lake"
    shutil.copytree(desk_lake, root)
    monkeypatch.setenv("DATA_LAKE_PATH", str(root))
    raw = {"start": str(BIG_START), "end": str(BIG_END)}
    template = f"t:{DESK_TEMPLATE}"
    assert len(_check(root, raw, template).data["variants"]) == 5
    path = lake.dimension_file(root, "dim_products")
    dim = pq.read_table(path).to_pylist()
    moved = min(DESK_VARIANTS)  # the variant orders with two variants were counted on
    for row in dim:
        if row["product_id"] == moved:
            row["product_tmpl_id"] = 999_999
    lake.write_parquet_atomic(pa.Table.from_pylist(dim, schema=pq.read_schema(path)), path)
    page = _check(root, raw, template)
    assert moved not in {p for p, _n in page.data["variants"]} and len(page.data["variants"]) == 4
