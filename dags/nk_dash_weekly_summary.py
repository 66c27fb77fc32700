"""
# nk_dash_weekly_summary

An example of a DAG that runs on fresh data: it is scheduled on the Asset
`nk_dash_fact_sales`, which `publish` of `nk_dash_daily` emits for every published
business day (the day is in the event's extra, `business_day`).

For each ISO week that holds a newly published day it rewrites
`star-schema/agg_weekly_sales/week=YYYY-MM-DD/agg_weekly_sales_YYYY-MM-DD.parquet`: one row
per store with the days of that week loaded so far, orders, revenue and refunds
(include/etl/weekly.py). Several events queued while it waited give one run.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from nk_assets import FACT_SALES
from nk_lake import lake_root  # DATA_LAKE_PATH, with the S3 credentials of an S3 lake


@dag(
    dag_id="nk_dash_weekly_summary",
    schedule=[FACT_SALES],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "nk-dash", "retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["nk-dash"],
    doc_md=__doc__,
)
def nk_dash_weekly_summary() -> None:
    @task
    def weekly_summary(triggering_asset_events=None) -> list[str]:  # noqa: ANN001
        from datetime import date

        from include.etl import weekly

        days = sorted(
            {date.fromisoformat(e.extra["business_day"]) for e in triggering_asset_events[FACT_SALES]
             if "business_day" in (e.extra or {})}
        )
        weeks = sorted({weekly.week_start(d) for d in days})
        return [weekly.write_weekly_summary(lake_root(), monday) for monday in weeks]

    weekly_summary()


nk_dash_weekly_summary()
