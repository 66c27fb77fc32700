"""Shared, module-scoped servers for the alert tests: SMTP, StatsD listener, the Odoo simulator."""

from __future__ import annotations

import pytest

from odoo_sim.testing import start_simulator
from tests.alerts.servers import SmtpServer, StatsdListener

TZ = "Europe/Brussels"


@pytest.fixture(scope="session")
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="session")
def statsd():
    with StatsdListener() as listener:
        yield listener


@pytest.fixture(scope="session")
def simulator():
    with start_simulator(timezone=TZ, start_date="2024-12-01", lines_per_day=300, stores=2) as sim:
        yield sim
