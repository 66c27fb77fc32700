"""ETL figures: one day of 10k and 50k lines through every task's logic, and a 30-day backfill.

`day_figures(lines)` starts the Odoo simulator (a real JSON-RPC server on 127.0.0.1) with
`lines` order lines per day and 5,000 products, then runs, in a fresh Python process, the
steps of `nk_dash_daily` for one business day exactly as the tasks call them
(`include.etl.tasks`: extract, save_raw, clean, load_fact, load_payments, upsert_dims, the quality gates
of `plugins/nk_quality.py`, publish, which now also refreshes the serving snapshot). It
reports seconds per step (their sum is "seconds"; the login and the import of Airflow's
operators for the gates are reported apart), the time spent waiting for the source (every `execute_kw` and
login, timed on the client side, i.e. the simulator's response time plus the transfer),
lines per second without it, RPC calls and the peak RSS of the process. On a shared machine
the wall-clock figures move with the load; `cpu_s` (CPU seconds of the process over the steps)
and `cpu_in_source_calls_s` (the part spent inside the RPC calls: sending the request and
decoding Odoo's JSON answer) move much less.

`backfill_figures(days)` runs the demo stack (`scripts/stack.py up`: simulator, Airflow API
server, scheduler, DAG processor, triggerer, LocalExecutor) in a temporary folder and times
`airflow backfill create` of `days` days until every run succeeded, then stops it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DAY = date(2025, 3, 12)
TZ = "Europe/Brussels"


def timed_steps(client: Any, day: date, tz: Any, root: str, gates: Any = None) -> dict[str, float]:
    """Seconds of each step of `nk_dash_daily` for one day, called exactly as the tasks call them.

    The steps import their modules in their bodies (a task process loads only its own); they
    are imported here first, so the clock measures the work, as it did when `tasks` imported them all.
    """
    import importlib

    from include.etl import tasks

    for module in ("raw", "clean", "fact", "payments", "dims", "publish"):
        importlib.import_module(f"include.etl.{module}")

    steps: dict[str, float] = {}

    def step(name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args)
        steps[name] = round(time.perf_counter() - t0, 3)
        return out

    staging = step("extract", tasks.extract, client, day, tz, root)
    raw = step("save_raw", tasks.save_raw, staging, root, day)
    clean = step("clean", tasks.clean, raw, staging, root, day, tz)
    pending = step("load_fact", tasks.load_fact, clean, staging, root, day)
    step("load_payments", tasks.load_payments, staging, root, day, tz)
    step("upsert_dims", tasks.upsert_dims, staging, root)
    if gates is not None:
        step("quality_gates", gates, pending, tasks.dim_products_path(root), day)
    step("publish", tasks.publish, staging, pending, root, day)
    return steps


_CHILD = r"""
import json, resource, sys, time
from datetime import date
from zoneinfo import ZoneInfo
import odoorpc
from bench.etl_bench import timed_steps
from include.etl.odoo_client import OdooClient, OdooSettings

port, db, login, password, day, lake_root = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
day = date.fromisoformat(day)
tz = ZoneInfo(sys.argv[7])
waited = [0.0]
rpc_cpu = [0.0]
for name in ("execute_kw", "login"):
    original = getattr(odoorpc.ODOO, name)
    def timed(self, *a, _original=original, **k):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return _original(self, *a, **k)
        finally:
            waited[0] += time.perf_counter() - t0
            rpc_cpu[0] += time.process_time() - c0
    setattr(odoorpc.ODOO, name, timed)
steps = {}
t0 = time.perf_counter()
sys.path.insert(0, "plugins")
try:
    from nk_quality import run_gates  # imports Airflow's common-sql operators: once per task process
except ImportError as exc:
    run_gates = None
    steps["quality_gates"] = f"not run: {exc}"
gates_import_s = time.perf_counter() - t0
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
client = OdooClient(OdooSettings(host="127.0.0.1", port=int(port), database=db, login=login, secret=password,
                                 timeout=120)).connect()
connect_s = time.perf_counter() - t0
waited[0] = rpc_cpu[0] = 0.0
cpu0 = time.process_time()
steps.update(timed_steps(client, day, tz, lake_root, run_gates))
cpu_s = time.process_time() - cpu0
total = sum(v for v in steps.values() if isinstance(v, float))
import pyarrow.parquet as pq
from include.etl import lake
lines = pq.read_metadata(lake.partition_file(lake_root, lake.FACT_SALES, day)).num_rows
print(json.dumps({
    "lines": lines, "seconds": total, "source_wait_s": waited[0], "rpc_calls": client.rpc_calls,
    "pages": client.pages, "steps": steps, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_after_imports_mb": rss_before, "connect_s": connect_s, "gates_import_s": gates_import_s,
    "cpu_s": cpu_s, "cpu_in_source_calls_s": rpc_cpu[0],
}))
"""


def day_figures(lines: int) -> dict[str, Any]:
    from odoo_sim.testing import start_simulator

    sim = start_simulator(
        seed=3,
        timezone=TZ,
        lines_per_day=lines,
        products=5000,
        start_date=(DAY - timedelta(days=2)).isoformat(),
        end_date=(DAY + timedelta(days=2)).isoformat(),
        cache_lines=max(400_000, 4 * lines),
    )
    try:
        with tempfile.TemporaryDirectory(prefix="nk-etl-bench-") as lake_root:
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    str(sim.port),
                    sim.db,
                    sim.login,
                    sim.password,
                    DAY.isoformat(),
                    lake_root,
                    TZ,
                ],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-3000:])
            result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        sim.stop()
    own = result["seconds"] - result["source_wait_s"]
    result["seconds_without_source"] = own
    result["lines_per_s_without_source"] = result["lines"] / own if own else None
    return result


def backfill_figures(days: int = 30) -> dict[str, Any]:
    """The demo stack in a temporary folder: time of `airflow backfill create` of `days` days until all succeeded."""
    sys.path.insert(0, str(REPO))
    from scripts import stack

    with tempfile.TemporaryDirectory(prefix="nk-backfill-bench-") as tmp:
        layout = stack.Layout(run_dir=Path(tmp, "run"))
        cfg = stack.load_config(REPO)  # .env.example (+ .env) values, as the demo reads them
        cfg.update(
            {
                "DATA_LAKE_PATH": str(Path(tmp, "lake")),
                "AIRFLOW_PORT": str(stack.free_port()),
                "ODOO_SIM_PORT": str(stack.free_port()),
                "DASH_PORT": str(stack.free_port()),
                "DEMO_DAYS": str(days),
                "AIRFLOW_LOG_SERVER_PORT": str(stack.free_port()),
                "AIRFLOW_TRIGGER_LOG_SERVER_PORT": str(stack.free_port()),
            }
        )
        cfg["AIRFLOW_CONN_ODOO_DEFAULT"] = stack.sim_conn_uri(int(cfg["ODOO_SIM_PORT"]))
        t0 = time.monotonic()
        try:
            rc = stack.up(layout, cfg, wait=True)
            wall = time.monotonic() - t0
        finally:
            stack.down(layout)
    return {"days": days, "rc": rc, "seconds_including_startup": wall}
