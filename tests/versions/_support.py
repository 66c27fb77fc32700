"""A client of the versions suite: short timeouts and back-off, the connection named, the secret given."""

from __future__ import annotations

from typing import Any

from include.etl.odoo_client import OdooClient, OdooSettings
from odoo_sim.testing import SimulatorProcess

CONN_ID = "odoo_versions"


def settings(sim: SimulatorProcess, secret: str | None = None, **overrides: Any) -> OdooSettings:
    base: dict[str, Any] = {
        "host": sim.host,
        "port": sim.port,
        "database": sim.db,
        "login": sim.login,
        "secret": sim.api_key if secret is None else secret,
        "timeout": 10,
        "backoff_base": 0.05,
        "max_attempts": 3,
        "conn_id": CONN_ID,
    }
    base.update(overrides)
    return OdooSettings(**base)


def client(sim: SimulatorProcess, secret: str | None = None, **overrides: Any) -> OdooClient:
    return OdooClient(settings(sim, secret, **overrides)).connect()
