"""Start the simulator as a real subprocess for tests: ``with start_simulator(seed=1) as sim: ...``."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

log = logging.getLogger(__name__)

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_STARTUP_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0
_DEFAULTS = {"db": "nkdemo", "login": "admin", "password": "admin", "api_key": "nk-demo-key",
             "timezone": "Europe/Brussels"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli_args(options: dict[str, Any]) -> list[str]:
    """{'lines_per_day': 50, 'no_brands': True, 'no_access_model': ['a', 'b']} -> CLI flags."""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            for v in value:
                out += [flag, str(v)]
        else:
            out += [flag, str(value)]
    return out


class SimulatorProcess:
    """A running `python -m odoo_sim` subprocess and a small client for its /sim/* endpoints."""

    def __init__(self, port: int | None = None, **options: Any) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.options = options
        self.db = str(options.get("db", _DEFAULTS["db"]))
        self.login = str(options.get("login", _DEFAULTS["login"]))
        self.password = str(options.get("password", _DEFAULTS["password"]))
        self.api_key = str(options.get("api_key", _DEFAULTS["api_key"]))
        self.timezone = str(options.get("timezone", _DEFAULTS["timezone"]))
        self.url = f"http://{self.host}:{self.port}"
        self._log_file = tempfile.NamedTemporaryFile(prefix="odoo_sim_", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = self._log_file.name
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    def start(self) -> SimulatorProcess:
        cmd = [sys.executable, "-m", "odoo_sim", "--host", self.host, "--port", str(self.port),
               *_cli_args(self.options)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
                                     cwd=_PACKAGE_PARENT)
        deadline = t0 + _STARTUP_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"odoo_sim exited with {self.proc.returncode}: {self.read_log()}")
            try:
                if self._request("GET", "/sim/health", timeout=1).get("status") == "ok":
                    self.startup_seconds = time.perf_counter() - t0
                    log.info("odoo_sim up on %s in %.2fs", self.url, self.startup_seconds)
                    return self
            except (OSError, ValueError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"odoo_sim did not become healthy in {_STARTUP_TIMEOUT_S}s: {self.read_log()}")

    def read_log(self) -> str:
        return Path(self.log_path).read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """One SIGTERM, wait; SIGKILL only if it is stuck."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(_STOP_TIMEOUT_S)
        self._log_file.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- HTTP helpers ----------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                raise ValueError(exc.read().decode("utf-8", "replace")) from exc
            raise

    def stats(self, date_from: str, date_to: str) -> dict[str, Any]:
        """Expected totals of counted orders with date_from <= date_order < date_to (naive UTC)."""
        return self._request("GET", "/sim/stats?" + urlencode({"date_from": date_from, "date_to": date_to}))

    def admin(self, op: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/sim/admin", op)

    def fault(self, **kw: Any) -> dict[str, Any]:
        """fault(kind='http_503', count=2, model='pos.order.line', method='search_read', delay=1)."""
        return self._request("POST", "/sim/faults", kw)

    def faults(self) -> list[dict[str, Any]]:
        return self._request("GET", "/sim/faults")["faults"]

    def clear_faults(self) -> None:
        self._request("DELETE", "/sim/faults")

    def calls(self) -> dict[str, Any]:
        """{'total': n, 'calls': [{'service','method','model','count'}, ...]} of /jsonrpc calls."""
        return self._request("GET", "/sim/calls")

    def reset_calls(self) -> None:
        self._request("DELETE", "/sim/calls")

    def conn_uri(self, api: str | None = None) -> str:
        """Airflow connection URI for the ETL's Odoo connection; with `api` the API key and that extra."""
        secret = self.api_key if api else self.password
        extra = f"&api={api}" if api else ""
        return (f"odoo://{quote(self.login, safe='')}:{quote(secret, safe='')}@{self.host}:{self.port}/"
                f"{quote(self.db, safe='')}?protocol=jsonrpc&timeout=30{extra}")


def start_simulator(port: int | None = None, **options: Any) -> SimulatorProcess:
    """Start `python -m odoo_sim` on 127.0.0.1 (a free port unless given) and wait for /sim/health.

    Options are the CLI options with underscores (seed=1, lines_per_day=200, start_date='2025-01-01',
    no_brands=True, no_access_model=['pos.order.line'], now='2025-03-01 12:00:00', ...).
    """
    last: Exception | None = None
    for _attempt in range(3):
        proc = SimulatorProcess(port, **options)
        try:
            return proc.start()
        except RuntimeError as exc:  # most likely a port race; retry on a new port
            last = exc
            if port is not None:
                break
    raise RuntimeError(str(last))
