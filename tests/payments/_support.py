"""Helpers of the payments suite: a client on the simulator and the simulator's own expected figures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from include.etl.business_day import day_window_utc, odoo_datetime
from include.etl.odoo_client import OdooClient
from odoo_sim.testing import SimulatorProcess
from tests.resilience._support import settings

TZ_NAME = "Europe/Brussels"
TZ = ZoneInfo(TZ_NAME)
SIM_OPTIONS: dict[str, Any] = {
    "seed": 23,
    "timezone": TZ_NAME,
    "start_date": "2025-03-01",
    "end_date": "2025-04-15",
    "lines_per_day": 400,
    "products": 300,
    "stores": 3,
    "now": "2025-05-01 12:00:00",
}
# a week, the spring DST change (2025-03-30) included
DAYS = [date(2025, 3, 27) + timedelta(days=i) for i in range(7)]


def client(sim: SimulatorProcess, **overrides: Any) -> OdooClient:
    options = {"timeout": 5, "max_attempts": 3, "conn_id": "odoo_payments", **overrides}
    return OdooClient(settings(sim, **options)).connect()


def window(day: date) -> tuple[str, str]:
    start, end = day_window_utc(day, TZ)
    return odoo_datetime(start), odoo_datetime(end)


def expected(sim: SimulatorProcess, day: date) -> dict[str, Any]:
    """The simulator's own totals of a business day: sales, payments by method, customers, sessions."""
    return sim.stats(*window(day))
