"""Load the star schema's fact partition for one business day, reconciled with Odoo to the cent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from include.etl import lake, schema
from include.etl.clean import Invalid, money
from include.etl.extract import load_records, load_table
from include.etl.states import COUNTED_STATES

log = logging.getLogger(__name__)


class ReconciliationError(RuntimeError):
    """The fact partition's revenue differs from Odoo's order totals."""


@dataclass(frozen=True)
class FactSummary:
    path: str
    rows: int
    orders: int
    revenue: str
    odoo_amount_total: str
    bytes: int
    seconds: float


def fact_table(clean: pa.Table) -> pa.Table:
    """Lines of counted orders (paid, done, invoiced), with the fact columns only."""
    counted = clean.filter(pc.is_in(clean["order_state"], pa.array(sorted(COUNTED_STATES))))
    return counted.select(schema.FACT_SALES.names).cast(schema.FACT_SALES)


def expected_revenue(orders: list[dict], excluded_order_ids: set[int]) -> Decimal:
    """Sum of `amount_total` of the counted orders, leaving out orders with rejected lines."""
    total = Decimal(0)
    for order in orders:
        if order.get("state") in COUNTED_STATES and order.get("id") not in excluded_order_ids:
            try:
                total += money(order.get("amount_total"), f"amount_total of order {order.get('id')}")
            except Invalid as exc:
                raise ReconciliationError(f"cannot reconcile: {exc}") from None
    return total


def staged_expected_revenue(staging_dir: str, excluded_order_ids: set[int]) -> Decimal:
    """`expected_revenue` of the staged orders, column-wise: the same Decimal sum, to the cent.

    An order whose `amount_total` is not a finite number has a null typed column: then the
    orders' JSON goes through `expected_revenue`, which names the order in its error.
    """
    orders = load_table(staging_dir, "orders", ["order_id", "order_state", "order_amount_total"])
    counted = pc.and_(
        pc.is_in(orders["order_state"], pa.array(sorted(COUNTED_STATES))),
        pc.invert(pc.is_in(orders["order_id"], pa.array(sorted(excluded_order_ids), pa.int64()))),
    )
    amounts = orders["order_amount_total"].filter(pc.fill_null(counted, False))
    if amounts.null_count:
        return expected_revenue(load_records(staging_dir, "orders"), excluded_order_ids)
    distinct = pc.unique(amounts)
    cents = [money(v, "amount_total") for v in distinct.to_pylist()]
    counts = pc.value_counts(pc.index_in(amounts, distinct))
    return sum(
        (
            cents[i] * n
            for i, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
        ),
        Decimal(0),
    )


def pending_fact_file(staging_dir: str, day: date) -> Path | str:
    return lake.path_of(lake.join(staging_dir, lake.partition_file("", lake.FACT_SALES, day).name))


def load_fact(clean_path: str, rejects_path: str, staging_dir: str, lake_root: str, day: date) -> FactSummary:
    facts = fact_table(lake.read_table(clean_path))
    rejected_orders = {
        oid for oid in lake.read_table(rejects_path, columns=["order_id"])["order_id"].to_pylist() if oid is not None
    }
    # Compare like with like: orders with a rejected line are left out on both sides.
    revenue = sum(
        (
            r
            for r, o in zip(facts["revenue"].to_pylist(), facts["order_id"].to_pylist(), strict=True)
            if o not in rejected_orders
        ),
        Decimal(0),
    )
    odoo_total = staged_expected_revenue(staging_dir, rejected_orders)
    if revenue != odoo_total:
        raise ReconciliationError(
            f"business day {day} does not reconcile with Odoo: fact revenue {revenue} != "
            f"sum of amount_total of counted orders {odoo_total} (difference {revenue - odoo_total}); "
            "the published fact partition was left as it was"
        )
    # Written beside the run's staging files: published by `publish` once the gates pass.
    written = lake.write_parquet(facts, pending_fact_file(staging_dir, day))
    orders = len(set(facts["order_id"].to_pylist()))
    log.info(
        "load_fact receipt: day=%s wrote %d fact rows (%d orders, revenue %s = Odoo amount_total %s%s) "
        "path=%s bytes=%d seconds=%.2f",
        day,
        written.rows,
        orders,
        revenue,
        odoo_total,
        f", {len(rejected_orders)} orders with rejected lines left out" if rejected_orders else "",
        written.path,
        written.bytes,
        written.seconds,
    )
    return FactSummary(
        written.path, written.rows, orders, str(revenue), str(odoo_total), written.bytes, written.seconds
    )
