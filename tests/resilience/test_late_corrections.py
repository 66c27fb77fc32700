"""Late corrections: days whose orders changed in Odoo after they were loaded are found and reloaded."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import date, timedelta

from nk_quality import run_gates

from include.etl import corrections, publish, tasks
from include.etl.business_day import local_midnight_utc, odoo_datetime
from odoo_sim.testing import start_simulator
from tests.resilience._support import SIM_OPTIONS, TZ, assert_day_equals_sim, client, expected, fingerprint

TODAY = date(2025, 1, 19)
D1, D2, D3, D4 = (TODAY - timedelta(days=n) for n in (1, 2, 3, 4))
# The simulator's clock is the wall clock, so its mutations are written after our loads.
WALL_CLOCK_SIM = {k: v for k, v in SIM_OPTIONS.items() if k != "now"}


def _sim_now(sim) -> str:
    with urllib.request.urlopen(f"{sim.url}/sim/config", timeout=10) as resp:
        return json.loads(resp.read())["now"]


def _wait_until_sim_clock_passes(sim, stamp: str) -> None:
    """Odoo datetimes have whole seconds: wait (on a condition) until a write can be told from the load."""
    deadline = time.monotonic() + 10
    while _sim_now(sim) <= stamp:
        assert time.monotonic() < deadline, f"the simulator's clock never passed {stamp}"
        time.sleep(0.05)


def test_changed_days_are_found_reloaded_once_and_match_odoo(tmp_path, monkeypatch):
    # The default 300 s margin would report the same changes again on a call seconds later.
    monkeypatch.setenv("NK_DASH_CLOCK_SKEW_S", "0")
    monkeypatch.setenv("NK_DASH_LOOKBACK_DAYS", "7")
    root = str(tmp_path)
    with start_simulator(**WALL_CLOCK_SIM) as sim:
        odoo = client(sim)
        for day in (D4, D3, D2, D1):
            tasks.run_day(odoo, day, TZ, root, run_gates)
        untouched = fingerprint(tmp_path, D4)
        assert tasks.reload_late_changes(odoo, TODAY, TZ, root, run_gates) == {}
        _wait_until_sim_clock_passes(sim, max(publish.read_manifest(root, d)["loaded_at_utc"] for d in (D3, D2, D1)))

        cancelled = expected(sim, D2)["order_ids"][3]
        drafts = expected(sim, D1)["order_ids_excluded"]["draft"]
        assert drafts, "the simulator should have a draft order on D-1"
        invoiced = drafts[0]
        late_at = local_midnight_utc(D3, TZ) + timedelta(hours=12)
        late = sim.admin({"op": "late_order", "date_order": odoo_datetime(late_at), "lines": 3})
        sim.admin([{"op": "cancel_order", "order_id": cancelled}, {"op": "invoice_order", "order_id": invoiced}])
        names = {o["id"]: o["name"] for o in odoo.read("pos.order", [cancelled, invoiced], ["name"])}

        assert set(corrections.changed_days(odoo, TODAY, TZ, root, 2)) == {D2, D1}, "look-back of 2 days"
        reasons = tasks.reload_late_changes(odoo, TODAY, TZ, root, run_gates)

        assert set(reasons) == {D3.isoformat(), D2.isoformat(), D1.isoformat()}
        assert late["name"] in reasons[D3.isoformat()]
        assert f"{names[cancelled]} (cancel," in reasons[D2.isoformat()]
        assert f"{names[invoiced]} (invoiced," in reasons[D1.isoformat()]
        assert all(r.startswith("1 order(s) written in Odoo after the day was loaded") for r in reasons.values())

        for day in (D4, D3, D2, D1):
            assert_day_equals_sim(tmp_path, sim, day)
        assert set(late["line_ids"]) <= set(expected(sim, D3)["line_ids"])
        assert cancelled not in expected(sim, D2)["order_ids"]
        assert invoiced in expected(sim, D1)["order_ids"]
        assert fingerprint(tmp_path, D4) == untouched, "an unchanged day is not reloaded"

        assert tasks.reload_late_changes(odoo, TODAY, TZ, root, run_gates) == {}
