"""The SQL of the Payments & cash and Customers pages, over the serving tables.

Same rules as `queries`: the serving layer (`include/etl/serving.py`: `pay_day`, `sessions`,
`cust_day`, `agg_customer`, `cust_first`, `cust_first_all`, `ops_days`) is synced first, every query of a page
runs on one cursor in one read transaction, and every user value is a bind parameter.
The functions below take a cursor and a resolved `queries.Filters` (period and store;
category and brand do not apply to payments, sessions or customers); `load_payments`,
`load_sessions` and `load_customers` validate raw filter values and run a whole page.

What the figures mean (docs/lake-contract.md, "What the pages can query"):
- a payment method's amount includes its change lines (cash is what stayed in the drawer);
  its count is the payments tendered (change lines are not counted as payments);
- cash rounding of a period = payments - revenue over the days that have a payments file;
- a customer is *new* in a period when their first order in the lake (at the filtered store,
  or at any store) falls in it, *returning* otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypeVar

import duckdb
import pandas as pd

from dashboard import queries
from include.etl.config import lake_root

log = logging.getLogger(__name__)

METHOD_TYPES = {"cash": "Cash", "bank": "Card & bank", "pay_later": "Customer account"}
DEFAULT_THRESHOLD = Decimal("1.00")
TOP_CUSTOMERS = 20
_WHERE = "date BETWEEN $lo AND $hi AND ($store IS NULL OR store_id = $store)"


def _run(cur: duckdb.DuckDBPyConnection, sql: str, f: queries.Filters, **extra: object) -> duckdb.DuckDBPyConnection:
    """`sql` with `{where}` = the period and store of `f`; only the parameters it names are bound."""
    sql = sql.replace("{where}", _WHERE)
    values = {"lo": f.start, "hi": f.end, "store": f.store_id, **extra}
    return cur.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql})


def _days(f: queries.Filters) -> list[date]:
    return queries._day_list(f.start, f.end)


def day_status(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> dict[date, tuple[bool, bool, bool]]:
    """Loaded days of the period → (has payments, has sessions, has customers) (serving `ops_days`)."""
    rows = _run(cur, "SELECT date, payments, sessions, customers FROM ops_days WHERE date BETWEEN $lo AND $hi", f)
    return {d: (bool(p), bool(s), bool(c)) for d, p, s, c in rows.fetchall()}


def currency(cur: duckdb.DuckDBPyConnection, f: queries.Filters, info: queries.LakeInfo) -> str:
    """The currencies of the period's payments, else of the stores in the lake (`EUR`, `EUR/USD`)."""
    found = _run(cur, "SELECT DISTINCT currency FROM pay_day WHERE {where} AND currency IS NOT NULL", f).fetchall()
    names = sorted({c for (c,) in found}) or list(info.currencies)
    if f.store_id is not None and not found:
        names = [c for sid, c in _store_currencies(cur) if sid == f.store_id] or names
    return "/".join(names)


def _store_currencies(cur: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    return cur.execute(
        "SELECT store_id, arg_max(currency, date) FROM day_stores WHERE currency IS NOT NULL GROUP BY 1"
    ).fetchall()


# --------------------------------------------------------------------------- payments


@dataclass
class PaymentTotals:
    amount: Decimal = Decimal(0)
    payments: int = 0
    change: Decimal = Decimal(0)  # given back, positive
    change_count: int = 0
    refunds: Decimal = Decimal(0)  # paid back, negative
    refund_count: int = 0
    revenue: Decimal = Decimal(0)  # fact_sales revenue of the same days
    rounding: Decimal = Decimal(0)  # amount - revenue


def payment_totals(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> PaymentTotals:
    row = _run(
        cur,
        """
        WITH paid AS (
            SELECT coalesce(sum(amount), 0), coalesce(sum(payments), 0), coalesce(sum(change), 0),
                   coalesce(sum(change_count), 0), coalesce(sum(refunds), 0), coalesce(sum(refund_count), 0)
            FROM pay_day WHERE {where}),
        sold AS (
            SELECT coalesce(sum(revenue), 0) FROM agg_day
            WHERE {where} AND date IN (SELECT date FROM ops_days WHERE payments AND date BETWEEN $lo AND $hi))
        SELECT * FROM paid, sold
        """,
        f,
    ).fetchone()
    amount, payments, change, change_count, refunds, refund_count, revenue = row
    return PaymentTotals(
        amount, int(payments), -change, int(change_count), refunds, int(refund_count), revenue, amount - revenue
    )


def payment_methods(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> pd.DataFrame:
    """Payment-method mix: method (its latest name), type, type_label, amount, payments, share (% of amount)."""
    df = _run(
        cur,
        """
        WITH names AS (SELECT method_id, arg_max(method_name, date) AS method FROM pay_day GROUP BY 1),
        m AS (SELECT n.method, arg_max(p.method_type, p.date) AS type, sum(p.amount) AS amount,
                     sum(p.payments) AS payments
              FROM pay_day p JOIN names n USING (method_id) WHERE {where} GROUP BY n.method)
        SELECT method, type, CAST(amount AS DOUBLE) AS amount, CAST(payments AS BIGINT) AS payments,
               CAST(100 * amount / nullif(sum(amount) OVER (), 0) AS DOUBLE) AS share
        FROM m ORDER BY amount DESC, method
        """,
        f,
    ).df()
    df.insert(2, "type_label", [METHOD_TYPES.get(t, str(t)) for t in df["type"]])
    return df


def payment_types(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> pd.DataFrame:
    """Cash vs card share: type, label, amount, payments, share (% of amount), in `METHOD_TYPES` order."""
    rows = _run(
        cur,
        "SELECT method_type, sum(amount), sum(payments) FROM pay_day WHERE {where} GROUP BY 1",
        f,
    ).fetchall()
    found = {t: (a, int(n)) for t, a, n in rows}
    total = sum((a for a, _n in found.values()), Decimal(0))
    order = [t for t in METHOD_TYPES if t in found] + sorted(t for t in found if t not in METHOD_TYPES)
    records = [
        (
            t,
            METHOD_TYPES.get(t, t),
            float(found[t][0]),
            found[t][1],
            float(100 * found[t][0] / total) if total else None,
        )
        for t in order
    ]
    return pd.DataFrame.from_records(records, columns=["type", "label", "amount", "payments", "share"])


def payments_daily(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> pd.DataFrame:
    """Per day of the period: amount per method type (cash, bank, pay_later), total, change, rounding.

    A day without a payments file (not loaded, or loaded before payments existed) is NaN (a gap);
    a loaded day without payments is 0.
    """
    rows = _run(
        cur,
        "SELECT date, method_type, sum(amount), sum(change) FROM pay_day WHERE {where} GROUP BY ALL",
        f,
    ).fetchall()
    revenue = dict(_run(cur, "SELECT date, sum(revenue) FROM agg_day WHERE {where} GROUP BY 1", f).fetchall())
    status = day_status(cur, f)
    by_day: dict[date, dict[str, Decimal]] = {}
    for day, mtype, amount, change in rows:
        entry = by_day.setdefault(day, {})
        entry[mtype] = entry.get(mtype, Decimal(0)) + amount
        entry["change"] = entry.get("change", Decimal(0)) - change
    records = []
    for day in _days(f):
        if not status.get(day, (False, False, False))[0]:
            records.append((day, None, None, None, None, None, None))
            continue
        entry = by_day.get(day, {})
        total = sum((v for k, v in entry.items() if k != "change"), Decimal(0))
        values = [float(entry.get(t, 0)) for t in METHOD_TYPES]
        rounding = total - revenue.get(day, Decimal(0))
        records.append((day, *values, float(total), float(entry.get("change", 0)), float(rounding)))
    return pd.DataFrame.from_records(records, columns=["date", *METHOD_TYPES, "total", "change", "rounding"])


def sessions(cur: duckdb.DuckDBPyConnection, f: queries.Filters, threshold: Decimal) -> pd.DataFrame:
    """Sessions of the period with |cash difference| >= threshold, and the sessions still open (newest first).

    Columns: date, store_id, store_name (the current name), session_id, session_name, state, status ("closed" |
    "open"), opened_by, closed_by, start_local, stop_local, expected_cash, counted_cash, cash_difference
    (None while open: never 0).
    """
    return _run(
        cur,
        f"""
        SELECT s.date, s.store_id, coalesce(n.store_name, s.store_name) AS store_name, s.session_id, s.session_name,
               s.state,
               CASE WHEN s.state = 'closed' THEN 'closed' ELSE 'open' END AS status,
               s.opened_by, s.closed_by, s.start_local, s.stop_local,
               CAST(s.expected_cash AS DOUBLE) AS expected_cash, CAST(s.counted_cash AS DOUBLE) AS counted_cash,
               CAST(s.cash_difference AS DOUBLE) AS cash_difference
        FROM sessions s LEFT JOIN ({queries._store_names_sql(cur)}) AS n USING (store_id)
        WHERE s.date BETWEEN $lo AND $hi AND ($store IS NULL OR s.store_id = $store)
          AND (abs(s.cash_difference) >= $threshold OR s.state <> 'closed' OR s.cash_difference IS NULL)
        ORDER BY s.date DESC, store_name, s.session_name
        """,
        f,
        threshold=threshold,
    ).df()


def session_counts(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> tuple[int, int, Decimal]:
    """(sessions of the period, still open, sum of the cash differences of the closed ones)."""
    n, still_open, diff = _run(
        cur,
        "SELECT count(*), count(*) FILTER (WHERE state <> 'closed'), coalesce(sum(cash_difference), 0)"
        " FROM sessions WHERE {where}",
        f,
    ).fetchone()
    return int(n), int(still_open), diff


# --------------------------------------------------------------------------- customers


@dataclass
class CustomerShare:
    revenue: Decimal = Decimal(0)
    revenue_known: Decimal = Decimal(0)
    orders: int = 0
    orders_known: int = 0

    @property
    def share(self) -> Decimal | None:
        """Share of revenue with a known customer, in percent."""
        return self.revenue_known / self.revenue * 100 if self.revenue else None

    @property
    def order_share(self) -> Decimal | None:
        return Decimal(self.orders_known) / self.orders * 100 if self.orders else None


@dataclass
class NewReturning:
    new: int = 0
    returning: int = 0
    new_revenue: Decimal = Decimal(0)
    returning_revenue: Decimal = Decimal(0)
    new_orders: int = 0
    returning_orders: int = 0

    @property
    def customers(self) -> int:
        return self.new + self.returning


def customer_share(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> CustomerShare:
    """Revenue and orders, and those with a known customer, over the days that record customers."""
    row = _run(
        cur,
        """
        SELECT coalesce(sum(revenue), 0), coalesce(sum(revenue_known), 0), coalesce(sum(orders), 0),
               coalesce(sum(orders_known), 0)
        FROM cust_day WHERE {where} AND date IN (SELECT date FROM ops_days WHERE customers)
        """,
        f,
    ).fetchone()
    return CustomerShare(row[0], row[1], int(row[2]), int(row[3]))


def _first(f: queries.Filters) -> str:
    """Each customer's first day in the lake: at the filtered store, or at any store."""
    if f.store_id is None:
        return "SELECT customer_id, first_date FROM cust_first_all"
    return "SELECT customer_id, first_date FROM cust_first WHERE store_id = $store"


def new_vs_returning(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> NewReturning:
    """A customer is new when their first day falls in the period (so they bought in it), else returning."""
    rows = _run(
        cur,
        f"""
        WITH new AS (SELECT customer_id FROM ({_first(f)}) WHERE first_date BETWEEN $lo AND $hi),
        active AS (SELECT customer_id, sum(revenue) AS revenue, sum(orders) AS orders
                   FROM agg_customer WHERE {{where}} GROUP BY 1)
        SELECT customer_id IN (SELECT customer_id FROM new) AS is_new, count(*), sum(revenue), sum(orders)
        FROM active GROUP BY 1
        """,
        f,
    ).fetchall()
    out = NewReturning()
    for is_new, n, revenue, orders in rows:
        if is_new:
            out.new, out.new_revenue, out.new_orders = int(n), revenue, int(orders)
        else:
            out.returning, out.returning_revenue, out.returning_orders = int(n), revenue, int(orders)
    return out


def customers_daily(cur: duckdb.DuckDBPyConnection, f: queries.Filters) -> pd.DataFrame:
    """Customers per day: new (their first order in the lake is that day) and returning; NaN for days
    that do not record customers. Summed over the period, `new` is the period's new customers."""
    # distinct customers per day, counted when the day was summarised (a customer of two stores once)
    active = (
        "SELECT date, customers FROM cust_date WHERE date BETWEEN $lo AND $hi"
        if f.store_id is None
        else "SELECT date, customers FROM cust_day WHERE date BETWEEN $lo AND $hi AND store_id = $store"
    )
    rows = _run(
        cur,
        f"""
        WITH active AS ({active}),
        new AS (SELECT first_date AS date, count(*) AS new FROM ({_first(f)})
                WHERE first_date BETWEEN $lo AND $hi GROUP BY 1)
        SELECT date, coalesce(new.new, 0), active.customers - coalesce(new.new, 0)
        FROM active LEFT JOIN new USING (date)
        """,
        f,
    ).fetchall()
    counts = {d: (int(n), int(r)) for d, n, r in rows}
    status = day_status(cur, f)
    records = []
    for day in _days(f):
        if not status.get(day, (False, False, False))[2]:
            records.append((day, None, None))
        else:
            records.append((day, *counts.get(day, (0, 0))))
    return pd.DataFrame.from_records(records, columns=["date", "new", "returning"])


def top_customers(cur: duckdb.DuckDBPyConnection, f: queries.Filters, limit: int = TOP_CUSTOMERS) -> pd.DataFrame:
    """customer_id, customer_name (id and name only: nothing else about a person is in the lake),
    revenue, orders, share (% of the period's revenue with a known customer), first_day (in the lake)."""
    names = (  # the names of the top customers only: the dimension may hold every customer ever seen
        "SELECT customer_id, any_value(customer_name) AS customer_name FROM dim_customers"
        " WHERE customer_id IN (SELECT customer_id FROM top) GROUP BY 1"
        if queries._has_table(cur, "dim_customers")
        else "SELECT NULL::BIGINT AS customer_id, NULL::VARCHAR AS customer_name WHERE false"
    )
    return _run(
        cur,
        f"""
        WITH top AS (SELECT customer_id, sum(revenue) AS revenue, sum(orders) AS orders
                     FROM agg_customer WHERE {{where}} GROUP BY 1 ORDER BY revenue DESC, customer_id LIMIT $limit),
        known AS (SELECT sum(revenue_known) AS total FROM cust_day WHERE {{where}})
        SELECT t.customer_id, coalesce(n.customer_name, 'Customer ' || CAST(t.customer_id AS VARCHAR)) AS customer_name,
               CAST(t.revenue AS DOUBLE) AS revenue, CAST(t.orders AS BIGINT) AS orders,
               CAST(100 * t.revenue / nullif(known.total, 0) AS DOUBLE) AS share,
               strftime(first.first_date, '%Y-%m-%d') AS first_day
        FROM top t CROSS JOIN known
        LEFT JOIN ({names}) AS n USING (customer_id)
        LEFT JOIN ({_first(f)}) AS first USING (customer_id)
        ORDER BY t.revenue DESC, t.customer_id
        """,
        f,
        limit=limit,
    ).df()


# --------------------------------------------------------------------------- pages


@dataclass
class _Page:
    info: queries.LakeInfo
    filters: queries.Filters | None = None
    error: str | None = None
    missing_days: list[date] = field(default_factory=list)  # no fact file at all
    currency: str = ""
    seconds: float = 0.0


P = TypeVar("P", bound=_Page)


@dataclass
class PaymentsPage(_Page):
    without_payments: list[date] = field(default_factory=list)  # loaded before payments were recorded
    totals: PaymentTotals = field(default_factory=PaymentTotals)
    methods: pd.DataFrame | None = None
    types: pd.DataFrame | None = None
    daily: pd.DataFrame | None = None
    sessions: int = 0
    open_sessions: int = 0
    cash_difference: Decimal = Decimal(0)


@dataclass
class SessionsPage(_Page):
    threshold: Decimal = DEFAULT_THRESHOLD
    without_sessions: list[date] = field(default_factory=list)
    rows: pd.DataFrame | None = None


@dataclass
class CustomersPage(_Page):
    without_customers: list[date] = field(default_factory=list)  # loaded before partner_id existed
    customers_since: date | None = None  # the first day of the lake that records customers: "new" counts from it
    share: CustomerShare = field(default_factory=CustomerShare)
    split: NewReturning = field(default_factory=NewReturning)
    daily: pd.DataFrame | None = None
    top: pd.DataFrame | None = None


def _open(page: _Page, cur: duckdb.DuckDBPyConnection, raw: Mapping[str, object]) -> queries.Filters | None:
    """Resolve the filters of `page`; None (with `page.error` set, or an empty lake) when nothing can be shown."""
    if page.info.empty:
        return None
    try:
        f = queries.resolve_filters(raw, page.info)
    except queries.InvalidFilter as exc:
        page.error = str(exc)
        return None
    page.filters = f
    page.missing_days = queries._missing(page.info, f.start, f.end)
    page.currency = currency(cur, f, page.info)
    return f


def _without(cur: duckdb.DuckDBPyConnection, f: queries.Filters, which: int) -> list[date]:
    return sorted(d for d, flags in day_status(cur, f).items() if not flags[which])


def _timed(
    name: str,
    raw: Mapping[str, object],
    root: str | None,
    build: Callable[[duckdb.DuckDBPyConnection, queries.LakeInfo], P],
) -> P:
    """`build` a page on one synced, consistent snapshot of the serving layer, and log how long it took."""
    started = time.perf_counter()
    root = root or lake_root()
    with queries.snapshot(root) as cur:
        page = build(cur, queries.lake_info(cur, root))
    page.seconds = time.perf_counter() - started
    log.info("%s %s in %.1f ms", name, dict(raw), page.seconds * 1000)
    return page


def load_payments(raw: Mapping[str, object], root: str | None = None) -> PaymentsPage:
    """Everything of the Payments & cash page but the sessions grid, on one consistent snapshot."""

    def build(cur: duckdb.DuckDBPyConnection, info: queries.LakeInfo) -> PaymentsPage:
        page = PaymentsPage(info)
        f = _open(page, cur, raw)
        if f is None:
            return page
        page.without_payments = _without(cur, f, 0)
        page.totals = payment_totals(cur, f)
        page.methods = payment_methods(cur, f)
        page.types = payment_types(cur, f)
        page.daily = payments_daily(cur, f)
        page.sessions, page.open_sessions, page.cash_difference = session_counts(cur, f)
        return page

    return _timed("payments", raw, root, build)


def load_sessions(raw: Mapping[str, object], threshold: Decimal, root: str | None = None) -> SessionsPage:
    """The sessions grid: sessions with |cash difference| >= `threshold`, and the open ones."""

    def build(cur: duckdb.DuckDBPyConnection, info: queries.LakeInfo) -> SessionsPage:
        page = SessionsPage(info, threshold=threshold)
        f = _open(page, cur, raw)
        if f is None:
            return page
        page.without_sessions = _without(cur, f, 1)
        page.rows = sessions(cur, f, threshold)
        return page

    return _timed("sessions", {**raw, "threshold": str(threshold)}, root, build)


def load_customers(raw: Mapping[str, object], root: str | None = None) -> CustomersPage:
    def build(cur: duckdb.DuckDBPyConnection, info: queries.LakeInfo) -> CustomersPage:
        page = CustomersPage(info)
        f = _open(page, cur, raw)
        if f is None:
            return page
        page.without_customers = _without(cur, f, 2)
        page.customers_since = cur.execute("SELECT min(date) FROM ops_days WHERE customers").fetchone()[0]
        page.share = customer_share(cur, f)
        page.split = new_vs_returning(cur, f)
        page.daily = customers_daily(cur, f)
        page.top = top_customers(cur, f)
        return page

    return _timed("customers", raw, root, build)


def parse_threshold(text: object) -> Decimal:
    """A threshold typed by a person: a non-negative amount; anything else is `DEFAULT_THRESHOLD`."""
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except (ArithmeticError, ValueError):
        return DEFAULT_THRESHOLD
    return value if value.is_finite() and 0 <= value < Decimal("1e12") else DEFAULT_THRESHOLD
