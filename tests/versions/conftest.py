"""Fixtures of the versions suite: one small simulator per Odoo version (16..20), as real servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from odoo_sim.testing import SimulatorProcess, start_simulator

VERSIONS = (16, 17, 18, 19, 20)
SIM_OPTIONS: dict[str, Any] = {
    "seed": 5,
    "timezone": "Europe/Brussels",
    "start_date": "2025-01-01",
    "end_date": "2025-01-10",
    "lines_per_day": 150,
    "products": 200,
    "now": "2025-03-01 12:00:00",
}


@pytest.fixture(scope="session")
def sims() -> Iterator[dict[int, SimulatorProcess]]:
    """The same simulated days served as Odoo 16, 17, 18, 19 and 20."""
    started: dict[int, SimulatorProcess] = {}
    try:
        for major in VERSIONS:
            started[major] = start_simulator(odoo_version=major, **SIM_OPTIONS)
        yield started
    finally:
        for proc in started.values():
            proc.stop()
