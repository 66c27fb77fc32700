"""Payments and sessions of a business day: extracted with the orders, reconciled with them, written pending.

How Odoo books a sale's money (point_of_sale/models/pos_order.py, pos_payment.py, pos_cash_rounding):
the till sends the tendered payment lines; when cash was overpaid, Odoo adds a *change* line on the
session's cash method (`amount = -amount_return`, `is_change = True`) and sets
`amount_paid = sum(payment_ids.amount)`, change included. With `pos.config.cash_rounding` the
amount due is `amount_total` rounded by the config's `account.cash.rounding`; the difference
`amount_paid - amount_total` is booked to the rounding account.

So the reconciliation of a day (docs/lake-contract.md, fact_payments):
  1. per counted order: sum of its pos.payment amounts (change lines included) = its `amount_paid`;
  2. per counted order: `amount_paid - amount_total` (its cash rounding) is 0 when its store has no
     cash rounding, and no larger than the rounding step (`account.cash.rounding.rounding`) when it has;
  3. hence per day: sum(fact_payments.amount) = sum(amount_total of counted orders) + sum(rounding).
A day that breaks 1 or 2 is not loaded (PaymentReconciliationError); the lake keeps its previous files.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from include.etl import lake, quality, schema
from include.etl.business_day import parse_odoo_datetime, to_local
from include.etl.clean import Invalid, m2o, money
from include.etl.extract import EncodedRecords, check_fields, encode_pages, load_records, load_staging
from include.etl.fact import ReconciliationError

if TYPE_CHECKING:
    from include.etl.odoo_client import OdooClient, Record

log = logging.getLogger(__name__)

PAYMENT_FIELDS = ("pos_order_id", "session_id", "payment_method_id", "amount", "is_change", "payment_date")
METHOD_FIELDS = ("name", "is_cash_count", "split_transactions")
SESSION_FIELDS = (
    "name",
    "config_id",
    "state",
    "user_id",
    "write_uid",
    "start_at",
    "stop_at",
    "cash_register_balance_start",
    "cash_real_transaction",
    "cash_register_balance_end",
    "cash_register_balance_end_real",
    "cash_register_difference",
)
ROUNDING_FIELDS = ("name", "rounding", "rounding_method")
_MONEY = ("float", "monetary")
EXPECTED_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "pos.payment": {
        "pos_order_id": ("many2one",),
        "session_id": ("many2one",),
        "payment_method_id": ("many2one",),
        "amount": _MONEY,
        "is_change": ("boolean",),
        "payment_date": ("datetime",),
    },
    "pos.payment.method": {"name": ("char",), "is_cash_count": ("boolean",), "split_transactions": ("boolean",)},
    "pos.session": {
        "name": ("char",),
        "config_id": ("many2one",),
        "state": ("selection",),
        "user_id": ("many2one",),
        "write_uid": ("many2one",),
        "start_at": ("datetime",),
        "stop_at": ("datetime",),
        "cash_register_balance_start": _MONEY,
        "cash_real_transaction": _MONEY,
        "cash_register_balance_end": _MONEY,
        "cash_register_balance_end_real": _MONEY,
        "cash_register_difference": _MONEY,
    },
}
STAGED = ("payments", "payment_methods", "sessions", "cash_roundings")


class PaymentReconciliationError(ReconciliationError):
    """The day's payments differ from Odoo's order totals beyond the stores' cash rounding."""


def extract(client: OdooClient, window: tuple[str, str]) -> dict[str, list[Record] | EncodedRecords]:
    """The day's payments (by their order's date_order), their methods and the sessions started that day.

    Paged `search_read` for payments and sessions, one batched `read` for the methods.
    """
    check_fields(client, EXPECTED_TYPES)
    method_ids: set[int] = set()

    def collect_methods(page: list[Record]) -> None:
        method_ids.update(ref[0] for p in page if (ref := _ref(p.get("payment_method_id"))))

    # kept as JSON text page by page: the day's payment records are never all decoded at once here
    payments = encode_pages(
        client.search_read_pages(
            "pos.payment",
            [("pos_order_id.date_order", ">=", window[0]), ("pos_order_id.date_order", "<", window[1])],
            PAYMENT_FIELDS,
        ),
        collect_methods,
    )
    methods = client.read("pos.payment.method", sorted(method_ids), METHOD_FIELDS) if method_ids else []
    sessions = client.search_read_all(
        "pos.session", [("start_at", ">=", window[0]), ("start_at", "<", window[1])], SESSION_FIELDS
    )
    return {"payments": payments, "payment_methods": methods, "sessions": sessions}


def session_store_ids(staged: dict[str, Any]) -> set[int]:
    return {ref[0] for s in staged["sessions"] if (ref := _ref(s.get("config_id")))}


def read_roundings(client: OdooClient, stores: list[Record]) -> list[Record]:
    """The account.cash.rounding of the stores that round cash (one batched `read`)."""
    ids = sorted({ref[0] for s in stores if s.get("cash_rounding") and (ref := _ref(s.get("rounding_method")))})
    return client.read("account.cash.rounding", ids, ROUNDING_FIELDS) if ids else []


def _ref(value: Any) -> tuple[int, str] | None:
    if type(value) is list and len(value) == 2 and type(value[0]) is int:
        return value[0], str(value[1])  # what m2o returns for a plain [id, name]
    try:
        return m2o(value, "many2one", required=False)
    except Invalid:
        return None


@functools.lru_cache(maxsize=1 << 16)
def _cents(value: float) -> Decimal:
    return money(value, "amount")


def _amount(value: Any, what: str, record_id: Any) -> Decimal:
    """`money(value, f"{what} {record_id}")`, once per distinct plain non-zero float; the name only when needed."""
    if type(value) is float and value and math.isfinite(value):  # 0.0 and -0.0 keep their own sign below
        return _cents(value)
    return money(value, f"{what} {record_id}")


@dataclass(frozen=True)
class PaymentsSummary:
    payments_path: str
    sessions_path: str
    payments: int
    sessions: int
    amount: str
    amount_total: str
    rounding: str
    change: str


def pending_file(staging_dir: str, table: tuple[str, str], day: date) -> Path | str:
    return lake.path_of(lake.join(staging_dir, lake.partition_file("", table, day).name))


def _method_type(method: Record) -> str:
    """Odoo's `pos.payment.method.type` (_compute_type): cash, pay_later (customer account) or bank."""
    if method.get("is_cash_count"):
        return "cash"
    if method.get("split_transactions"):
        return "pay_later"
    return "bank"


def _rounding_steps(stores: list[Record], roundings: list[Record]) -> dict[int, Decimal]:
    """Store id -> the largest rounding difference Odoo may book on one order (0 without cash rounding)."""
    step = {}
    for r in roundings:
        try:
            step[r["id"]] = money(r.get("rounding"), "rounding", Decimal("0.0001"))
        except Invalid:
            continue
    out = {}
    for s in stores:
        ref = _ref(s.get("rounding_method"))
        out[s["id"]] = step.get(ref[0], Decimal(0)) if s.get("cash_rounding") and ref else Decimal(0)
    return out


def payment_rows(
    day: date, payments: list[Record], orders: list[Record], methods: list[Record], counted: set[str]
) -> list[dict[str, Any]]:
    by_order = {o["id"]: o for o in orders}
    by_method = {m["id"]: m for m in methods}
    rows = []
    unknown = 0
    for p in payments:
        order_ref = _ref(p.get("pos_order_id"))
        order = by_order.get(order_ref[0]) if order_ref else None
        if order is None:
            unknown += 1  # an order synced between the two reads: it is not in this day's fact_sales either
            continue
        if order.get("state") not in counted:
            continue
        try:
            amount = _amount(p.get("amount"), "amount of pos.payment", p.get("id"))
        except Invalid as exc:
            raise PaymentReconciliationError(f"cannot reconcile the payments of {day}: {exc}") from None
        method = _ref(p.get("payment_method_id"))
        config = _ref(order.get("config_id"))
        session = _ref(p.get("session_id")) or _ref(order.get("session_id"))
        company = _ref(order.get("company_id"))
        currency = _ref(order.get("currency_id"))
        is_change = bool(p.get("is_change"))
        rows.append(
            {
                "date": day,
                "payment_id": p["id"],
                "order_id": order["id"],
                "order_name": str(order.get("name")),
                "store_id": config[0] if config else None,
                "session_id": session[0] if session else None,
                "company_id": company[0] if company else None,
                "payment_method_id": method[0] if method else None,
                "payment_method_name": (by_method.get(method[0], {}).get("name") or method[1]) if method else None,
                "payment_method_type": _method_type(by_method.get(method[0], {})) if method else None,
                "amount": amount,
                "currency": currency[1] if currency else None,
                "is_change": is_change,
                "is_refund": amount < 0 and not is_change,
                "payment_ts_utc": _ts(p.get("payment_date")),
                "order_state": order.get("state"),
            }
        )
    if unknown:
        log.warning("%d payment(s) of orders not read with the day's orders were left out", unknown)
    return rows


def reconcile(
    day: date, rows: list[dict[str, Any]], orders: list[Record], counted: set[str], steps: dict[int, Decimal]
) -> tuple[Decimal, Decimal]:
    """Check rules 1 and 2 of the module docstring; returns (sum of amount_total, sum of rounding)."""
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for r in rows:
        paid[r["order_id"]] += r["amount"]
    total = rounding = Decimal(0)
    problems: list[str] = []
    for order in orders:
        if order.get("state") not in counted:
            continue
        try:
            amount_total = _amount(order.get("amount_total"), "amount_total of order", order.get("id"))
            amount_paid = _amount(order.get("amount_paid"), "amount_paid of order", order.get("id"))
        except Invalid as exc:
            raise PaymentReconciliationError(f"cannot reconcile the payments of {day}: {exc}") from None
        got = paid.get(order["id"], Decimal(0))
        store = _ref(order.get("config_id"))
        step = steps.get(store[0], Decimal(0)) if store else Decimal(0)
        diff = amount_paid - amount_total
        if got != amount_paid:
            problems.append(f"order {order.get('name')} ({order['id']}): payments {got} != amount_paid {amount_paid}")
        elif abs(diff) > step:
            problems.append(
                f"order {order.get('name')} ({order['id']}): amount_paid {amount_paid} - amount_total "
                f"{amount_total} = {diff} exceeds the store's cash rounding {step}"
            )
        total += amount_total
        rounding += diff
    if problems:
        raise PaymentReconciliationError(
            f"the payments of business day {day} do not reconcile with Odoo ({len(problems)} order(s)): "
            + "; ".join(problems[:5])
            + (" …" if len(problems) > 5 else "")
            + "; the published payments were left as they were"
        )
    return total, rounding


def _ts(value: Any) -> datetime | None:
    try:
        return parse_odoo_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _money_or_none(value: Any, name: str) -> Decimal | None:
    try:
        return money(value, name)
    except Invalid:
        return None


def session_rows(day: date, sessions: list[Record], stores: list[Record], tz: tzinfo) -> list[dict[str, Any]]:
    store_by_id = {s["id"]: s for s in stores}
    rows = []
    for s in sessions:
        config = _ref(s.get("config_id"))
        store = store_by_id.get(config[0], {}) if config else {}
        opened = _ref(s.get("user_id"))
        closed = s.get("state") == "closed"
        closer = _ref(s.get("write_uid")) if closed else None
        start, stop = _ts(s.get("start_at")), _ts(s.get("stop_at"))
        currency = _ref(store.get("currency_id"))
        rows.append(
            {
                "date": day,
                "session_id": s["id"],
                "session_name": s.get("name") if isinstance(s.get("name"), str) else None,
                "store_id": config[0] if config else None,
                "store_name": _store_name(store, config),
                "state": s.get("state") if isinstance(s.get("state"), str) else None,
                "opened_by_id": opened[0] if opened else None,
                "opened_by": opened[1] if opened else None,
                "closed_by_id": closer[0] if closer else None,
                "closed_by": closer[1] if closer else None,
                "start_local": to_local(start, tz).replace(tzinfo=None) if start else None,
                "stop_local": to_local(stop, tz).replace(tzinfo=None) if stop else None,
                "start_utc": start,
                "stop_utc": stop,
                "opening_cash": _money_or_none(s.get("cash_register_balance_start"), "opening"),
                "cash_moves": _money_or_none(s.get("cash_real_transaction"), "cash moves"),
                "expected_cash": _money_or_none(s.get("cash_register_balance_end"), "expected"),
                # counted cash and its difference mean something once the session is closed
                "counted_cash": _money_or_none(s.get("cash_register_balance_end_real"), "counted") if closed else None,
                "cash_difference": _money_or_none(s.get("cash_register_difference"), "difference") if closed else None,
                "currency": currency[1] if currency else None,
            }
        )
    return rows


def _store_name(store: Record, config: tuple[int, str] | None) -> str | None:
    """The stored pos.config `name` (its display name carries the session state in Odoo 16/17)."""
    if isinstance(store.get("name"), str):
        return store["name"]
    return config[1] if config else None


def load_payments(staging_dir: str, lake_root: str, day: date, tz: tzinfo) -> PaymentsSummary:
    """Write the day's fact_payments and fact_sessions files pending in staging, once reconciled."""
    try:
        return _load_payments(staging_dir, lake_root, day, tz)
    finally:
        _cents.cache_clear()  # kept, its small objects would pin the freed records' memory in this process


def _load_payments(staging_dir: str, lake_root: str, day: date, tz: tzinfo) -> PaymentsSummary:
    meta = load_staging(staging_dir, "meta")
    counted = set(meta["counted_states"])
    orders = load_records(staging_dir, "orders")
    stores = load_records(staging_dir, "stores")
    rows = payment_rows(
        day,
        load_records(staging_dir, "payments"),
        orders,
        load_records(staging_dir, "payment_methods"),
        counted,
    )
    steps = _rounding_steps(stores, load_records(staging_dir, "cash_roundings"))
    amount_total, rounding = reconcile(day, rows, orders, counted, steps)
    amount = sum((r["amount"] for r in rows), Decimal(0))
    assert amount == amount_total + rounding  # rule 3 follows from rules 1 and 2
    table = pa.Table.from_pylist(rows, schema.FACT_PAYMENTS)
    payments_written = lake.write_parquet(table, pending_file(staging_dir, lake.FACT_PAYMENTS, day))
    with duckdb.connect(":memory:") as con:
        lake.register_on_duckdb(con, staging_dir)
        failed = quality.payment_gate_failures(con, payments_written.path, day)
    if failed:
        raise PaymentReconciliationError(f"the payments of {day} fail the quality checks: {failed}")
    sessions = session_rows(day, load_records(staging_dir, "sessions"), stores, tz)
    sessions_written = lake.write_parquet(
        pa.Table.from_pylist(sessions, schema.FACT_SESSIONS), pending_file(staging_dir, lake.FACT_SESSIONS, day)
    )
    change = sum((r["amount"] for r in rows if r["is_change"]), Decimal(0))
    log.info(
        "load_payments receipt: day=%s payments=%d amount %s = Odoo amount_total %s + cash rounding %s "
        "(change given %s) sessions=%d paths=%s, %s",
        day,
        payments_written.rows,
        amount,
        amount_total,
        rounding,
        -change,
        sessions_written.rows,
        payments_written.path,
        sessions_written.path,
    )
    return PaymentsSummary(
        payments_written.path,
        sessions_written.path,
        payments_written.rows,
        sessions_written.rows,
        str(amount),
        str(amount_total),
        str(rounding),
        str(change),
    )
