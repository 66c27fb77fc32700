"""common-sql check operators bound to DuckDB (no Airflow Connection needed: in-memory database)."""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator

from include.etl import quality


class _OnDuckDB:
    """The DuckDB provider's hook resolution (no connection needed), imported only when a gate runs."""

    @property
    def hook_class(self) -> type:
        from airflow.providers.duckdb.hooks.duckdb import DuckDBHook

        return DuckDBHook

    def get_db_hook(self) -> Any:
        from airflow.providers.duckdb.operators.duckdb import DuckDBExecuteQueryOperator
        from nk_lake import lake_root

        from include.etl import lake

        hook = DuckDBExecuteQueryOperator.get_db_hook(self)  # type: ignore[arg-type]
        root = lake_root()  # sets up the S3 credentials of an S3 lake
        if lake.is_s3(root) or lake.S3_SCHEME in str(getattr(self, "table", "")):
            # the pending file is on S3: each connection the hook opens reads it through s3fs
            opened = hook.get_conn

            def get_conn() -> Any:
                return lake.register_on_duckdb(opened(), lake.S3_SCHEME)

            hook.get_conn = get_conn
        return hook


class DuckDBColumnCheckOperator(_OnDuckDB, SQLColumnCheckOperator):
    pass


class DuckDBTableCheckOperator(_OnDuckDB, SQLTableCheckOperator):
    pass


def fact_gates(fact_path: str, dim_products_path: str, day: date, **kwargs: Any) -> list[Any]:
    """The gates of one pending fact partition, ready to `execute` outside a DAG (late reloads)."""
    return [
        DuckDBColumnCheckOperator(
            task_id="check_fact_columns",
            conn_id="duckdb_default",
            table=quality.fact_source(fact_path),
            column_mapping=quality.COLUMN_MAPPING,
            **kwargs,
        ),
        DuckDBTableCheckOperator(
            task_id="check_fact_table",
            conn_id="duckdb_default",
            table=quality.fact_stats_source(fact_path, dim_products_path, day),
            checks=quality.TABLE_CHECKS,
            **kwargs,
        ),
    ]


def run_gates(fact_path: str, dim_products_path: str, day: date) -> None:
    """Execute the gates in this process; raises on the first failing gate."""
    for gate in fact_gates(fact_path, dim_products_path, day):
        gate.execute(context={})
