"""The same simulated days loaded through Odoo 16, 17, 18 (odoorpc, /jsonrpc) and 19, 20 (JSON-2).

The fact and dimension files must be identical, except the two fact columns where the versions
genuinely differ (docs/odoo-versions.md): `order_name` (19+ names orders "<config> - <seq>", "/"
until paid) and `order_state` (19+ has no `invoiced`: an invoiced order stays `done`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from include.etl import lake, schema, tasks
from tests.versions._support import client

DAYS = (date(2025, 1, 4), date(2025, 1, 5))
TZ = ZoneInfo("Europe/Brussels")
DIFFERING = ("order_name", "order_state")
EXPECTED_API = {16: "jsonrpc", 17: "jsonrpc", 18: "jsonrpc", 19: "json2", 20: "json2"}


@pytest.fixture(scope="module")
def lakes(sims, tmp_path_factory):
    """Each version's lake after loading DAYS with the default `api=auto`, and its client."""
    out = {}
    for major, sim in sims.items():
        sim.reset_calls()
        log_start = len(sim.read_log())
        root = tmp_path_factory.mktemp(f"lake{major}")
        odoo = client(sim)
        for day in DAYS:
            tasks.run_day(odoo, day, TZ, str(root))
        out[major] = (root, odoo, {**sim.calls(), "log": sim.read_log()[log_start:]})
    return out


def _fact(root: Path, day: date):
    return pq.read_table(lake.partition_file(str(root), lake.FACT_SALES, day)).sort_by("line_id")


def _dim(root: Path, name: str):
    return pq.read_table(lake.dimension_file(str(root), name))


def test_each_version_is_read_through_its_api(lakes):
    for major, (_root, odoo, calls) in lakes.items():
        assert odoo.api == EXPECTED_API[major], f"Odoo {major}"
        assert odoo.major_version == major
        services = {row["service"] for row in calls["calls"]}
        if EXPECTED_API[major] == "json2":
            assert services == {"json2"}, f"Odoo {major} was also called over /jsonrpc: {services}"
        else:
            assert "json2" not in services and "object" in services


def test_no_deprecated_call_reaches_odoo_19_and_20(lakes):
    for major in (19, 20):
        assert "deprecated in Odoo 19" not in lakes[major][2]["log"]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_fact_files_are_identical_across_versions(lakes, day):
    reference = _fact(lakes[17][0], day)
    assert reference.num_rows > 100
    assert reference.schema == schema.FACT_SALES
    same = [c for c in reference.column_names if c not in DIFFERING]
    for major, (root, _odoo, _calls) in lakes.items():
        table = _fact(root, day)
        assert table.schema == reference.schema, f"Odoo {major}"
        assert table.select(same).equals(reference.select(same)), f"Odoo {major} differs from 17"


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_the_two_differing_columns_differ_only_as_documented(lakes, day):
    ref = _fact(lakes[17][0], day).to_pydict()
    states17 = ref["order_state"]
    assert "invoiced" in states17, "the sample must hold invoiced orders to show the 19+ difference"
    for major, (root, _odoo, _calls) in lakes.items():
        got = _fact(root, day).to_pydict()
        if major < 19:
            assert got["order_state"] == states17 and got["order_name"] == ref["order_name"], f"Odoo {major}"
            continue
        assert got["order_state"] == ["done" if s == "invoiced" else s for s in states17], f"Odoo {major}"
        assert "invoiced" not in got["order_state"]
        for name, order_id in zip(got["order_name"], got["order_id"], strict=True):
            assert name.endswith(f" - {order_id:06d}"), name


def test_dimension_files_are_identical_across_versions(lakes):
    for name in ("dim_products", "dim_categories", "dim_brands"):
        reference = _dim(lakes[17][0], name)
        assert reference.num_rows > 0
        for major, (root, _odoo, _calls) in lakes.items():
            assert _dim(root, name).equals(reference), f"{name} of Odoo {major} differs from 17"
