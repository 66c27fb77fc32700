"""A weekly summary per store, written by the example consumer DAG `nk_dash_weekly_summary`.

`star-schema/agg_weekly_sales/week=YYYY-MM-DD/agg_weekly_sales_YYYY-MM-DD.parquet`, one file
per ISO week (named by its Monday), one row per store: the days of that week published so
far, orders, revenue, refunded amount. Rewritten in full each time a day of the week is
published, so it never double-counts.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from include.etl import lake, schema

log = logging.getLogger(__name__)

TABLE = ("star-schema", "agg_weekly_sales")
AGG_WEEKLY_SALES = pa.schema(
    [
        ("week_start", pa.date32()),
        ("store_id", pa.int64()),
        ("store_name", pa.string()),
        ("days_loaded", pa.int32()),
        ("orders", pa.int64()),
        ("revenue", schema.MONEY),
        ("refunded", schema.MONEY),
    ]
)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def summary_file(lake_root: str, monday: date) -> Path:
    layer, name = TABLE
    return Path(lake_root, layer, name, f"week={monday.isoformat()}", f"{name}_{monday.isoformat()}.parquet")


def write_weekly_summary(lake_root: str, day: date) -> str:
    """Summarize the ISO week that contains `day` from its published fact partitions."""
    import duckdb

    monday = week_start(day)
    week = [monday + timedelta(days=i) for i in range(7)]
    if lake.is_s3(lake_root):  # the catalog names each published day's object
        published = lake.Lake(lake_root).published_files(lake.FACT_SALES)
        files = [published[d] for d in week if d in published]
    else:
        files = [str(p) for d in week if (p := lake.partition_file(lake_root, lake.FACT_SALES, d)).is_file()]
    con = duckdb.connect()
    lake.register_on_duckdb(con, lake_root)
    if files:
        rel = con.execute(
            """
            SELECT ?::DATE AS week_start, store_id, any_value(store_name) AS store_name,
                   count(DISTINCT date)::INTEGER AS days_loaded, count(DISTINCT order_id) AS orders,
                   sum(revenue)::DECIMAL(18,2) AS revenue,
                   coalesce(-sum(revenue) FILTER (WHERE is_refund), 0)::DECIMAL(18,2) AS refunded
            FROM read_parquet(?) GROUP BY store_id ORDER BY store_id
            """,
            [monday, files],
        ).to_arrow_table()
        table = rel.cast(AGG_WEEKLY_SALES)
    else:
        table = AGG_WEEKLY_SALES.empty_table()
    layer, name = TABLE
    target = (
        lake.join(lake_root, layer, name, f"week={monday.isoformat()}", f"{name}_{monday.isoformat()}.parquet")
        if lake.is_s3(lake_root)
        else summary_file(lake_root, monday)
    )
    written = lake.write_parquet(table, target)
    log.info(
        "weekly summary receipt: week=%s days=%d stores=%d path=%s bytes=%d",
        monday, len(files), table.num_rows, written.path, written.bytes,
    )
    return written.path
