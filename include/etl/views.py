"""The one module that creates the DuckDB views over the lake (architecture.md §4).

Used by the dashboard and by the checks. The connection is in-memory and reads Parquet
files only, so it never holds a lock that the ETL could trip on.
"""

from __future__ import annotations

import glob
import os

import duckdb
import pyarrow as pa

from include.etl import lake, schema
from include.etl.config import lake_root

# fact views: name -> (lake table, schema); one file per business day, read with union_by_name
FACTS = {
    "fact_sales": (lake.FACT_SALES, schema.FACT_SALES),
    "fact_payments": (lake.FACT_PAYMENTS, schema.FACT_PAYMENTS),
    "fact_sessions": (lake.FACT_SESSIONS, schema.FACT_SESSIONS),
}
VIEWS = (*FACTS, *schema.DIMENSIONS)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _empty_select(arrow_schema: pa.Schema) -> str:
    cols = ", ".join(f'CAST(NULL AS {_duck_type(field.type)}) AS "{field.name}"' for field in arrow_schema)
    return f"SELECT {cols} WHERE false"


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    mapping = {
        pa.date32(): "DATE",
        pa.int64(): "BIGINT",
        pa.int8(): "TINYINT",
        pa.string(): "VARCHAR",
        pa.bool_(): "BOOLEAN",
        pa.timestamp("us"): "TIMESTAMP",
    }
    return mapping[arrow_type]


def view_sql(name: str, root: str) -> str:
    """The SELECT behind view `name` for the lake at `root`."""
    if name in FACTS:
        table, fact_schema = FACTS[name]
        pattern = lake.table_glob(root, table)
        if not glob.glob(pattern):
            return _empty_select(fact_schema)
        # The partition folders are not read as columns: `date` is in every file, typed. Files
        # written before a column was added (user_id, employee_id) read it as NULL.
        return f"SELECT * FROM read_parquet({_sql_literal(pattern)}, hive_partitioning = false, union_by_name = true)"
    arrow_schema, _key = schema.DIMENSIONS[name]
    path = str(lake.dimension_file(root, name))
    if not os.path.exists(path):
        return _empty_select(arrow_schema)
    # a dimension file written before a column was added reads it as NULL
    cols = ", ".join(f'"{f.name}"' for f in arrow_schema)
    return (
        f"SELECT {cols} FROM ({_empty_select(arrow_schema)} "
        f"UNION ALL BY NAME SELECT * FROM read_parquet({_sql_literal(path)}))"
    )


def create_views(con: duckdb.DuckDBPyConnection, root: str | None = None) -> None:
    root = root or lake_root()
    for name in VIEWS:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {view_sql(name, root)}")


def connect(lake_path: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake views (`VIEWS`)."""
    con = duckdb.connect(":memory:")
    create_views(con, lake_path)
    return con
