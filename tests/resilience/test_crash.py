"""kill -9 of a loading process at each write: readers never see a half file, the last good data stays,
and the next run cleans up and loads the day exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from nk_quality import run_gates

from include.etl import lake, tasks, views
from include.etl.config import REPO_ROOT
from tests.resilience._support import (
    TZ,
    TZ_NAME,
    assert_day_equals_sim,
    client,
    expected,
    fingerprint,
    lake_day,
    temp_files,
)

DAY = date(2025, 1, 21)
_PAUSE_S = "2"
_APPEAR_TIMEOUT_S = 90.0

# Where the killed run is writing when it dies: a glob (relative to the lake) of its temp file.
KILL_POINTS = {
    "raw": "raw/pos_order_lines/*/*/*/.*.parquet.tmp-*",
    "clean": "clean/pos_order_lines/*/*/*/.*.parquet.tmp-*",
    "pending-fact": "_staging/*/*/.fact_sales_*.parquet.tmp-*",
    "dimension": "star-schema/.dim_products.parquet.tmp-*",
}

_LOADER = """
import os, sys
from datetime import date
from zoneinfo import ZoneInfo
from include.etl import tasks
from include.etl.odoo_client import OdooClient, OdooSettings
port, db, login, day, root, tz = sys.argv[1:]
settings = OdooSettings(host="127.0.0.1", port=int(port), database=db, login=login,
                        secret=os.environ["NK_TEST_ODOO_SECRET"], timeout=5, backoff_base=0.05)
tasks.run_day(OdooClient(settings).connect(), date.fromisoformat(day), ZoneInfo(tz), root, None)
"""


def _start_loader(sim, root: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "plugins")]),
            "NK_DASH_TEST_PAUSE_BEFORE_RENAME_S": _PAUSE_S,
            "NK_TEST_ODOO_SECRET": sim.password,
        }
    )
    args = [str(sim.port), sim.db, sim.login, DAY.isoformat(), str(root), TZ_NAME]
    return subprocess.Popen(
        [sys.executable, "-c", _LOADER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _kill_when_writing(proc: subprocess.Popen[bytes], root: Path, pattern: str) -> list[Path]:
    """SIGKILL the loader as soon as its temp file matching `pattern` exists; returns the temp files seen."""
    deadline = time.monotonic() + _APPEAR_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            found = sorted(root.glob(pattern))
            if found:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(30)
                return found
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"the loader exited ({proc.returncode}) before writing {pattern}:\n{out[-3000:]}")
            time.sleep(0.02)
        pytest.fail(f"no temp file {pattern} appeared within {_APPEAR_TIMEOUT_S:.0f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        if proc.stdout:
            proc.stdout.close()
    raise AssertionError("unreachable")


def _every_parquet_file_is_whole(root: Path) -> int:
    files = sorted(root.rglob("*.parquet"))
    for path in files:
        pq.read_metadata(path)  # raises on a truncated file
    return len(files)


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_kill_9_while_writing(fresh_sim, tmp_path, point):
    sim = fresh_sim
    odoo = client(sim)
    tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)
    before = fingerprint(tmp_path, DAY)
    before_day = lake_day(tmp_path, DAY)
    before_dim = lake.dimension_file(tmp_path, "dim_products").read_bytes()
    # Change the source so the killed run would have written different data.
    stats = expected(sim, DAY)
    cancelled = stats["order_ids"][5]
    product = views.connect(str(tmp_path)).execute("SELECT min(product_id) FROM fact_sales").fetchone()[0]
    sim.admin(
        [
            {"op": "cancel_order", "order_id": cancelled},
            {"op": "rename_product", "product_id": product, "name": "Produit renommé après coup"},
        ]
    )

    proc = _start_loader(sim, tmp_path)
    seen = _kill_when_writing(proc, tmp_path, KILL_POINTS[point])

    assert proc.returncode == -signal.SIGKILL
    assert seen and all(p.exists() for p in seen), "the killed writer's temp file should still be there"
    assert _every_parquet_file_is_whole(tmp_path) >= 6
    con = views.connect(str(tmp_path))
    for view in views.VIEWS:
        con.execute(f"SELECT count(*) FROM {view}").fetchone()
    assert lake_day(tmp_path, DAY) == before_day
    assert fingerprint(tmp_path, DAY) == before
    assert lake.dimension_file(tmp_path, "dim_products").read_bytes() == before_dim

    tasks.run_day(client(sim), DAY, TZ, str(tmp_path), run_gates)

    assert temp_files(tmp_path) == [], "stale temp files of the killed writer were not removed"
    after = assert_day_equals_sim(tmp_path, sim, DAY)
    assert cancelled not in after["order_ids"]
    con = views.connect(str(tmp_path))
    assert con.execute("SELECT count(*) FROM fact_sales WHERE order_id = ?", [cancelled]).fetchone()[0] == 0
    name = con.execute("SELECT product_name FROM dim_products WHERE product_id = ?", [product]).fetchone()[0]
    assert name == "Produit renommé après coup"
