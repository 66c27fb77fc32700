"""The lake on S3 (moto_server on 127.0.0.1): the same figures as on disk, and the commit protocol."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
from nk_quality import run_gates

from dashboard import queries
from include.etl import lake, schema, tasks, views
from tests.payments._support import TZ, client

DAYS = [date(2025, 3, 28) + timedelta(days=i) for i in range(3)]
FACTS = (lake.FACT_SALES, lake.FACT_PAYMENTS, lake.FACT_SESSIONS)
REPO = Path(__file__).resolve().parents[2]


def _rows(root: str, table: tuple[str, str], day: date) -> list[dict]:
    return lake.read_table(lake.Lake(root).published_files(table)[day]).to_pylist()


def _figures(root: str) -> list[tuple]:
    con = views.connect(root)
    try:
        return [
            con.execute(
                "SELECT date, count(*), count(DISTINCT order_id), sum(revenue), sum(quantity) "
                "FROM fact_sales GROUP BY 1 ORDER BY 1"
            ).fetchall(),
            con.execute(
                "SELECT date, payment_method_name, sum(amount) FROM fact_payments GROUP BY 1, 2 ORDER BY 1, 2"
            ).fetchall(),
            con.execute("SELECT count(*), sum(expected_cash) FROM fact_sessions").fetchall(),
            con.execute(
                "SELECT p.product_category, sum(f.revenue) FROM fact_sales f JOIN dim_products p USING (product_id) "
                "GROUP BY 1 ORDER BY 1"
            ).fetchall(),
            *[con.execute(f"SELECT count(*) FROM {name}").fetchall() for name in schema.DIMENSIONS],
        ]
    finally:
        con.close()


def _dim_keys(root: str, name: str) -> set:
    _schema, key = schema.DIMENSIONS[name]
    cols = (key,) if isinstance(key, str) else key
    table = lake.read_table(lake.Lake(root).dimension_file(name))
    return set(zip(*(table[c].to_pylist() for c in cols), strict=True))


def test_days_loaded_into_s3_equal_the_same_days_on_disk(s3_sim, s3_root, tmp_path):
    odoo = client(s3_sim)
    local = str(tmp_path / "lake")
    for day in DAYS:
        tasks.run_day(odoo, day, TZ, local, run_gates)
        published = tasks.run_day(odoo, day, TZ, s3_root, run_gates)
        assert published.startswith(f"{s3_root}/star-schema/fact_sales/"), published

    for day in DAYS:
        for table in FACTS:
            on_disk = sorted(_rows(local, table, day), key=str)
            assert on_disk, f"{table[1]} {day} is empty on disk"
            assert sorted(_rows(s3_root, table, day), key=str) == on_disk, f"{table[1]} {day} differs"
        for layer in (lake.RAW_LINES, lake.CLEAN_LINES):
            path = lake.Lake(s3_root).partition_file(layer, day)
            assert lake.read_table(path).num_rows == lake.read_table(lake.partition_file(local, layer, day)).num_rows
    for name in schema.DIMENSIONS:
        assert _dim_keys(s3_root, name) == _dim_keys(local, name), name
    assert _figures(s3_root) == _figures(local)
    assert not lake.list_objects(f"{s3_root}/_staging"), "staging dropped after publish"

    # The dashboard's own queries give the same page on S3 as on disk.
    filters = {"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat()}
    on_s3, on_disk = queries.load_overview(filters, s3_root), queries.load_overview(filters, local)
    assert on_disk.current.revenue > 0
    assert on_s3.info.loaded_days == on_disk.info.loaded_days == frozenset(DAYS)
    assert on_s3.current == on_disk.current
    assert on_s3.trend.equals(on_disk.trend)
    assert on_s3.top_products.equals(on_disk.top_products)

    # A rerun replaces the day: a new immutable object, the catalog swapped, the old one an orphan.
    before = {t: lake.Lake(s3_root).published_files(t)[DAYS[0]] for t in FACTS}
    again = tasks.run_day(odoo, DAYS[0], TZ, s3_root, run_gates)
    assert again != before[lake.FACT_SALES]
    assert set(lake.Lake(s3_root).clean_orphans(older_than_s=0)) == set(before.values())
    assert not any(lake.exists(p) for p in before.values())
    assert _figures(s3_root) == _figures(local), "a rerun neither doubles nor loses the day"


def _load_in_subprocess(root: str, day: date, sim, **env: str) -> subprocess.Popen:
    """`run_day` in a separate process (its own s3fs client), as a worker would run it."""
    code = (
        "import logging, sys; from datetime import date; logging.basicConfig(level=logging.INFO)\n"
        "from include.etl import tasks\n"
        "from odoo_sim.testing import SimulatorProcess\n"
        "from tests.payments._support import TZ, client\n"
        "sim = SimulatorProcess(port=int(sys.argv[1]), db=sys.argv[2], login=sys.argv[3], password=sys.argv[4])\n"
        "tasks.run_day(client(sim), date.fromisoformat(sys.argv[5]), TZ, sys.argv[6])\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(sim.port), sim.db, sim.login, sim.password, day.isoformat(), root],
        cwd=REPO,
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_four_parallel_day_loads_lose_no_dimension_update(s3_sim, s3_root, s3_server, tmp_path):
    days = [date(2025, 4, 2) + timedelta(days=i) for i in range(4)]
    procs = [_load_in_subprocess(s3_root, d, s3_sim) for d in days]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
    local = str(tmp_path / "lake")
    odoo = client(s3_sim)
    for day in days:
        tasks.run_day(odoo, day, TZ, local)
    for name in schema.DIMENSIONS:
        assert _dim_keys(s3_root, name) == _dim_keys(local, name), f"{name}: an update was lost"
    assert set(lake.Lake(s3_root).published_files(lake.FACT_SALES)) == set(days)
    print("merges redone after a conflict:", sum(out.count("attempt(s) (concurrent writers)") for out in outputs))


def test_kill_9_mid_publish_leaves_the_previous_picture(s3_sim, s3_root, s3_server):
    day = DAYS[0]
    odoo = client(s3_sim)
    tasks.run_day(odoo, day, TZ, s3_root)
    catalog = lake.Lake(s3_root).catalog()
    figures = _figures(s3_root)
    proc = _load_in_subprocess(s3_root, day, s3_sim, NK_DASH_TEST_PAUSE_BEFORE_COMMIT_S="60")
    folder = lake.Lake(s3_root).partition_file(lake.FACT_SALES, day).rsplit("/", 1)[0]
    deadline = time.monotonic() + 120
    while len(lake.list_objects(folder)) < 2:  # the new immutable copy is there, the catalog not yet swapped
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    assert lake.Lake(s3_root).catalog() == catalog, "the catalog still names the previous files"
    assert _figures(s3_root) == figures, "readers see the previous picture"
    orphans = lake.Lake(s3_root).clean_orphans(older_than_s=0)
    assert orphans and all(o not in catalog for o in orphans)
    assert len(lake.list_objects(folder)) == 1
    assert _figures(s3_root) == figures


def test_conditional_writes_on_the_test_server(s3_root, s3_server):
    path = f"{s3_root}/cas.bin"
    etag = lake.put_bytes(path, b"1", if_none_match=True)
    try:
        lake.put_bytes(path, b"2", if_none_match=True)
        raise AssertionError("If-None-Match: * accepted an existing object")
    except lake.ConflictError:
        pass
    lake.put_bytes(path, b"3", if_match=etag)
    try:
        lake.put_bytes(path, b"4", if_match=etag)
        raise AssertionError("If-Match accepted a stale ETag")
    except lake.ConflictError:
        pass
    assert lake.read_bytes(path) == b"3"
    table = pa.table({"a": [1, 2, 3]})
    assert lake.write_parquet(table, f"{s3_root}/t.parquet").rows == 3
    assert lake.read_table(f"{s3_root}/t.parquet").equals(table)


def test_the_lake_setting_keeps_an_s3_url(monkeypatch):
    from include.etl.config import lake_root

    monkeypatch.setenv("DATA_LAKE_PATH", "s3://nk-lake/prod/")
    assert lake_root() == "s3://nk-lake/prod"
    assert lake.open_lake().s3
    monkeypatch.setenv("DATA_LAKE_PATH", "relative/lake")
    assert lake_root().endswith("/relative/lake") and not lake.open_lake().s3


def test_state_files_metrics_anomalies_and_weekly_summary_on_s3(s3_sim, s3_root, tmp_path):
    """The small files of issue 13 (metrics, anomaly results) and the weekly summary work on S3 as on disk."""
    from include.etl import anomaly, metrics, weekly

    odoo = client(s3_sim)
    local = str(tmp_path / "lake")
    day = DAYS[-1]
    for root in (local, s3_root):
        tasks.run_day(odoo, day, TZ, root)
    for root in (local, s3_root):
        metrics.record(root, day, "publish", 1.5, {"rows_loaded": 7})
    assert metrics.read_day(s3_root, day)["publish"]["figures"] == {"rows_loaded": 7}
    assert metrics.recorded_days(s3_root) == metrics.recorded_days(local) == [day]
    assert metrics.newest_published_day(s3_root) == metrics.newest_published_day(local) == day
    published = lake.Lake(s3_root).published_files(lake.FACT_SALES)[day]
    assert metrics.task_figures("publish", published, s3_root, day) == metrics.task_figures(
        "publish", str(lake.partition_file(local, lake.FACT_SALES, day)), local, day
    )

    on_s3, on_disk = anomaly.check_and_record(s3_root, day), anomaly.check_and_record(local, day)
    assert on_s3["stores"] and on_s3["stores"] == on_disk["stores"]
    assert anomaly.read_result(s3_root) == on_s3 == anomaly.read_result(s3_root, day)

    s3_summary = weekly.write_weekly_summary(s3_root, day)
    assert s3_summary.startswith(s3_root)
    assert lake.read_table(s3_summary).equals(lake.read_table(weekly.write_weekly_summary(local, day)))


def test_a_lost_race_is_retried_and_keeps_both_updates(s3_root, s3_server):
    """Another writer slips in between our read and our conditional write: we retry on its version."""
    path = f"{s3_root}/_state/catalog.json"
    target = lake.Lake(s3_root)
    target.update_json(path, lambda c: {**c, "a": 1})
    calls = []

    def change(catalog: dict) -> dict:
        calls.append(dict(catalog))
        if len(calls) == 1:  # the other writer commits after our read
            target.update_json(path, lambda c: {**c, "b": 2})
        return {**catalog, "c": 3}

    assert target.update_json(path, change) == {"a": 1, "b": 2, "c": 3}
    assert calls == [{"a": 1}, {"a": 1, "b": 2}], "the second attempt merged into the winner's version"
    assert json.loads(lake.read_bytes(path)) == {"a": 1, "b": 2, "c": 3}
