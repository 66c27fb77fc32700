"""Late corrections reload a day's payments and customers with its sales."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import date, timedelta
from decimal import Decimal

from include.etl import publish, tasks, views
from include.etl.business_day import local_midnight_utc, odoo_datetime
from odoo_sim.testing import start_simulator
from tests.payments._support import SIM_OPTIONS, TZ, client, expected

TODAY = date(2025, 4, 3)
D1, D2 = TODAY - timedelta(days=1), TODAY - timedelta(days=2)


def _sim_now(sim) -> str:
    with urllib.request.urlopen(f"{sim.url}/sim/config", timeout=10) as resp:
        return json.loads(resp.read())["now"]


def _lake_payments(root: str, day: date) -> tuple[dict[str, str], list[int]]:
    con = views.connect(root)
    try:
        by_method = con.execute(
            "SELECT payment_method_name, sum(amount) FROM fact_payments WHERE date = ? GROUP BY 1", [day]
        ).fetchall()
        partners = con.execute(
            "SELECT DISTINCT partner_id FROM fact_sales WHERE date = ? AND partner_id IS NOT NULL ORDER BY 1", [day]
        ).fetchall()
    finally:
        con.close()
    return {m: str(a) for m, a in by_method}, [p[0] for p in partners]


def test_a_changed_day_is_reloaded_with_its_payments(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NK_DASH_CLOCK_SKEW_S", "0")
    options = {k: v for k, v in SIM_OPTIONS.items() if k != "now"} | {"lines_per_day": 150}
    root = str(tmp_path)
    with start_simulator(**options) as sim:
        odoo = client(sim)
        for day in (D2, D1):
            tasks.run_day(odoo, day, TZ, root)
        loaded = max(publish.read_manifest(root, d)["loaded_at_utc"] for d in (D2, D1))
        deadline = time.monotonic() + 10
        while _sim_now(sim) <= loaded:  # Odoo datetimes have whole seconds
            assert time.monotonic() < deadline
            time.sleep(0.05)
        before = expected(sim, D2)
        # a paid order with a customer is cancelled; a late (offline) order comes in on D-1
        victim = next(o for o in before["order_ids"] if odoo.read("pos.order", [o], ["partner_id"])[0]["partner_id"])
        sim.admin({"op": "cancel_order", "order_id": victim})
        late = sim.admin({"op": "late_order", "date_order": odoo_datetime(local_midnight_utc(D1, TZ)
                                                                          + timedelta(hours=15)), "lines": 2})
        reasons = tasks.reload_late_changes(odoo, TODAY, TZ, root, None, lookback=3)
        assert set(reasons) == {D2.isoformat(), D1.isoformat()}
        for day in (D2, D1):
            exp = expected(sim, day)
            assert _lake_payments(root, day) == (exp["payments"]["by_method"], exp["customers"]["partner_ids"])
        after = expected(sim, D2)
    assert Decimal(after["payments"]["total"]) < Decimal(before["payments"]["total"])
    assert late["order_id"] in expected_ids(root, D1)


def expected_ids(root: str, day: date) -> set[int]:
    con = views.connect(root)
    try:
        rows = con.execute("SELECT DISTINCT order_id FROM fact_payments WHERE date = ?", [day]).fetchall()
        return {r[0] for r in rows}
    finally:
        con.close()
