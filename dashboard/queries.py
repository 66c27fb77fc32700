"""All SQL of the dashboard, and the validation of the filter values that reach it.

The pages read the serving layer (`include.etl.serving`): per-day summary tables derived
from the daily fact partitions and kept in one in-memory DuckDB database per process.
Each call first syncs it with the lake (a directory walk and a `stat` per day; changed
days are recomputed and swapped in atomically), then runs every query of the page on one
cursor inside one transaction, so a page never mixes two versions of the lake.

Every user value is a bind parameter (`$name`); the only text spliced into a statement is
one of the constant column names chosen here (which orders count to sum, see serving.py).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode

import duckdb
import pandas as pd

from include.etl import serving, views
from include.etl.config import lake_root

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_BRAND = serving.NO_BRAND
UNCATEGORISED = serving.UNCATEGORISED
DEFAULT_DAYS = 30
TOP_N = 20
GROUPS = ("variant", "template")
FILTER_KEYS = ("start", "end", "store", "category", "brand", "group")
_MAX_DAYS = 3660
_MAX_VALUE_LEN = 300
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STORE_ID = re.compile(r"\d{1,18}")
_PARAM = re.compile(r"\$([a-z_]+)")
_WHERE_STORE = """
    date BETWEEN $lo AND $hi
    AND ($store IS NULL OR store_id = $store)
"""
_WHERE = """
    date BETWEEN $lo AND $hi
    AND ($store IS NULL OR store_id = $store)
    AND ($category IS NULL OR category = $category)
    AND ($brand IS NULL OR brand = $brand)
"""


class InvalidFilter(ValueError):
    """A filter value from the URL or a control that is malformed or unknown."""


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    store_id: int | None = None
    category: str | None = None
    brand: str | None = None
    group: str = "variant"

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
        if self.group != "variant":
            out["group"] = self.group
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
    scope = _store_scope()  # a shop manager sees their store only (dashboard/auth.py)
    if scope is not None and store_id not in (None, scope):
        raise InvalidFilter(f"store {store_id} is not yours to see")
    store_id = store_id if scope is None else scope

    category = _clean(raw, "category")
    if category is not None and category not in info.categories:
        raise InvalidFilter(f"unknown category {category[:60]!r}")
    brand = _clean(raw, "brand")
    if brand is not None and brand not in info.brands:
        raise InvalidFilter(f"unknown brand {brand[:60]!r}")
    group = _clean(raw, "group") or "variant"
    if group not in GROUPS:
        raise InvalidFilter(f"group must be one of {', '.join(GROUPS)} (got {group[:40]!r})")
    return Filters(start, end, store_id, category, brand, group)


# --------------------------------------------------------------------------- lake


def connect(root: str | None = None) -> duckdb.DuckDBPyConnection:
    """Plain DuckDB views over the lake files (`include.etl.views`), for ad-hoc SQL and checks."""
    return views.connect(root or lake_root())


_OPEN: dict[int, serving.Serving] = {}  # open page cursors → their serving database


@contextmanager
def snapshot(root: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the synced serving database, inside one read transaction."""
    state = serving.for_lake(root or lake_root())
    state.sync()
    cur = state.con.cursor()
    _OPEN[id(cur)] = state
    try:
        cur.execute("BEGIN TRANSACTION").fetchall()
        yield cur
        cur.execute("COMMIT").fetchall()
    finally:
        _OPEN.pop(id(cur), None)
        cur.close()


def _has_table(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = $t AND NOT temporary", {"t": name}
        ).fetchone()[0]
    )


def _columns(cur: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {
        name
        for (name,) in cur.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = $t", {"t": table}
        ).fetchall()
    }


def _store_names_sql(cur: duckdb.DuckDBPyConnection) -> str:
    """Store id → name: the store dimension's stored name, else the name of the last loaded day."""
    return _cached(cur, "store_names_sql", lambda: _store_names(cur))


def _store_names(cur: duckdb.DuckDBPyConnection) -> str:
    latest = (
        "SELECT store_id, arg_max(store_name, date) AS store_name, arg_max(currency, date) AS currency"
        " FROM day_stores GROUP BY store_id"
    )
    if not _has_table(cur, "dim_stores"):
        return latest
    return f"""
        SELECT l.store_id, coalesce(d.store_name, l.store_name) AS store_name, l.currency
        FROM ({latest}) AS l LEFT JOIN (SELECT DISTINCT ON (store_id) store_id, store_name FROM dim_stores) AS d
        USING (store_id)
    """


def _cached(cur: duckdb.DuckDBPyConnection, key: str, compute: Callable[[], T]) -> T:
    state = _OPEN.get(id(cur))
    return compute() if state is None else state.cached(cur, key, compute)


def lake_info(cur: duckdb.DuckDBPyConnection, root: str) -> LakeInfo:
    """Loaded days, last sale day, stores, categories and brands: once per version of the lake."""
    info = _cached(cur, "lake_info", lambda: _lake_info(cur, root))
    scope = _store_scope()  # the store list a restricted user sees holds their store only
    return info if scope is None else replace(info, stores=tuple(s for s in info.stores if s[0] == scope))


def _store_scope() -> int | None:
    from dashboard.auth import store_scope  # imports flask lazily; None outside a request

    return store_scope()


def _lake_info(cur: duckdb.DuckDBPyConnection, root: str) -> LakeInfo:
    days = frozenset(d for (d,) in cur.execute("SELECT date FROM days").fetchall())
    if not days:
        return LakeInfo(root, days, None, (), (), ())
    last_sale = cur.execute("SELECT max(date) FROM days WHERE lines > 0").fetchone()[0]
    stores = cur.execute(f"SELECT * FROM ({_store_names_sql(cur)}) ORDER BY store_name, store_id").fetchall()
    categories: list[tuple[str]] = []
    brands: list[tuple[str]] = []
    if _has_table(cur, "dim_products"):
        categories = cur.execute(
            f"SELECT DISTINCT coalesce(product_category, '{UNCATEGORISED}') AS c FROM dim_products ORDER BY c"
        ).fetchall()
        brands = cur.execute(
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
    with snapshot(root) as cur:
        return lake_info(cur, root)


class _Reader:
    """Runs the period queries of one page on one cursor, with the page's filters bound."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, info: LakeInfo, filters: Filters) -> None:
        self.cur = cur
        self.info = info
        self.filters = filters

    @property
    def orders(self) -> str:
        """Which of the four order counts sums to distinct orders under these filters (serving.py)."""
        f = self.filters
        if f.category is not None and f.brand is not None:
            return "cb"
        if f.category is not None:
            return "c"
        if f.brand is not None:
            return "b"
        return "all"

    def run(self, sql: str, lo: date, hi: date, **extra: object) -> duckdb.DuckDBPyConnection:
        sql = sql.replace("{where}", _WHERE).replace("{where_store}", _WHERE_STORE)
        values: dict[str, object] = {
            "lo": lo,
            "hi": hi,
            "store": self.filters.store_id,
            "category": self.filters.category,
            "brand": self.filters.brand,
            **extra,
        }
        used = set(_PARAM.findall(sql))
        return self.cur.execute(sql, {k: v for k, v in values.items() if k in used})


def kpis(reader: _Reader) -> tuple[Kpis, Kpis]:
    """The KPIs of the period and of the previous period of equal length, in one scan."""
    f = reader.filters
    prev_start, _prev_end = f.previous
    o = reader.orders
    rows = reader.run(
        f"""
        SELECT date >= $start AS is_current,
               coalesce(sum(revenue), 0), coalesce(sum(revenue_excl_tax), 0),
               coalesce(sum(orders_{o}), 0), coalesce(sum(units), 0), coalesce(sum(margin), 0),
               coalesce(sum(discounts), 0), coalesce(sum(refunds), 0), coalesce(sum(refund_lines), 0),
               coalesce(sum(rorders_{o}), 0), coalesce(sum(lines), 0),
               list_sort(list_distinct(list(currency)))
        FROM agg_day WHERE {{where}} GROUP BY is_current
        """,
        prev_start,
        f.end,
        start=f.start,
    ).fetchall()
    out = {True: Kpis(), False: Kpis()}
    for row in rows:
        out[row[0]] = Kpis(
            row[1],
            row[2],
            int(row[3]),
            row[4],
            row[5],
            row[6],
            row[7],
            int(row[8]),
            int(row[9]),
            int(row[10]),
            currencies=tuple(row[11]),
        )
    return out[True], out[False]


def daily_trend(reader: _Reader) -> pd.DataFrame:
    """Revenue per day of the period, next to the same day offset of the previous period.

    Columns: offset, date, revenue, orders, prev_date, prev_revenue. A day without a fact
    file has revenue NaN (a gap); a loaded day without sales has 0.
    """
    f = reader.filters
    prev_start, _ = f.previous
    rows = reader.run(
        f"SELECT date, sum(revenue), sum(orders_{reader.orders}) FROM agg_day WHERE {{where}} GROUP BY date",
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
    """architecture.md §6 "top 20 products", by variant or by template ("all sizes together").

    Columns: product_id (the variant, or the template's first variant), product_name (the
    display name, or the template name), variants (how many were sold), product_category,
    brand, qty, revenue. A lake loaded before the variant columns shows `product_name`.
    """
    f = reader.filters
    cols = _cached(
        reader.cur,
        "dim_products_columns",
        lambda: _columns(reader.cur, "dim_products") if _has_table(reader.cur, "dim_products") else set(),
    )
    by_template = f.group == "template" and "product_tmpl_id" in cols
    if by_template:
        key = "coalesce(p.product_tmpl_id, -a.product_id)"
        name = "coalesce(any_value(p.template_name), any_value(p.product_name))"
    else:
        key = "a.product_id"
        display = "p.product_display_name, " if "product_display_name" in cols else ""
        name = f"any_value(coalesce({display}p.product_name))"
    join = "LEFT JOIN dim_products AS p USING (product_id)"
    if not cols:
        join = "LEFT JOIN (SELECT NULL::BIGINT AS product_id, NULL::VARCHAR AS product_name) AS p USING (product_id)"
    return reader.run(
        f"""
        SELECT min(a.product_id) AS product_id,
               coalesce({name}, 'Product ' || CAST(min(a.product_id) AS VARCHAR)) AS product_name,
               count(DISTINCT a.product_id) AS variants,
               any_value(a.category) AS product_category, any_value(a.brand) AS brand,
               CAST(sum(a.qty) AS DOUBLE) AS qty, CAST(sum(a.revenue) AS DOUBLE) AS revenue
        FROM (SELECT product_id, category, brand, sum(qty) AS qty, sum(revenue) AS revenue
              FROM (SELECT product_id, category, brand, qty, revenue FROM agg_product_month
                    WHERE month BETWEEN $m_lo AND $m_hi AND ($store IS NULL OR store_id = $store)
                      AND ($category IS NULL OR category = $category) AND ($brand IS NULL OR brand = $brand)
                    UNION ALL
                    SELECT product_id, category, brand, qty, revenue FROM agg_product
                    WHERE {{where}} AND NOT (date BETWEEN $m_lo AND $m_end))
              GROUP BY ALL) AS a
        {join}
        GROUP BY {key}
        ORDER BY sum(a.revenue) DESC, min(a.product_id)
        LIMIT $limit
        """,
        f.start,
        f.end,
        limit=limit,
        **_whole_months(f.start, f.end),
    ).df()


def _whole_months(lo: date, hi: date) -> dict[str, date]:
    """The calendar months lying wholly in [lo, hi]: `m_lo`..`m_hi` (first days), `m_end` (last day).

    When there is none, `m_lo` > `m_hi` and the range `m_lo`..`m_end` is empty.
    """
    first = lo if lo.day == 1 else _next_month(lo)
    after = _next_month(hi)
    last = hi.replace(day=1) if after - timedelta(days=1) == hi else _prev_month(hi.replace(day=1))
    end = _next_month(last) - timedelta(days=1)
    return {"m_lo": first, "m_hi": last, "m_end": end}


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _prev_month(d: date) -> date:
    return date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)


def _revenue_by(reader: _Reader, column: str, orders: str) -> pd.DataFrame:
    f = reader.filters
    # `column` and `orders` are constants chosen below, never a user value.
    return reader.run(
        f"""
        SELECT {column} AS name, CAST(sum(revenue) AS DOUBLE) AS revenue, CAST(sum(orders_{orders}) AS BIGINT) AS orders
        FROM agg_day WHERE {{where}} GROUP BY {column} ORDER BY sum(revenue) DESC, name
        """,
        f.start,
        f.end,
    ).df()


def revenue_by_category(reader: _Reader) -> pd.DataFrame:
    return _revenue_by(reader, "category", "cb" if reader.filters.brand is not None else "c")


def revenue_by_brand(reader: _Reader) -> pd.DataFrame:
    return _revenue_by(reader, "brand", "cb" if reader.filters.category is not None else "b")


def revenue_by_store(reader: _Reader) -> pd.DataFrame:
    f = reader.filters
    return reader.run(
        f"""
        WITH s AS (
            SELECT store_id, CAST(sum(revenue) AS DOUBLE) AS revenue,
                   CAST(sum(orders_{reader.orders}) AS BIGINT) AS orders
            FROM agg_day WHERE {{where}} GROUP BY store_id
        )
        SELECT s.store_id, coalesce(n.store_name, 'Store ' || CAST(s.store_id AS VARCHAR)) AS store_name,
               s.revenue, s.orders
        FROM s LEFT JOIN ({_store_names_sql(reader.cur)}) AS n USING (store_id)
        ORDER BY s.revenue DESC, s.store_id
        """,
        f.start,
        f.end,
    ).df()


def weekday_hour(reader: _Reader) -> pd.DataFrame:
    """Revenue per ISO weekday (1 = Monday) and store-local hour; every one of the 7×24 cells."""
    f = reader.filters
    if reader.orders == "all":  # no category or brand filter: the small table
        source = "SELECT date, local_hour, revenue, orders FROM hour_all WHERE {where_store}"
    else:
        source = f"SELECT date, local_hour, revenue, orders_{reader.orders} AS orders FROM agg_hour WHERE {{where}}"
    return reader.run(
        f"""
        WITH grid AS (SELECT w AS weekday, h AS hour FROM range(1, 8) t(w), range(0, 24) u(h)),
        cells AS (
            SELECT isodow(date) AS weekday, CAST(local_hour AS INTEGER) AS hour,
                   sum(revenue) AS revenue, sum(orders) AS orders
            FROM ({source}) GROUP BY ALL
        )
        SELECT g.weekday, g.hour, CAST(coalesce(c.revenue, 0) AS DOUBLE) AS revenue,
               CAST(coalesce(c.orders, 0) AS BIGINT) AS orders
        FROM grid g LEFT JOIN cells c USING (weekday, hour)
        ORDER BY g.weekday, g.hour
        """,
        f.start,
        f.end,
    ).df()


def _missing(info: LakeInfo, lo: date, hi: date) -> list[date]:
    return [d for d in (lo + timedelta(days=i) for i in range((hi - lo).days + 1)) if d not in info.loaded_days]


def load_overview(raw: Mapping[str, object], root: str | None = None) -> Overview:
    """Validate `raw` filters and run every query of the overview page on one consistent snapshot."""
    started = time.perf_counter()
    root = root or lake_root()
    with snapshot(root) as cur:
        result = _overview(cur, root, raw)
    result.seconds = time.perf_counter() - started
    log.info("overview %s in %.1f ms", dict(raw), result.seconds * 1000)
    return result


def _overview(cur: duckdb.DuckDBPyConnection, root: str, raw: Mapping[str, object]) -> Overview:
    info = lake_info(cur, root)
    result = Overview(info)
    if info.empty:
        return result
    try:
        filters = resolve_filters(raw, info)
    except InvalidFilter as exc:
        result.error = str(exc)
        return result
    result.filters = filters
    reader = _Reader(cur, info, filters)
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
