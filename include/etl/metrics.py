"""The pipeline's own figures, per run, for Prometheus.

Airflow runs each task in a short-lived process, so a task cannot hold a metric until
Prometheus comes to scrape it. The tasks therefore write their figures into the lake
(`<lake>/_state/metrics/<YYYY-MM-DD>/<task>.json`, one small JSON per business day and task,
replaced on a rerun), and one long-running exporter reads them at each scrape:

    python -m include.etl.metrics serve --host 127.0.0.1 --port 9464

It needs nothing but read access to the lake (no Airflow, no database, no Pushgateway),
keeps working while the scheduler is down — which is when `nk_dash_freshness_seconds`
matters most — and a restart loses nothing. Figures (all gauges):

| metric | labels | meaning |
|---|---|---|
| `nk_dash_lines_read` | day | order lines read from Odoo by `extract` |
| `nk_dash_orders_read` | day | orders read by `extract` |
| `nk_dash_rpc_calls`, `nk_dash_rpc_retries` | day | JSON-RPC calls and retried calls of `extract` |
| `nk_dash_rejects` | day | lines rejected by `clean` |
| `nk_dash_rows_loaded` | day | fact rows published by `publish` |
| `nk_dash_reloaded_days` | day | earlier days reloaded by `reload_late_changes` |
| `nk_dash_anomalies` | day | figures flagged by `check_anomalies` |
| `nk_dash_task_seconds` | day, task | wall time of the task's last successful try |
| `nk_dash_anomaly_zscore` | day, store, figure | robust z-scores of the newest checked day |
| `nk_dash_newest_published_day_timestamp_seconds` | | start of the newest published day (store time) |
| `nk_dash_freshness_seconds` | | seconds since the end of the newest published day |
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from include.etl import lake

log = logging.getLogger(__name__)

_DIR = ("_state", "metrics")
_DAYS_EXPOSED = 31
# metric name -> (figure key in the task files, help text)
DAY_FIGURES: dict[str, tuple[str, str]] = {
    "nk_dash_lines_read": ("lines_read", "Order lines read from Odoo for the business day"),
    "nk_dash_orders_read": ("orders_read", "Orders read from Odoo for the business day"),
    "nk_dash_rpc_calls": ("rpc_calls", "JSON-RPC calls made by extract"),
    "nk_dash_rpc_retries": ("rpc_retries", "JSON-RPC calls extract had to retry"),
    "nk_dash_rejects": ("rejects", "Order lines rejected by clean"),
    "nk_dash_rows_loaded": ("rows_loaded", "Fact rows published for the business day"),
    "nk_dash_reloaded_days": ("reloaded_days", "Earlier business days reloaded by reload_late_changes"),
    "nk_dash_anomalies": ("anomalies", "Figures flagged as unusual by check_anomalies"),
}


def metrics_file(lake_root: str, day: date, task_id: str) -> Path:
    return Path(lake_root, *_DIR, day.isoformat(), f"{task_id}.json")


def _parquet_rows(path: str | os.PathLike[str]) -> int:
    import pyarrow.parquet as pq

    if lake.is_s3(path):
        return int(pq.ParquetFile(io.BytesIO(lake.read_bytes(path))).metadata.num_rows)
    return int(pq.ParquetFile(path).metadata.num_rows)


def task_figures(task_id: str, return_value: Any, lake_root: str, day: date) -> dict[str, float]:
    """What a task of `nk_dash_daily` produced, read from its return value (lake paths) and the lake."""
    if task_id == "extract" and return_value:
        from include.etl.extract import load_staging

        meta = load_staging(str(return_value), "meta")
        return {
            "lines_read": meta["lines"],
            "orders_read": meta["orders"],
            "rpc_calls": meta["rpc_calls"],
            "rpc_retries": meta["retries"],
        }
    if task_id == "clean" and return_value:
        return {"rejects": _parquet_rows(return_value["rejects"]), "clean_rows": _parquet_rows(return_value["clean"])}
    if task_id == "publish" and return_value:
        return {"rows_loaded": _parquet_rows(return_value)}
    if task_id == "reload_late_changes" and return_value is not None:
        return {"reloaded_days": len(return_value)}
    if task_id == "check_anomalies" and return_value is not None:
        return {"anomalies": int(return_value)}
    return {}


def record(lake_root: str, day: date, task_id: str, seconds: float | None, figures: dict[str, float]) -> Path:
    """Write one task's figures for one business day (atomic; a rerun replaces them)."""
    body = {
        "day": day.isoformat(),
        "task": task_id,
        "seconds": None if seconds is None else round(seconds, 3),
        "figures": figures,
        "recorded_at_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if lake.is_s3(lake_root):  # one PUT: the object appears whole
        path = lake.join(lake_root, *_DIR, day.isoformat(), f"{task_id}.json")
        lake.write_bytes(path, json.dumps(body).encode())
        return path  # type: ignore[return-value]
    path = metrics_file(lake_root, day, task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(body))
    os.replace(tmp, path)
    return path


def read_day(lake_root: str, day: date) -> dict[str, dict[str, Any]]:
    """task id -> its recorded file, for one business day."""
    out: dict[str, dict[str, Any]] = {}
    if lake.is_s3(lake_root):
        for name in sorted(lake.list_objects(lake.join(lake_root, *_DIR, day.isoformat()))):
            if name.endswith(".json"):
                with contextlib.suppress(OSError, json.JSONDecodeError):
                    out[name.rsplit("/", 1)[1][: -len(".json")]] = json.loads(lake.read_bytes(name))
        return out
    for path in sorted(Path(lake_root, *_DIR, day.isoformat()).glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
    return out


def recorded_days(lake_root: str, limit: int = _DAYS_EXPOSED) -> list[date]:
    days = []
    if lake.is_s3(lake_root):
        base = lake.join(lake_root, *_DIR) + "/"
        names = {n[len(base) :].split("/", 1)[0] for n in lake.list_objects(base)}
        for name in names:
            with contextlib.suppress(ValueError):
                days.append(date.fromisoformat(name))
        return sorted(days)[-limit:]
    for folder in Path(lake_root, *_DIR).glob("????-??-??"):
        try:
            days.append(date.fromisoformat(folder.name))
        except ValueError:
            continue
    return sorted(days)[-limit:]


def newest_published_day(lake_root: str) -> date | None:
    """The newest day with a published fact partition (by folder name: no file is opened)."""
    newest = None
    if lake.is_s3(lake_root):  # the catalog names the published days
        return max(lake.Lake(lake_root).published_files(lake.FACT_SALES), default=None)
    for path in Path(lake_root, *lake.FACT_SALES).glob("year=*/month=*/day=*/*.parquet"):
        try:
            day = date.fromisoformat(path.stem.rsplit("_", 1)[1])
        except (IndexError, ValueError):
            continue
        newest = day if newest is None or day > newest else newest
    return newest


def freshness(lake_root: str, tz: tzinfo, now: datetime | None = None) -> tuple[date, float, float] | None:
    """(newest published day, its start as a Unix time, seconds since its end), store time."""
    day = newest_published_day(lake_root)
    if day is None:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    now = now or datetime.now(tz)
    return day, start.timestamp(), (now - end).total_seconds()


class LakeCollector:
    """A prometheus-client collector that reads the lake's metric files at each scrape."""

    def __init__(self, lake_root: str, tz: tzinfo) -> None:
        self.lake_root = lake_root
        self.tz = tz

    def describe(self) -> list:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        families = {name: GaugeMetricFamily(name, help_, labels=["day"]) for name, (_k, help_) in DAY_FIGURES.items()}
        seconds = GaugeMetricFamily("nk_dash_task_seconds", "Wall time of the task's last successful try",
                                    labels=["day", "task"])
        for day in recorded_days(self.lake_root):
            for task_id, body in read_day(self.lake_root, day).items():
                if body.get("seconds") is not None:
                    seconds.add_metric([day.isoformat(), task_id], float(body["seconds"]))
                figures = body.get("figures") or {}
                for name, (key, _help) in DAY_FIGURES.items():
                    if key in figures:
                        families[name].add_metric([day.isoformat()], float(figures[key]))
        yield from families.values()
        yield seconds

        from include.etl import anomaly

        zscores = GaugeMetricFamily("nk_dash_anomaly_zscore", "Robust z-score of the newest checked day",
                                    labels=["day", "store", "figure"])
        result = anomaly.read_result(self.lake_root)
        for store in (result or {}).get("stores", []):
            for figure, z in store.get("zscore", {}).items():
                zscores.add_metric([result["day"], store["store_name"], figure], float(z))
        yield zscores

        fresh = freshness(self.lake_root, self.tz)
        if fresh is not None:
            _day, start, age = fresh
            yield GaugeMetricFamily("nk_dash_newest_published_day_timestamp_seconds",
                                    "Start of the newest published business day (store time)", value=start)
            yield GaugeMetricFamily("nk_dash_freshness_seconds",
                                    "Seconds since the end of the newest published business day", value=age)


def serve(lake_root: str, tz: tzinfo, host: str, port: int) -> None:
    """Expose the lake's figures on http://host:port/metrics until SIGTERM/SIGINT."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(LakeCollector(lake_root, tz))
    server, thread = start_http_server(port, addr=host, registry=registry)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.warning("nk_dash metrics on http://%s:%d/metrics for the lake %s", host, port, lake_root)
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    server.shutdown()
    thread.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    from include.etl.config import lake_root, store_timezone

    parser = argparse.ArgumentParser(prog="python -m include.etl.metrics")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="expose the pipeline's figures for Prometheus")
    serve_p.add_argument("--host", default=os.environ.get("NK_DASH_METRICS_HOST", "127.0.0.1"))
    serve_p.add_argument("--port", type=int, default=int(os.environ.get("NK_DASH_METRICS_PORT", "9464")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.command == "serve":
        serve(lake_root(), store_timezone(), args.host, args.port)


if __name__ == "__main__":
    main()
