"""Real servers on 127.0.0.1 for the alert and metric tests: SMTP (aiosmtpd), a StatsD UDP listener, Prometheus."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from odoo_sim.testing import free_port


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook name
        with self._lock:
            self.raw.append(envelope.content)
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, predicate, timeout: float) -> EmailMessage:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for msg in self.messages:
                    if predicate(msg):
                        return msg
            time.sleep(0.2)
        subjects = [m["Subject"] for m in self.messages]
        raise AssertionError(f"no matching message within {timeout:.0f}s; received: {subjects}")


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def conn_uri(self) -> str:
        """Airflow Connection URI (type smtp) for this server: plain SMTP on 127.0.0.1, no TLS."""
        extra = urllib.parse.urlencode(
            {"disable_ssl": "true", "disable_tls": "true", "from_email": "nk-dash@example.test", "timeout": "10"}
        )
        return f"smtp://127.0.0.1:{self.port}?{extra}"


def body_text(msg: EmailMessage) -> str:
    parts = [p.get_content() for p in msg.walk() if p.get_content_type() in ("text/plain", "text/html")]
    return "\n".join(parts)


class StatsdListener:
    """A UDP socket that collects StatsD lines (`name:value|type`) in a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.lines.extend(data.decode("utf-8", "replace").splitlines())

    def __enter__(self) -> StatsdListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def names(self) -> set[str]:
        return {line.split(":", 1)[0] for line in self.lines}


class Prometheus:
    """Debian's `prometheus` on 127.0.0.1, scraping the given targets every second."""

    def __init__(self, work: Path, targets: list[str]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise AssertionError("Debian's prometheus is not installed: scripts/test.sh installs it with apt")
        self.port = free_port()
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        (work / "prometheus.yml").write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [{"job_name": "nk_dash", "static_configs": [{"targets": targets}]}],
                }
            )
        )
        self.argv = [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = work / "prometheus.log"

    def __enter__(self) -> Prometheus:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"prometheus not ready in 30 s: {self.log.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def query(self, promql: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait_value(self, promql: str, timeout: float = 20) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return float(result[0]["value"][1])
            time.sleep(0.5)
        raise AssertionError(f"Prometheus has no value for {promql} after {timeout:.0f}s")


class SlackApi:
    """A stand-in for Slack's Web API on 127.0.0.1: answers `chat.postMessage` like Slack and keeps each call."""

    def __init__(self) -> None:
        import http.server

        calls = self.calls = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                calls.append({"path": self.path, "auth": self.headers.get("Authorization"),
                              "json": json.loads(body or b"{}")})
                reply = json.dumps({"ok": True, "channel": "C1", "ts": "1.0"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlackApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def conn_json(self, token: str) -> str:
        """Airflow Connection (JSON form, type slack) whose API base URL is this server."""
        return json.dumps({"conn_type": "slack", "password": token,
                           "extra": {"base_url": f"http://127.0.0.1:{self.port}/api/"}})
