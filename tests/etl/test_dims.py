from __future__ import annotations

import multiprocessing
from datetime import datetime

import pyarrow.parquet as pq

from include.etl import dims, lake


def row(pid, name, ts):
    return {"product_id": pid, "product_name": name, "source_write_date": ts}


def test_merge_inserts_updates_and_never_lets_older_data_win():
    existing = [row(1, "Old", datetime(2025, 1, 1)), row(2, "Kept", datetime(2025, 3, 1))]
    incoming = [row(1, "Renamed", datetime(2025, 2, 1)), row(2, "Stale", datetime(2025, 1, 1)), row(3, "New", None)]
    rows, inserted, updated = dims.merge(existing, incoming, "product_id")
    assert [r["product_name"] for r in rows] == ["Renamed", "Kept", "New"]
    assert (inserted, updated) == (1, 1)


def test_merge_of_identical_rows_changes_nothing():
    existing = [row(1, "A", datetime(2025, 1, 1))]
    assert dims.merge(existing, list(existing), "product_id")[1:] == (0, 0)


def test_pos_category_ids_of_odoo_16_and_17():
    assert dims._pos_category_ids([3, "Drinks"]) == [3]
    assert dims._pos_category_ids([3, 4]) == [3, 4]
    assert dims._pos_category_ids(False) == []


def _upsert_worker(args):
    root, start = args
    rows = [
        {"brand_id": i, "brand_name": f"brand {i}", "source_write_date": datetime(2025, 1, 1)}
        for i in range(start, start + 20)
    ]
    with dims.dimensions_lock(root):
        dims.upsert_table(root, "dim_brands", rows)


def test_parallel_upserts_lose_no_update(tmp_path):
    root = str(tmp_path)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_upsert_worker, [(root, start) for start in range(0, 400, 20)])
    ids = pq.read_table(lake.dimension_file(root, "dim_brands"))["brand_id"].to_pylist()
    assert ids == list(range(400))
