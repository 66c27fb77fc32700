"""Fixtures of the payments suite: one simulator (a real server) and one lake loaded for a few days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from include.etl import tasks
from odoo_sim.testing import SimulatorProcess, start_simulator
from tests.payments._support import DAYS, SIM_OPTIONS, TZ, client


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorProcess]:
    with start_simulator(**SIM_OPTIONS) as proc:
        yield proc


@pytest.fixture(scope="session")
def loaded_lake(sim: SimulatorProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DAYS business days loaded in-process through include/etl/tasks.run_day (what the DAG runs)."""
    root = tmp_path_factory.mktemp("lake")
    odoo = client(sim)
    for day in DAYS:
        tasks.run_day(odoo, day, TZ, str(root))
    return root


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
