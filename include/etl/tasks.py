"""The steps of `nk_dash_daily` as plain functions: lake paths in, lake paths out.

The DAG only wires these together; they run and test without Airflow. Between
`upsert_dims` and `publish` the DAG runs the data-quality gates (include/etl/quality.py).
Each step imports what it uses in its body: a task process loads only its own step's
modules (save_raw and clean need neither DuckDB nor the Odoo client, for instance).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import date, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from include.etl.odoo_client import OdooClient

log = logging.getLogger(__name__)

Gates = Callable[[str, str, date], None]
_T = TypeVar("_T", bound=Callable[..., Any])


def _releasing_memory(fn: _T) -> _T:
    """After the step, hand the pages Arrow's allocator freed back to the OS.

    mimalloc (pyarrow's default pool) keeps freed pages for reuse; a process that runs
    several steps (`run_day`, late reloads, the benchmark) would otherwise start each step
    from the previous one's peak.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            import pyarrow as pa

            pa.default_memory_pool().release_unused()

    return wrapper  # type: ignore[return-value]


@_releasing_memory
def extract(client: OdooClient, day: date, tz: tzinfo, lake_root: str) -> str:
    from include.etl import extract as extract_mod
    from include.etl import lake

    lake.Lake(lake_root).clean_orphans()
    return extract_mod.extract_day(client, day, tz, lake_root).staging_dir


@_releasing_memory
def save_raw(staging_dir: str, lake_root: str, day: date) -> str:
    from include.etl import raw

    return raw.save_raw(staging_dir, lake_root, day).path


@_releasing_memory
def clean(raw_path: str, staging_dir: str, lake_root: str, day: date, tz: tzinfo) -> dict[str, str]:
    from include.etl import clean as clean_mod

    summary = clean_mod.clean_day(raw_path, staging_dir, lake_root, day, tz)
    return {"clean": summary.clean_path, "rejects": summary.rejects_path}


@_releasing_memory
def load_fact(clean_paths: dict[str, str], staging_dir: str, lake_root: str, day: date) -> str:
    """The day's fact file, reconciled with Odoo, written pending (unpublished) in staging."""
    from include.etl import fact

    return fact.load_fact(clean_paths["clean"], clean_paths["rejects"], staging_dir, lake_root, day).path


@_releasing_memory
def load_payments(staging_dir: str, lake_root: str, day: date, tz: tzinfo) -> dict[str, str]:
    """The day's payments (reconciled with the order totals) and sessions, written pending in staging."""
    from include.etl import payments

    summary = payments.load_payments(staging_dir, lake_root, day, tz)
    return {"fact_payments": summary.payments_path, "fact_sessions": summary.sessions_path}


@_releasing_memory
def upsert_dims(staging_dir: str, lake_root: str) -> list[str]:
    from include.etl import dims

    return [s.path for s in dims.upsert_dims(staging_dir, lake_root)]


def dim_products_path(lake_root: str) -> str:
    from include.etl import lake

    return lake.Lake(lake_root).dimension_file("dim_products")


@_releasing_memory
def publish(staging_dir: str, pending_fact: str, lake_root: str, day: date) -> str:
    from include.etl import publish as publish_mod

    return publish_mod.publish(staging_dir, pending_fact, lake_root, day)


def run_day(client: OdooClient, day: date, tz: tzinfo, lake_root: str, gates: Gates | None = None) -> str:
    """Every step for one day in this process; returns the published fact partition."""
    staging = extract(client, day, tz, lake_root)
    raw_path = save_raw(staging, lake_root, day)
    clean_paths = clean(raw_path, staging, lake_root, day, tz)
    pending = load_fact(clean_paths, staging, lake_root, day)
    load_payments(staging, lake_root, day, tz)
    upsert_dims(staging, lake_root)
    if gates is not None:
        gates(pending, dim_products_path(lake_root), day)
    return publish(staging, pending, lake_root, day)


def reload_late_changes(
    client: OdooClient, day: date, tz: tzinfo, lake_root: str, gates: Gates | None, lookback: int | None = None
) -> dict[str, str]:
    """Reload the earlier days (within the look-back) whose orders changed after they were loaded."""
    from include.etl import corrections

    lookback = corrections.lookback_days() if lookback is None else lookback
    reasons = corrections.changed_days(client, day, tz, lake_root, lookback) if lookback > 0 else {}
    for changed_day, reason in reasons.items():
        log.warning("reloading business day %s: %s", changed_day, reason)
        run_day(client, changed_day, tz, lake_root, gates)
    return {d.isoformat(): r for d, r in reasons.items()}
