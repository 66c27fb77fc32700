from __future__ import annotations

import os
import time
from datetime import date

import duckdb
import pyarrow as pa
import pytest

from include.etl import lake, views


def test_partition_paths_follow_the_architecture_layout(tmp_path):
    path = lake.partition_file(tmp_path, lake.FACT_SALES, date(2025, 3, 7))
    assert path == tmp_path / "star-schema/fact_sales/year=2025/month=03/day=07/fact_sales_2025-03-07.parquet"
    raw = lake.partition_file(tmp_path, lake.RAW_LINES, date(2025, 3, 7))
    assert raw == tmp_path / "raw/pos_order_lines/year=2025/month=03/day=07/pos_order_lines_2025-03-07.parquet"


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "a" / "t.parquet"
    lake.write_parquet_atomic(pa.table({"x": [1, 2]}), target)
    lake.write_parquet_atomic(pa.table({"x": [3]}), target)
    assert duckdb.execute(f"select sum(x) from '{target}'").fetchone()[0] == 3
    assert os.listdir(target.parent) == ["t.parquet"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "t.parquet"
    lake.write_parquet_atomic(pa.table({"x": [1]}), target)

    with pytest.raises(Exception):  # noqa: B017 - any error from the writer
        lake.write_parquet_atomic("not a table", target)  # type: ignore[arg-type]
    assert duckdb.execute(f"select x from '{target}'").fetchall() == [(1,)]
    assert os.listdir(tmp_path) == ["t.parquet"]


def test_temp_files_are_invisible_to_the_views_and_cleaned_when_stale(tmp_path):
    part = lake.partition_file(tmp_path, lake.FACT_SALES, date(2025, 1, 1))
    part.parent.mkdir(parents=True)
    tmp = part.parent / ".fact_sales_2025-01-01.parquet.tmp-1-dead"
    tmp.write_bytes(b"PAR1 half written")
    con = views.connect(str(tmp_path))
    assert con.execute("select count(*) from fact_sales").fetchone()[0] == 0
    assert lake.clean_stale_temp_files(tmp_path) == []  # too young to be called stale
    old = time.time() - 7200
    os.utime(tmp, (old, old))
    assert lake.clean_stale_temp_files(tmp_path) == [str(tmp)]


def test_views_of_an_empty_lake_have_the_contract_columns(tmp_path):
    con = views.connect(str(tmp_path))
    cols = [c[0] for c in con.sql("describe fact_sales").fetchall()]
    assert {"date", "product_id", "quantity", "revenue"} <= set(cols)
    assert "product_category" in [c[0] for c in con.sql("describe dim_products").fetchall()]


def test_cleaning_ignores_a_folder_another_worker_removes_meanwhile(tmp_path, monkeypatch):
    """A parallel run deletes its `_staging/<day>` while this run walks the lake (CI, stop 14)."""
    gone = tmp_path / "_staging" / "2025-01-05"
    gone.mkdir(parents=True)
    stale = tmp_path / "_staging" / "2025-01-06" / ".x.parquet.tmp-1-dead"
    stale.parent.mkdir()
    stale.write_bytes(b"half")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    real_scandir = os.scandir

    def scandir_after_removal(path="."):
        if os.fspath(path) == str(gone):
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir_after_removal)
    assert lake.clean_stale_temp_files(tmp_path) == [str(stale)]
