"""Dashboard figures on one lake: the serving design next to the naive baselines, in one run.

Every row asks the same questions (the overview page: KPIs with the previous period, daily
trend, top 20 products, revenue by category, by brand and by store, weekday × hour):

- `serving`: this project (dashboard/queries.py over include/etl/serving.py), through the
  page callbacks (`sync_filters` + `render`, i.e. the server time of one interaction);
- `before`: the dashboard as it was before issue 10 (bench/baseline_project.py, a verbatim
  copy), per-day file lists, a fresh connection per call, `lake_info` twice per page;
- `glob views`: the same SQL over plain `read_parquet` glob views;
- `pandas`: pandas over the daily files of the period;
- `native table`: the whole fact loaded into a native DuckDB table first (load time apart).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], Any], runs: int, warmup: int = 1) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {"median": statistics.median(samples), "p95": p95, "runs": runs}


# ----------------------------------------------------------------------------- serving


def _page(raw: dict[str, str]) -> None:
    """One interaction as the server runs it: both callbacks of the overview page."""
    from dashboard import app, ids
    from dashboard.pages import overview

    search = "?" + "&".join(f"{k}={v}" for k, v in raw.items()) if raw else ""
    app.sync_filters(ids.URL, search)
    overview.render(raw)


def serving_figures(root: str, periods: dict[str, dict], filters: dict[str, dict], runs: int) -> dict:
    os.environ["DATA_LAKE_PATH"] = root
    from dashboard import queries
    from include.etl import serving

    state = serving.for_lake(root)
    out: dict[str, Any] = {}
    started = time.perf_counter()
    state.sync()
    out["first_sync_ms"] = (time.perf_counter() - started) * 1000
    out["sync_ms"] = timed(state.sync, runs)
    out["rows"] = {t: state.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in serving.TABLES}
    info = queries.read_lake_info(root)
    f = queries.resolve_filters({}, info)
    out["queries"] = {}
    for name, fn in (
        ("lake_info", lambda r: queries.lake_info(r.cur, root)),
        ("kpis", queries.kpis),
        ("daily_trend", queries.daily_trend),
        ("top_products", queries.top_products),
        ("revenue_by_category", queries.revenue_by_category),
        ("revenue_by_brand", queries.revenue_by_brand),
        ("weekday_hour", queries.weekday_hour),
        ("revenue_by_store", queries.revenue_by_store),
    ):

        def one(fn: Callable = fn) -> None:
            cur = state.con.cursor()  # the query alone: the lake sync is measured apart
            try:
                fn(queries._Reader(cur, info, f))
            finally:
                cur.close()

        out["queries"][name] = timed(one, runs)
    questions = {**periods, **filters}
    out["pages"] = {name: timed(lambda raw=raw: _page(raw), runs) for name, raw in questions.items()}
    out["other_pages"] = other_pages(periods, runs)
    # The same work as the baselines do (lake info + every query, no figures): like with like.
    out["queries_only"] = {
        name: timed(lambda raw=raw: (queries.read_lake_info(root), queries.load_overview(raw, root)), runs)
        for name, raw in questions.items()
    }
    return out


def other_pages(periods: dict[str, dict], runs: int) -> dict[str, dict[str, float]]:
    """The Stores, Products, Payments & cash and Customers pages (render callback, figures built) per period.

    Products shows the best seller of the default period, and the template with the most
    variants (every variant together); both read the serving summaries only.
    """
    from dashboard import queries
    from dashboard.pages import customers, payments, products, stores

    best = queries.load_overview({}).top_products
    product = f"p:{int(best['product_id'].iloc[0])}" if best is not None and len(best) else None
    templates = [
        (int(label.rsplit(" all ", 1)[1].split()[0]), v)
        for v, label in queries.search_products("variants", limit=1_000_000)
        if v.startswith("t:")
    ]
    template = max(templates)[1] if templates else None
    out: dict[str, dict[str, float]] = {}
    for name, raw in periods.items():
        out[f"stores: {name}"] = timed(lambda raw=raw: stores.render(raw), runs)
        out[f"products: {name}"] = timed(lambda raw=raw: products.render(raw, product, "together"), runs)
        out[f"products, queries only: {name}"] = timed(lambda raw=raw: queries.load_product(raw, product), runs)
        if template:
            out[f"products, a template: {name}"] = timed(lambda raw=raw: products.render(raw, template, "apart"), runs)
        out[f"payments & cash: {name}"] = timed(lambda raw=raw: payments.render(raw), runs)
        out[f"customers: {name}"] = timed(lambda raw=raw: customers.render(raw), runs)
    return out


# ----------------------------------------------------------------------------- baselines


class _SourceReader:
    """The old queries with the fact read from a fixed source (a glob view or a native table)."""

    def __init__(self, base: Any, con: duckdb.DuckDBPyConnection, info: Any, filters: Any, source: str) -> None:
        self.inner = base._Reader(con, info, filters)
        self.base, self.source = base, source
        self.con, self.info, self.filters = con, info, filters

    def run(self, body: str, lo: date, hi: date, **extra: object) -> duckdb.DuckDBPyConnection:
        sql = self.base._LINES.replace("{source}", self.source) + body
        values = {
            "lo": lo,
            "hi": hi,
            "store": self.filters.store_id,
            "category": self.filters.category,
            "brand": self.filters.brand,
            **extra,
        }
        used = set(self.base._PARAM.findall(sql))
        return self.con.execute(sql, {k: v for k, v in values.items() if k in used})


def _old_page(base: Any, con: duckdb.DuckDBPyConnection, root: str, raw: dict, source: str | None) -> None:
    info = base.lake_info(con, root)
    f = base.resolve_filters(raw, info)
    reader = base._Reader(con, info, f) if source is None else _SourceReader(base, con, info, f, source)
    base.kpis(reader)
    base.daily_trend(reader)
    base.top_products(reader)
    base.revenue_by_category(reader)
    base.revenue_by_brand(reader)
    base.weekday_hour(reader)
    base.revenue_by_store(reader)


def before_page(root: str, raw: dict) -> None:
    """The page as the project served it before: two callbacks, each with its own connection and scans."""
    from bench import baseline_project as base

    base.read_lake_info(root)  # sync_filters
    base.load_overview(raw, root)  # render


def glob_page(root: str, raw: dict) -> None:
    from bench import baseline_project as base

    con = base.connect(root)
    try:
        _old_page(base, con, root, raw, "fact_sales")
    finally:
        con.close()


def native_connection(root: str) -> duckdb.DuckDBPyConnection:
    from bench import baseline_project as base

    con = base.connect(root)
    con.execute("DROP VIEW fact_sales")
    con.execute(
        "CREATE TABLE fact_sales AS SELECT * FROM read_parquet($g, hive_partitioning = false, union_by_name = true)"
        " ORDER BY date",
        {"g": str(Path(root, "star-schema", "fact_sales", "year=*", "month=*", "day=*", "*.parquet"))},
    )
    con.execute("CREATE TABLE dim_products_t AS SELECT * FROM dim_products")
    return con


def native_page(con: duckdb.DuckDBPyConnection, root: str, raw: dict) -> None:
    from bench import baseline_project as base

    _old_page(base, con, root, raw, "fact_sales")


def pandas_page(root: str, raw: dict, last: date) -> None:
    """The page's questions with pandas over the daily files of the period and the previous one."""
    from include.etl import lake

    start = date.fromisoformat(raw["start"]) if "start" in raw else last - timedelta(days=29)
    end = date.fromisoformat(raw["end"]) if "end" in raw else last
    prev_start = start - (end - start) - timedelta(days=1)
    files = [
        p
        for p in (
            lake.partition_file(root, lake.FACT_SALES, prev_start + timedelta(days=i))
            for i in range((end - prev_start).days + 1)
        )
        if p.exists()
    ]
    cols = [
        "date",
        "order_id",
        "product_id",
        "store_id",
        "store_name",
        "local_hour",
        "quantity",
        "revenue",
        "revenue_excl_tax",
        "margin",
        "discount_amount",
        "is_refund",
    ]
    df = pd.concat([pq.read_table(p, columns=cols).to_pandas() for p in files], ignore_index=True)
    for c in ("quantity", "revenue", "revenue_excl_tax", "margin", "discount_amount"):
        df[c] = df[c].astype(float)
    dim = pd.read_parquet(
        lake.dimension_file(root, "dim_products"),
        columns=["product_id", "product_name", "product_category", "brand_name"],
    )
    df = df.merge(dim, on="product_id", how="left")
    df["product_category"] = df["product_category"].fillna("Uncategorised")
    df["brand_name"] = df["brand_name"].fillna("No brand")
    for key, column in (("store", "store_id"), ("category", "product_category"), ("brand", "brand_name")):
        if key in raw:
            value = int(raw[key]) if key == "store" else raw[key]
            df = df[df[column] == value]
    df["current"] = df["date"] >= start
    df.groupby("current").agg(
        revenue=("revenue", "sum"), orders=("order_id", "nunique"), units=("quantity", "sum"), margin=("margin", "sum")
    )
    cur = df[df["current"]]
    df.groupby("date").agg(revenue=("revenue", "sum"), orders=("order_id", "nunique"))
    cur.groupby("product_id").agg(revenue=("revenue", "sum"), qty=("quantity", "sum")).nlargest(20, "revenue")
    cur.groupby("product_category").agg(revenue=("revenue", "sum"), orders=("order_id", "nunique"))
    cur.groupby("brand_name").agg(revenue=("revenue", "sum"), orders=("order_id", "nunique"))
    cur.groupby("store_id").agg(revenue=("revenue", "sum"), orders=("order_id", "nunique"))
    cur.assign(weekday=pd.to_datetime(cur["date"]).dt.isocalendar().day).groupby(["weekday", "local_hour"]).agg(
        revenue=("revenue", "sum"), orders=("order_id", "nunique")
    )


# ----------------------------------------------------------------------------- fresh process


_FRESH = """
import json, os, sys, time
t0 = time.perf_counter()
os.environ["DATA_LAKE_PATH"] = sys.argv[1]
raw = json.loads(sys.argv[3])
if sys.argv[2] == "serving":
    from dashboard.pages import overview
    from dashboard import app, ids
    from include.etl import serving
    t1 = time.perf_counter()
    serving.for_lake(sys.argv[1]).sync()
    t2 = time.perf_counter()
    search = "?" + "&".join(f"{k}={v}" for k, v in raw.items()) if raw else ""
    app.sync_filters(ids.URL, search)
    overview.render(raw)
else:
    from bench import baseline_project as base
    t1 = time.perf_counter()
    t2 = t1
    base.read_lake_info(sys.argv[1])
    base.load_overview(raw, sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "startup_ms": (t2 - t1) * 1000, "page_ms": (t3 - t2) * 1000}))
"""


def fresh_process(root: str, design: str, raw: dict) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", _FRESH, root, design, json.dumps(raw)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
