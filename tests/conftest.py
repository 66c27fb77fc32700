"""Test-wide settings: Airflow imported in this process sees a throw-away home, never the user's."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]
_HOME = tempfile.mkdtemp(prefix="nk-dash-airflow-home-")

# Set before anything imports airflow (its configuration is read at import time).
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("STORE_TIMEZONE", "UTC")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201 - pytest hook
    """In CI (CI=true) a skipped test is a failure: nothing may skip itself quietly there."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() in ("1", "true") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"
