"""Test-wide settings: Airflow imported in this process sees a throw-away home, never the user's."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_HOME = tempfile.mkdtemp(prefix="nk-dash-airflow-home-")

# Set before anything imports airflow (its configuration is read at import time).
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("STORE_TIMEZONE", "UTC")
