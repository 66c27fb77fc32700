"""A real S3 API on 127.0.0.1 (moto_server), started once for every S3 test, and S3 lakes on it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from include.etl import lake
from odoo_sim.testing import SimulatorProcess, start_simulator
from tests.payments._support import SIM_OPTIONS
from tests.s3.server import BUCKET, S3Server, start_s3_server, stop_s3_server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    saved = {k: os.environ.get(k) for k in server.env()}
    os.environ.update(server.env())
    lake.configure_s3(**server.options())
    try:
        yield server
    finally:
        lake.configure_s3()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        stop_s3_server(server)


@pytest.fixture
def s3_root(s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    """A fresh lake: its own prefix in the shared bucket."""
    return f"s3://{BUCKET}/{request.node.name[:40]}-{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def s3_sim() -> Iterator[SimulatorProcess]:
    with start_simulator(**SIM_OPTIONS) as proc:
        yield proc
