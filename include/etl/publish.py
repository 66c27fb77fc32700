"""Publish a day's checked fact partition and record when the day was loaded (for late corrections)."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

from include.etl import lake, serving
from include.etl.extract import drop_staging, load_staging

log = logging.getLogger(__name__)

STATE = "_state"


def manifest_file(lake_root: str, day: date) -> Path | str:
    return lake.path_of(lake.join(lake_root, STATE, "loads", f"{day.isoformat()}.json"))


def read_manifest(lake_root: str, day: date) -> dict[str, Any] | None:
    try:
        return json.loads(lake.read_bytes(manifest_file(lake_root, day)))
    except FileNotFoundError:
        return None


def publish(staging_dir: str, pending_fact: str, lake_root: str, day: date) -> str:
    """Replace the day's fact partitions with the checked pending files (lake.Lake.publish_day)."""
    meta = load_staging(staging_dir, "meta")
    # The day's payments and sessions (written pending by load_payments) go first, then its sales:
    # on disk each file is replaced by one atomic rename; on S3 all three become visible at once
    # with the catalog's conditional write. Both only after the gates passed.
    pending = {}
    for table in (lake.FACT_PAYMENTS, lake.FACT_SESSIONS):
        companion = lake.join(staging_dir, lake.partition_file("", table, day).name)
        if lake.exists(companion):
            pending[table] = companion
    pending[lake.FACT_SALES] = pending_fact
    published = lake.Lake(lake_root).publish_day(day, pending)
    target = published.pop(lake.FACT_SALES)
    companions = {table[1]: path for table, path in published.items()}
    manifest = {
        "day": day.isoformat(),
        "loaded_at_utc": meta["extracted_at_utc"],
        "orders": meta["orders"],
        "lines": meta["lines"],
        "fact_path": target,
        "fact_bytes": lake.file_size(target),
        "payments": meta.get("payments"),
        "sessions": meta.get("sessions"),
        **{f"{name}_path": path for name, path in companions.items()},
    }
    # written after the publish: a crash before it leaves the older load time, so late
    # corrections look at more changes, never fewer
    lake.write_bytes(manifest_file(lake_root, day), json.dumps(manifest, indent=1).encode())
    drop_staging(staging_dir)
    serving.refresh_quietly(lake_root)  # the dashboard's summaries of the lake (include/etl/serving.py)
    log.info(
        "publish receipt: day=%s path=%s bytes=%d, with %s (extracted at %s UTC)",
        day,
        target,
        manifest["fact_bytes"],
        ", ".join(companions.values()) or "no payments/sessions file",
        manifest["loaded_at_utc"],
    )
    return str(target)
