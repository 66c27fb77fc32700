"""The serving layer: small per-day summary tables derived from the daily fact partitions.

The partitions stay the source of truth. This module keeps, in one DuckDB database per
process, summaries small enough to answer every dashboard question in milliseconds:

- `days`        one row per loaded day: the fact file's `mtime_ns` and `size` (the version
                the summaries were built from) and its line count;
- `day_stores`  day × store: the store name and currency as loaded, lines;
- `agg_day`     day × store × currency × category × brand: sums of every KPI, and the
                distinct orders counted four ways (see below);
- `agg_hour`    day × store × local hour × category × brand: revenue and orders (heatmap);
- `hour_all`    day × store × local hour: revenue and distinct orders (heatmap without filters);
- `agg_product` day × store × category × brand × product: quantity, revenue (top products),
                and for the Products page revenue excl. tax, margin, discounts, refunds,
                refunded quantity, lines and distinct orders (`orders`, and `orders_t`: an
                order counted on the row of the smallest product of its template it has, so
                summed over a template's variants = distinct orders with the template);
                `agg_product_month`, the same per calendar month (long periods read whole
                months there and only the edge days from `agg_product`);
- `product_hour` day × store × product × local hour: revenue, `orders`, `orders_t` (the
                Products page's hours), and `product_hour_month`, the same per month;
- `mapping`     product → category, brand, template used to build the rows above;
- `pay_day`     day × store × currency × payment method: amount, payments, change, refunds
                (from the day's `fact_payments` file; the Payments & cash page);
- `sessions`    a copy of the day's `fact_sessions` rows (a few per store and day);
- `cust_day`    day × store: revenue and orders, those with a known customer, and customers
                (`cust_date`: distinct customers per day, a customer of two stores once);
- `agg_customer` day × store × customer: revenue and orders (top customers, new vs returning),
                `cust_first`, each customer's first day per store in the lake, and
                `cust_first_all`, their first day at any store;
- `ops_days`    per loaded day: whether its payments and sessions files exist and whether
                its fact file has the `partner_id` column (days loaded before are "partial").

Distinct orders do not add up across groups (an order with a drink and a sandwich is one
order, in two categories). Each summary row therefore carries four counts whose sums are
exact for every combination of filters: `orders_cb` (distinct orders of the row's
category and brand), `orders_c` (an order counted on the row of the smallest brand it has
in that category: summed over brands = distinct orders of the category), `orders_b`
(symmetric) and `orders_all` (counted once, on its smallest category/brand row). Day,
store, currency and hour are order-level, so summing over them is exact too. Refund
orders get the same four counts (`rorders_*`).

Freshness: `Serving.sync()` compares the fact files on disk (one `scandir` walk, a `stat`
each) and the dimension files' stats with what the summaries were built from, recomputes
only the changed days (a changed product → category/brand/template mapping recomputes the days
that sold those products) and swaps them in one transaction: a reader sees the old or the
new state, never half. The DAG's `publish` calls `refresh(lake_root)`, which does the same
and writes the result as a snapshot under `<lake>/_serving/` (a new folder, then an
atomic rename of the `CURRENT` pointer), so a fresh dashboard process starts from it
instead of scanning every partition.

A day's payments and sessions files are published with its sales file, sales last (one
rename each; on S3 one catalog write), so the sales file's version stands for the day's:
when it changes, the day's payment, session and customer summaries are rebuilt with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import duckdb

from include.etl import lake

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_BRAND = "No brand"
UNCATEGORISED = "Uncategorised"
SERVING_DIR = "_serving"
FORMAT = 4
_OPS_DAILY = ("pay_day", "sessions", "cust_day", "cust_date", "agg_customer", "ops_days")
TABLES = (
    "days",
    "day_stores",
    "agg_day",
    "agg_hour",
    "hour_all",
    "agg_product",
    "agg_product_month",
    "product_hour",
    "product_hour_month",
    "mapping",
    *_OPS_DAILY,
    "cust_first",
    "cust_first_all",
)
_DAILY = ("days", "day_stores", "agg_day", "agg_hour", "hour_all", "agg_product", "product_hour", *_OPS_DAILY)
# The per-day tables that `agg_product_month` / `product_hour_month` sum per calendar month.
_MONTHLY = {
    "agg_product_month": (
        "agg_product",
        "store_id, category, brand, product_id",
        (
            "qty",
            "revenue",
            "revenue_excl_tax",
            "margin",
            "discounts",
            "refunds",
            "refunded_qty",
            "lines",
            "orders",
            "orders_t",
        ),
    ),
    "product_hour_month": ("product_hour", "store_id, product_id, local_hour", ("revenue", "orders", "orders_t")),
}
_DIMS = ("dim_products", "dim_stores", "dim_customers")
_BATCH_DAYS = 92
_KEEP_SNAPSHOTS = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS days (date DATE, mtime_ns BIGINT, size BIGINT, lines BIGINT);
CREATE TABLE IF NOT EXISTS day_stores (date DATE, store_id BIGINT, store_name VARCHAR, currency VARCHAR,
    lines BIGINT);
CREATE TABLE IF NOT EXISTS agg_day (date DATE, store_id BIGINT, currency VARCHAR, category VARCHAR,
    brand VARCHAR, revenue DECIMAL(38,2), revenue_excl_tax DECIMAL(38,2), units DECIMAL(38,3),
    margin DECIMAL(38,2), discounts DECIMAL(38,2), refunds DECIMAL(38,2), refund_lines BIGINT,
    lines BIGINT, orders_cb BIGINT, orders_c BIGINT, orders_b BIGINT, orders_all BIGINT,
    rorders_cb BIGINT, rorders_c BIGINT, rorders_b BIGINT, rorders_all BIGINT);
CREATE TABLE IF NOT EXISTS agg_hour (date DATE, store_id BIGINT, local_hour TINYINT, category VARCHAR,
    brand VARCHAR, revenue DECIMAL(38,2), orders_cb BIGINT, orders_c BIGINT, orders_b BIGINT,
    orders_all BIGINT);
CREATE TABLE IF NOT EXISTS agg_product (date DATE, store_id BIGINT, category VARCHAR, brand VARCHAR,
    product_id BIGINT, qty DECIMAL(38,3), revenue DECIMAL(38,2), revenue_excl_tax DECIMAL(18,2),
    margin DECIMAL(18,2), discounts DECIMAL(18,2), refunds DECIMAL(18,2), refunded_qty DECIMAL(18,3),
    lines INTEGER, orders INTEGER, orders_t INTEGER);
CREATE TABLE IF NOT EXISTS product_hour (date DATE, store_id INTEGER, product_id INTEGER, local_hour TINYINT,
    revenue DECIMAL(18,2), orders INTEGER, orders_t INTEGER);
CREATE TABLE IF NOT EXISTS hour_all (date DATE, store_id BIGINT, local_hour TINYINT, revenue DECIMAL(38,2),
    orders BIGINT);
CREATE TABLE IF NOT EXISTS agg_product_month (month DATE, store_id BIGINT, category VARCHAR, brand VARCHAR,
    product_id BIGINT, qty DECIMAL(38,3), revenue DECIMAL(38,2), revenue_excl_tax DECIMAL(18,2),
    margin DECIMAL(18,2), discounts DECIMAL(18,2), refunds DECIMAL(18,2), refunded_qty DECIMAL(18,3),
    lines INTEGER, orders INTEGER, orders_t INTEGER);
CREATE TABLE IF NOT EXISTS product_hour_month (month DATE, store_id INTEGER, product_id INTEGER, local_hour TINYINT,
    revenue DECIMAL(18,2), orders INTEGER, orders_t INTEGER);
CREATE TABLE IF NOT EXISTS mapping (product_id BIGINT, category VARCHAR, brand VARCHAR, template_id BIGINT);
CREATE TABLE IF NOT EXISTS pay_day (date DATE, store_id BIGINT, currency VARCHAR, method_id BIGINT,
    method_name VARCHAR, method_type VARCHAR, amount DECIMAL(38,2), payments BIGINT, change DECIMAL(38,2),
    change_count BIGINT, refunds DECIMAL(38,2), refund_count BIGINT);
CREATE TABLE IF NOT EXISTS sessions (date DATE, session_id BIGINT, session_name VARCHAR, store_id BIGINT,
    store_name VARCHAR, state VARCHAR, opened_by VARCHAR, closed_by VARCHAR, start_local TIMESTAMP,
    stop_local TIMESTAMP, opening_cash DECIMAL(18,2), cash_moves DECIMAL(18,2), expected_cash DECIMAL(18,2),
    counted_cash DECIMAL(18,2), cash_difference DECIMAL(18,2), currency VARCHAR);
CREATE TABLE IF NOT EXISTS cust_day (date DATE, store_id BIGINT, revenue DECIMAL(38,2), revenue_known DECIMAL(38,2),
    orders BIGINT, orders_known BIGINT, customers BIGINT);
CREATE TABLE IF NOT EXISTS cust_date (date DATE, customers BIGINT);
CREATE TABLE IF NOT EXISTS agg_customer (date DATE, store_id BIGINT, customer_id BIGINT, revenue DECIMAL(38,2),
    orders BIGINT);
CREATE TABLE IF NOT EXISTS cust_first (customer_id BIGINT, store_id BIGINT, first_date DATE);
CREATE TABLE IF NOT EXISTS cust_first_all (customer_id BIGINT, first_date DATE);
CREATE TABLE IF NOT EXISTS ops_days (date DATE, payments BOOLEAN, sessions BOOLEAN, customers BOOLEAN);
CREATE TABLE IF NOT EXISTS meta (version BIGINT);
INSERT INTO meta SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM meta);
"""

# The lines of the staged days, with the category and brand of the current mapping. `{partner}`
# is `f.partner_id`, or NULL when no file of the batch has the column (loaded before it existed).
_STAGE_LINES = f"""
CREATE OR REPLACE TEMP TABLE stage_lines AS
SELECT f.date, f.store_id, f.store_name, f.currency, f.order_id, f.local_hour, f.product_id,
       f.quantity, f.revenue, f.revenue_excl_tax, f.margin, f.discount_amount, f.is_refund,
       coalesce(m.category, '{UNCATEGORISED}') AS category, coalesce(m.brand, '{NO_BRAND}') AS brand,
       {{partner}} AS partner_id, coalesce(m.template_id, -f.product_id) AS template_key
FROM read_parquet($files, hive_partitioning = false, union_by_name = true) AS f
LEFT JOIN mapping AS m USING (product_id)
"""


def _ranked(where: str, with_hour: bool) -> str:
    """Orders per (category, brand) row, flagged for the four ways of counting them."""
    hour = ", local_hour" if with_hour else ""
    return f"""
    SELECT date, store_id, currency{hour}, category, brand, order_id,
           brand = min(brand) OVER (PARTITION BY date, order_id, category) AS first_in_c,
           category = min(category) OVER (PARTITION BY date, order_id, brand) AS first_in_b,
           row_number() OVER (PARTITION BY date, order_id ORDER BY category, brand) = 1 AS first_all
    FROM (SELECT DISTINCT date, store_id, currency{hour}, category, brand, order_id
          FROM stage_lines {where})
    """


def _ranked_product(with_hour: bool) -> str:
    """Orders per product row, flagged on the smallest product of each template the order has."""
    hour = ", local_hour" if with_hour else ""
    return f"""
    SELECT date, store_id, product_id{hour},
           product_id = min(product_id) OVER (PARTITION BY date, order_id, template_key) AS first_t
    FROM (SELECT DISTINCT date, store_id, product_id{hour}, template_key, order_id FROM stage_lines)
    """


def _counts(prefix: str) -> str:
    return (
        f"count(*) AS {prefix}_cb, count(*) FILTER (WHERE first_in_c) AS {prefix}_c, "
        f"count(*) FILTER (WHERE first_in_b) AS {prefix}_b, count(*) FILTER (WHERE first_all) AS {prefix}_all"
    )


_STAGE = {
    "day_stores": """
        SELECT date, store_id, arg_max(store_name, order_id) AS store_name,
               arg_max(currency, order_id) AS currency, count(*) AS lines
        FROM stage_lines GROUP BY date, store_id
    """,
    "agg_day": f"""
        WITH sums AS (
            SELECT date, store_id, currency, category, brand,
                   sum(revenue) AS revenue, sum(revenue_excl_tax) AS revenue_excl_tax,
                   sum(quantity) AS units, sum(margin) AS margin, sum(discount_amount) AS discounts,
                   coalesce(sum(revenue) FILTER (WHERE is_refund), 0) AS refunds,
                   count(*) FILTER (WHERE is_refund) AS refund_lines, count(*) AS lines
            FROM stage_lines GROUP BY ALL
        ),
        o AS (SELECT date, store_id, currency, category, brand, {_counts("orders")}
              FROM ({_ranked("", False)}) GROUP BY ALL),
        r AS (SELECT date, store_id, currency, category, brand, {_counts("rorders")}
              FROM ({_ranked("WHERE is_refund", False)}) GROUP BY ALL)
        SELECT sums.*, o.orders_cb, o.orders_c, o.orders_b, o.orders_all,
               coalesce(r.rorders_cb, 0), coalesce(r.rorders_c, 0), coalesce(r.rorders_b, 0),
               coalesce(r.rorders_all, 0)
        FROM sums JOIN o USING (date, store_id, currency, category, brand)
        LEFT JOIN r USING (date, store_id, currency, category, brand)
        ORDER BY date, store_id, category, brand
    """,
    "agg_hour": f"""
        WITH sums AS (
            SELECT date, store_id, local_hour, category, brand, sum(revenue) AS revenue
            FROM stage_lines GROUP BY ALL
        ),
        o AS (SELECT date, store_id, local_hour, category, brand, {_counts("orders")}
              FROM ({_ranked("", True)}) GROUP BY ALL)
        SELECT sums.*, o.orders_cb, o.orders_c, o.orders_b, o.orders_all
        FROM sums JOIN o USING (date, store_id, local_hour, category, brand)
        ORDER BY date, store_id, local_hour
    """,
    "hour_all": """
        SELECT date, store_id, local_hour, sum(revenue) AS revenue, count(DISTINCT order_id) AS orders
        FROM stage_lines GROUP BY ALL ORDER BY date, store_id, local_hour
    """,
    "agg_product": f"""
        WITH sums AS (
            SELECT date, store_id, category, brand, product_id, sum(quantity) AS qty, sum(revenue) AS revenue,
                   sum(revenue_excl_tax) AS revenue_excl_tax, sum(margin) AS margin,
                   sum(discount_amount) AS discounts, coalesce(sum(revenue) FILTER (WHERE is_refund), 0) AS refunds,
                   coalesce(sum(-quantity) FILTER (WHERE is_refund), 0) AS refunded_qty, count(*) AS lines
            FROM stage_lines GROUP BY ALL
        ),
        o AS (SELECT date, store_id, product_id, count(*) AS orders, count(*) FILTER (WHERE first_t) AS orders_t
              FROM ({_ranked_product(False)}) GROUP BY ALL)
        SELECT sums.*, o.orders, o.orders_t
        FROM sums JOIN o USING (date, store_id, product_id)
        ORDER BY date, store_id, product_id
    """,
    "product_hour": f"""
        WITH sums AS (
            SELECT date, store_id, product_id, local_hour, sum(revenue) AS revenue
            FROM stage_lines GROUP BY ALL
        ),
        o AS (SELECT date, store_id, product_id, local_hour, count(*) AS orders,
                     count(*) FILTER (WHERE first_t) AS orders_t
              FROM ({_ranked_product(True)}) GROUP BY ALL)
        SELECT sums.*, o.orders, o.orders_t
        FROM sums JOIN o USING (date, store_id, product_id, local_hour)
        ORDER BY date, store_id, product_id, local_hour
    """,
}


# Customers of the staged lines (`partner_id` is order-level, so per-order sums add up exactly).
_STAGE_CUSTOMERS = {
    "cust_day": """
        SELECT date, store_id, coalesce(sum(revenue), 0) AS revenue,
               coalesce(sum(revenue) FILTER (WHERE partner_id IS NOT NULL), 0) AS revenue_known,
               count(DISTINCT order_id) AS orders,
               count(DISTINCT order_id) FILTER (WHERE partner_id IS NOT NULL) AS orders_known,
               count(DISTINCT partner_id) AS customers
        FROM stage_lines GROUP BY ALL ORDER BY date, store_id
    """,
    "cust_date": """
        SELECT date, count(DISTINCT partner_id) AS customers FROM stage_lines GROUP BY date ORDER BY date
    """,
    "agg_customer": """
        SELECT date, store_id, partner_id AS customer_id, sum(revenue) AS revenue, count(DISTINCT order_id) AS orders
        FROM stage_lines WHERE partner_id IS NOT NULL GROUP BY ALL ORDER BY date, store_id, customer_id
    """,
}
_WITH_PARTNER = "SELECT DISTINCT file_name FROM parquet_schema($files) WHERE name = 'partner_id'"
_PAY_DAY = """
    SELECT date, store_id, currency, payment_method_id AS method_id,
           arg_max(payment_method_name, payment_id) AS method_name,
           arg_max(payment_method_type, payment_id) AS method_type,
           sum(amount) AS amount, count(*) FILTER (WHERE NOT is_change) AS payments,
           coalesce(sum(amount) FILTER (WHERE is_change), 0) AS change, count(*) FILTER (WHERE is_change),
           coalesce(sum(amount) FILTER (WHERE is_refund), 0) AS refunds, count(*) FILTER (WHERE is_refund)
    FROM read_parquet($files, hive_partitioning = false, union_by_name = true)
    GROUP BY date, store_id, currency, payment_method_id ORDER BY date, store_id, method_id
"""
_SESSIONS = """
    SELECT date, session_id, session_name, store_id, store_name, state, opened_by, closed_by, start_local,
           stop_local, opening_cash, cash_moves, expected_cash, counted_cash, cash_difference, currency
    FROM read_parquet($files, hive_partitioning = false, union_by_name = true) ORDER BY date, session_id
"""


@dataclass(frozen=True)
class FactFile:
    path: str
    mtime_ns: int
    size: int


def fact_files(root: str) -> dict[date, FactFile]:
    """Every published fact partition: a listing of the year and month folders, one `stat` per day.

    No file is opened; each day folder's one file has a known name, so it is stat'ed directly.
    """
    if lake.is_s3(root):
        # an S3 lake's catalog names each day's immutable object: a new name is a new version
        published = lake.Lake(root).published_files(lake.FACT_SALES)
        return {d: FactFile(p, zlib.crc32(p.encode()), 0) for d, p in published.items()}
    base = Path(root, *lake.FACT_SALES)
    out: dict[date, FactFile] = {}
    name = lake.FACT_SALES[1]
    for year in _subdirs(base, "year="):
        for month in _subdirs(year, "month="):
            for day in _subdirs(month, "day="):
                y, m, d = year[-4:], month[-2:], day[-2:]
                path = f"{day}/{name}_{y}-{m}-{d}.parquet"
                try:
                    st = os.stat(path)
                    when = date(int(y), int(m), int(d))
                except (ValueError, FileNotFoundError):
                    continue
                out[when] = FactFile(path, st.st_mtime_ns, st.st_size)
    return out


def _subdirs(folder: Path | str, prefix: str) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return [e.path for e in entries if e.name.startswith(prefix) and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []


def companion_files(root: str, table: tuple[str, str], days: list[date]) -> dict[date, str]:
    """The published `fact_payments` / `fact_sessions` file of each of `days` that has one."""
    if not days:
        return {}
    if lake.is_s3(root):
        published = lake.Lake(root).published_files(table)
        return {d: published[d] for d in days if d in published}
    out = {}
    for d in days:
        path = lake.partition_file(root, table, d)
        if path.exists():
            out[d] = str(path)
    return out


def _dim_path(root: str, name: str) -> str:
    return lake.Lake(root).dimension_file(name)


def _dim_stat(root: str, name: str) -> tuple[int, int] | None:
    path = _dim_path(root, name)
    if not lake.is_s3(path):
        return _file_stat(Path(path))
    head = lake.get_object_head(path)
    return (zlib.crc32(str(head["ETag"]).encode()), int(head["ContentLength"])) if head else None


def _file_stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Serving:
    """The summaries of one lake, in an in-memory DuckDB database shared by the threads of a process."""

    def __init__(self, root: str, threads: int | None = None) -> None:
        self.root = str(root)
        self.con = duckdb.connect(":memory:", config={"threads": threads or min(4, os.cpu_count() or 1)})
        self.con.execute("SET enable_progress_bar = false")
        lake.register_on_duckdb(self.con, self.root)
        self.con.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._days: dict[date, tuple[int, int]] = {}
        self._dims: dict[str, tuple[int, int] | None] = {}
        self.version = 0
        self.last_sync: dict[str, float] = {}
        self._cache: dict[tuple[int, str], object] = {}
        self._cache_lock = threading.Lock()

    def cached(self, cur: duckdb.DuckDBPyConnection, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per version of the summaries, read inside the caller's transaction on `cur`.

        For what depends on the lake only, not on the filters (loaded days, stores, the
        dimension's columns): a page then costs only its own queries.
        """
        version = cur.execute("SELECT version FROM meta").fetchone()[0]
        with self._cache_lock:
            if (version, key) in self._cache:
                return self._cache[(version, key)]  # type: ignore[return-value]
        value = compute()
        with self._cache_lock:
            if any(v != version for v, _k in self._cache):
                self._cache = {k: v for k, v in self._cache.items() if k[0] >= version}
            self._cache[(version, key)] = value
        return value

    def _x(self, sql: str, params: object = None) -> list[tuple]:
        """Run one statement on the writer connection and consume its result."""
        return self.con.execute(sql, params).fetchall() if params is not None else self.con.execute(sql).fetchall()

    # ------------------------------------------------------------------ freshness

    def sync(self) -> int:
        """Bring the summaries up to date with the lake; returns the number of days recomputed."""
        with self._lock:
            started = time.perf_counter()
            files = fact_files(self.root)
            walked = time.perf_counter()
            dims = {name: _dim_stat(self.root, name) for name in _DIMS}
            stale = {d for d, f in files.items() if self._days.get(d) != (f.mtime_ns, f.size)}
            gone = set(self._days) - set(files)
            mapping_changed = dims["dim_products"] != self._dims.get("dim_products")
            if not (stale or gone or mapping_changed or dims != self._dims):
                self.last_sync = {"walk_ms": (walked - started) * 1000, "days": 0}
                return 0
            with self._transaction():
                if mapping_changed:
                    stale |= self._reload_mapping() & set(files)
                    self._reload_dims()
                elif dims != self._dims:
                    self._reload_dims()
                self._replace_days(sorted(stale), sorted(gone), files)
                self._x("UPDATE meta SET version = version + 1")
            # What the summaries were built from, recorded only once they are committed.
            for d in gone:
                self._days.pop(d, None)
            for d in stale:
                self._days[d] = (files[d].mtime_ns, files[d].size)
            self._dims = dims
            self.version += 1
            self.last_sync = {
                "walk_ms": (walked - started) * 1000,
                "days": len(stale) + len(gone),
                "ms": (time.perf_counter() - started) * 1000,
            }
            if stale or gone:
                log.info(
                    "serving: %d day(s) recomputed, %d removed in %.0f ms", len(stale), len(gone), self.last_sync["ms"]
                )
            return len(stale) + len(gone)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._x("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._x("ROLLBACK")
            raise
        self._x("COMMIT")

    def _reload_mapping(self) -> set[date]:
        """Load the product → category/brand/template mapping; returns the days that sold a changed product."""
        path = _dim_path(self.root, "dim_products")
        if lake.exists(path):
            literal = _sql_literal(str(path))
            columns = {n for (n,) in self._x(f"SELECT name FROM parquet_schema({literal})")}
            template = "product_tmpl_id" if "product_tmpl_id" in columns else "NULL::BIGINT"
            source = (
                f"SELECT DISTINCT ON (product_id) product_id, product_category AS category, brand_name AS brand, "
                f"CAST({template} AS BIGINT) AS template_id FROM read_parquet({literal}) ORDER BY product_id"
            )
        else:
            source = (
                "SELECT NULL::BIGINT AS product_id, NULL::VARCHAR AS category, NULL::VARCHAR AS brand,"
                " NULL::BIGINT AS template_id WHERE false"
            )
        self._x(f"CREATE OR REPLACE TEMP TABLE new_mapping AS {source}")
        changed = """
            SELECT product_id FROM (
                SELECT * FROM new_mapping EXCEPT SELECT * FROM mapping
                UNION ALL
                SELECT * FROM mapping EXCEPT SELECT * FROM new_mapping)
        """
        days = self._x(f"SELECT DISTINCT date FROM agg_product WHERE product_id IN ({changed})")
        self._x("DELETE FROM mapping")
        self._x("INSERT INTO mapping SELECT * FROM new_mapping")
        self._x("DROP TABLE new_mapping")
        return {d for (d,) in days}

    def _reload_dims(self) -> None:
        """Keep small copies of the dimensions the pages name things with (no Parquet read per page)."""
        for name in _DIMS:
            path = _dim_path(self.root, name)
            if lake.exists(path):
                self._x(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet({_sql_literal(str(path))})")
            else:
                self._x(f"DROP TABLE IF EXISTS {name}")

    def _replace_days(self, stale: list[date], gone: list[date], files: dict[date, FactFile]) -> None:
        drop = stale + gone
        if drop:
            self._x("CREATE OR REPLACE TEMP TABLE drop_days AS SELECT unnest($d::DATE[]) AS date", {"d": drop})
            # customers of the old version of these days: their first day may move
            self._x(
                "CREATE OR REPLACE TEMP TABLE touched_customers AS SELECT DISTINCT customer_id FROM agg_customer"
                " WHERE date IN (SELECT date FROM drop_days)"
            )
            for table in _DAILY:
                self._x(f"DELETE FROM {table} WHERE date IN (SELECT date FROM drop_days)")
        for i in range(0, len(stale), _BATCH_DAYS):
            batch = stale[i : i + _BATCH_DAYS]
            paths = [files[d].path for d in batch]
            with_partner = {p for (p,) in self._x(_WITH_PARTNER, {"files": paths})}
            partner = "f.partner_id" if with_partner else "NULL::BIGINT"
            self._x(_STAGE_LINES.format(partner=partner), {"files": paths})
            for table, sql in _STAGE.items():
                self._x(f"INSERT INTO {table} {sql}")
            for table, sql in _STAGE_CUSTOMERS.items():
                self._x(f"INSERT INTO {table} {sql}")
            counts = dict(self._x("SELECT date, count(*) FROM stage_lines GROUP BY date"))
            self._x(
                "INSERT INTO days SELECT unnest($d::DATE[]), unnest($m::BIGINT[]), unnest($s::BIGINT[]),"
                " unnest($n::BIGINT[])",
                {
                    "d": batch,
                    "m": [files[d].mtime_ns for d in batch],
                    "s": [files[d].size for d in batch],
                    "n": [counts.get(d, 0) for d in batch],
                },
            )
            self._stage_payments_and_sessions(batch, {d for d in batch if files[d].path in with_partner})
        self._x("DROP TABLE IF EXISTS stage_lines")
        if drop:
            # The months of the changed days, rebuilt from their days.
            self._x(
                "CREATE OR REPLACE TEMP TABLE drop_months AS SELECT DISTINCT date_trunc('month', date)::DATE AS month"
                " FROM drop_days"
            )
            for monthly, (daily, keys, sums) in _MONTHLY.items():
                self._x(f"DELETE FROM {monthly} WHERE month IN (SELECT month FROM drop_months)")
                self._x(
                    f"INSERT INTO {monthly} SELECT date_trunc('month', date)::DATE AS month, {keys},"
                    f" {', '.join(f'sum({c})' for c in sums)} FROM {daily}"
                    " WHERE date_trunc('month', date)::DATE IN (SELECT month FROM drop_months)"
                    f" GROUP BY ALL ORDER BY month, {keys}"
                )
            # First days of the customers of the old and the new version of the changed days.
            self._x(
                "INSERT INTO touched_customers SELECT DISTINCT customer_id FROM agg_customer"
                " WHERE date IN (SELECT date FROM drop_days)"
            )
            for table in ("cust_first", "cust_first_all"):
                self._x(f"DELETE FROM {table} WHERE customer_id IN (SELECT customer_id FROM touched_customers)")
            self._x(
                "INSERT INTO cust_first SELECT customer_id, store_id, min(date) FROM agg_customer"
                " WHERE customer_id IN (SELECT customer_id FROM touched_customers) GROUP BY ALL ORDER BY 3, 1"
            )
            self._x(
                "INSERT INTO cust_first_all SELECT customer_id, min(first_date) FROM cust_first"
                " WHERE customer_id IN (SELECT customer_id FROM touched_customers) GROUP BY ALL ORDER BY 2, 1"
            )
            self._x("DROP TABLE touched_customers")

    def _stage_payments_and_sessions(self, batch: list[date], with_partner: set[date]) -> None:
        """The batch's payment and session summaries, from the files published with its sales."""
        payments = companion_files(self.root, lake.FACT_PAYMENTS, batch)
        sessions = companion_files(self.root, lake.FACT_SESSIONS, batch)
        if payments:
            self._x(f"INSERT INTO pay_day {_PAY_DAY}", {"files": list(payments.values())})
        if sessions:
            self._x(f"INSERT INTO sessions {_SESSIONS}", {"files": list(sessions.values())})
        self._x(
            "INSERT INTO ops_days SELECT unnest($d::DATE[]), unnest($p::BOOLEAN[]), unnest($s::BOOLEAN[]),"
            " unnest($c::BOOLEAN[])",
            {
                "d": batch,
                "p": [d in payments for d in batch],
                "s": [d in sessions for d in batch],
                "c": [d in with_partner for d in batch],
            },
        )

    # ------------------------------------------------------------------ snapshots

    def load_snapshot(self) -> bool:
        """Start from the snapshot the DAG wrote, if any (then `sync` patches what changed since)."""
        if lake.is_s3(self.root):
            return False  # snapshots are written on a folder lake only (see `refresh`)
        folder = current_snapshot(self.root)
        if folder is None:
            return False
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                return False
            with self._lock, self._transaction():
                for table in TABLES:
                    self._x(f"DELETE FROM {table}")
                    source = _sql_literal(str(folder / f"{table}.parquet"))
                    self._x(f"INSERT INTO {table} SELECT * FROM read_parquet({source})")
                self._days = {date.fromisoformat(d): (int(m), int(s)) for d, (m, s) in manifest["days"].items()}
                self._dims = {"dim_products": tuple(manifest["dim_products"]) if manifest["dim_products"] else None}
                self._dims["dim_stores"] = (-1, -1)  # forces the first sync to load the dimension copies
                self._x("UPDATE meta SET version = version + 1")
        except (OSError, duckdb.Error, KeyError, ValueError) as exc:
            log.warning("serving: snapshot %s unusable (%s); rebuilding from the partitions", folder, exc)
            self._days, self._dims = {}, {}
            with self._lock, self._transaction():
                for table in TABLES:
                    self._x(f"DELETE FROM {table}")
            return False
        return True

    def write_snapshot(self) -> Path:
        """Write every table to a new folder, then point `CURRENT` at it in one rename."""
        base = Path(self.root, SERVING_DIR)
        base.mkdir(parents=True, exist_ok=True)
        folder = base / f"snapshot-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        folder.mkdir()
        with self._lock:
            cur = self.con.cursor()
            cur.execute("BEGIN TRANSACTION").fetchall()
            for table in TABLES:
                cur.execute(
                    f"COPY (SELECT * FROM {table}) TO {_sql_literal(str(folder / (table + '.parquet')))}"
                    " (FORMAT parquet, COMPRESSION zstd)"
                ).fetchall()
            cur.execute("COMMIT").fetchall()
            manifest = {
                "format": FORMAT,
                "days": {d.isoformat(): list(v) for d, v in sorted(self._days.items())},
                "dim_products": list(self._dims["dim_products"]) if self._dims.get("dim_products") else None,
            }
        (folder / "manifest.json").write_text(json.dumps(manifest))
        pointer = base / "CURRENT"
        tmp = base / f".CURRENT.tmp-{os.getpid()}-{secrets.token_hex(3)}"
        tmp.write_text(folder.name)
        os.replace(tmp, pointer)
        _prune(base, keep=folder.name)
        return folder


def current_snapshot(root: str) -> Path | None:
    base = Path(root, SERVING_DIR)
    try:
        name = (base / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    folder = base / name
    return folder if folder.is_dir() else None


def _prune(base: Path, keep: str) -> None:
    """Delete old snapshots, keeping the newest few (a reader may still be loading the previous one)."""
    olds = sorted((p for p in base.glob("snapshot-*") if p.name != keep), key=lambda p: p.stat().st_mtime)
    for old in olds[: max(0, len(olds) - (_KEEP_SNAPSHOTS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _refresh_lock(root: str) -> Iterator[None]:
    path = Path(root, SERVING_DIR, ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def refresh(lake_root: str) -> dict[str, float]:
    """Bring the lake's serving snapshot up to date (called by `publish` after every day it publishes)."""
    started = time.perf_counter()
    if lake.is_s3(lake_root):
        # The snapshot's publish relies on a rename and a flock: not on S3. A dashboard over an S3
        # lake builds its summaries from the published partitions when it starts, then syncs.
        log.info("serving snapshot skipped: the lake is on S3 (the dashboard summarises the partitions itself)")
        return {"days": 0, "seconds": 0.0}
    with _refresh_lock(lake_root):
        serving = Serving(lake_root, threads=2)
        try:
            serving.load_snapshot()
            changed = serving.sync()
            if changed or current_snapshot(lake_root) is None:
                serving.write_snapshot()
        finally:
            serving.con.close()
    seconds = time.perf_counter() - started
    log.info("serving snapshot refreshed: %d day(s) recomputed in %.2f s", changed, seconds)
    return {"days": changed, "seconds": seconds}


def refresh_quietly(lake_root: str) -> None:
    """`refresh`, but a failure only logs: the partitions are published, and readers rebuild what they need."""
    try:
        refresh(lake_root)
    except Exception:  # noqa: BLE001 - the serving snapshot is a cache of the published lake
        log.exception("serving snapshot not refreshed; the dashboard will recompute the changed days itself")


_REGISTRY: dict[str, Serving] = {}
_REGISTRY_LOCK = threading.Lock()


def for_lake(root: str) -> Serving:
    """The process-wide serving database of the lake at `root`, started from its snapshot."""
    with _REGISTRY_LOCK:
        serving = _REGISTRY.get(root)
        if serving is None:
            serving = Serving(root)
            serving.load_snapshot()
            _REGISTRY[root] = serving
    return serving


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Build or update the serving snapshot of a lake.")
    parser.add_argument("lake", nargs="?", default=None)
    args = parser.parse_args(argv)
    from include.etl.config import lake_root

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(json.dumps(refresh(args.lake or lake_root())))


if __name__ == "__main__":
    main()
