"""Settings, read from the environment in one place (documented in README and .env.example)."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LAKE = REPO_ROOT / "data-lake"


def lake_root() -> str:
    """`DATA_LAKE_PATH`: a local folder (default `data-lake/` in the repository) or `s3://bucket/prefix`."""
    value = os.environ.get("DATA_LAKE_PATH", "").strip()
    if value.startswith("s3://"):
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve()) if value else str(DEFAULT_LAKE)


def store_timezone() -> ZoneInfo:
    """`STORE_TIMEZONE`: IANA name of the store's time zone (default UTC)."""
    return ZoneInfo(os.environ.get("STORE_TIMEZONE", "").strip() or "UTC")


def odoo_conn_id() -> str:
    return os.environ.get("NK_DASH_ODOO_CONN_ID", "").strip() or "odoo_default"
