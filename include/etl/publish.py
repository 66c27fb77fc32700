"""Publish a day's checked fact partition and record when the day was loaded (for late corrections)."""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

from include.etl import lake, serving
from include.etl.extract import drop_staging, load_staging

log = logging.getLogger(__name__)

STATE = "_state"


def manifest_file(lake_root: str, day: date) -> Path:
    return Path(lake_root, STATE, "loads", f"{day.isoformat()}.json")


def read_manifest(lake_root: str, day: date) -> dict[str, Any] | None:
    try:
        return json.loads(manifest_file(lake_root, day).read_text())
    except FileNotFoundError:
        return None


def publish(staging_dir: str, pending_fact: str, lake_root: str, day: date) -> str:
    """Atomically replace the day's fact partition with the checked pending file."""
    meta = load_staging(staging_dir, "meta")
    # The day's payments and sessions (written pending by load_payments) go first, then its sales:
    # each file is replaced by one atomic rename, all after the gates passed.
    companions = {}
    for table in (lake.FACT_PAYMENTS, lake.FACT_SESSIONS):
        pending = Path(staging_dir, lake.partition_file("", table, day).name)
        if pending.exists():
            companions[table[1]] = str(lake.publish_file(pending, lake.partition_file(lake_root, table, day)))
    target = lake.publish_file(pending_fact, lake.partition_file(lake_root, lake.FACT_SALES, day))
    manifest = {
        "day": day.isoformat(),
        "loaded_at_utc": meta["extracted_at_utc"],
        "orders": meta["orders"],
        "lines": meta["lines"],
        "fact_path": str(target),
        "fact_bytes": target.stat().st_size,
        "payments": meta.get("payments"),
        "sessions": meta.get("sessions"),
        **{f"{name}_path": path for name, path in companions.items()},
    }
    path = manifest_file(lake_root, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, path)
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
