"""All SQL of the dashboard, and the validation of the filter values that reach it.

Every user value is a bind parameter (`$name`); the only text spliced into a statement is
one of two constant fact sources chosen here. A fresh in-memory connection per call (from
`include.etl.views.connect`) means no lock is held and new partitions show up at once.

For speed the fact scan reads only the partition files of the days asked for
(`include.etl.lake.partition_file`): DuckDB opens every footer of a glob even when the
`date` filter excludes the file (≈0.17 ms each). When no file of the range exists the
query falls back to the `fact_sales` view.
"""

from __future__ import annotations

import glob
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import duckdb
import pandas as pd

from include.etl import lake, views
from include.etl.config import lake_root

log = logging.getLogger(__name__)

NO_BRAND = "No brand"
UNCATEGORISED = "Uncategorised"
DEFAULT_DAYS = 30
TOP_N = 20
FILTER_KEYS = ("start", "end", "store", "category", "brand")
_MAX_DAYS = 3660
_MAX_VALUE_LEN = 300
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STORE_ID = re.compile(r"\d{1,18}")
_FACT_NAME = re.compile(r"fact_sales_(\d{4}-\d{2}-\d{2})\.parquet")
_PARAM = re.compile(r"\$([a-z_]+)")

# The filtered order lines of one date range, joined to the product dimension.
_LINES = f"""
WITH lines AS (
    SELECT f.*,
           coalesce(p.product_name, 'Product ' || CAST(f.product_id AS VARCHAR)) AS product_name,
           coalesce(p.product_category, '{UNCATEGORISED}') AS category,
           coalesce(p.brand_name, '{NO_BRAND}') AS brand
    FROM {{source}} AS f
    LEFT JOIN dim_products AS p USING (product_id)
    WHERE f.date BETWEEN $lo AND $hi
      AND ($store IS NULL OR f.store_id = $store)
      AND ($category IS NULL OR coalesce(p.product_category, '{UNCATEGORISED}') = $category)
      AND ($brand IS NULL OR coalesce(p.brand_name, '{NO_BRAND}') = $brand)
)
"""
_SOURCE_FILES = "read_parquet($files, hive_partitioning = false)"
_SOURCE_VIEW = "fact_sales"


class InvalidFilter(ValueError):
    """A filter value from the URL or a control that is malformed or unknown."""


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    store_id: int | None = None
    category: str | None = None
    brand: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The period of equal length that ends the day before `start`."""
        return self.start - timedelta(days=self.days), self.start - timedelta(days=1)

    def query(self) -> dict[str, str]:
        """The URL query parameters that reproduce these filters."""
        out = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.store_id is not None:
            out["store"] = str(self.store_id)
        if self.category is not None:
            out["category"] = self.category
        if self.brand is not None:
            out["brand"] = self.brand
        return out

    def search(self) -> str:
        return "?" + urlencode(self.query())


@dataclass(frozen=True)
class LakeInfo:
    root: str
    loaded_days: frozenset[date]
    last_sale_day: date | None
    stores: tuple[tuple[int, str], ...]
    categories: tuple[str, ...]
    brands: tuple[str, ...]
    currencies: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.loaded_days

    @property
    def last_loaded_day(self) -> date | None:
        return max(self.loaded_days) if self.loaded_days else None

    @property
    def first_loaded_day(self) -> date | None:
        return min(self.loaded_days) if self.loaded_days else None

    def default_range(self, today: date | None = None) -> tuple[date, date]:
        """The last `DEFAULT_DAYS` days, ending at the latest day with a sale."""
        end = self.last_sale_day or self.last_loaded_day or today or date.today()
        return end - timedelta(days=DEFAULT_DAYS - 1), end


@dataclass
class Kpis:
    revenue: Decimal = Decimal(0)
    revenue_excl_tax: Decimal = Decimal(0)
    orders: int = 0
    units: Decimal = Decimal(0)
    margin: Decimal = Decimal(0)
    discounts: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    refund_lines: int = 0
    refund_orders: int = 0
    lines: int = 0
    currencies: tuple[str, ...] = ()

    @property
    def avg_basket(self) -> Decimal | None:
        return self.revenue / self.orders if self.orders else None

    @property
    def units_per_order(self) -> Decimal | None:
        return self.units / self.orders if self.orders else None

    @property
    def margin_pct(self) -> Decimal | None:
        return self.margin / self.revenue_excl_tax * 100 if self.revenue_excl_tax else None


@dataclass
class Overview:
    """Everything the overview page shows for one set of filters."""

    info: LakeInfo
    filters: Filters | None = None
    error: str | None = None
    current: Kpis = field(default_factory=Kpis)
    previous: Kpis = field(default_factory=Kpis)
    missing_days: list[date] = field(default_factory=list)
    missing_previous_days: list[date] = field(default_factory=list)
    trend: pd.DataFrame | None = None
    top_products: pd.DataFrame | None = None
    by_category: pd.DataFrame | None = None
    by_brand: pd.DataFrame | None = None
    heatmap: pd.DataFrame | None = None
    by_store: pd.DataFrame | None = None
    seconds: float = 0.0

    @property
    def currency(self) -> str:
        found = sorted(set(self.current.currencies) | set(self.previous.currencies)) or self.info.currencies
        return "/".join(found) if found else ""


# --------------------------------------------------------------------------- filters


def parse_search(search: str | None) -> dict[str, str]:
    """The filter parameters of a URL query string (`?start=...&store=...`); others are dropped."""
    pairs = parse_qsl((search or "").lstrip("?"), keep_blank_values=False)
    return {key: value for key, value in pairs if key in FILTER_KEYS}


def _parse_day(name: str, value: str) -> date:
    if not _ISO_DATE.fullmatch(value):
        raise InvalidFilter(f"{name} must be a date written YYYY-MM-DD (got {value[:40]!r})")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidFilter(f"{name} is not a real date (got {value!r})") from None


def _clean(raw: Mapping[str, object], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > _MAX_VALUE_LEN:
        raise InvalidFilter(f"{key} is too long")
    return text or None


def resolve_filters(raw: Mapping[str, object], info: LakeInfo) -> Filters:
    """Validate raw filter values (strings from a URL or controls) against the lake.

    Missing dates fall back to the default period; unknown stores, categories and brands
    raise `InvalidFilter`, so no malformed value ever reaches a statement.
    """
    start_text, end_text = _clean(raw, "start"), _clean(raw, "end")
    default_start, default_end = info.default_range()
    end = _parse_day("end", end_text) if end_text else None
    start = _parse_day("start", start_text) if start_text else None
    if end is None:
        end = default_end if start is None or start <= default_end else start + timedelta(DEFAULT_DAYS - 1)
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidFilter(f"start {start} is after end {end}")
    if (end - start).days + 1 > _MAX_DAYS:
        raise InvalidFilter(f"the period is longer than {_MAX_DAYS} days")

    store_id = None
    store_text = _clean(raw, "store")
    if store_text is not None:
        if not _STORE_ID.fullmatch(store_text):
            raise InvalidFilter(f"store must be a store id, a whole number (got {store_text[:40]!r})")
        store_id = int(store_text)
        if store_id not in {sid for sid, _name in info.stores}:
            raise InvalidFilter(f"there is no store {store_id} in the lake")

    category = _clean(raw, "category")
    if category is not None and category not in info.categories:
        raise InvalidFilter(f"unknown category {category[:60]!r}")
    brand = _clean(raw, "brand")
    if brand is not None and brand not in info.brands:
        raise InvalidFilter(f"unknown brand {brand[:60]!r}")
    return Filters(start, end, store_id, category, brand)


# --------------------------------------------------------------------------- lake


def loaded_days(root: str) -> frozenset[date]:
    """Days with a fact file (possibly empty: loaded, no sales), from the file names."""
    found = set()
    for path in glob.glob(lake.table_glob(root, lake.FACT_SALES)):
        match = _FACT_NAME.fullmatch(Path(path).name)
        if match:
            found.add(date.fromisoformat(match.group(1)))
    return frozenset(found)


def connect(root: str | None = None) -> duckdb.DuckDBPyConnection:
    return views.connect(root or lake_root())


def lake_info(con: duckdb.DuckDBPyConnection, root: str) -> LakeInfo:
    days = loaded_days(root)
    if not days:
        return LakeInfo(root, days, None, (), (), ())
    last_sale = con.execute("SELECT max(date) FROM fact_sales").fetchone()[0]
    stores = con.execute(
        "SELECT store_id, arg_max(store_name, date) AS name, arg_max(currency, date) AS currency"
        " FROM fact_sales GROUP BY store_id ORDER BY name"
    ).fetchall()
    categories = con.execute(
        f"SELECT DISTINCT coalesce(product_category, '{UNCATEGORISED}') AS c FROM dim_products ORDER BY c"
    ).fetchall()
    brands = con.execute(
        f"SELECT DISTINCT coalesce(brand_name, '{NO_BRAND}') AS b FROM dim_products ORDER BY b"
    ).fetchall()
    return LakeInfo(
        root,
        days,
        last_sale,
        tuple((int(sid), str(name)) for sid, name, _currency in stores),
        tuple(c for (c,) in categories),
        tuple(b for (b,) in brands),
        tuple(sorted({str(c) for _sid, _name, c in stores if c})),
    )


def read_lake_info(root: str | None = None) -> LakeInfo:
    root = root or lake_root()
    con = connect(root)
    try:
        return lake_info(con, root)
    finally:
        con.close()


class _Reader:
    """Runs the period queries of one connection over the partition files of the range."""

    def __init__(self, con: duckdb.DuckDBPyConnection, info: LakeInfo, filters: Filters) -> None:
        self.con = con
        self.info = info
        self.filters = filters

    def files(self, lo: date, hi: date) -> list[str]:
        days = (lo + timedelta(days=i) for i in range((hi - lo).days + 1))
        return [
            str(lake.partition_file(self.info.root, lake.FACT_SALES, d)) for d in days if d in self.info.loaded_days
        ]

    def run(self, body: str, lo: date, hi: date, **extra: object) -> duckdb.DuckDBPyConnection:
        files = self.files(lo, hi)
        sql = _LINES.replace("{source}", _SOURCE_FILES if files else _SOURCE_VIEW) + body
        values: dict[str, object] = {
            "files": files,
            "lo": lo,
            "hi": hi,
            "store": self.filters.store_id,
            "category": self.filters.category,
            "brand": self.filters.brand,
            **extra,
        }
        used = set(_PARAM.findall(sql))
        return self.con.execute(sql, {k: v for k, v in values.items() if k in used})


def kpis(reader: _Reader) -> tuple[Kpis, Kpis]:
    """The KPIs of the period and of the previous period of equal length, in one scan."""
    f = reader.filters
    prev_start, _prev_end = f.previous
    rows = reader.run(
        """
        SELECT date >= $start AS is_current,
               coalesce(sum(revenue), 0), coalesce(sum(revenue_excl_tax), 0),
               count(DISTINCT order_id), coalesce(sum(quantity), 0), coalesce(sum(margin), 0),
               coalesce(sum(discount_amount), 0),
               coalesce(sum(revenue) FILTER (WHERE is_refund), 0),
               count(*) FILTER (WHERE is_refund),
               count(DISTINCT order_id) FILTER (WHERE is_refund),
               count(*),
               list_sort(list_distinct(list(currency)))
        FROM lines GROUP BY is_current
        """,
        prev_start,
        f.end,
        start=f.start,
    ).fetchall()
    out = {True: Kpis(), False: Kpis()}
    for row in rows:
        out[row[0]] = Kpis(*row[1:11], currencies=tuple(row[11]))
    return out[True], out[False]


def daily_trend(reader: _Reader) -> pd.DataFrame:
    """Revenue per day of the period, next to the same day offset of the previous period.

    Columns: offset, date, revenue, orders, prev_date, prev_revenue. A day without a fact
    file has revenue NaN (a gap); a loaded day without sales has 0.
    """
    f = reader.filters
    prev_start, _ = f.previous
    rows = reader.run(
        "SELECT date, sum(revenue), count(DISTINCT order_id) FROM lines GROUP BY date",
        prev_start,
        f.end,
    ).fetchall()
    by_day = {d: (float(rev), int(n)) for d, rev, n in rows}
    loaded = reader.info.loaded_days

    def value(d: date) -> tuple[float | None, int | None]:
        if d in by_day:
            return by_day[d]
        return (0.0, 0) if d in loaded else (None, None)

    records = []
    for offset in range(f.days):
        day, prev_day = f.start + timedelta(days=offset), prev_start + timedelta(days=offset)
        revenue, orders = value(day)
        prev_revenue, _ = value(prev_day)
        records.append((offset, day, revenue, orders, prev_day, prev_revenue))
    return pd.DataFrame.from_records(
        records, columns=["offset", "date", "revenue", "orders", "prev_date", "prev_revenue"]
    )


def top_products(reader: _Reader, limit: int = TOP_N) -> pd.DataFrame:
    """architecture.md §6 "top 20 products", for the filtered period."""
    f = reader.filters
    return reader.run(
        """
        SELECT product_id, any_value(product_name) AS product_name,
               any_value(category) AS product_category, any_value(brand) AS brand,
               CAST(sum(quantity) AS DOUBLE) AS qty, CAST(sum(revenue) AS DOUBLE) AS revenue
        FROM lines GROUP BY product_id
        ORDER BY sum(revenue) DESC, product_id
        LIMIT $limit
        """,
        f.start,
        f.end,
        limit=limit,
    ).df()


def _revenue_by(reader: _Reader, column: str) -> pd.DataFrame:
    f = reader.filters
    # `column` is one of the constants below, never a user value.
    return reader.run(
        f"""
        SELECT {column} AS name, CAST(sum(revenue) AS DOUBLE) AS revenue, count(DISTINCT order_id) AS orders
        FROM lines GROUP BY {column} ORDER BY sum(revenue) DESC, name
        """,
        f.start,
        f.end,
    ).df()


def revenue_by_category(reader: _Reader) -> pd.DataFrame:
    return _revenue_by(reader, "category")


def revenue_by_brand(reader: _Reader) -> pd.DataFrame:
    return _revenue_by(reader, "brand")


def revenue_by_store(reader: _Reader) -> pd.DataFrame:
    f = reader.filters
    return reader.run(
        """
        SELECT store_id, arg_max(store_name, date) AS store_name,
               CAST(sum(revenue) AS DOUBLE) AS revenue, count(DISTINCT order_id) AS orders
        FROM lines GROUP BY store_id ORDER BY sum(revenue) DESC, store_id
        """,
        f.start,
        f.end,
    ).df()


def weekday_hour(reader: _Reader) -> pd.DataFrame:
    """Revenue per ISO weekday (1 = Monday) and store-local hour; every one of the 7×24 cells."""
    f = reader.filters
    return reader.run(
        """
        , grid AS (SELECT w AS weekday, h AS hour FROM range(1, 8) t(w), range(0, 24) u(h)),
        cells AS (
            SELECT isodow(date) AS weekday, CAST(local_hour AS INTEGER) AS hour,
                   sum(revenue) AS revenue, count(DISTINCT order_id) AS orders
            FROM lines GROUP BY ALL
        )
        SELECT g.weekday, g.hour, CAST(coalesce(c.revenue, 0) AS DOUBLE) AS revenue,
               coalesce(c.orders, 0) AS orders
        FROM grid g LEFT JOIN cells c USING (weekday, hour)
        ORDER BY g.weekday, g.hour
        """,
        f.start,
        f.end,
    ).df()


def _missing(info: LakeInfo, lo: date, hi: date) -> list[date]:
    return [d for d in (lo + timedelta(days=i) for i in range((hi - lo).days + 1)) if d not in info.loaded_days]


def load_overview(raw: Mapping[str, object], root: str | None = None) -> Overview:
    """Validate `raw` filters and run every query of the overview page on one connection."""
    started = time.perf_counter()
    root = root or lake_root()
    con = connect(root)
    try:
        result = _overview(con, root, raw)
    finally:
        con.close()
    result.seconds = time.perf_counter() - started
    log.info("overview %s in %.1f ms", dict(raw), result.seconds * 1000)
    return result


def _overview(con: duckdb.DuckDBPyConnection, root: str, raw: Mapping[str, object]) -> Overview:
    info = lake_info(con, root)
    result = Overview(info)
    if info.empty:
        return result
    try:
        filters = resolve_filters(raw, info)
    except InvalidFilter as exc:
        result.error = str(exc)
        return result
    result.filters = filters
    reader = _Reader(con, info, filters)
    result.current, result.previous = kpis(reader)
    result.missing_days = _missing(info, filters.start, filters.end)
    result.missing_previous_days = _missing(info, *filters.previous)
    result.trend = daily_trend(reader)
    result.top_products = top_products(reader)
    result.by_category = revenue_by_category(reader)
    result.by_brand = revenue_by_brand(reader)
    result.heatmap = weekday_hour(reader)
    result.by_store = revenue_by_store(reader)
    return result
