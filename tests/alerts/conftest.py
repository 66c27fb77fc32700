"""Shared, module-scoped servers for the alert tests: SMTP, StatsD listener, the Odoo simulator."""

from __future__ import annotations

import sys

import pytest

from odoo_sim.testing import start_simulator
from tests.airflow_env import REPO
from tests.alerts.servers import SmtpServer, StatsdListener

TZ = "Europe/Brussels"

# plugins/ is on Airflow's path; the unit tests import nk_alerts the same way the DAG does.
if str(REPO / "plugins") not in sys.path:
    sys.path.insert(0, str(REPO / "plugins"))


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
