"""Fixtures of the resilience suite: the simulator runs as a real server, the lake is a real folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from odoo_sim.testing import SimulatorProcess, start_simulator
from tests.resilience._support import SIM_OPTIONS


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    """One simulator per module, for tests that do not mutate its data (faults are cleared after each test)."""
    with start_simulator(**SIM_OPTIONS) as proc:
        yield proc


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").clear_faults()


@pytest.fixture()
def fresh_sim() -> Iterator[SimulatorProcess]:
    """A simulator of its own, for a test that mutates the source data."""
    with start_simulator(**SIM_OPTIONS) as proc:
        yield proc
