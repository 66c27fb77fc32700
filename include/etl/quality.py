"""Data-quality gates of a day's fact partition, as check definitions for common-sql check operators.

They run on DuckDB over the *pending* fact file, before it is published, so a failing gate
leaves the dashboard on the last good data. Plain data here; the operators that run them
are in plugins/nk_quality.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from include.etl.states import COUNTED_STATES

REQUIRED_KEYS = ("date", "order_id", "line_id", "product_id", "store_id", "quantity", "revenue")

COLUMN_MAPPING: dict[str, dict[str, dict[str, int]]] = {
    "line_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
    **{key: {"null_check": {"equal_to": 0}} for key in REQUIRED_KEYS if key != "line_id"},
}

TABLE_CHECKS: dict[str, dict[str, str]] = {
    "accepted_order_states": {"check_statement": "bad_states = 0"},
    "products_in_dim_products": {"check_statement": "missing_products = 0"},
    "dates_are_the_business_day": {"check_statement": "other_dates = 0"},
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fact_source(fact_path: str) -> str:
    """The FROM-clause source of the pending fact file."""
    return f"read_parquet({_literal(fact_path)})"


def fact_stats_source(fact_path: str, dim_products_path: str, day: date | str) -> str:
    """One row of counts the table checks test; one row even for a day without sales."""
    states = ", ".join(_literal(s) for s in sorted(COUNTED_STATES))
    fact = fact_source(fact_path)
    return (
        "(SELECT "
        f"count(*) FILTER (WHERE order_state NOT IN ({states})) AS bad_states, "
        f"count(*) FILTER (WHERE date <> DATE {_literal(str(day))}) AS other_dates, "
        f"(SELECT count(*) FROM {fact} f ANTI JOIN read_parquet({_literal(dim_products_path)}) d "
        "USING (product_id)) AS missing_products "
        f"FROM {fact}) AS fact_stats"
    )


# Checks of the pending fact_payments file, run in-process by include/etl/payments.py before it
# is written pending (the fact_sales gates above run as Airflow check operators).
PAYMENT_CHECKS: dict[str, str] = {
    "payment ids are present and unique": "count(*) - count(DISTINCT payment_id)",
    "rows of another day": "count(*) FILTER (WHERE date <> DATE {day})",
    "rows without order, store or method": (
        "count(*) FILTER (WHERE order_id IS NULL OR store_id IS NULL OR payment_method_id IS NULL)"
    ),
    "change lines that are not cash paid out": (
        "count(*) FILTER (WHERE is_change AND (amount > 0 OR payment_method_type <> 'cash'))"
    ),
}


def payment_gate_failures(con: Any, payments_path: str, day: date | str) -> dict[str, int]:
    """The payment checks that fail on the file, with their count of offending rows ({} when all pass)."""
    selects = ", ".join(
        f"{sql.format(day=_literal(str(day)))} AS c{i}" for i, sql in enumerate(PAYMENT_CHECKS.values())
    )
    counts = con.execute(f"SELECT {selects} FROM read_parquet({_literal(payments_path)})").fetchone()
    return {name: int(n) for name, n in zip(PAYMENT_CHECKS, counts, strict=True) if n}
