"""`python -m bench.run`: generate the benchmark lakes, measure, print and write the table.

    PYTHONPATH=$PWD .venv/bin/python -m bench.run                # 100k, 1M and 10M lines
    PYTHONPATH=$PWD .venv/bin/python -m bench.run --sizes 100k   # a quick one
    options: --lakes DIR (generated lakes are cached there, default ../_benchlakes),
             --runs N (warm samples per serving figure), --no-browser, --no-baselines

Results go to bench/results/latest.md (the table of the README) and latest.json.
Targets (issue 10, at 10M lines on 2 cores) are printed next to the figures; they are
benchmark figures, never timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import dashboard_bench as db
from bench import lakegen

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results")
SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
LAST = lakegen.LAST_DAY
PERIODS = {
    "default page (30 d + previous 30 d)": {},
    "one year": {"start": "2025-01-01", "end": "2025-12-31"},
    "whole history (1,095 days)": {"start": "2023-01-02", "end": "2025-12-31"},
}
FILTERS = {
    "filter: store": {"store": "2"},
    "filter: category": {"category": "All / Saleable / Category 05"},
    "filter: brand": {"brand": "Brand 03 Co"},
    "filter: category + brand": {"category": "All / Saleable / Category 05", "brand": "Brand 03 Co"},
}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    import duckdb
    import pyarrow

    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "load_average_at_start": os.getloadavg(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
    }


def browser_time(root: str, runs: int = 5) -> dict[str, Any] | None:
    """Navigation → every KPI and chart drawn, in Debian's headless Chromium (bench/browser_bench.py)."""
    from bench import browser_bench

    return browser_bench.measure(root, runs)


def run_size(
    name: str, lines: int, lakes: Path, runs: int, baselines: bool, browser: bool, days: int = 1_095
) -> dict[str, Any]:
    root = lakes / name
    gen = lakegen.generate(root, lines, days)
    print(f"[{name}] lake: {gen['rows']:,} lines in {gen['spec']['days']} daily files", flush=True)
    out: dict[str, Any] = {"lines": gen["rows"], "days": gen["spec"]["days"]}

    # Serving: from scratch (no snapshot), then what `publish` leaves, then a fresh process.
    shutil.rmtree(root / "_serving", ignore_errors=True)
    from include.etl import serving

    t0 = time.perf_counter()
    serving.refresh(str(root))
    out["build_from_scratch_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    serving.refresh(str(root))
    out["refresh_nothing_changed_s"] = time.perf_counter() - t0
    out["snapshot_mb"] = sum(f.stat().st_size for f in (root / "_serving").rglob("*.parquet")) / 1e6
    out["fresh"] = {"serving": db.fresh_process(str(root), "serving", {})}
    print(
        f"[{name}] serving built in {out['build_from_scratch_s']:.1f} s; fresh process {out['fresh']['serving']}",
        flush=True,
    )
    out["serving"] = db.serving_figures(str(root), PERIODS, FILTERS, runs)
    print(
        f"[{name}] serving pages: { {k: round(v['median'], 1) for k, v in out['serving']['pages'].items()} }",
        flush=True,
    )

    if baselines:
        big = lines >= 5_000_000
        base_runs = 2 if big else 5
        questions = {**PERIODS, **FILTERS}
        out["before"], out["glob"], out["pandas"], out["native"] = {}, {}, {}, {}
        out["fresh"]["before"] = db.fresh_process(str(root), "before", {})
        for q, raw in questions.items():
            n = base_runs if q.startswith("default") else 1
            out["before"][q] = db.timed(lambda raw=raw: db.before_page(str(root), raw), n, warmup=1 if n > 1 else 0)
            out["glob"][q] = db.timed(lambda raw=raw: db.glob_page(str(root), raw), n, warmup=1 if n > 1 else 0)
            out["pandas"][q] = db.timed(lambda raw=raw: db.pandas_page(str(root), raw, LAST), n, warmup=0)
            print(
                f"[{name}] baselines {q}: before {out['before'][q]['median']:.0f} ms, "
                f"glob {out['glob'][q]['median']:.0f} ms, pandas {out['pandas'][q]['median']:.0f} ms",
                flush=True,
            )
        t0 = time.perf_counter()
        con = db.native_connection(str(root))
        out["native_load_s"] = time.perf_counter() - t0
        try:
            for q, raw in questions.items():
                n = base_runs if q.startswith("default") else 1
                out["native"][q] = db.timed(lambda raw=raw: db.native_page(con, str(root), raw), n, warmup=1)
        finally:
            con.close()
        print(f"[{name}] native: { {k: round(v['median']) for k, v in out['native'].items()} }", flush=True)
    if browser:
        out["browser"] = browser_time(str(root))
        print(f"[{name}] browser: {out['browser']}", flush=True)
    return out


def days_independence(lakes: Path, runs: int) -> dict[str, Any]:
    """The default page on two lakes of the same daily size, 120 and 1,095 days long: same cost?"""
    from include.etl import serving

    out: dict[str, Any] = {}
    for days in (120, 1_095):
        root = lakes / ("10m" if days == 1_095 else f"10m-density-{days}d")
        gen = lakegen.generate(root, SIZES["10m"] * days // 1_095, days)
        serving.refresh(str(root))
        state = serving.for_lake(str(root))
        state.sync()
        os.environ["DATA_LAKE_PATH"] = str(root)
        out[f"{days} days"] = {
            "lines": gen["rows"],
            "page": db.timed(lambda: db._page({}), runs),
            "sync": db.timed(state.sync, runs),
        }
        print(f"[days] {days} days, {gen['rows']:,} lines: {out[f'{days} days']}", flush=True)
    return out


def _ms(v: dict | None) -> str:
    if not v:
        return ""
    if v.get("runs", 1) > 2:
        return f"{v['median']:,.0f} / {v['p95']:,.0f}"
    return f"{v['median']:,.0f}"


def table(results: dict[str, Any], info: dict[str, Any]) -> str:
    lines = [
        f"Measured {info['date_utc']} UTC on {info['cores']} cores ({info['cpu']}, {info['ram_gib']} GiB RAM), "
        f"Python {info['python']}, DuckDB {info['duckdb']}, pyarrow {info['pyarrow']}; load average "
        f"{info['load_average_at_start'][0]:.1f} at the start and {info['load_average_at_end'][0]:.1f} at the end "
        "(the 2 cores were shared with other work). "
        "Milliseconds; `a / b` = warm median / p95. Server time of one interaction (both page callbacks, "
        "figures built) unless said otherwise.",
        "",
    ]
    for r in results.values():
        s = r["serving"]
        lines += [
            f"### {r['lines']:,} lines, {r['days']:,} daily files",
            "",
            "| question | serving: page callbacks | serving: queries only | before issue 10 "
            "| plain glob views | pandas over daily files | native DuckDB table |",
            "|---|---|---|---|---|---|---|",
        ]
        for q in (*PERIODS, *FILTERS):
            row = [q, _ms(s["pages"][q]), _ms(s["queries_only"][q])]
            for base in ("before", "glob", "pandas", "native"):
                row.append(_ms(r.get(base, {}).get(q)))
            lines.append("| " + " | ".join(row) + " |")
        fresh = r["fresh"]
        fs = fresh["serving"]
        fb = fresh.get("before")
        before = f"{fb['page_ms']:,.0f}" if fb else ""
        lines.append(
            f"| first page in a fresh process | {fs['page_ms']:,.0f} (after {fs['startup_ms']:,.0f} start-up: "
            f"snapshot load) | | {before} | | | |"
        )
        if r.get("browser"):
            b = r["browser"]
            lines.append(
                f"| browser: navigation → all KPIs and charts drawn | {b['median']:,.0f} (max {b['max']:,.0f}; "
                f"{b.get('wire_kb', 0):,.0f} KB transferred) | | | | | |"
            )
        if "native_load_s" in r:
            lines.append(f"| loading the native table first | | | | | | {r['native_load_s'] * 1000:,.0f} |")
        if s.get("other_pages"):
            lines += ["", "| other page (render callback, figures built) | " + " | ".join(PERIODS) + " |"]
            lines.append("|---" * (len(PERIODS) + 1) + "|")
            for page in dict.fromkeys(k.split(": ", 1)[0] for k in s["other_pages"]):
                cells = [_ms(s["other_pages"].get(f"{page}: {q}")) for q in PERIODS]
                lines.append(f"| {page} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Each query of the default page (serving, warm median / p95): "
            + ", ".join(f"`{k}` {_ms(v)}" for k, v in s["queries"].items())
            + f"; lake sync per call (directory walk + stats) {_ms(s['sync_ms'])}.",
            f"Serving tables: {', '.join(f'{k} {v:,}' for k, v in s['rows'].items())} rows; snapshot "
            f"{r['snapshot_mb']:.1f} MB; built from scratch in {r['build_from_scratch_s']:.1f} s, "
            f"`refresh` with nothing changed {r['refresh_nothing_changed_s']:.2f} s.",
            "",
        ]
    return "\n".join(lines)


def etl_table(etl: dict[str, Any]) -> str:
    if not etl:
        return ""
    lines = [
        "",
        "### ETL",
        "",
        "| run | lines | seconds (all) | of which waiting for the source | seconds without it | lines/s without it "
        "| RPC calls | peak RSS MB (after imports) | slowest steps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for what, r in etl.items():
        if what == "backfill":
            continue
        steps = sorted(((v, k) for k, v in r["steps"].items() if isinstance(v, float)), reverse=True)[:3]
        lines.append(
            f"| one day, {what} lines | {r['lines']:,} | {r['seconds']:.1f} | {r['source_wait_s']:.1f} "
            f"| {r['seconds_without_source']:.1f} | {r['lines_per_s_without_source']:,.0f} | {r['rpc_calls']} "
            f"| {r['peak_rss_mb']:,.0f} ({r['rss_after_imports_mb']:,.0f}) "
            f"| {', '.join(f'{k} {v:.1f} s' for v, k in steps)} |"
        )
    if "backfill" in etl:
        b = etl["backfill"]
        lines.append(
            f"\n30-day backfill through the real scheduler (`scripts/stack.py up`: LocalExecutor, "
            f"{b['days']} runs): {b['seconds_including_startup']:.0f} s from a cold start "
            f"(Airflow start-up included), exit code {b['rc']}."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--lakes", default=str(REPO.parent / "_benchlakes"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument(
        "--etl",
        nargs="*",
        default=None,
        choices=["10k", "50k", "backfill"],
        help="also the ETL figures (default with the flag alone: all three)",
    )
    parser.add_argument("--no-dashboard", action="store_true", help="only the ETL figures")
    parser.add_argument("--days", action="store_true", help="also: the same page on a 120-day and a 1,095-day lake")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    info = machine()
    results = {}
    for name in [] if args.no_dashboard else args.sizes:
        results[name] = run_size(
            name, SIZES[name], Path(args.lakes), args.runs, not args.no_baselines, not args.no_browser
        )
    if args.days:
        info["days_independence"] = days_independence(Path(args.lakes), args.runs)
    etl: dict[str, Any] = {}
    if args.etl is not None:
        from bench import etl_bench

        for what in args.etl or ["10k", "50k", "backfill"]:
            if what == "backfill":
                etl[what] = etl_bench.backfill_figures(30)
            else:
                etl[what] = etl_bench.day_figures(int(what[:-1]) * 1000)
            print(f"[etl {what}] {etl[what]}", flush=True)
    info["load_average_at_end"] = os.getloadavg()
    text = table(results, info) + etl_table(etl)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "latest" if results else "latest-etl"
    (out / f"{name}.md").write_text(text + "\n")
    (out / f"{name}.json").write_text(
        json.dumps({"machine": info, "results": results, "etl": etl}, indent=1, default=str)
    )


if __name__ == "__main__":
    main()
