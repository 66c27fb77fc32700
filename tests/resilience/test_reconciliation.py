"""Reconciliation: a day whose lines do not add up to Odoo's order totals is not published."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nk_quality import run_gates

from include.etl import tasks
from include.etl.fact import ReconciliationError
from tests.resilience._support import TZ, client, expected, fingerprint, lake_day, temp_files

DAY = date(2025, 1, 23)


def test_order_total_mismatch_fails_with_both_figures_and_keeps_the_published_day(fresh_sim, tmp_path):
    sim = fresh_sim
    odoo = client(sim)
    tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)
    before, before_day = fingerprint(tmp_path, DAY), lake_day(tmp_path, DAY)
    order_id = expected(sim, DAY)["order_ids"][7]
    sim.admin({"op": "mismatch_order_total", "order_id": order_id, "delta": "0.05"})
    stats = expected(sim, DAY)
    assert Decimal(stats["amount_total"]) - Decimal(stats["revenue"]) == Decimal("0.05")

    with pytest.raises(ReconciliationError) as err:
        tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)

    message = str(err.value)
    assert f"fact revenue {stats['revenue']} != sum of amount_total of counted orders {stats['amount_total']}" in (
        message
    )
    assert "difference -0.05" in message
    assert fingerprint(tmp_path, DAY) == before
    assert lake_day(tmp_path, DAY) == before_day
    assert temp_files(tmp_path) == []
