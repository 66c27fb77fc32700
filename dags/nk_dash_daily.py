"""
# nk_dash_daily

Loads one **business day** of Odoo Point-of-Sale order lines into the Parquet lake:
`extract → save_raw → clean → load_fact → upsert_dims`.

- The business day is the run's logical date in the store's time zone (`STORE_TIMEZONE`);
  scheduled and backfill runs start at store-local midnight, and the scheduled run for a
  day starts at 02:00 store time the next morning. Set `AIRFLOW__CORE__DEFAULT_TIMEZONE`
  to the same zone so that `airflow backfill create --from-date A --to-date B` and
  `airflow dags test nk_dash_daily 2025-01-05` mean store-local days.
- Odoo is read through the Connection `odoo_default`; the lake root is `DATA_LAKE_PATH`.
- Rerunning a day replaces that day's files; the tasks pass lake paths through XCom.
- Each task log ends with a receipt: rows, pages, RPC calls, paths, bytes and seconds.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from nk_dash_timetable import BusinessDayTimetable

from include.etl.config import lake_root, odoo_conn_id, store_timezone

_TZ = store_timezone()

default_args = {
    "owner": "nk-dash",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@dag(
    dag_id="nk_dash_daily",
    schedule=BusinessDayTimetable(str(_TZ)),
    start_date=pendulum.datetime(2024, 1, 1, tz=str(_TZ)),
    catchup=False,
    max_active_runs=4,
    default_args=default_args,
    tags=["nk-dash", "odoo", "pos"],
    doc_md=__doc__,
)
def nk_dash_daily() -> None:
    @task
    def extract(logical_date=None) -> str:  # noqa: ANN001 - injected by Airflow
        from nk_odoo_hook import OdooHook

        from include.etl import tasks
        from include.etl.business_day import business_day

        client = OdooHook(odoo_conn_id()).get_conn()
        return tasks.extract(client, business_day(logical_date, _TZ), _TZ, lake_root())

    @task
    def save_raw(staging_dir: str, logical_date=None) -> str:  # noqa: ANN001
        from include.etl import tasks
        from include.etl.business_day import business_day

        return tasks.save_raw(staging_dir, lake_root(), business_day(logical_date, _TZ))

    @task
    def clean(raw_path: str, staging_dir: str, logical_date=None) -> dict[str, str]:  # noqa: ANN001
        from include.etl import tasks
        from include.etl.business_day import business_day

        return tasks.clean(raw_path, staging_dir, lake_root(), business_day(logical_date, _TZ), _TZ)

    @task
    def load_fact(clean_paths: dict[str, str], staging_dir: str, logical_date=None) -> str:  # noqa: ANN001
        from include.etl import tasks
        from include.etl.business_day import business_day

        return tasks.load_fact(clean_paths, staging_dir, lake_root(), business_day(logical_date, _TZ))

    @task
    def upsert_dims(staging_dir: str, fact_path: str) -> list[str]:
        from include.etl import tasks

        return tasks.upsert_dims(staging_dir, lake_root())

    staging = extract()
    raw_path = save_raw(staging)
    clean_paths = clean(raw_path, staging)
    fact_path = load_fact(clean_paths, staging)
    upsert_dims(staging, fact_path)


nk_dash_daily()
