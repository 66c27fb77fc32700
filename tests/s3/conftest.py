"""A real S3 API on 127.0.0.1 (moto_server), started once for every S3 test, and S3 lakes on it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from include.etl import lake
from odoo_sim.testing import SimulatorProcess, free_port, start_simulator
from tests.payments._support import SIM_OPTIONS

BUCKET = "nk-lake"
KEY, SECRET, REGION = "nk-test-key", "nk-test-secret", "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    proc: subprocess.Popen

    def env(self) -> dict[str, str]:
        """The `AWS_*` variables a separate process (worker, dashboard) needs to reach this server."""
        return {
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def options(self) -> dict[str, object]:
        return {"key": KEY, "secret": SECRET, "endpoint_url": self.endpoint, "client_kwargs": {"region_name": REGION}}


def start_s3_server() -> S3Server:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = S3Server(f"http://127.0.0.1:{port}", proc)
    import boto3

    client = boto3.client(
        "s3", endpoint_url=server.endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name=REGION
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)
            return server
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


def stop_s3_server(server: S3Server) -> None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


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
