"""One day's payments, sessions, customers through Odoo 16 (/jsonrpc, pos.payment not recorded) and 19 (JSON-2)."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq

from include.etl import lake, tasks
from odoo_sim.testing import start_simulator
from tests.payments._support import SIM_OPTIONS, TZ, window
from tests.versions._support import client

DAY = date(2025, 3, 12)


def test_payments_are_the_same_through_odoo_16_and_19(tmp_path) -> None:
    tables = {}
    options = SIM_OPTIONS | {"lines_per_day": 150}
    for major, api in ((16, "jsonrpc"), (19, "json2")):
        root = tmp_path / str(major)
        with start_simulator(odoo_version=major, **options) as sim:
            odoo = client(sim)
            assert odoo.api == api
            tasks.run_day(odoo, DAY, TZ, str(root))
            exp = sim.stats(*window(DAY))
        tables[major] = {
            t[1]: pq.read_table(lake.partition_file(root, t, DAY)) for t in (lake.FACT_PAYMENTS, lake.FACT_SESSIONS)
        }
        fact = lake.partition_file(root, lake.FACT_SALES, DAY)
        tables[major]["partners"] = pq.read_table(fact, columns=["partner_id"])
        by_method = tables[major]["fact_payments"].group_by("payment_method_name").aggregate([("amount", "sum")])
        assert {r["payment_method_name"]: str(r["amount_sum"]) for r in by_method.to_pylist()} == exp["payments"][
            "by_method"
        ]
    # 19 names orders "<config> - <seq>" and has no `invoiced` state: every other column is the same
    differing = ["order_name", "order_state"]
    old, new = (tables[m]["fact_payments"].drop_columns(differing).sort_by("payment_id") for m in (16, 19))
    assert old.num_rows > 50
    assert {c: old[c].to_pylist() for c in old.column_names} == {c: new[c].to_pylist() for c in new.column_names}
    assert tables[16]["fact_sessions"].equals(tables[19]["fact_sessions"])
    assert tables[16]["partners"].sort_by("partner_id").equals(tables[19]["partners"].sort_by("partner_id"))
