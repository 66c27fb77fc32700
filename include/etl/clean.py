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
import pyarrow.compute as pc

from include.etl import lake, schema
from include.etl.business_day import parse_odoo_datetime, to_local
from include.etl.extract import SHAPE_OK, load_records, load_staging, load_table
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


# Integer digits of the lake's decimal columns: DECIMAL(18, 2 | 3 | 4), and DECIMAL(6, 2) for discount_pct.
_INTEGER_DIGITS = {CENT: 16, _QTY: 15, _PRICE: 14}
_PERCENT_DIGITS = 4


def money(value: Any, name: str, quantum: Decimal = CENT, digits: int | None = None) -> Decimal:
    """Odoo float → exact Decimal at `quantum` (half-up, as Odoo rounds currency amounts).

    A number too big for its lake column (`digits` integer digits) is rejected here, with its
    name, instead of overflowing the Parquet writer later and failing the whole day.
    """
    if isinstance(value, bool) or value is None:
        raise Invalid(f"{name} is missing")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(f"{name} is not a finite number: {value!r}")
        # repr() is the shortest text that round-trips the float Odoo sent.
        exact = Decimal(repr(value))
        limit = Decimal(10) ** (_INTEGER_DIGITS.get(quantum, 16) if digits is None else digits)
        if abs(exact) >= limit or abs(exact := exact.quantize(quantum, rounding=ROUND_HALF_UP)) >= limit:
            raise Invalid(f"{name} is out of range: {value!r}")
        return exact
    raise Invalid(f"{name} is not numeric: {value!r}")


def _in_range(amount: Decimal, name: str) -> Decimal:
    """A computed amount (margin, tax, discount) that still fits DECIMAL(18, 2)."""
    if abs(amount) >= Decimal(10) ** _INTEGER_DIGITS[CENT]:
        raise Invalid(f"{name} is out of range: {amount}")
    return amount


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
    discount = money(line["discount"], "discount", digits=_PERCENT_DIGITS)
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
    discount_amount = _in_range(
        (price_unit * qty * discount / 100).quantize(CENT, rounding=ROUND_HALF_UP), "discount amount"
    )
    tax_amount = _in_range(revenue - revenue_excl, "tax amount")
    margin = _in_range(revenue_excl - cost, "margin")
    order_amount_total = money(order["amount_total"], "order amount_total")
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
        "tax_amount": tax_amount,
        "discount_amount": discount_amount,
        "cost": cost,
        "margin": margin,
        "is_refund": qty < 0,
        "refunded_line_id": refunded[0] if refunded else None,
        "user_id": user[0] if user else None,
        "employee_id": employee[0] if employee else None,
        "partner_id": partner[0] if partner else None,
        "product_name": line.get("full_product_name") or product[1],
        "order_amount_total": order_amount_total,
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


def _exact_m2o(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and type(value[0]) is int and isinstance(value[1], str)


def _optional_m2o(value: Any) -> bool:
    return value is None or value is False or _exact_m2o(value)


_FLOAT_EXACT = 2**53  # an int beyond it would not survive the raw layer's float column unchanged


def _number(value: Any, bound: float = 1e13) -> bool:
    """A plain finite number below `bound`: the column-wise path cannot overflow a lake column with it."""
    kind = type(value)
    return (kind is float and math.isfinite(value) and -bound < value < bound) or (
        kind is int and -_FLOAT_EXACT <= value <= _FLOAT_EXACT and -bound < value < bound
    )


# Bounds of the column-wise path: within them no value nor product (discount amount ≤ 1e6 × 1e9 ×
# 100 % = 1e15) overflows DECIMAL(18, 2); a line beyond them goes through `clean_line`, which checks.
_FAST_BOUNDS = {"qty": 1e6, "price_unit": 1e9, "discount": 100.000001}


_MONEY_LINE_KEYS = ("qty", "price_unit", "discount", "price_subtotal", "price_subtotal_incl", "total_cost")


def line_shape_ok(line: dict[str, Any]) -> bool:
    """The line has exactly the shapes `clean_line` accepts, so its raw typed columns say it all.

    Computed by `extract` for each staged line. A line for which this is false (a missing key,
    a many2one of another shape, a value that is not a finite number, ...) is validated by
    `clean_line` on its JSON instead, which finds and records the reason.
    """
    if any(key not in line for key in _REQUIRED_LINE_KEYS):
        return False
    full_name = line.get("full_product_name")
    return (
        type(line["id"]) is int
        and _exact_m2o(line["order_id"])
        and _exact_m2o(line["product_id"])
        and all(_number(line[key], _FAST_BOUNDS.get(key, 1e13)) for key in _MONEY_LINE_KEYS)
        and _optional_m2o(line.get("refunded_orderline_id"))
        and (full_name is None or full_name is False or isinstance(full_name, str))
    )


def order_shape_ok(order: dict[str, Any]) -> bool:
    """The order has exactly the shapes `clean_line` accepts (its state and date are checked by `clean`)."""
    if any(key not in order for key in _REQUIRED_ORDER_KEYS):
        return False
    return (
        isinstance(order["name"], str)
        and isinstance(order["state"], str)
        and isinstance(order["date_order"], str)
        and _exact_m2o(order["config_id"])
        and _exact_m2o(order["session_id"])
        and _exact_m2o(order["company_id"])
        and all(_optional_m2o(order.get(key)) for key in ("currency_id", "user_id", "employee_id", "partner_id"))
        and _number(order["amount_total"])
    )


def _decimal_column(values: Any, quantum: Decimal, arrow_type: pa.DataType) -> pa.Array:
    """`money()` of a float column, computed once per distinct value (the same Decimal, exactly)."""
    distinct = pc.unique(values)
    decimals = [
        None if v is None else Decimal(repr(v)).quantize(quantum, rounding=ROUND_HALF_UP) for v in distinct.to_pylist()
    ]
    return pa.array(decimals, arrow_type).take(pc.index_in(values, distinct))


def _datetime_column(values: Any) -> pa.Array:
    """`_parse_optional` of a text column, once per distinct value."""
    distinct = pc.unique(values)
    parsed = [_parse_optional(v) for v in distinct.to_pylist()]
    return pa.array(parsed, pa.timestamp("us")).take(pc.index_in(values, distinct))


def _order_side(orders: pa.Table, ctx: CleanContext) -> tuple[pa.Table, pa.Array]:
    """Per staged order: the clean columns that come from the order, and whether lines of it can go fast.

    An order goes fast when its shapes are exact (`order_shape_ok`), its state is known, its
    `date_order` parses and falls on the business day; its lines then need only line checks.
    """
    fast: list[bool] = []
    ts_list: list[datetime | None] = []
    hours: list[int | None] = []
    names: list[str | None] = []
    for ok, state, date_order, config_id, config_name in zip(
        orders[SHAPE_OK].to_pylist(),
        orders["order_state"].to_pylist(),
        orders["order_date_order"].to_pylist(),
        orders["order_config_id"].to_pylist(),
        orders["order_config_id_name"].to_pylist(),
        strict=True,
    ):
        ts = local = None
        if ok and state in ORDER_STATES:
            try:
                ts = parse_odoo_datetime(date_order)
                local = to_local(ts, ctx.tz)
            except (TypeError, ValueError):
                ts = None
        good = local is not None and local.date() == ctx.day
        fast.append(good)
        ts_list.append(ts if good else None)
        hours.append(local.hour if good and local is not None else None)
        names.append(ctx.store_names.get(config_id, config_name) if good else None)
    side = pa.table(
        {
            "order_name": orders["order_name"],
            "store_id": orders["order_config_id"],
            "store_name": pa.array(names, pa.string()),
            "session_id": orders["order_session_id"],
            "company_id": orders["order_company_id"],
            "currency": orders["order_currency_id_name"],
            "order_state": orders["order_state"],
            "order_ts_utc": pa.array(ts_list, pa.timestamp("us")),
            "local_hour": pa.array(hours, pa.int8()),
            "user_id": orders["order_user_id"],
            "employee_id": orders["order_employee_id"],
            "partner_id": orders["order_partner_id"],
            "order_amount_total": orders["order_amount_total"],
            "order_write_date": orders["order_write_date"],
        }
    )
    return side, pa.array(fast, pa.bool_())


def _fast_rows(lines: pa.Table, order_side: pa.Table, ctx: CleanContext) -> pa.Table:
    """Clean rows of lines known to pass every rule, column-wise: the values `clean_line` would give."""
    take = lines["_order_row"]
    order = {name: order_side[name].take(take) for name in order_side.column_names}
    qty = _decimal_column(lines["qty"], _QTY, schema.QTY)
    price = _decimal_column(lines["price_unit"], _PRICE, pa.decimal128(18, 4))
    discount = _decimal_column(lines["discount"], CENT, pa.decimal128(6, 2))
    revenue = _decimal_column(lines["price_subtotal_incl"], CENT, schema.MONEY)
    revenue_excl = _decimal_column(lines["price_subtotal"], CENT, schema.MONEY)
    cost = _decimal_column(lines["total_cost"], CENT, schema.MONEY)
    # (price_unit * qty * discount / 100) rounded half-up, in Decimal as `clean_line` does; zero without discount
    discounted = pc.not_equal(discount, pa.scalar(Decimal(0), discount.type)).to_pylist()
    discount_amount = _discount_amounts(discounted, price, qty, discount)
    full_name = lines["full_product_name"]
    product_name = pc.if_else(
        pc.and_(pc.is_valid(full_name), pc.not_equal(pc.fill_null(full_name, ""), "")),
        full_name,
        lines["product_id_name"],
    )
    n = lines.num_rows
    columns = {
        "date": pa.repeat(pa.scalar(ctx.day, pa.date32()), n),
        "order_id": lines["order_id"],
        "order_name": order["order_name"],
        "line_id": lines["id"],
        "product_id": lines["product_id"],
        "store_id": order["store_id"],
        "store_name": order["store_name"],
        "session_id": order["session_id"],
        "company_id": order["company_id"],
        "currency": order["currency"],
        "order_state": order["order_state"],
        "order_ts_utc": order["order_ts_utc"],
        "local_hour": order["local_hour"],
        "quantity": qty,
        "price_unit": price,
        "discount_pct": discount,
        "revenue": revenue,
        "revenue_excl_tax": revenue_excl,
        "tax_amount": pc.subtract(revenue, revenue_excl).cast(schema.MONEY),
        "discount_amount": discount_amount,
        "cost": cost,
        "margin": pc.subtract(revenue_excl, cost).cast(schema.MONEY),
        "is_refund": pc.less(qty, pa.scalar(Decimal(0), schema.QTY)),
        "refunded_line_id": lines["refunded_orderline_id"],
        "user_id": order["user_id"],
        "employee_id": order["employee_id"],
        "partner_id": order["partner_id"],
        "product_name": product_name,
        "order_amount_total": _decimal_column(order["order_amount_total"], CENT, schema.MONEY),
        "line_write_date": _datetime_column(lines["write_date"]),
        "order_write_date": _datetime_column(order["order_write_date"]),
    }
    return pa.Table.from_pydict(columns, CLEAN_LINES)


def _discount_amounts(discounted: list[bool], price: pa.Array, qty: pa.Array, discount: pa.Array) -> pa.Array:
    if not any(discounted):
        return pa.array([Decimal(0)] * len(discounted), schema.MONEY)
    mask = pa.array(discounted, pa.bool_())
    computed = iter(
        (p * q * d / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        for p, q, d in zip(
            price.filter(mask).to_pylist(), qty.filter(mask).to_pylist(), discount.filter(mask).to_pylist(), strict=True
        )
    )
    return pa.array([next(computed) if has else Decimal(0) for has in discounted], schema.MONEY)


def clean_table(
    lines: pa.Table, orders: pa.Table, ctx: CleanContext, fast: bool = True
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """(clean rows, rejects) of the staged lines and orders, in line order.

    Lines whose record and order have exact shapes, a unique id, a known product and an
    existing refunded line are cleaned column-wise (`_fast_rows`); every other line goes
    through `clean_line` on its JSON, which rejects it with its reason or cleans it the same
    way. `fast=False` sends every line through `clean_line` (the reference the tests compare with).
    """
    from include.etl import raw

    positions = raw.order_positions(lines["order_id"].to_pylist(), orders["order_id"].to_pylist())
    order_side, order_fast = _order_side(orders, ctx)
    ids = lines["id"]
    counts = pc.value_counts(ids.drop_null())
    duplicated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    refunded = lines["refunded_orderline_id"]
    go_fast = pc.and_(
        pc.and_(pc.fill_null(lines[SHAPE_OK], False), pc.fill_null(order_fast.take(positions), False)),
        pc.and_(
            pc.invert(pc.is_in(ids, duplicated)),
            pc.and_(
                pc.is_in(lines["product_id"], pa.array(sorted(ctx.known_products), pa.int64())),
                pc.or_kleene(
                    pc.is_null(refunded),
                    pc.is_in(refunded, pa.array(sorted(ctx.existing_refunded), pa.int64())),
                ),
            ),
        ),
    )
    go_fast = pc.fill_null(go_fast, False)
    if isinstance(go_fast, pa.ChunkedArray):
        go_fast = go_fast.combine_chunks()
    if not fast:
        go_fast = pa.array([False] * lines.num_rows, pa.bool_())
    index = pa.array(range(lines.num_rows), pa.int64())
    fast_lines = lines.append_column("_order_row", positions).filter(go_fast)
    fast_table = _fast_rows(fast_lines, order_side, ctx)
    slow = pc.invert(go_fast)
    slow_index = index.filter(slow).to_pylist()
    rows: list[dict[str, Any]] = []
    row_index: list[int] = []
    rejects: list[dict[str, Any]] = []
    if slow_index:
        slow_lines = lines.select(["line_json"]).take(pa.array(slow_index, pa.int64()))["line_json"].to_pylist()
        slow_orders = orders["order_json"].take(positions.take(pa.array(slow_index, pa.int64()))).to_pylist()
        parsed: dict[str, dict[str, Any]] = {}  # each order's JSON is parsed once, not once per line
        for i, line_json, order_json in zip(slow_index, slow_lines, slow_orders, strict=True):
            line = json.loads(line_json)
            order = None
            if order_json:
                order = parsed.get(order_json)
                if order is None:
                    order = parsed[order_json] = json.loads(order_json)
            try:
                rows.append(clean_line(line, order, ctx))
                row_index.append(i)
            except Invalid as exc:
                rejects.append(
                    {
                        "date": ctx.day,
                        "line_id": line.get("id") if isinstance(line.get("id"), int) else None,
                        "order_id": (m2o(line.get("order_id"), "order_id", required=False) or (None,))[0]
                        if isinstance(line.get("order_id"), list)
                        else None,
                        "reason": str(exc),
                        "line_json": line_json,
                    }
                )
    if not rows:
        return fast_table, rejects
    slow_table = pa.Table.from_pylist(rows, CLEAN_LINES)
    both = pa.concat_tables([fast_table, slow_table])
    order_by = pa.concat_arrays([index.filter(go_fast), pa.array(row_index, pa.int64())])
    return both.take(pc.sort_indices(order_by)), rejects


def clean_day(raw_path: str, staging_dir: str, lake_root: str, day: date, tz: tzinfo) -> CleanSummary:
    """The day's clean and rejects files, from the staged lines and orders (the same records as `raw_path`)."""
    del raw_path  # the raw file holds the same records; staging has them typed, with their shape flags
    meta = load_staging(staging_dir, "meta")
    ctx = CleanContext(
        day=day,
        tz=tz,
        known_products={p["id"] for p in load_records(staging_dir, "products")},
        existing_refunded=set(meta["existing_refunded_line_ids"]),
        store_names={s["id"]: s["name"] for s in load_records(staging_dir, "stores") if isinstance(s.get("name"), str)},
    )
    table, rejects = clean_table(load_table(staging_dir, "lines"), load_table(staging_dir, "orders"), ctx)
    reasons = Counter(_reason_kind(r["reason"]) for r in rejects)
    rejects_written = lake.write_parquet(
        pa.Table.from_pylist(rejects, REJECTS), lake.Lake(lake_root).partition_file(lake.REJECTS, day)
    )
    total = table.num_rows + len(rejects)
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
    written = lake.write_parquet(table, lake.Lake(lake_root).partition_file(lake.CLEAN_LINES, day))
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
