"""Clean layer: validated, typed order lines; every rejected line goes to the rejects file with its reason."""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa

from include.etl import lake, schema
from include.etl.business_day import parse_odoo_datetime, to_local
from include.etl.extract import load_records, load_staging
from include.etl.states import ORDER_STATES

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
_QTY = Decimal("0.001")
_PRICE = Decimal("0.0001")

CLEAN_LINES = pa.schema(
    [
        *schema.FACT_SALES,
        ("product_name", pa.string()),
        ("order_amount_total", schema.MONEY),
        ("line_write_date", pa.timestamp("us")),
        ("order_write_date", pa.timestamp("us")),
    ]
)
REJECTS = pa.schema(
    [
        ("date", pa.date32()),
        ("line_id", pa.int64()),
        ("order_id", pa.int64()),
        ("reason", pa.string()),
        ("line_json", pa.string()),
    ]
)


class RejectThresholdExceeded(RuntimeError):
    """Too large a share of the day's lines failed validation to load a truthful picture."""


def max_reject_share() -> float:
    """`NK_DASH_MAX_REJECT_SHARE`: the share of rejected lines above which a day fails (default 0.01)."""
    return float(os.environ.get("NK_DASH_MAX_REJECT_SHARE", "0.01"))


class Invalid(ValueError):
    """A line fails a validation rule; the message is the reason recorded in the rejects file."""


def money(value: Any, name: str, quantum: Decimal = CENT) -> Decimal:
    """Odoo float → exact Decimal at `quantum` (half-up, as Odoo rounds currency amounts)."""
    if isinstance(value, bool) or value is None:
        raise Invalid(f"{name} is missing")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(f"{name} is not a finite number: {value!r}")
        # repr() is the shortest text that round-trips the float Odoo sent.
        return Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    raise Invalid(f"{name} is not numeric: {value!r}")


def m2o(value: Any, name: str, required: bool = True) -> tuple[int, str] | None:
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and not isinstance(value[0], bool):
        return value[0], str(value[1])
    if value is False or value is None:
        if required:
            raise Invalid(f"{name} is empty")
        return None
    raise Invalid(f"{name} is not a many2one [id, name]: {value!r}")


@dataclass
class CleanContext:
    day: date
    tz: tzinfo
    known_products: set[int]
    existing_refunded: set[int]
    store_names: dict[int, str] = field(default_factory=dict)  # pos.config `name` (stored, not display)
    seen_line_ids: set[int] = field(default_factory=set)


_REQUIRED_LINE_KEYS = (
    "id",
    "order_id",
    "product_id",
    "qty",
    "price_unit",
    "discount",
    "price_subtotal",
    "price_subtotal_incl",
    "total_cost",
)
_REQUIRED_ORDER_KEYS = ("id", "name", "date_order", "state", "config_id", "session_id", "company_id", "amount_total")


def clean_line(line: dict[str, Any], order: dict[str, Any] | None, ctx: CleanContext) -> dict[str, Any]:
    """One typed clean row, or `Invalid` with the reason."""
    for key in _REQUIRED_LINE_KEYS:
        if key not in line:
            raise Invalid(f"field '{key}' missing from the source record")
    line_id = line["id"]
    if not isinstance(line_id, int) or isinstance(line_id, bool):
        raise Invalid(f"line id is not an integer: {line_id!r}")
    if line_id in ctx.seen_line_ids:
        raise Invalid(f"duplicated line id {line_id}")
    order_ref = m2o(line["order_id"], "order_id")
    assert order_ref is not None
    if order is None:
        raise Invalid(f"order {order_ref[0]} of the line was not returned by Odoo")
    for key in _REQUIRED_ORDER_KEYS:
        if key not in order:
            raise Invalid(f"order field '{key}' missing from the source record")
    state = order["state"]
    if state not in ORDER_STATES:
        raise Invalid(f"unknown order state {state!r}")
    try:
        ts_utc = parse_odoo_datetime(order["date_order"])
    except (TypeError, ValueError):
        raise Invalid(f"order date_order is not an Odoo datetime: {order['date_order']!r}") from None
    local = to_local(ts_utc, ctx.tz)
    if local.date() != ctx.day:
        raise Invalid(f"order date {local:%Y-%m-%d %H:%M} (store time) is outside business day {ctx.day}")
    product = m2o(line["product_id"], "product_id")
    assert product is not None
    if product[0] not in ctx.known_products:
        raise Invalid(f"unknown product {product[0]}")
    qty = money(line["qty"], "qty", _QTY)
    price_unit = money(line["price_unit"], "price_unit", _PRICE)
    discount = money(line["discount"], "discount")
    revenue_excl = money(line["price_subtotal"], "price_subtotal")
    revenue = money(line["price_subtotal_incl"], "price_subtotal_incl")
    cost = money(line["total_cost"], "total_cost")
    refunded = m2o(line.get("refunded_orderline_id"), "refunded_orderline_id", required=False)
    if refunded is not None and refunded[0] not in ctx.existing_refunded:
        raise Invalid(f"refund of line {refunded[0]}, which does not exist in Odoo")
    config = m2o(order["config_id"], "order config_id")
    session = m2o(order["session_id"], "order session_id")
    company = m2o(order["company_id"], "order company_id")
    currency = m2o(order.get("currency_id"), "order currency_id", required=False)
    user = m2o(order.get("user_id"), "order user_id", required=False)
    employee = m2o(order.get("employee_id"), "order employee_id", required=False)
    partner = m2o(order.get("partner_id"), "order partner_id", required=False)
    ctx.seen_line_ids.add(line_id)
    assert config and session and company
    return {
        "date": ctx.day,
        "order_id": order_ref[0],
        "order_name": str(order["name"]),
        "line_id": line_id,
        "product_id": product[0],
        "store_id": config[0],
        # the stored name: the many2one's display name carries the session state in Odoo 16/17
        "store_name": ctx.store_names.get(config[0], config[1]),
        "session_id": session[0],
        "company_id": company[0],
        "currency": currency[1] if currency else None,
        "order_state": state,
        "order_ts_utc": ts_utc,
        "local_hour": local.hour,
        "quantity": qty,
        "price_unit": price_unit,
        "discount_pct": discount,
        "revenue": revenue,
        "revenue_excl_tax": revenue_excl,
        "tax_amount": revenue - revenue_excl,
        "discount_amount": (price_unit * qty * discount / 100).quantize(CENT, rounding=ROUND_HALF_UP),
        "cost": cost,
        "margin": revenue_excl - cost,
        "is_refund": qty < 0,
        "refunded_line_id": refunded[0] if refunded else None,
        "user_id": user[0] if user else None,
        "employee_id": employee[0] if employee else None,
        "partner_id": partner[0] if partner else None,
        "product_name": line.get("full_product_name") or product[1],
        "order_amount_total": money(order["amount_total"], "order amount_total"),
        "line_write_date": _parse_optional(line.get("write_date")),
        "order_write_date": _parse_optional(order.get("write_date")),
    }


def _parse_optional(value: Any) -> datetime | None:
    try:
        return parse_odoo_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class CleanSummary:
    clean_path: str
    rejects_path: str
    rows: int
    rejected: int
    reasons: dict[str, int]


def clean_day(raw_path: str, staging_dir: str, lake_root: str, day: date, tz: tzinfo) -> CleanSummary:
    raw = lake.read_table(raw_path, columns=["line_json", "order_json"]).to_pylist()
    meta = load_staging(staging_dir, "meta")
    ctx = CleanContext(
        day=day,
        tz=tz,
        known_products={p["id"] for p in load_records(staging_dir, "products")},
        existing_refunded=set(meta["existing_refunded_line_ids"]),
        store_names={s["id"]: s["name"] for s in load_records(staging_dir, "stores") if isinstance(s.get("name"), str)},
    )
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    orders: dict[str, dict[str, Any]] = {}  # each order's JSON is parsed once, not once per line
    for rec in raw:
        line = json.loads(rec["line_json"])
        order_json = rec["order_json"]
        order = None
        if order_json:
            order = orders.get(order_json)
            if order is None:
                order = orders[order_json] = json.loads(order_json)
        try:
            rows.append(clean_line(line, order, ctx))
        except Invalid as exc:
            rejects.append(
                {
                    "date": day,
                    "line_id": line.get("id") if isinstance(line.get("id"), int) else None,
                    "order_id": (m2o(line.get("order_id"), "order_id", required=False) or (None,))[0]
                    if isinstance(line.get("order_id"), list)
                    else None,
                    "reason": str(exc),
                    "line_json": rec["line_json"],
                }
            )
    reasons = Counter(_reason_kind(r["reason"]) for r in rejects)
    rejects_written = lake.write_parquet(
        pa.Table.from_pylist(rejects, REJECTS), lake.Lake(lake_root).partition_file(lake.REJECTS, day)
    )
    total = len(rows) + len(rejects)
    share = len(rejects) / total if total else 0.0
    if rejects:
        log.warning(
            "rejected %d of %d lines of %s (%.2f%%): %s; details in %s",
            len(rejects),
            total,
            day,
            share * 100,
            dict(reasons),
            rejects_written.path,
        )
    limit = max_reject_share()
    if share > limit:
        raise RejectThresholdExceeded(
            f"{len(rejects)} of {total} lines of {day} failed validation ({share:.1%} > "
            f"NK_DASH_MAX_REJECT_SHARE {limit:.1%}): {dict(reasons)}; see {rejects_written.path}. "
            "The day was not loaded; the lake keeps its previous data for it."
        )
    written = lake.write_parquet(
        pa.Table.from_pylist(rows, CLEAN_LINES), lake.Lake(lake_root).partition_file(lake.CLEAN_LINES, day)
    )
    log.info(
        "clean receipt: day=%s rows=%d rejected=%d path=%s bytes=%d seconds=%.2f",
        day,
        written.rows,
        len(rejects),
        written.path,
        written.bytes,
        written.seconds,
    )
    return CleanSummary(written.path, rejects_written.path, written.rows, len(rejects), dict(reasons))


def _reason_kind(reason: str) -> str:
    """Group reasons for the log: the text before the first number or quote."""
    for i, ch in enumerate(reason):
        if ch.isdigit() or ch in "'\":":
            return reason[:i].strip() or reason
    return reason
