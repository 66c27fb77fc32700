"""Cheap checks of the operations files: shell syntax, stop semantics, compose file, .env.example."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from scripts import stack

REPO = Path(__file__).resolve().parents[2]
_SECRET_VARS = (
    "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW_ADMIN_PASSWORD", "POSTGRES_PASSWORD", "DASH_SECRET_KEY",
)


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "scripts").glob("*.sh")))
def test_shell_syntax(script):
    subprocess.run(["bash", "-n", str(REPO / "scripts" / script)], check=True)


def test_stop_sh_with_nothing_running(tmp_path):
    env = {**os.environ, "NK_DASH_RUN_DIR": str(tmp_path)}
    res = subprocess.run(["bash", str(REPO / "scripts" / "stop.sh")], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "Nothing is running" in res.stdout


_IGNORES_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
_CHILD_LINGERS = (
    "import signal, subprocess, sys, time\n"
    f"subprocess.Popen([sys.executable, '-c', {_IGNORES_TERM!r}])\n"
    "time.sleep(600)\n"
)


def test_stop_escalates_to_sigkill_only_after_the_timeout(tmp_path):
    proc = stack.start("stubborn", [sys.executable, "-c", _IGNORES_TERM], os.environ, tmp_path)
    time.sleep(0.5)
    t0 = time.monotonic()
    stack.stop([proc], timeout=2, say=lambda _msg: None)
    assert time.monotonic() - t0 >= 2
    assert not proc.alive()
    assert proc.popen.returncode == -signal.SIGKILL


def test_stop_kills_children_that_outlive_their_parent(tmp_path):
    proc = stack.start("leader", [sys.executable, "-c", _CHILD_LINGERS], os.environ, tmp_path)
    stack.wait_until(lambda: len(stack.group_members(proc.pid)) == 2, "the child", 10)
    said = []
    stack.stop([proc], timeout=10, say=said.append)
    assert proc.popen.returncode == -signal.SIGTERM  # the leader needed one SIGTERM, nothing more
    assert stack.group_members(proc.pid) == []
    assert any("lingered" in msg for msg in said)


def test_down_stops_only_what_it_recorded(tmp_path):
    layout = stack.Layout(run_dir=tmp_path)
    proc = stack.start("odoo-sim", [sys.executable, "-c", "import time; time.sleep(600)  # odoo_sim"], os.environ,
                       tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        (tmp_path / "pids" / "scheduler.pid").write_text(f"{other.pid}\n")  # a pid that is not ours
        assert stack.down(layout) == 0
        assert not proc.alive()
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_env_example_documents_every_setting():
    values = stack.read_env_file(REPO / ".env.example")
    for name in ("DATA_LAKE_PATH", "STORE_TIMEZONE", "AIRFLOW__CORE__DEFAULT_TIMEZONE", *_SECRET_VARS):
        assert name in values, name
    assert values["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == values["STORE_TIMEZONE"]
    assert all(values[name] == "" for name in _SECRET_VARS), "no secret value in the repository"
    assert "AIRFLOW_CONN_ODOO_DEFAULT" in (REPO / ".env.example").read_text()


def test_config_refuses_a_default_timezone_other_than_the_store_timezone(tmp_path):
    env = {"STORE_TIMEZONE": "Europe/Brussels", "AIRFLOW__CORE__DEFAULT_TIMEZONE": "UTC"}
    with pytest.raises(SystemExit, match="STORE_TIMEZONE"):
        stack.load_config(REPO, environ=env, run_dir=tmp_path)
    cfg = stack.load_config(REPO, environ={"STORE_TIMEZONE": "Europe/Brussels"}, run_dir=tmp_path)
    airflow = stack.airflow_env(cfg, home=tmp_path / "home")
    assert airflow["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Europe/Brussels"
    assert (tmp_path / "secrets.env").stat().st_mode & 0o077 == 0, "generated secrets are private"


def _compose_dir(tmp_path: Path) -> Path:
    """The compose file next to a .env made from .env.example with throw-away secrets."""
    shutil.copy(REPO / "docker-compose.yaml", tmp_path / "docker-compose.yaml")
    text = (REPO / ".env.example").read_text()
    for name in _SECRET_VARS:
        text = text.replace(f"\n{name}=\n", f"\n{name}=test-{name.lower()}\n")
    (tmp_path / ".env").write_text(text)
    return tmp_path


def test_compose_file_matches_the_compose_spec():
    checker = Path(sys.executable).with_name("check-jsonschema")
    subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(REPO / "docker-compose.yaml")],
                   check=True)


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_docker_compose_config(tmp_path):
    workdir = _compose_dir(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "POSTGRES"))}
    for profile in ([], ["--profile", "demo", "--profile", "flower", "--profile", "s3"]):
        res = subprocess.run(["docker-compose", *profile, "config", "--services"], cwd=workdir, env=env,
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    services = set(res.stdout.split())
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
            "airflow-triggerer", "airflow-init", "flower", "dashboard", "odoo-sim", "postgres", "redis",
            "s3", "s3-bucket"} <= services
    # The dashboard is reached only through the TLS proxy, and asks for its own login there.
    res = subprocess.run(["docker-compose", "config"], cwd=workdir, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    config = yaml.safe_load(res.stdout)["services"]
    dashboard, caddy = config["dashboard"], config["caddy"]
    assert "ports" not in dashboard, "the dashboard must not be published directly"
    targets = {str(p["target"]) if isinstance(p, dict) else p.split(":")[-1].split("/")[0] for p in caddy["ports"]}
    assert targets == {"80", "443"}, caddy["ports"]
    assert dashboard["environment"]["DASH_AUTH"] == "on"
    assert dashboard["environment"]["DASH_USERS_FILE"] == "/run/secrets/dash_users"
    assert dashboard["environment"]["DASH_SECRET_KEY"] == "test-dash_secret_key"
    assert [s["source"] for s in dashboard["secrets"]] == ["dash_users"]
    assert "reverse_proxy dashboard:8050" in (REPO / "docker" / "Caddyfile").read_text()
    (workdir / ".env").write_text("STORE_TIMEZONE=UTC\n")
    res = subprocess.run(["docker-compose", "config", "-q"], cwd=workdir, env=env, capture_output=True, text=True)
    assert res.returncode != 0 and "in .env" in res.stderr, "compose must refuse to start without secrets"


def test_secrets_fill_makes_a_compose_ready_env(tmp_path):
    target = tmp_path / ".env"
    subprocess.run([sys.executable, "-m", "scripts.stack", "secrets", "--fill", str(target)], cwd=REPO, check=True,
                   capture_output=True)
    values = stack.read_env_file(target)
    assert all(len(values[name]) >= 16 for name in _SECRET_VARS)
    assert target.stat().st_mode & 0o077 == 0
    if shutil.which("docker-compose"):
        shutil.copy(REPO / "docker-compose.yaml", tmp_path / "docker-compose.yaml")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "POSTGRES"))}
        subprocess.run(["docker-compose", "config", "-q"], cwd=tmp_path, env=env, check=True)


def test_last_due_day_waits_for_the_0200_run_time_in_store_time():
    """Backfills ask only for days whose run is due: before 02:00 store time, yesterday's run would wait."""
    ny = "America/New_York"
    assert stack.last_due_day(ny, dt.datetime(2026, 12, 1, 6, 16, tzinfo=dt.UTC)) == dt.date(2026, 11, 29)  # 01:16
    assert stack.last_due_day(ny, dt.datetime(2026, 12, 1, 7, 1, tzinfo=dt.UTC)) == dt.date(2026, 11, 30)  # 02:01
    assert stack.last_due_day("Asia/Tokyo", dt.datetime(2026, 12, 1, 6, 16, tzinfo=dt.UTC)) == dt.date(2026, 11, 30)
