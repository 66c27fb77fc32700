"""The browser's time to a drawn page: `python -m dashboard` driven by Debian's headless Chromium.

    PYTHONPATH=$PWD .venv/bin/python -m bench.browser_bench --size 100k --runs 10
    git worktree add ../main-before main   # a checkout to compare with, then:
    PYTHONPATH=$PWD .venv/bin/python -m bench.browser_bench --runs 10 --against ../main-before
    PYTHONPATH=$PWD .venv/bin/python -m bench.browser_bench --runs 5 --link-mbit 20   # over a 20 Mbit/s, 40 ms link

Each run opens a new browser context (an empty cache, as a first visit) and times navigation
until the 10 KPI cards have values, the 5 charts have drawn marks and the product table has
rows. Next to it: the bytes the page transferred (as sent, i.e. compressed) and unpacked, the
number of requests and of callback requests, whether the full `plotly.min.js` was requested,
and a revisit in the same context (the browser cache warm). `--against DIR [DIR ...]` serves the
same lake from other checkouts at the same time and alternates the page loads between them,
so a busy machine weighs on both alike. `bench.run` calls `measure` for its browser row; this
module alone is the quick path (lakes are generated and cached as `bench.run` does).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FULL_PLOTLY = "package_data/plotly.min.js"
LINK_RTT_MS = 40  # the round trip of the emulated link (`--link-mbit`)
DRAWN = """() => {
    const kpis = [...document.querySelectorAll('.kpi__value')];
    const graphs = [...document.querySelectorAll('.js-plotly-plot')];
    const rows = document.querySelectorAll('#table-top-products tbody tr, #table-top-products .ag-row').length;
    const marks = '.scatterlayer .trace, .heatmaplayer image, .barlayer .point';
    const drawn = g => g.querySelector(marks);
    return kpis.length === 10 && kpis.every(k => k.textContent !== '—') &&
           graphs.length === 5 && graphs.every(drawn) && rows > 1;
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _one(page: Any, url: str, link_mbit: float | None = None) -> dict[str, Any]:
    """One navigation → drawn, with what went over the wire (over an emulated link if `link_mbit`)."""
    if link_mbit:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        rate = link_mbit * 1e6 / 8  # bytes per second, both ways
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": LINK_RTT_MS, "downloadThroughput": rate, "uploadThroughput": rate},
        )
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(DRAWN, timeout=60_000)
    drawn_ms = (time.perf_counter() - t0) * 1000
    wire = 0
    encodings: dict[str, int] = {}
    for r in responses:
        try:
            sizes = r.request.sizes()
        except Exception:  # noqa: BLE001 - a response without sizes (e.g. a cached one) counts nothing
            continue
        wire += sizes["responseBodySize"]
        enc = r.headers.get("content-encoding", "identity")
        encodings[enc] = encodings.get(enc, 0) + 1
    timing = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const res = performance.getEntriesByType('resource');
            const plotly = res.find(e => /plotly[.-][^/]*\\.js/.test(e.name));
            return {dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                    unpacked_bytes: res.reduce((s, e) => s + e.decodedBodySize, 0) + nav.decodedBodySize,
                    plotly_loaded_ms: plotly ? plotly.responseEnd : null,
                    plotly_url: plotly ? plotly.name : null};
        }"""
    )
    return {
        "drawn_ms": drawn_ms,
        "requests": len(responses),
        "callbacks": sum(1 for r in responses if "_dash-update-component" in r.url),
        "wire_bytes": wire,
        "encodings": encodings,
        "full_plotly_requested": any(FULL_PLOTLY in r.url for r in responses),
        **timing,
    }


def _start(repo: Path, root: str, extra_env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATA_LAKE_PATH": root, "DASH_PORT": str(port), "PYTHONPATH": str(repo), **extra_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard"], cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, f"http://127.0.0.1:{port}/"


def _wait(proc: subprocess.Popen, url: str, started: float) -> float:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return time.perf_counter() - started
        except OSError:
            if proc.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError(f"the dashboard at {url} did not start") from None
            time.sleep(0.1)


def _summary(first: list[dict[str, Any]], revisit: dict[str, Any], ready_s: float) -> dict[str, Any]:
    samples = sorted(r["drawn_ms"] for r in first)
    last = first[-1]
    return {
        "median": statistics.median(samples),
        "max": samples[-1],
        "runs": len(samples),
        "server_ready_s": ready_s,
        "samples": samples,
        "wire_kb": last["wire_bytes"] / 1024,
        "unpacked_kb": last["unpacked_bytes"] / 1024,
        "requests": last["requests"],
        "callbacks": last["callbacks"],
        "encodings": last["encodings"],
        "full_plotly_requested": any(r["full_plotly_requested"] for r in first),
        "plotly_url": last["plotly_url"],
        "plotly_loaded_ms": statistics.median(r["plotly_loaded_ms"] or 0 for r in first),
        "dom_content_loaded_ms": statistics.median(r["dom_content_loaded_ms"] for r in first),
        "revisit_ms": revisit["drawn_ms"],
        "revisit_wire_kb": revisit["wire_bytes"] / 1024,
    }


def measure_many(
    root: str, servers: dict[str, tuple[Path, dict[str, str]]], runs: int = 5, link_mbit: float | None = None
) -> dict[str, Any] | None:
    """Serve `root` from each checkout in `servers` (label → (repo, extra env)) at once, and time
    `runs` first visits of each, interleaved (so a busy machine weighs on all alike), then one
    revisit of each with the browser cache warm. `link_mbit`: over an emulated link of that
    bandwidth and a 40 ms round trip instead of the loopback."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    procs = {label: _start(repo, root, env) for label, (repo, env) in servers.items()}
    first: dict[str, list[dict[str, Any]]] = {label: [] for label in servers}
    revisit: dict[str, dict[str, Any]] = {}
    try:
        ready = {label: _wait(proc, url, started) for label, (proc, url) in procs.items()}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            for _ in range(runs):
                for label, (_, url) in procs.items():
                    page = browser.new_page(viewport={"width": 1366, "height": 900})  # a new context: empty cache
                    first[label].append(_one(page, url, link_mbit))
                    page.close()
            for label, (_, url) in procs.items():
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                page = context.new_page()
                _one(page, url, link_mbit)
                page.close()
                page = context.new_page()
                revisit[label] = _one(page, url, link_mbit)
                context.close()
            browser.close()
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            proc.wait(timeout=20)
    out = {label: _summary(first[label], revisit[label], ready[label]) for label in servers}
    return {"servers": out, "link_mbit": link_mbit, "load_average_at_end": os.getloadavg()}


def measure(root: str, runs: int = 5) -> dict[str, Any] | None:
    """This checkout's dashboard over `root`: `runs` first visits and one revisit."""
    out = measure_many(root, {"this": (REPO, {})}, runs)
    return None if out is None else {**out["servers"]["this"], "load_average": out["load_average_at_end"]}


def main(argv: list[str] | None = None) -> None:
    from bench import lakegen
    from bench.run import SIZES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", choices=list(SIZES))
    parser.add_argument("--lakes", default=str(REPO.parent / "_benchlakes"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--link-mbit", type=float, default=None, help="emulate a link of that bandwidth (40 ms RTT)")
    parser.add_argument(
        "--against",
        nargs="+",
        default=[],
        metavar="DIR",
        help="other checkouts (e.g. of main) measured in the same run, interleaved (labelled by folder name)",
    )
    args = parser.parse_args(argv)
    root = Path(args.lakes) / args.size
    gen = lakegen.generate(root, SIZES[args.size])
    print(f"[{args.size}] lake: {gen['rows']:,} lines", flush=True)
    servers = {"this": (REPO, {})}
    for other in args.against:
        servers[Path(other).resolve().name] = (Path(other).resolve(), {})
    out = measure_many(str(root), servers, args.runs, args.link_mbit)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
