"""
# nk_dash_daily

Loads one **business day** of Odoo Point-of-Sale order lines into the Parquet lake:

`extract → save_raw → clean → load_fact → upsert_dims → check_fact_columns, check_fact_table
→ publish → reload_late_changes`, with `load_payments` (payments and sessions) between
`load_fact` and `publish`

- The business day is the run's logical date in the store's time zone (`STORE_TIMEZONE`);
  scheduled and backfill runs start at store-local midnight, and the scheduled run for a
  day starts at 02:00 store time the next morning. Set `AIRFLOW__CORE__DEFAULT_TIMEZONE`
  to the same zone so that `airflow backfill create --from-date A --to-date B` and
  `airflow dags test nk_dash_daily 2025-01-05` mean store-local days.
- Odoo is read through the Connection `odoo_default`; the lake root is `DATA_LAKE_PATH`, a
  folder or `s3://bucket/prefix` (credentials from the Connection `aws_default`).
- `load_fact` reconciles the day with Odoo's order totals and writes it *pending*; the
  data-quality gates (common-sql checks on DuckDB) must pass before `publish` swaps it
  into `star-schema/fact_sales/`, so a failed gate leaves the dashboard on good data.
- `reload_late_changes` reloads earlier days (`NK_DASH_LOOKBACK_DAYS`, default 7) whose
  orders changed in Odoo after they were loaded, and says which and why.
- Rerunning a day replaces that day's files; the tasks pass lake paths through XCom.
- Each task log ends with a receipt: rows, pages, RPC calls, paths, bytes and seconds.
- Alerts (plugins/nk_alerts.py): a task that failed after its retries is notified (e-mail,
  Slack) with the day, the task, the cause and a link to its log; a Deadline Alert fires
  when a day is not published by `NK_DASH_PUBLISH_BY` (default 07:00 store time).
- `publish` emits the Asset `nk_dash_fact_sales` (extra: `business_day`, `path`);
  `check_anomalies` compares the day with the same weekday of the previous 8 weeks.
- Each successful task records its figures in `<lake>/_state/metrics/` for Prometheus.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

try:
    from nk_dash_timetable import BusinessDayTimetable
    from nk_lake import lake_root
    from nk_quality import fact_gates
except ImportError as exc:  # pragma: no cover - exercised by tests/test_dag_integrity.py in a subprocess
    raise ImportError(
        f"nk_dash_daily needs NK Dash's Airflow plugins ({exc.name} not found): set "
        "AIRFLOW__CORE__PLUGINS_FOLDER to the repository's plugins/ folder, or copy plugins/*.py into "
        "your Airflow's plugins folder (README: 'Running NK Dash in an Airflow you already have')"
    ) from exc
from nk_alerts import FailureNotifier, publish_deadline, record_task_metrics, task_retries
from nk_alerts import retry_delay as alerts_retry_delay
from nk_assets import FACT_SALES

from include.etl.config import odoo_conn_id, store_timezone

_TZ = store_timezone()
# Jinja, rendered when the gates run: the pending fact file, dim_products, the business day.
_PENDING_FACT = '{{ ti.xcom_pull(task_ids="load_fact") }}'
_DIM_PRODUCTS = '{{ ti.xcom_pull(task_ids="upsert_dims")[0] }}'
_DAY = '{{ logical_date.in_timezone("' + str(_TZ) + '").date() }}'

default_args = {
    "owner": "nk-dash",
    "retries": task_retries(),
    "retry_delay": alerts_retry_delay(),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    # After the last retry only (a retry is not an alert); figures of each successful task.
    "on_failure_callback": [FailureNotifier()],
    "on_success_callback": [record_task_metrics],
}


def _day(logical_date):  # noqa: ANN001, ANN202 - the run's logical date, injected by Airflow
    from include.etl.business_day import business_day

    return business_day(logical_date, _TZ)


@dag(
    dag_id="nk_dash_daily",
    schedule=BusinessDayTimetable(str(_TZ)),
    start_date=pendulum.datetime(2024, 1, 1, tz=str(_TZ)),
    catchup=False,
    max_active_runs=4,
    default_args=default_args,
    tags=["nk-dash", "odoo", "pos"],
    doc_md=__doc__,
    deadline=publish_deadline(),
)
def nk_dash_daily() -> None:
    @task
    def extract(logical_date=None) -> str:  # noqa: ANN001
        from nk_odoo_hook import OdooHook, fail_fast

        from include.etl import tasks

        with fail_fast():
            return tasks.extract(OdooHook(odoo_conn_id()).get_conn(), _day(logical_date), _TZ, lake_root())

    @task
    def save_raw(staging_dir: str, logical_date=None) -> str:  # noqa: ANN001
        from include.etl import tasks

        return tasks.save_raw(staging_dir, lake_root(), _day(logical_date))

    @task
    def clean(raw_path: str, staging_dir: str, logical_date=None) -> dict[str, str]:  # noqa: ANN001
        from include.etl import tasks

        return tasks.clean(raw_path, staging_dir, lake_root(), _day(logical_date), _TZ)

    @task
    def load_fact(clean_paths: dict[str, str], staging_dir: str, logical_date=None) -> str:  # noqa: ANN001
        from include.etl import tasks

        return tasks.load_fact(clean_paths, staging_dir, lake_root(), _day(logical_date))

    @task
    def load_payments(staging_dir: str, logical_date=None) -> dict[str, str]:  # noqa: ANN001
        from include.etl import tasks

        return tasks.load_payments(staging_dir, lake_root(), _day(logical_date), _TZ)

    @task
    def upsert_dims(staging_dir: str) -> list[str]:
        from include.etl import tasks

        return tasks.upsert_dims(staging_dir, lake_root())

    @task(outlets=[FACT_SALES])
    def publish(staging_dir: str, pending_fact: str, logical_date=None, outlet_events=None) -> str:  # noqa: ANN001
        from include.etl import tasks

        day = _day(logical_date)
        path = tasks.publish(staging_dir, pending_fact, lake_root(), day)
        outlet_events[FACT_SALES].extra = {"business_day": day.isoformat(), "path": path}
        return path

    @task
    def check_anomalies(published: str, logical_date=None) -> int:  # noqa: ANN001, ARG001 - runs after publish
        from nk_alerts import notify_anomalies

        from include.etl import anomaly

        result = anomaly.check_and_record(lake_root(), _day(logical_date))
        notify_anomalies(result)
        return len(result["anomalies"])

    @task
    def reload_late_changes(logical_date=None) -> dict[str, str]:  # noqa: ANN001
        from nk_odoo_hook import OdooHook, fail_fast
        from nk_quality import run_gates

        from include.etl import tasks

        with fail_fast():
            client = OdooHook(odoo_conn_id()).get_conn()
            return tasks.reload_late_changes(client, _day(logical_date), _TZ, lake_root(), run_gates)

    staging = extract()
    pending = load_fact(clean(save_raw(staging), staging), staging)
    dims = upsert_dims(staging)
    pending >> dims
    gates = fact_gates(_PENDING_FACT, _DIM_PRODUCTS, _DAY)
    dims >> gates
    published = publish(staging, pending)
    gates >> published
    # payments and sessions: reconciled after the sales, published with them
    pending >> load_payments(staging) >> published
    published >> reload_late_changes()
    check_anomalies(published)


nk_dash_daily()
