"""`scripts/demo.sh` as a user runs it (3-day window, own ports and state dir), then `scripts/stop.sh`."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from scripts import stack

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_demo_then_stop_leaves_nothing_running(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "NK_DASH_RUN_DIR": str(tmp_path / "run"),
        "DATA_LAKE_PATH": str(tmp_path / "lake"),
        "DEMO_DAYS": "3",
        "ODOO_SIM_LINES_PER_DAY": "200",
        "AIRFLOW_PORT": str(stack.free_port()),
        "ODOO_SIM_PORT": str(stack.free_port()),
        "DASH_PORT": str(stack.free_port()),
        "AIRFLOW_LOG_SERVER_PORT": str(stack.free_port()),
        "AIRFLOW_TRIGGER_LOG_SERVER_PORT": str(stack.free_port()),
    }
    pid_dir = tmp_path / "run" / "pids"
    try:
        demo = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, capture_output=True, text=True,
                              timeout=420)
        print(demo.stdout[-4000:], demo.stderr[-4000:])
        assert demo.returncode == 0
        assert "3/3 runs succeeded" in demo.stdout
        password = re.search(r"login: admin / (\S+)", demo.stdout).group(1)
        assert password in (tmp_path / "run" / "airflow" / "simple_auth_manager_passwords.json.generated").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{env['DASH_PORT']}/", timeout=10) as resp:
            assert resp.status == 200
        assert sorted(p.stem for p in pid_dir.glob("*.pid")) == [
            "api-server", "dag-processor", "dashboard", "odoo-sim", "scheduler", "triggerer"]
        pids = [int(p.read_text()) for p in pid_dir.glob("*.pid")]

        again = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), "--no-wait"], env=env,
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count("already running") == 6
        assert "no backfill needed" in again.stdout
    finally:
        pids = [int(p.read_text()) for p in pid_dir.glob("*.pid")] if pid_dir.is_dir() else []
        stop = subprocess.run(["bash", str(REPO / "scripts" / "stop.sh")], env=env, capture_output=True, text=True,
                              timeout=180)
        print(stop.stdout)
    assert stop.returncode == 0
    assert "SIGKILL" not in stop.stdout.replace("lingered: SIGKILL", "")
    assert [p for p in pids if stack.pid_alive(p)] == []
    assert [m for p in pids for m in stack.group_members(p)] == []
