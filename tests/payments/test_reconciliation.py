"""The payment reconciliation rule, and what a day that breaks it does to the lake."""

from __future__ import annotations

import gzip
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from include.etl import lake, tasks
from include.etl.extract import drop_staging
from include.etl.payments import PaymentReconciliationError, reconcile
from odoo_sim.testing import SimulatorProcess
from tests.payments._support import DAYS, TZ, client

DAY = date(2025, 3, 1)
COUNTED = {"paid", "done", "invoiced"}


def _order(oid: int, store: int, total: float, paid: float, state: str = "paid") -> dict:
    return {"id": oid, "name": f"Shop/{oid:04d}", "state": state, "config_id": [store, f"Shop {store}"],
            "amount_total": total, "amount_paid": paid}


def _row(oid: int, amount: str) -> dict:
    return {"order_id": oid, "amount": Decimal(amount)}


def test_rounding_is_accepted_within_the_step_of_a_rounding_store_only() -> None:
    orders = [_order(1, 1, 4.81, 4.81), _order(2, 2, 4.81, 4.80), _order(3, 2, 10.03, 10.05),
              _order(4, 1, 3.0, 0.0, state="draft")]
    # order 2 paid 5.00 cash with 0.20 change; the draft order has no payment and is not counted
    rows = [_row(1, "4.81"), _row(2, "5.00"), _row(2, "-0.20"), _row(3, "10.05")]
    total, rounding = reconcile(DAY, rows, orders, COUNTED, {1: Decimal(0), 2: Decimal("0.05")})
    assert (total, rounding) == (Decimal("19.65"), Decimal("0.01"))
    assert sum(r["amount"] for r in rows) == total + rounding


@pytest.mark.parametrize(
    ("orders", "rows", "message"),
    [
        ([_order(1, 1, 4.81, 4.80)], [_row(1, "4.80")], "exceeds the store's cash rounding 0"),
        ([_order(1, 2, 4.81, 4.71)], [_row(1, "4.71")], "exceeds the store's cash rounding 0.05"),
        ([_order(1, 1, 4.81, 4.81)], [_row(1, "5.00")], "payments 5.00 != amount_paid 4.81"),
        ([_order(1, 1, 4.81, 4.81)], [], "payments 0 != amount_paid 4.81"),
    ],
)
def test_a_day_that_does_not_reconcile_is_refused(orders, rows, message) -> None:
    with pytest.raises(PaymentReconciliationError, match="do not reconcile") as err:
        reconcile(DAY, rows, orders, COUNTED, {1: Decimal(0), 2: Decimal("0.05")})
    assert message in str(err.value)


def test_a_missing_payment_leaves_the_published_day_as_it_was(sim: SimulatorProcess, loaded_lake: Path) -> None:
    """A run whose payments do not reconcile raises in load_payments; the published files stay the old ones."""
    day = DAYS[1]
    published = {t: lake.partition_file(loaded_lake, t, day) for t in (lake.FACT_SALES, lake.FACT_PAYMENTS)}
    before = {t: p.read_bytes() for t, p in published.items()}
    staging = tasks.extract(client(sim), day, TZ, str(loaded_lake))
    try:
        path = Path(staging, "payments.json.gz")
        payments = json.loads(gzip.decompress(path.read_bytes()))
        lost = payments.pop(len(payments) // 2)
        path.write_bytes(gzip.compress(json.dumps(payments).encode()))
        with pytest.raises(PaymentReconciliationError, match=f"\\({lost['pos_order_id'][0]}\\): payments"):
            tasks.load_payments(staging, str(loaded_lake), day, TZ)
    finally:
        drop_staging(staging)
    assert {t: p.read_bytes() for t, p in published.items()} == before
