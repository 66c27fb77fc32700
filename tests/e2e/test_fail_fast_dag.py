"""A wrong API key fails the run at its first try: no `up_for_retry`, no waiting for a verdict already known."""

from __future__ import annotations

from datetime import date

import pytest

from odoo_sim.testing import start_simulator
from tests.airflow_env import airflow, airflow_env

pytestmark = pytest.mark.e2e

DAY = date(2025, 1, 5)
WRONG_KEY = "wrong-key-7d41c0"


def test_wrong_api_key_fails_the_extract_task_once_without_retries(tmp_path):
    with start_simulator(start_date="2025-01-01", end_date="2025-01-10", lines_per_day=50) as sim:
        uri = sim.conn_uri().replace(f":{sim.password}@", f":{WRONG_KEY}@")
        assert WRONG_KEY in uri
        env = airflow_env(tmp_path / "airflow", tz="UTC", lake=tmp_path / "lake", conn_uri=uri)
        airflow(env, "db", "migrate")
        proc = airflow(env, "dags", "test", "nk_dash_daily", DAY.isoformat(), check=False, timeout=240)
    out = proc.stdout + proc.stderr
    assert "new_state=failed" in out
    assert "up_for_retry" not in out, "Airflow retried an error that no retry can mend"
    assert "was refused (wrong password or API key?)" in out and "not retried" in out
    assert WRONG_KEY not in out, "the secret leaked into the task log"
    assert not (tmp_path / "lake" / "star-schema").exists(), "nothing may be published"
