"""Late corrections on an S3 lake: a day changed in Odoo after its load is found and reloaded."""

from __future__ import annotations

from datetime import date, timedelta

from nk_quality import run_gates

from include.etl import lake, publish, tasks
from odoo_sim.testing import start_simulator
from tests.resilience._support import SIM_OPTIONS, TZ, assert_day_equals_sim, client, expected
from tests.resilience.test_late_corrections import WALL_CLOCK_SIM, _wait_until_sim_clock_passes

TODAY = date(2025, 1, 19)
D1, D2 = TODAY - timedelta(days=1), TODAY - timedelta(days=2)
assert SIM_OPTIONS  # the same simulated shop as the folder-lake test


def test_a_cancelled_order_reloads_its_day_in_the_s3_lake(s3_root, monkeypatch):
    monkeypatch.setenv("NK_DASH_CLOCK_SKEW_S", "0")
    with start_simulator(**WALL_CLOCK_SIM) as sim:
        odoo = client(sim)
        for day in (D2, D1):
            tasks.run_day(odoo, day, TZ, s3_root, run_gates)
        assert tasks.reload_late_changes(odoo, TODAY, TZ, s3_root, run_gates, lookback=2) == {}
        before = lake.Lake(s3_root).published_files(lake.FACT_SALES)
        _wait_until_sim_clock_passes(sim, max(publish.read_manifest(s3_root, d)["loaded_at_utc"] for d in (D2, D1)))

        cancelled = expected(sim, D2)["order_ids"][0]
        sim.admin({"op": "cancel_order", "order_id": cancelled})
        reasons = tasks.reload_late_changes(odoo, TODAY, TZ, s3_root, run_gates, lookback=2)

        assert set(reasons) == {D2.isoformat()}
        after = lake.Lake(s3_root).published_files(lake.FACT_SALES)
        assert after[D2] != before[D2] and after[D1] == before[D1], "only the changed day is republished"
        assert cancelled not in expected(sim, D2)["order_ids"]
        for day in (D2, D1):
            assert_day_equals_sim(s3_root, sim, day)
