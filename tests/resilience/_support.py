"""Helpers of the resilience suite: a client on the simulator, the simulator's expected totals, the lake's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from include.etl import lake, publish, views
from include.etl.business_day import day_window_utc, odoo_datetime
from include.etl.odoo_client import OdooClient, OdooSettings
from odoo_sim.testing import SimulatorProcess

TZ_NAME = "Europe/Brussels"
TZ = ZoneInfo(TZ_NAME)
CONN_ID = "odoo_resilience"
SIM_OPTIONS: dict[str, Any] = {
    "seed": 11,
    "timezone": TZ_NAME,
    "start_date": "2025-01-01",
    "end_date": "2025-02-01",
    "lines_per_day": 300,
    "products": 400,
    "now": "2025-03-01 12:00:00",
}


def settings(sim: SimulatorProcess, **overrides: Any) -> OdooSettings:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": sim.port,
        "database": sim.db,
        "login": sim.login,
        "secret": sim.password,
        "timeout": 2,
        "backoff_base": 0.05,
        "max_attempts": 4,
        "conn_id": CONN_ID,
    }
    base.update(overrides)
    return OdooSettings(**base)


def client(sim: SimulatorProcess, **overrides: Any) -> OdooClient:
    return OdooClient(settings(sim, **overrides)).connect()


def window(day: date) -> tuple[str, str]:
    start, end = day_window_utc(day, TZ)
    return odoo_datetime(start), odoo_datetime(end)


def expected(sim: SimulatorProcess, day: date) -> dict[str, Any]:
    """The simulator's own totals of the counted orders of a business day."""
    return sim.stats(*window(day))


@dataclass(frozen=True)
class DayTotals:
    lines: int
    quantity: Decimal
    revenue: Decimal
    line_ids: tuple[int, ...]


def lake_day(root: Path | str, day: date) -> DayTotals:
    """What a dashboard reading the lake sees of one day (through the DuckDB views)."""
    con = views.connect(str(root))
    try:
        rows, qty, revenue = con.execute(
            "SELECT count(*), coalesce(sum(quantity), 0), coalesce(sum(revenue), 0) FROM fact_sales WHERE date = ?",
            [day],
        ).fetchone()
        ids = [r[0] for r in con.execute("SELECT line_id FROM fact_sales WHERE date = ? ORDER BY 1", [day]).fetchall()]
    finally:
        con.close()
    return DayTotals(rows, Decimal(qty), Decimal(revenue), tuple(ids))


def assert_day_equals_sim(root: Path | str, sim: SimulatorProcess, day: date) -> dict[str, Any]:
    """The lake's day is exactly the simulator's: same line ids (none missing, none twice), same sums."""
    stats = expected(sim, day)
    got = lake_day(root, day)
    assert stats["lines"] > 0
    assert len(got.line_ids) == len(set(got.line_ids)), "a line id appears twice in fact_sales"
    assert list(got.line_ids) == stats["line_ids"]
    assert (got.lines, got.quantity, got.revenue) == (
        stats["lines"],
        Decimal(stats["quantity"]),
        Decimal(stats["revenue"]),
    )
    return stats


def fact_file(root: Path | str, day: date) -> Path:
    return lake.partition_file(root, lake.FACT_SALES, day)


def fingerprint(root: Path | str, day: date) -> tuple[str, str]:
    """SHA-256 of the published fact partition and the load manifest of a day."""
    manifest = publish.manifest_file(str(root), day)
    return (
        hashlib.sha256(fact_file(root, day).read_bytes()).hexdigest(),
        hashlib.sha256(manifest.read_bytes()).hexdigest(),
    )


def temp_files(root: Path | str) -> list[Path]:
    return sorted(Path(root).rglob(f".*{lake._TMP_MARK}*"))
