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
import os
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

from include.etl import lake, serving, views
from include.etl.config import lake_root

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_BRAND = serving.NO_BRAND
UNCATEGORISED = serving.UNCATEGORISED
DEFAULT_DAYS = 30
TOP_N = 20
GROUPS = ("variant", "template")
FILTER_KEYS = ("start", "end", "period", "compare", "store", "category", "brand", "group")
# Period shortcuts, relative to the last loaded day of the lake (not the wall clock): a
# bookmarked `?period=mtd` moves with the data.
PERIODS = {
    "yesterday": "Yesterday",
    "wtd": "Week to date",
    "mtd": "Month to date",
    "4w": "Last 4 full weeks",
    "30d": "Last 30 days",
}
COMPARES = {"previous": "previous period", "year": "same period last year"}
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
    period: str | None = None  # a shortcut of PERIODS that chose start and end
    compare: str = "previous"  # one of COMPARES

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The period compared with: the one of equal length ending the day before `start`, or last year's."""
        if self.compare == "year":
            return year_back(self.start), year_back(self.end)
        return self.start - timedelta(days=self.days), self.start - timedelta(days=1)

    @property
    def compare_label(self) -> str:
        return COMPARES[self.compare]

    def query(self) -> dict[str, str]:
        """The URL query parameters that reproduce these filters (a shortcut stays a shortcut)."""
        if self.period is not None:
            out = {"period": self.period}
        else:
            out = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.compare != "previous":
            out["compare"] = self.compare
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


def year_back(day: date) -> date:
    """The same calendar day a year earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def period_range(name: str, last_day: date) -> tuple[date, date]:
    """The days of shortcut `name` (a key of PERIODS) as seen the morning after `last_day`."""
    if name == "yesterday":
        return last_day, last_day
    if name == "wtd":
        return last_day - timedelta(days=last_day.weekday()), last_day
    if name == "mtd":
        return last_day.replace(day=1), last_day
    if name == "4w":
        end = last_day if last_day.weekday() == 6 else last_day - timedelta(days=last_day.weekday() + 1)
        return end - timedelta(days=27), end
    if name == "30d":
        return last_day - timedelta(days=29), last_day
    raise InvalidFilter(f"period must be one of {', '.join(PERIODS)} (got {name[:40]!r})")


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
    period = _clean(raw, "period")
    if period is not None:  # a shortcut wins over dates
        start, end = period_range(period, info.last_loaded_day or default_end)
    compare = _clean(raw, "compare") or "previous"
    if compare not in COMPARES:
        raise InvalidFilter(f"compare must be one of {', '.join(COMPARES)} (got {compare[:40]!r})")
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
    return Filters(start, end, store_id, category, brand, group, period, compare)


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
    prev_start, prev_end = f.previous
    o = reader.orders
    rows = reader.run(
        f"""
        SELECT date >= $start AS is_current,
               coalesce(sum(revenue), 0), coalesce(sum(revenue_excl_tax), 0),
               coalesce(sum(orders_{o}), 0), coalesce(sum(units), 0), coalesce(sum(margin), 0),
               coalesce(sum(discounts), 0), coalesce(sum(refunds), 0), coalesce(sum(refund_lines), 0),
               coalesce(sum(rorders_{o}), 0), coalesce(sum(lines), 0),
               list_sort(list_distinct(list(currency)))
        FROM agg_day WHERE {{where}} AND (date >= $start OR date <= $prev_end) GROUP BY is_current
        """,
        prev_start,
        f.end,
        start=f.start,
        prev_end=prev_end,
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
    prev_start, prev_end = f.previous
    rows = reader.run(
        f"SELECT date, sum(revenue), sum(orders_{reader.orders}) FROM agg_day"
        " WHERE {where} AND (date >= $start OR date <= $prev_end) GROUP BY date",
        prev_start,
        f.end,
        start=f.start,
        prev_end=prev_end,
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
    return [d for d in _day_list(lo, hi) if d not in info.loaded_days]


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


# --------------------------------------------------------------------------- other pages


@dataclass
class Page:
    """What every page needs besides its own figures: the lake, the filters, the missing days."""

    info: LakeInfo
    filters: Filters | None = None
    error: str | None = None
    missing_days: list[date] = field(default_factory=list)
    missing_previous_days: list[date] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    currencies: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def currency(self) -> str:
        found = sorted(set(self.currencies)) or list(self.info.currencies)
        return "/".join(found) if found else ""


def load_page(
    name: str,
    raw: Mapping[str, object],
    build: Callable[[_Reader, Page], None],
    root: str | None = None,
    **overrides: object,
) -> Page:
    """Resolve `raw` and let `build` fill `page.data` on one consistent snapshot of the serving layer.

    `overrides` replace resolved filter fields (a page that ignores category and brand
    passes `category=None, brand=None`).
    """
    started = time.perf_counter()
    root = root or lake_root()
    with snapshot(root) as cur:
        info = lake_info(cur, root)
        page = Page(info)
        if not info.empty:
            try:
                filters = resolve_filters(raw, info)
            except InvalidFilter as exc:
                page.error = str(exc)
            else:
                if overrides:
                    filters = replace(filters, **overrides)
                page.filters = filters
                page.missing_days = _missing(info, filters.start, filters.end)
                page.missing_previous_days = _missing(info, *filters.previous)
                build(_Reader(cur, info, filters), page)
    page.seconds = time.perf_counter() - started
    log.info("%s %s in %.1f ms", name, dict(raw), page.seconds * 1000)
    return page


def _day_list(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def like_for_like_days(info: LakeInfo, start: date, end: date) -> tuple[list[date], list[date]]:
    """The days of [start, end] loaded this year AND a year before, with those earlier days."""
    now = [d for d in _day_list(start, end) if d in info.loaded_days and year_back(d) in info.loaded_days]
    return now, [year_back(d) for d in now]


def store_comparison(reader: _Reader) -> pd.DataFrame:
    """One row per store: revenue, orders, basket, margin, like-for-like revenue now and a year before.

    Like for like counts only the days of the period loaded in both years (and the same
    days one year earlier), so a day missing on either side leaves both out.
    """
    f = reader.filters
    now_days, before_days = like_for_like_days(reader.info, f.start, f.end)
    rows = reader.cur.execute(
        f"""
        WITH cur AS (
            SELECT store_id, sum(revenue) AS revenue, sum(revenue_excl_tax) AS revenue_excl_tax,
                   sum(orders_all) AS orders, sum(margin) AS margin, sum(units) AS units,
                   sum(refunds) AS refunds, sum(discounts) AS discounts,
                   string_agg(DISTINCT currency, '/' ORDER BY currency) AS currency
            FROM agg_day WHERE date BETWEEN $lo AND $hi AND ($store IS NULL OR store_id = $store)
            GROUP BY store_id
        ),
        lfl_days AS (
            SELECT unnest($now::DATE[]) AS date, true AS is_now
            UNION ALL SELECT unnest($before::DATE[]) AS date, false AS is_now
        ),
        lfl AS (
            SELECT a.store_id,
                   sum(a.revenue) FILTER (WHERE d.is_now) AS lfl_now,
                   sum(a.revenue) FILTER (WHERE NOT d.is_now) AS lfl_before
            FROM agg_day AS a JOIN lfl_days AS d USING (date)
            WHERE $store IS NULL OR a.store_id = $store
            GROUP BY a.store_id
        )
        SELECT store_id, coalesce(n.store_name, 'Store ' || CAST(store_id AS VARCHAR)) AS store_name,
               coalesce(cur.currency, n.currency) AS currency,
               CAST(coalesce(cur.revenue, 0) AS DOUBLE) AS revenue,
               CAST(coalesce(cur.revenue_excl_tax, 0) AS DOUBLE) AS revenue_excl_tax,
               CAST(coalesce(cur.orders, 0) AS BIGINT) AS orders,
               CAST(coalesce(cur.margin, 0) AS DOUBLE) AS margin,
               CAST(coalesce(cur.units, 0) AS DOUBLE) AS units,
               CAST(coalesce(cur.discounts, 0) AS DOUBLE) AS discounts,
               CAST(coalesce(cur.refunds, 0) AS DOUBLE) AS refunds,
               CAST(lfl.lfl_now AS DOUBLE) AS lfl_now, CAST(lfl.lfl_before AS DOUBLE) AS lfl_before
        FROM cur FULL JOIN lfl USING (store_id)
        LEFT JOIN ({_store_names_sql(reader.cur)}) AS n USING (store_id)
        ORDER BY revenue DESC, store_id
        """,
        {"lo": f.start, "hi": f.end, "store": f.store_id, "now": now_days, "before": before_days},
    ).df()
    rows["basket"] = (rows["revenue"] / rows["orders"]).where(rows["orders"] > 0)
    rows["margin_pct"] = (rows["margin"] / rows["revenue_excl_tax"] * 100).where(rows["revenue_excl_tax"] != 0)
    rows["lfl_growth"] = ((rows["lfl_now"] - rows["lfl_before"]) / rows["lfl_before"].abs() * 100).where(
        rows["lfl_before"].fillna(0) != 0
    )
    return rows


def store_daily(reader: _Reader) -> pd.DataFrame:
    """Revenue per day and store (columns date, store_id, revenue); days without a file are absent."""
    f = reader.filters
    return reader.run(
        """
        SELECT date, store_id, CAST(sum(revenue) AS DOUBLE) AS revenue, CAST(sum(orders_all) AS BIGINT) AS orders
        FROM agg_day WHERE {where_store} GROUP BY date, store_id ORDER BY date, store_id
        """,
        f.start,
        f.end,
    ).df()


def partition_files(root: str, table: tuple[str, str], days: list[date]) -> dict[date, str]:
    """The published file of `table` for each of `days` that has one (no file is opened)."""
    if lake.is_s3(root):
        published = lake.Lake(root).published_files(table)
        return {d: published[d] for d in days if d in published}
    out = {}
    for d in days:
        path = lake.partition_file(root, table, d)
        if os.path.exists(path):
            out[d] = str(path)
    return out


_SESSION_COLUMNS = ["store_id", "sessions", "closed", "with_difference", "cash_difference"]


def sessions_by_store(reader: _Reader) -> tuple[pd.DataFrame, list[date]]:
    """Sessions started in the period per store, and the sum of their cash differences (fact_sessions).

    From the serving layer's `sessions` table where it has one, else from the period's
    `fact_sessions` files (a few rows per day); once per version of the serving layer, which
    the same publish changes. Also returns the loaded days of the period that have no
    sessions file (a lake loaded before the table existed).
    """
    f = reader.filters
    days = [d for d in _day_list(f.start, f.end) if d in reader.info.loaded_days]
    root = reader.info.root

    def compute() -> tuple[pd.DataFrame, list[date]]:
        if _has_table(reader.cur, "sessions") and _has_table(reader.cur, "ops_days"):
            return _sessions_from_serving(reader)
        files = partition_files(root, lake.FACT_SESSIONS, days)
        without = [d for d in days if d not in files]
        if not files:
            return pd.DataFrame(columns=_SESSION_COLUMNS), without
        df = reader.cur.execute(
            """
            SELECT store_id, count(*) AS sessions, count(*) FILTER (WHERE state = 'closed') AS closed,
                   count(*) FILTER (WHERE coalesce(cash_difference, 0) <> 0) AS with_difference,
                   CAST(coalesce(sum(cash_difference), 0) AS DOUBLE) AS cash_difference
            FROM read_parquet($files, hive_partitioning = false, union_by_name = true)
            WHERE $store IS NULL OR store_id = $store
            GROUP BY store_id ORDER BY store_id
            """,
            {"files": list(files.values()), "store": f.store_id},
        ).df()
        return df, without

    return _cached(reader.cur, f"sessions|{f.start}|{f.end}|{f.store_id}", compute)


def _sessions_from_serving(reader: _Reader) -> tuple[pd.DataFrame, list[date]]:
    """The same figures from the serving layer's copy of `fact_sessions`, where it keeps one."""
    f = reader.filters
    df = reader.run(
        """
        SELECT store_id, count(*) AS sessions, count(*) FILTER (WHERE state = 'closed') AS closed,
               count(*) FILTER (WHERE coalesce(cash_difference, 0) <> 0) AS with_difference,
               CAST(coalesce(sum(cash_difference), 0) AS DOUBLE) AS cash_difference
        FROM sessions WHERE {where_store} GROUP BY store_id ORDER BY store_id
        """,
        f.start,
        f.end,
    ).df()
    without = reader.run(
        "SELECT date FROM ops_days WHERE date BETWEEN $lo AND $hi AND NOT sessions ORDER BY date", f.start, f.end
    ).fetchall()
    return df, [d for (d,) in without]


def load_stores(raw: Mapping[str, object], root: str | None = None) -> Page:
    """The stores page: every store side by side (category and brand do not apply)."""

    def build(reader: _Reader, page: Page) -> None:
        table = store_comparison(reader)
        sessions, without = sessions_by_store(reader)
        table = table.merge(sessions, on="store_id", how="left")
        page.data = {
            "stores": table,
            "daily": store_daily(reader),
            "lfl_days": like_for_like_days(reader.info, reader.filters.start, reader.filters.end)[0],
            "days_without_sessions": without,
        }
        page.currencies = tuple(sorted({c for cs in table["currency"].dropna() for c in str(cs).split("/")}))

    return load_page("stores", raw, build, root, category=None, brand=None)


# ------------------------------------------------------------------ products


@dataclass(frozen=True)
class ProductChoice:
    """What the products page shows: one variant (`p:<id>`) or every variant of a template (`t:<id>`)."""

    kind: str  # "p" or "t"
    ident: int

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.ident}"


_CHOICE = re.compile(r"([pt]):(\d{1,18})")


def parse_product(value: object) -> ProductChoice | None:
    """`p:123` or `t:45` from the URL or the dropdown; anything else is no choice."""
    match = _CHOICE.fullmatch(str(value or "").strip())
    return ProductChoice(match.group(1), int(match.group(2))) if match else None


def _dim_columns(cur: duckdb.DuckDBPyConnection) -> set[str]:
    return _cached(
        cur, "dim_products_columns", lambda: _columns(cur, "dim_products") if _has_table(cur, "dim_products") else set()
    )


def product_options(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """`(value, label)` of every template with several variants and every product, by name; once per version."""
    return _cached(cur, "product_options", lambda: _product_options(cur))


def _product_options(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    cols = _dim_columns(cur)
    if not cols:
        return []
    display = "coalesce(product_display_name, product_name)" if "product_display_name" in cols else "product_name"
    rows = cur.execute(
        f"SELECT DISTINCT ON (product_id) product_id, coalesce({display}, 'Product ' || product_id) "
        "FROM dim_products ORDER BY 2, 1"
    ).fetchall()
    out = [(f"p:{pid}", str(name)) for pid, name in rows]
    if "product_tmpl_id" in cols:
        templates = cur.execute(
            """
            SELECT product_tmpl_id, coalesce(any_value(template_name), any_value(product_name)) AS name,
                   count(DISTINCT product_id) AS variants
            FROM dim_products WHERE product_tmpl_id IS NOT NULL
            GROUP BY product_tmpl_id HAVING count(DISTINCT product_id) > 1
            """
        ).fetchall()
        out += [(f"t:{tid}", f"{name} — all {n} variants") for tid, name, n in templates]
    return sorted(out, key=lambda o: (o[1].casefold(), o[0]))


def search_products(query: str | None, limit: int = 30, root: str | None = None) -> list[tuple[str, str]]:
    """Options whose name contains every word of `query` (case-insensitive), templates first on ties."""
    with snapshot(root) as cur:
        options = product_options(cur)
    words = (query or "").casefold().split()
    found = [o for o in options if all(w in o[1].casefold() or w == o[0] for w in words)]
    return found[:limit]


def product_label(value: str, root: str | None = None) -> str | None:
    with snapshot(root) as cur:
        return dict(product_options(cur)).get(value)


def _choice_ids(cur: duckdb.DuckDBPyConnection, choice: ProductChoice) -> list[tuple[int, str]]:
    """`(product_id, variant name)` of the choice; a product unknown to dim_products is itself."""
    cols = _dim_columns(cur)
    if choice.kind == "t" and "product_tmpl_id" in cols:
        variant = "coalesce(variant_values, product_name)" if "variant_values" in cols else "product_name"
        rows = cur.execute(
            f"SELECT DISTINCT ON (product_id) product_id, coalesce({variant}, 'Product ' || product_id)"
            " FROM dim_products WHERE product_tmpl_id = $t ORDER BY product_id",
            {"t": choice.ident},
        ).fetchall()
        return [(int(p), str(n)) for p, n in rows]
    if choice.kind == "t":
        return []
    name = "product_name"
    if "product_display_name" in cols:
        name = "coalesce(product_display_name, product_name)"
    row = (
        cur.execute(f"SELECT any_value({name}) FROM dim_products WHERE product_id = $p", {"p": choice.ident}).fetchone()
        if cols
        else None
    )
    return [(choice.ident, str(row[0]) if row and row[0] else f"Product {choice.ident}")]


def product_detail(reader: _Reader, product_ids: list[int], template: bool = False) -> dict[str, object]:
    """Every figure of the products page for `product_ids`, from the serving summaries.

    Returns `{"rollups": {(part, is_current): [row, ...]}}` where part is day, day_product,
    store, hour, product or total (day, day_product and hour for the period only).

    Sums come from `agg_product` / `product_hour` (day × store × product [× hour]); long
    periods read whole months from their `_month` tables and only the edge days from the
    daily ones, so the cost depends on the products and the period's shape, not on its
    length or the lake's. Distinct orders are exact: an order is in one day, store and hour,
    so per-product counts add up over those; over the variants of a template (`template`)
    the `orders_t` counts add up (see serving.py), per variant `orders`.
    """
    if not product_ids:
        return {"rollups": {}}
    f = reader.filters
    prev_lo, prev_hi = f.previous
    orders = "orders_t" if template else "orders"
    params: dict[str, object] = {
        "products": product_ids,
        "store": f.store_id,
        "lo": f.start,
        "hi": f.end,
        **_month_split(f.start, f.end, ""),
        **_month_split(prev_lo, prev_hi, "p"),
    }
    sums = "qty, revenue, revenue_excl_tax, margin, discounts, refunds, refunded_qty, lines, orders, orders_t"
    periods = _product_periods("store_id, product_id, " + sums, "agg_product_month", "agg_product")
    hours = _product_periods("local_hour, revenue, orders, orders_t", "product_hour_month", "product_hour", False)
    cur = reader.cur

    def run(sql: str) -> list[tuple]:
        return cur.execute(sql, {k: v for k, v in params.items() if k in set(_PARAM.findall(sql))}).fetchall()

    # Few rows (periods × stores × variants), rolled up here: exact Decimal sums, then floats.
    rows = run(
        f"""
        SELECT is_current, store_id, product_id, sum(qty), sum(revenue), sum(revenue_excl_tax), sum(margin),
               sum(discounts), sum(refunds), sum(refunded_qty), sum(lines), sum(orders), sum({orders})
        FROM ({periods}) GROUP BY ALL
        """
    )
    groups: dict[tuple[str, bool], dict[object, list]] = {}
    for current, store_id, product_id, *values in rows:
        for part, key, n_orders in (
            ("store", store_id, values[-1]),
            ("product", product_id, values[-2]),
            ("total", None, values[-1]),
        ):
            acc = groups.setdefault((part, bool(current)), {}).setdefault(key, [0] * 9)
            for i, v in enumerate(values[:8]):
                acc[i] += v
            acc[8] += n_orders
    parts: dict[tuple[str, bool], list[dict]] = {}
    for (part, current), by_key in groups.items():
        for key, acc in by_key.items():
            record: dict[str, object] = {"part": part, "is_current": current}
            if part != "total":
                record["store_id" if part == "store" else "product_id"] = key
            record.update((name, float(acc[i])) for i, name in enumerate(_PRODUCT_SUMS))
            record.update(lines=int(acc[7]), orders=int(acc[8]))
            parts.setdefault((part, current), []).append(record)
    days: dict[date, Decimal] = {}
    for day, product_id, revenue in run(
        """
        SELECT date, product_id, sum(revenue) FROM agg_product
        WHERE date BETWEEN $lo AND $hi AND list_contains($products, product_id)
          AND ($store IS NULL OR store_id = $store)
        GROUP BY ALL ORDER BY ALL
        """
    ):
        parts.setdefault(("day_product", True), []).append(
            {
                "part": "day_product",
                "is_current": True,
                "date": day,
                "product_id": product_id,
                "revenue": float(revenue),
            }
        )
        days[day] = days.get(day, Decimal(0)) + revenue
    for day, revenue in days.items():
        parts.setdefault(("day", True), []).append(
            {"part": "day", "is_current": True, "date": day, "revenue": float(revenue)}
        )
    for hour, revenue, n_orders in run(
        f"SELECT CAST(local_hour AS INTEGER), sum(revenue), sum({orders}) FROM ({hours}) GROUP BY ALL ORDER BY ALL"
    ):
        parts.setdefault(("hour", True), []).append(
            {"part": "hour", "is_current": True, "local_hour": hour, "revenue": float(revenue), "orders": int(n_orders)}
        )
    return {"rollups": parts}


_PRODUCT_SUMS = ("qty", "revenue", "revenue_excl_tax", "margin", "discounts", "refunds", "refunded_qty")


def _month_split(lo: date, hi: date, p: str) -> dict[str, date]:
    """[lo, hi] as whole months `{p}m_lo`..`{p}m_hi` and two edge ranges of days `{p}ea_*`, `{p}eb_*`.

    Plain ranges (an empty one has lo > hi), so each scan prunes its row groups by date.
    """
    m = _whole_months(lo, hi)
    if m["m_lo"] > m["m_hi"]:  # no whole month: all days are edge days
        edges = (lo, hi, hi + timedelta(days=1), hi)
    else:
        edges = (lo, m["m_lo"] - timedelta(days=1), m["m_end"] + timedelta(days=1), hi)
    names = ("ea_lo", "ea_hi", "eb_lo", "eb_hi")
    return {f"{p}m_lo": m["m_lo"], f"{p}m_hi": m["m_hi"], **{p + n: d for n, d in zip(names, edges, strict=True)}}


def _product_periods(columns: str, monthly: str, daily: str, previous: bool = True) -> str:
    """Rows of the chosen products in the period (and the compared one): whole months, then the edge days."""
    where = "list_contains($products, product_id) AND ($store IS NULL OR store_id = $store)"
    selects = []
    for current, p in ((True, ""), (False, "p")) if previous else ((True, ""),):
        head = f"SELECT {current} AS is_current, {columns} FROM"
        selects += [
            f"{head} {monthly} WHERE month BETWEEN ${p}m_lo AND ${p}m_hi AND {where}",
            f"{head} {daily} WHERE date BETWEEN ${p}ea_lo AND ${p}ea_hi AND {where}",
            f"{head} {daily} WHERE date BETWEEN ${p}eb_lo AND ${p}eb_hi AND {where}",
        ]
    return "\nUNION ALL\n".join(selects)


def load_product(raw: Mapping[str, object], product: object, root: str | None = None) -> Page:
    """The products page for the choice `product` (`p:<id>` or `t:<id>`); category and brand do not apply."""
    choice = parse_product(product)

    def build(reader: _Reader, page: Page) -> None:
        if choice is None:
            return
        variants = _choice_ids(reader.cur, choice)
        label = dict(product_options(reader.cur)).get(choice.value) or (variants[0][1] if variants else choice.value)
        page.data = {
            "choice": choice,
            "label": label,
            "variants": variants,
            **product_detail(reader, [p for p, _n in variants], template=choice.kind == "t"),
        }
        page.currencies = reader.info.currencies

    page = load_page("products", raw, build, root, category=None, brand=None)
    if choice is None and str(product or "").strip():
        page.data["invalid_product"] = True
    return page
