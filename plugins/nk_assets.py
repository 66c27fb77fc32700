"""The Airflow Assets NK Dash produces, shared by the producer DAG and the DAGs that consume them.

`publish` of `nk_dash_daily` emits an event on `FACT_SALES` for each published business
day, with `{"business_day": "YYYY-MM-DD", "path": "<published partition>"}` in the event's
extra; a DAG with `schedule=[FACT_SALES]` runs on fresh data (example:
dags/nk_dash_weekly_summary.py).
"""

from __future__ import annotations

from airflow.sdk import Asset

# A stable identity that does not depend on where the lake lives (x- = a scheme of our own).
FACT_SALES = Asset(name="nk_dash_fact_sales", uri="x-nk-dash://star-schema/fact_sales", group="nk_dash")
