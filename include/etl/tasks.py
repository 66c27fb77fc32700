"""The five steps of `nk_dash_daily` as plain functions: lake paths in, lake paths out.

The DAG only wires these together; they run and test without Airflow.
"""

from __future__ import annotations

import logging
from datetime import date, tzinfo

from include.etl import clean as clean_mod
from include.etl import dims, fact, lake, raw
from include.etl import extract as extract_mod
from include.etl.odoo_client import OdooClient

log = logging.getLogger(__name__)


def extract(client: OdooClient, day: date, tz: tzinfo, lake_root: str) -> str:
    lake.clean_stale_temp_files(lake_root)
    return extract_mod.extract_day(client, day, tz, lake_root).staging_dir


def save_raw(staging_dir: str, lake_root: str, day: date) -> str:
    return raw.save_raw(staging_dir, lake_root, day).path


def clean(raw_path: str, staging_dir: str, lake_root: str, day: date, tz: tzinfo) -> dict[str, str]:
    summary = clean_mod.clean_day(raw_path, staging_dir, lake_root, day, tz)
    return {"clean": summary.clean_path, "rejects": summary.rejects_path}


def load_fact(clean_paths: dict[str, str], staging_dir: str, lake_root: str, day: date) -> str:
    return fact.load_fact(clean_paths["clean"], clean_paths["rejects"], staging_dir, lake_root, day).path


def upsert_dims(staging_dir: str, lake_root: str) -> list[str]:
    summaries = dims.upsert_dims(staging_dir, lake_root)
    extract_mod.drop_staging(staging_dir)
    return [s.path for s in summaries]


def run_day(client: OdooClient, day: date, tz: tzinfo, lake_root: str) -> str:
    """All five steps in one process (tests, one-off scripts); returns the fact partition path."""
    staging = extract(client, day, tz, lake_root)
    raw_path = save_raw(staging, lake_root, day)
    clean_paths = clean(raw_path, staging, lake_root, day, tz)
    fact_path = load_fact(clean_paths, staging, lake_root, day)
    upsert_dims(staging, lake_root)
    return fact_path
