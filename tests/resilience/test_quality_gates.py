"""Quality gates on the pending fact: good data passes, each kind of bad data fails its gate,
and a failing gate leaves the published partition (and so the dashboard) on the last good data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowException
from nk_quality import run_gates

from include.etl import schema, tasks
from tests.resilience._support import TZ, client, expected, fact_file, fingerprint, lake_day

DAY = date(2025, 1, 15)

Rows = list[dict[str, Any]]


@pytest.fixture(scope="module")
def pending(sim, tmp_path_factory) -> tuple[str, str]:
    """(pending fact file, dim_products file) of DAY, from the real steps up to the gates."""
    root = str(tmp_path_factory.mktemp("gates-lake"))
    odoo = client(sim)
    staging = tasks.extract(odoo, DAY, TZ, root)
    raw = tasks.save_raw(staging, root, DAY)
    clean = tasks.clean(raw, staging, root, DAY, TZ)
    fact = tasks.load_fact(clean, staging, root, DAY)
    tasks.upsert_dims(staging, root)
    return fact, tasks.dim_products_path(root)


def _duplicate_line(rows: Rows) -> Rows:
    return [*rows, dict(rows[0])]


def _null_product(rows: Rows) -> Rows:
    rows[1]["product_id"] = None
    return rows


def _draft_state(rows: Rows) -> Rows:
    rows[2]["order_state"] = "draft"
    return rows


def _unknown_product(rows: Rows) -> Rows:
    rows[3]["product_id"] = 99999999
    return rows


def _other_day(rows: Rows) -> Rows:
    rows[4]["date"] = DAY + timedelta(days=1)
    return rows


# (how the pending fact is spoiled, text of the failing check in the gate's error)
BAD = {
    "duplicated-line-id": (_duplicate_line, "Column: line_id\n\tCheck: unique_check"),
    "null-product": (_null_product, "Column: product_id\n\tCheck: null_check"),
    "unaccepted-state": (_draft_state, "accepted_order_states"),
    "product-missing-from-dim": (_unknown_product, "products_in_dim_products"),
    "other-business-day": (_other_day, "dates_are_the_business_day"),
}


def _crafted(pending_fact: str, spoil: Callable[[Rows], Rows], path: Path) -> str:
    rows = pq.read_table(pending_fact).to_pylist()
    pq.write_table(pa.Table.from_pylist(spoil(rows), schema.FACT_SALES), path)
    return str(path)


def test_gates_pass_on_the_good_pending_fact(pending):
    fact, dim_products = pending
    assert pq.read_metadata(fact).num_rows > 100
    run_gates(fact, dim_products, DAY)


@pytest.mark.parametrize("case", sorted(BAD))
def test_gate_fails_on_bad_fact(pending, tmp_path, case):
    fact, dim_products = pending
    spoil, check = BAD[case]
    bad = _crafted(fact, spoil, tmp_path / "fact_sales_bad.parquet")

    with pytest.raises(AirflowException) as err:
        run_gates(bad, dim_products, DAY)

    failed = str(err.value).split("The following tests have failed:", 1)
    assert len(failed) == 2, str(err.value)
    assert check in failed[1]
    others = {c for name, (_s, c) in BAD.items() if name != case}
    assert not any(other in failed[1] for other in others), "only the spoiled property may fail"


def test_failing_gate_in_run_day_keeps_the_published_partition(fresh_sim, tmp_path):
    sim = fresh_sim
    odoo = client(sim)
    tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)
    before, before_day = fingerprint(tmp_path, DAY), lake_day(tmp_path, DAY)
    cancelled = expected(sim, DAY)["order_ids"][0]
    sim.admin({"op": "cancel_order", "order_id": cancelled})
    stale_dim = tmp_path / "stale_dim_products.parquet"
    pq.write_table(schema.DIM_PRODUCTS.empty_table(), stale_dim)

    def gates_on_a_stale_dimension(fact: str, _dim_products: str, day: date) -> None:
        run_gates(fact, str(stale_dim), day)

    with pytest.raises(AirflowException, match="products_in_dim_products"):
        tasks.run_day(odoo, DAY, TZ, str(tmp_path), gates_on_a_stale_dimension)

    assert fingerprint(tmp_path, DAY) == before
    assert lake_day(tmp_path, DAY) == before_day
    assert list(fact_file(tmp_path, DAY).parent.iterdir()) == [fact_file(tmp_path, DAY)]
    assert cancelled in expected(sim, DAY)["order_ids_excluded"]["cancel"]
    assert before_day.lines > expected(sim, DAY)["lines"], "the dashboard still shows the last good load"
