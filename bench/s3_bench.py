"""Sizing of the lake on S3 against a local folder (README, "The lake on S3: sizing").

One business day of a 50-store chain (`--lines` order lines, default 167,000 ≈ 5 million a
month) is loaded from the Odoo simulator through the steps of `nk_dash_daily`
(`include.etl.tasks`, quality gates included) twice in this process: into a local folder and
into an S3 API on 127.0.0.1 (moto_server, the server of tests/s3). It prints seconds per
step, S3 requests by method (counted from the server's request log) and bytes sent and
received. Then a month of `fact_sales` at the same rate (bench/lakegen.py) is put in both
lakes and the dashboard's overview (`dashboard.queries.load_overview`, cold: first call of a
process, builds the serving summaries; warm: next call) and a plain DuckDB query on the views
are timed on each.

    PYTHONPATH=. .venv/bin/python -m bench.s3_bench --lines 167000 --days 30

moto_server answers from memory on this machine: network latency and S3's per-request
time are not in these figures (see the README for how to read them).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
DAY = date(2025, 3, 12)
TZ = "Europe/Brussels"


def _start_s3(log_path: Path) -> tuple[subprocess.Popen, str]:
    import boto3

    from odoo_sim.testing import free_port

    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket="nk-bench")
            return proc, endpoint
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _requests(log_path: Path, since: int) -> tuple[dict[str, int], int]:
    lines = log_path.read_text(errors="replace").splitlines()
    counts: collections.Counter[str] = collections.Counter()
    for line in lines[since:]:
        m = re.search(r'"(GET|PUT|HEAD|POST|DELETE) ([^ ]+) HTTP', line)
        if m:
            counts[m.group(1) + (" list" if m.group(1) == "GET" and "list-type" in m.group(2) else "")] += 1
    return dict(counts), len(lines)


def _load_day(client: Any, root: str, gates: Any) -> dict[str, float]:
    from bench.etl_bench import timed_steps

    steps = timed_steps(client, DAY, ZoneInfo(TZ), root, gates)
    steps["total"] = round(sum(steps.values()), 3)
    return steps


def _copy_month_to_s3(local: str, s3_root: str) -> None:
    from include.etl import lake, schema

    target = lake.Lake(s3_root)
    for day, path in lake.Lake(local).published_files(lake.FACT_SALES).items():
        target.publish_day_from_table(day, lake.FACT_SALES, lake.read_table(path))
    for name in schema.DIMENSIONS:
        src = lake.dimension_file(local, name)
        if src.exists():
            lake.write_parquet(lake.read_table(src), target.dimension_file(name))


def _dashboard(root: str, first: date, last: date) -> dict[str, float]:
    """Overview page cold (a new process: builds the serving summaries) and warm, and one views query."""
    code = (
        "import json, sys, time\n"
        "from include.etl import views\n"
        "from dashboard import queries\n"
        "root, lo, hi = sys.argv[1:4]\n"
        "t = time.perf_counter(); o = queries.load_overview({'start': lo, 'end': hi}, root)\n"
        "cold = time.perf_counter() - t\n"
        "t = time.perf_counter(); queries.load_overview({'start': lo, 'end': hi}, root)\n"
        "warm = time.perf_counter() - t\n"
        "t = time.perf_counter(); con = views.connect(root)\n"
        "n = con.execute('SELECT count(*), sum(revenue) FROM fact_sales').fetchone()\n"
        "q = time.perf_counter() - t\n"
        "print(json.dumps({'overview_cold_s': round(cold, 3), 'overview_warm_s': round(warm, 3),\n"
        "  'views_connect_and_sum_s': round(q, 3), 'rows': n[0], 'revenue': str(o.current.revenue)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, root, first.isoformat(), last.isoformat()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=167_000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "plugins"))
    from nk_quality import run_gates

    from bench import lakegen
    from include.etl import lake
    from include.etl.odoo_client import OdooClient, OdooSettings
    from odoo_sim.testing import start_simulator

    result: dict[str, Any] = {"lines_per_day": args.lines, "stores": args.stores}
    with tempfile.TemporaryDirectory(prefix="nk-s3-bench-") as tmp:
        log_path = Path(tmp, "moto.log")
        proc, endpoint = _start_s3(log_path)
        os.environ.update(AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s", AWS_DEFAULT_REGION="us-east-1")
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        lake.configure_s3(key="k", secret="s", endpoint_url=endpoint, client_kwargs={"region_name": "us-east-1"})
        sim = start_simulator(
            seed=3,
            timezone=TZ,
            lines_per_day=args.lines,
            stores=args.stores,
            products=5000,
            start_date=(DAY - timedelta(days=1)).isoformat(),
            end_date=(DAY + timedelta(days=1)).isoformat(),
            cache_lines=max(400_000, 4 * args.lines),
        )
        try:
            client = OdooClient(
                OdooSettings(
                    host="127.0.0.1", port=sim.port, database=sim.db, login=sim.login, secret=sim.password, timeout=300
                )
            ).connect()
            local = str(Path(tmp, "lake"))
            result["local_day_s"] = _load_day(client, local, run_gates)
            _, mark = _requests(log_path, 0)
            lake.S3_STATS.clear()
            result["s3_day_s"] = _load_day(client, "s3://nk-bench/day", run_gates)
            result["s3_day_requests"], _ = _requests(log_path, mark)
            result["s3_day_bytes"] = {k: v for k, v in lake.S3_STATS.items() if k.startswith("bytes")}
            result["local_day_bytes"] = sum(p.stat().st_size for p in Path(local).rglob("*") if p.is_file())
        finally:
            sim.stop()

        month = str(Path(tmp, "month"))
        lakegen.generate(month, args.lines * args.days, days=args.days)
        t0 = time.perf_counter()
        _copy_month_to_s3(month, "s3://nk-bench/month")
        result["month_upload_s"] = round(time.perf_counter() - t0, 1)
        last = lakegen.LAST_DAY
        first = last - timedelta(days=args.days - 1)
        result["dashboard_local"] = _dashboard(month, first, last)
        result["dashboard_s3"] = _dashboard("s3://nk-bench/month", first, last)
        proc.terminate()
        proc.wait(timeout=10)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
