"""Fixtures: one small simulator per module, started as a real subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import odoorpc
import pytest

from odoo_sim.testing import SimulatorProcess, start_simulator

SIM_OPTIONS = {"seed": 7, "start_date": "2025-01-01", "end_date": "2025-02-01", "lines_per_day": 300,
               "products": 300, "now": "2025-03-01 12:00:00"}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with start_simulator(**SIM_OPTIONS) as proc:
        yield proc


@pytest.fixture()
def odoo(sim: SimulatorProcess) -> odoorpc.ODOO:
    client = odoorpc.ODOO(sim.host, port=sim.port, timeout=30)
    client.login(sim.db, sim.login, sim.password)
    return client
