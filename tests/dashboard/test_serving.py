"""The serving layer is correct right after every publish and late reload, and never half-updated.

The figures of every page query are compared with a plain DuckDB query over the daily
partitions (the source of truth) on a lake with 40 categories, 60 brands and orders that
span several of them, for every combination of filters.
"""

from __future__ import annotations

import gzip
import json
import random
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import lakegen
from dashboard import queries
from include.etl import lake, publish, serving

LAST = date(2025, 3, 31)
DAYS = 75


@pytest.fixture(scope="module")
def big_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-shaped")
    lakegen.generate(root, lines=60_000, days=DAYS, last_day=LAST)
    return root


def _plain(root: Path, f: queries.Filters, body: str, lo: date, hi: date) -> list[tuple]:
    """The same question straight from the partitions, as a reader without the serving layer asks it."""
    con = duckdb.connect()
    try:
        return con.execute(
            f"""
            WITH lines AS (
                SELECT f.*, coalesce(p.product_category, 'Uncategorised') AS category,
                       coalesce(p.brand_name, 'No brand') AS brand
                FROM read_parquet($glob, hive_partitioning = false, union_by_name = true) f
                LEFT JOIN read_parquet($dim) p USING (product_id)
                WHERE f.date BETWEEN $lo AND $hi
                  AND ($store IS NULL OR f.store_id = $store)
                  AND ($category IS NULL OR category = $category)
                  AND ($brand IS NULL OR brand = $brand))
            {body}
            """,
            {
                "glob": lake.table_glob(root, lake.FACT_SALES),
                "dim": str(lake.dimension_file(root, "dim_products")),
                "lo": lo,
                "hi": hi,
                "store": f.store_id,
                "category": f.category,
                "brand": f.brand,
            },
        ).fetchall()
    finally:
        con.close()


def _filter_cases(info: queries.LakeInfo) -> list[dict]:
    rng = random.Random(3)
    # whole months and edge days (top products read whole months from the monthly table)
    cases = [
        {},
        {"start": "2025-01-17", "end": "2025-03-31"},
        {"start": "2025-02-01", "end": "2025-02-28", "store": "1"},
    ]
    for _ in range(3):
        category, brand = rng.choice(info.categories), rng.choice(info.brands)
        store = str(rng.choice(info.stores)[0])
        cases += [
            {"category": category},
            {"brand": brand},
            {"category": category, "brand": brand, "start": "2025-01-20", "end": "2025-03-31"},
            {"store": store, "brand": brand},
            {"store": store, "category": category, "start": "2025-02-01", "end": "2025-02-20"},
        ]
    # a category and one of its own brands, so the intersection is not empty
    con = duckdb.connect()
    category, brand = con.execute(
        "SELECT product_category, brand_name FROM read_parquet($p) WHERE brand_name IS NOT NULL LIMIT 1",
        {"p": str(lake.dimension_file(info.root, "dim_products"))},
    ).fetchone()
    cases.append({"category": category, "brand": brand, "start": "2025-01-01", "end": "2025-03-31"})
    return cases


def test_every_figure_equals_a_plain_query_over_the_partitions(big_lake: Path) -> None:
    info = queries.read_lake_info(str(big_lake))
    assert len(info.categories) >= 30 and len(info.brands) >= 50
    for raw in _filter_cases(info):
        o = queries.load_overview(raw, str(big_lake))
        f = o.filters
        assert f is not None, o.error
        expected = _plain(
            big_lake,
            f,
            """SELECT coalesce(sum(revenue), 0), count(DISTINCT order_id), coalesce(sum(quantity), 0),
                      coalesce(sum(margin), 0), count(DISTINCT order_id) FILTER (WHERE is_refund), count(*)
               FROM lines""",
            f.start,
            f.end,
        )[0]
        got = o.current
        assert (got.revenue, got.orders, got.units, got.margin, got.refund_orders, got.lines) == expected, raw
        by_cat = dict(
            _plain(big_lake, f, "SELECT category, count(DISTINCT order_id) FROM lines GROUP BY 1", f.start, f.end)
        )
        assert dict(zip(o.by_category["name"], o.by_category["orders"], strict=True)) == by_cat, raw
        by_brand = dict(
            _plain(big_lake, f, "SELECT brand, count(DISTINCT order_id) FROM lines GROUP BY 1", f.start, f.end)
        )
        assert dict(zip(o.by_brand["name"], o.by_brand["orders"], strict=True)) == by_brand, raw
        by_store = dict(
            _plain(big_lake, f, "SELECT store_id, count(DISTINCT order_id) FROM lines GROUP BY 1", f.start, f.end)
        )
        assert dict(zip(o.by_store["store_id"], o.by_store["orders"], strict=True)) == by_store, raw
        cells = {
            (w, h): n
            for w, h, n in _plain(
                big_lake,
                f,
                "SELECT isodow(date), local_hour, count(DISTINCT order_id) FROM lines GROUP BY 1, 2",
                f.start,
                f.end,
            )
        }
        heat = {
            (w, h): n for w, h, n in zip(o.heatmap["weekday"], o.heatmap["hour"], o.heatmap["orders"], strict=True) if n
        }
        assert heat == cells, raw
        top = _plain(
            big_lake,
            f,
            "SELECT product_id, sum(revenue) FROM lines GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20",
            f.start,
            f.end,
        )
        assert list(o.top_products["product_id"]) == [p for p, _ in top], raw
        days = dict(_plain(big_lake, f, "SELECT date, count(DISTINCT order_id) FROM lines GROUP BY 1", f.start, f.end))
        trend = o.trend.dropna(subset=["revenue"])
        assert {d: n for d, n in zip(trend["date"], trend["orders"], strict=True) if n} == days, raw


def _stage(tmp: Path, day: date, table: pa.Table) -> tuple[str, str]:
    """A staging folder and a pending fact file, as `load_fact` leaves them for `publish`."""
    staging = tmp / f"staging-{day}-{random.random()}"
    staging.mkdir(parents=True)
    with gzip.open(staging / "meta.json.gz", "wt") as fh:
        json.dump({"extracted_at_utc": "2025-04-01T02:00:00", "orders": 1, "lines": table.num_rows}, fh)
    pending = staging / "fact_sales.pending.parquet"
    pq.write_table(table, pending)
    return str(staging), str(pending)


def test_publish_shows_the_day_on_the_next_page_and_a_reload_changes_the_totals(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lakegen.generate(root, lines=6_000, days=20, last_day=LAST)
    last_file = lake.partition_file(root, lake.FACT_SALES, LAST)
    last_day = pq.read_table(last_file)
    last_file.unlink()
    before = queries.load_overview({"start": "2025-03-25", "end": str(LAST)}, str(root))
    assert before.info.last_loaded_day == LAST - timedelta(days=1)
    assert before.missing_days == [LAST]

    publish.publish(*_stage(tmp_path, LAST, last_day), str(root), LAST)
    after = queries.load_overview({"start": "2025-03-25", "end": str(LAST)}, str(root))
    assert after.info.last_loaded_day == LAST and after.missing_days == []
    day_revenue = sum((r.as_py() for r in last_day.column("revenue")), Decimal(0))
    assert after.current.revenue == before.current.revenue + day_revenue

    # A late correction of that day: half its lines are gone in the reloaded version.
    corrected = last_day.slice(0, last_day.num_rows // 2)
    publish.publish(*_stage(tmp_path, LAST, corrected), str(root), LAST)
    reloaded = queries.load_overview({"start": "2025-03-25", "end": str(LAST)}, str(root))
    kept = sum((r.as_py() for r in corrected.column("revenue")), Decimal(0))
    assert reloaded.current.revenue == before.current.revenue + kept
    assert reloaded.current.lines == before.current.lines + corrected.num_rows

    # publish also left a snapshot that a fresh process starts from without recomputing a day.
    fresh = serving.Serving(str(root))
    assert fresh.load_snapshot()
    assert fresh.sync() == 0
    assert fresh.con.execute("SELECT sum(revenue) FROM agg_day WHERE date = $d", {"d": LAST}).fetchone()[0] == kept


def test_a_recategorised_product_moves_its_history(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lakegen.generate(root, lines=3_000, days=10, last_day=LAST)
    raw = {"start": str(LAST - timedelta(days=9)), "end": str(LAST)}
    first = queries.load_overview(raw, str(root))
    product = int(first.top_products["product_id"].iloc[0])
    dim_file = lake.dimension_file(root, "dim_products")
    dim = pq.read_table(dim_file).to_pylist()
    for row in dim:
        if row["product_id"] == product:
            row["product_category"] = "All / Moved here"
    lake.write_parquet_atomic(pa.Table.from_pylist(dim, schema=pq.read_schema(dim_file)), dim_file)
    moved = queries.load_overview({**raw, "category": "All / Moved here"}, str(root))
    assert moved.filters is not None, moved.error
    assert list(moved.top_products["product_id"]) == [product]
    assert moved.current.revenue == Decimal(str(first.top_products["revenue"].iloc[0])).quantize(Decimal("0.01"))


def test_readers_never_see_a_half_updated_state(tmp_path: Path) -> None:
    """While days are swapped in, every reader transaction sees all old or all new figures."""
    root = tmp_path / "lake"
    lakegen.generate(root, lines=4_000, days=12, last_day=LAST)
    state = serving.Serving(str(root))
    state.sync()
    changed = [LAST - timedelta(days=i) for i in range(6)]
    versions = {}
    for name in ("a", "b"):
        tables = {}
        for i, day in enumerate(changed):
            table = pq.read_table(lake.partition_file(root, lake.FACT_SALES, day))
            tables[day] = table.slice(0, max(1, table.num_rows - (3 + i if name == "b" else 0)))
        versions[name] = tables
    totals = set()
    for tables in versions.values():
        for day, table in tables.items():
            lake.write_parquet_atomic(table, lake.partition_file(root, lake.FACT_SALES, day))
        state.sync()
        totals.add(state.con.execute("SELECT sum(lines) FROM agg_day").fetchone()[0])
    assert len(totals) == 2
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        cur = state.con.cursor()
        while not stop.is_set():
            cur.execute("BEGIN TRANSACTION").fetchall()
            lines = cur.execute("SELECT sum(lines) FROM agg_day").fetchone()[0]
            days = cur.execute("SELECT sum(lines) FROM days").fetchone()[0]
            cur.execute("COMMIT").fetchall()
            assert lines == days
            seen.append(lines)
        cur.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(8):
            for day, table in versions["ab"[n % 2]].items():
                lake.write_parquet_atomic(table, lake.partition_file(root, lake.FACT_SALES, day))
            assert state.sync() == len(changed)
    finally:
        stop.set()
        reader.join()
    assert seen and set(seen) <= totals


def test_a_failed_sync_keeps_the_previous_state_and_is_retried(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lakegen.generate(root, lines=2_000, days=8, last_day=LAST)
    state = serving.Serving(str(root))
    state.sync()
    before = state.con.execute("SELECT sum(lines), sum(revenue) FROM agg_day").fetchone()
    good = lake.partition_file(root, lake.FACT_SALES, LAST)
    kept = good.read_bytes()
    other = lake.partition_file(root, lake.FACT_SALES, LAST - timedelta(days=1))
    lake.write_parquet_atomic(pq.read_table(other).slice(0, 1), other)  # a valid change...
    good.write_bytes(b"not a parquet file")  # ...and a broken file in the same sync
    with pytest.raises(duckdb.Error):
        state.sync()
    assert state.con.execute("SELECT sum(lines), sum(revenue) FROM agg_day").fetchone() == before  # rolled back
    good.write_bytes(kept)
    assert state.sync() == 2  # both days again: nothing was recorded as done
    assert (
        state.con.execute("SELECT sum(lines) FROM days WHERE date = $d", {"d": LAST - timedelta(days=1)}).fetchone()[0]
        == 1
    )


def test_a_fresh_process_patches_a_stale_snapshot_and_ignores_an_old_format(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lakegen.generate(root, lines=2_000, days=8, last_day=LAST)
    serving.refresh(str(root))
    day = LAST - timedelta(days=2)
    path = lake.partition_file(root, lake.FACT_SALES, day)
    lake.write_parquet_atomic(pq.read_table(path).slice(0, 3), path)  # written without publish: snapshot is stale
    fresh = serving.Serving(str(root))
    assert fresh.load_snapshot()
    assert fresh.sync() == 1  # only that day
    assert fresh.con.execute("SELECT lines FROM days WHERE date = $d", {"d": day}).fetchone()[0] == 3

    folder = serving.current_snapshot(str(root))
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 0}))
    older = serving.Serving(str(root))
    assert not older.load_snapshot()  # another format: rebuilt from the partitions instead
    assert older.sync() == 8
    assert (
        older.con.execute("SELECT sum(lines) FROM agg_day").fetchone()
        == fresh.con.execute("SELECT sum(lines) FROM agg_day").fetchone()
    )


# --------------------------------------------------------------------------- payments, sessions, customers


def _table_rows(state: serving.Serving, table: str) -> list[tuple]:
    return sorted(state.con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def test_a_reloaded_day_updates_payments_sessions_and_customers_and_the_snapshot(tmp_path: Path) -> None:
    """publish of a corrected day (sales, payments, sessions together) shows on the next page, first days move."""
    from ops_fake_lake import FIRST_NEW_DAY, customer_totals, generate, payment_totals, write

    from dashboard import ops_queries
    from include.etl import schema

    root = tmp_path / "lake"
    data = generate()
    write(root, data)
    raw = {"start": "2025-02-01", "end": "2025-02-28"}
    first = ops_queries.load_customers(raw, str(root))
    assert first.split.new + first.split.returning > 0
    # the correction: the orders of every customer whose first order is on `day` disappear from that day,
    # and a session of the day is counted again
    firsts: dict[int, date] = {}
    for r in data.rows:
        if r.get("partner_id") is not None:
            firsts[r["partner_id"]] = min(firsts.get(r["partner_id"], r["date"]), r["date"])
    day = next(d for d in sorted(set(firsts.values())) if d > FIRST_NEW_DAY and d.month == 2)
    gone_customers = {c for c, d in firsts.items() if d == day}
    gone_orders = {r["order_id"] for r in data.rows if r["date"] == day and r.get("partner_id") in gone_customers}
    data.rows = [r for r in data.rows if r["order_id"] not in gone_orders]
    data.payments = [p for p in data.payments if p["order_id"] not in gone_orders]
    session = next(s for s in data.sessions if s["date"] == day)
    session["counted_cash"] += Decimal("-40.00")
    session["cash_difference"] += Decimal("-40.00")
    staging, pending = _stage(
        tmp_path, day, pa.Table.from_pylist([r for r in data.rows if r["date"] == day], schema=schema.FACT_SALES)
    )
    for table, rows, arrow_schema in (
        (lake.FACT_PAYMENTS, data.payments, schema.FACT_PAYMENTS),
        (lake.FACT_SESSIONS, data.sessions, schema.FACT_SESSIONS),
    ):
        companion = Path(staging, lake.partition_file("", table, day).name)
        pq.write_table(pa.Table.from_pylist([r for r in rows if r["date"] == day], schema=arrow_schema), companion)
    publish.publish(staging, pending, str(root), day)

    start, end = date(2025, 2, 1), date(2025, 2, 28)
    pay = ops_queries.load_payments(raw, str(root))
    want = payment_totals(data, start, end)
    assert (pay.totals.amount, pay.totals.payments, pay.totals.rounding) == (
        want["amount"],
        want["payments"],
        want["rounding"],
    )
    flagged = ops_queries.load_sessions({"start": str(day), "end": str(day)}, Decimal(40), str(root))
    assert session["session_name"] in set(flagged.rows["session_name"])
    cust = ops_queries.load_customers(raw, str(root))
    want = customer_totals(data, start, end)
    assert (cust.split.new, cust.split.returning, cust.share.revenue_known) == (
        want["new"],
        want["returning"],
        want["revenue_known"],
    )
    assert not gone_customers & set(cust.top["customer_id"][cust.top["first_day"] == day])

    # the incrementally kept first days equal a recomputation from scratch, and so does the snapshot
    state = serving.for_lake(str(root))
    assert _table_rows(state, "cust_first") == sorted(
        state.con.execute("SELECT customer_id, store_id, min(date) FROM agg_customer GROUP BY ALL").fetchall(),
        key=repr,
    )
    fresh = serving.Serving(str(root))
    assert fresh.load_snapshot() and fresh.sync() == 0
    rebuilt = serving.Serving(str(root))
    rebuilt.sync()
    for table in ("pay_day", "sessions", "cust_day", "agg_customer", "cust_first", "ops_days"):
        assert _table_rows(fresh, table) == _table_rows(rebuilt, table) == _table_rows(state, table), table
