"""A real parallel load: four loader processes on one simulator and one lake, a reader querying throughout."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from include.etl import lake, views
from include.etl.config import REPO_ROOT
from odoo_sim.testing import start_simulator
from tests.resilience._support import SIM_OPTIONS, TZ_NAME, expected, lake_day, temp_files

FIRST = date(2025, 1, 1)
DAYS = [FIRST + timedelta(days=n) for n in range(30)]
WORKERS = 4

_LOADER = """
import os, sys
from datetime import date
from zoneinfo import ZoneInfo
from include.etl import tasks
from include.etl.odoo_client import OdooClient, OdooSettings
port, db, login, root, tz, *days = sys.argv[1:]
settings = OdooSettings(host="127.0.0.1", port=int(port), database=db, login=login,
                        secret=os.environ["NK_TEST_ODOO_SECRET"], timeout=30, backoff_base=0.05)
client = OdooClient(settings).connect()
for day in days:
    tasks.run_day(client, date.fromisoformat(day), ZoneInfo(tz), root, None)
"""


class Reader(threading.Thread):
    """Queries the lake's views in a loop, like the dashboard; keeps every answer and every error."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.root = str(root)
        self.stop = threading.Event()
        self.first_done = threading.Event()
        self.snapshots: list[dict[date, tuple[int, Decimal]]] = []
        self.errors: list[BaseException] = []

    def query(self) -> None:
        con = views.connect(self.root)
        try:
            rows = con.execute("SELECT date, count(*), sum(revenue) FROM fact_sales GROUP BY date").fetchall()
            con.execute("SELECT count(*) FROM dim_products").fetchone()
            con.execute("SELECT count(*) FROM dim_categories").fetchone()
        finally:
            con.close()
        self.snapshots.append({d: (n, Decimal(r)) for d, n, r in rows})

    def run(self) -> None:
        while True:
            last = self.stop.is_set()
            try:
                self.query()
            except BaseException as exc:  # noqa: BLE001 - every failure is reported by the test
                self.errors.append(exc)
            self.first_done.set()
            if last:
                return


def test_parallel_loads_with_a_reader(tmp_path):
    options = {**SIM_OPTIONS, "start_date": "2025-01-01", "end_date": "2025-01-31", "lines_per_day": 150}
    with start_simulator(**options) as sim:
        reader = Reader(tmp_path)
        reader.start()
        assert reader.first_done.wait(30)
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "plugins")]),
                "NK_TEST_ODOO_SECRET": sim.password,
            }
        )
        common = [str(sim.port), sim.db, sim.login, str(tmp_path), TZ_NAME]
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", _LOADER, *common, *(d.isoformat() for d in DAYS[i::WORKERS])],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for i in range(WORKERS)
        ]
        outputs = [w.communicate(timeout=240)[0].decode(errors="replace") for w in workers]
        reader.stop.set()
        reader.join(60)

        assert [w.returncode for w in workers] == [0] * WORKERS, "\n".join(o[-3000:] for o in outputs)
        assert reader.errors == []
        assert len(reader.snapshots) >= 2

        final: dict[date, tuple[int, Decimal]] = {}
        for day in DAYS:
            stats = expected(sim, day)
            got = lake_day(tmp_path, day)
            assert list(got.line_ids) == stats["line_ids"], f"{day}: missing or duplicated line ids"
            assert (got.lines, got.revenue) == (stats["lines"], Decimal(stats["revenue"])), day
            final[day] = (stats["lines"], Decimal(stats["revenue"]))

    # Each partition appears whole: a reader sees a day complete or not at all.
    for snapshot in reader.snapshots:
        for day, seen in snapshot.items():
            assert seen == final[day], f"a reader saw {day} partially: {seen} != {final[day]}"
    assert reader.snapshots[-1] == final

    raw_glob = lake.table_glob(tmp_path, lake.RAW_LINES)
    con = views.connect(str(tmp_path))
    sold = {r[0] for r in con.execute(f"SELECT DISTINCT product_id FROM read_parquet('{raw_glob}')").fetchall()}
    in_dim = {r[0] for r in con.execute("SELECT product_id FROM dim_products").fetchall()}
    assert sold - {None} == in_dim, "a parallel dimension update was lost (or a product appeared from nowhere)"
    missing = con.execute("SELECT count(*) FROM fact_sales f ANTI JOIN dim_products USING (product_id)").fetchone()
    assert missing == (0,)
    raw_rows = con.execute(f"SELECT count(*) FROM read_parquet('{raw_glob}')").fetchone()[0]
    assert raw_rows >= sum(n for n, _ in final.values())
    assert temp_files(tmp_path) == []
    assert not list(tmp_path.rglob("*.json.gz")), "a staging folder was left behind"
