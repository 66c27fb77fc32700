"""HTTP front: Odoo JSON-RPC endpoints plus /sim/* control endpoints (stats, admin, faults, calls)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from odoo_sim import json2
from odoo_sim.config import SimConfig
from odoo_sim.errors import OdooError, error_payload, session_expired
from odoo_sim.models import Registry

log = logging.getLogger(__name__)

FAULT_KINDS = ("http_500", "http_503", "slow", "timeout", "drop", "malformed_json", "session_expired",
               "odoo_error", "serialization_failure", "deadlock", "lock_not_available")
# PostgreSQL concurrency errors that Odoo's own retry loop (odoo/service/model.py `retrying`) gave up
# on: the JSON-RPC error carries the psycopg2 class in data.name and PostgreSQL's message.
_CONCURRENCY_ERRORS = {
    "serialization_failure": ("psycopg2.errors.SerializationFailure",
                              "could not serialize access due to concurrent update\n"),
    "deadlock": ("psycopg2.errors.DeadlockDetected",
                 "deadlock detected\nDETAIL:  Process 4127 waits for ShareLock on transaction 91823; "
                 "blocked by process 4131.\n"),
    "lock_not_available": ("psycopg2.errors.LockNotAvailable",
                           'could not obtain lock on row in relation "pos_order"\n'),
}
_DEFAULT_DELAY = {"slow": 2.0, "timeout": 60.0}
_HTML_500 = ("<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body>"
             "<h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>")
_HTML_404 = ("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
             "<p>The requested URL was not found on the server.</p>\n")
_HTML_503 = ("<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>"
             "<h1>Service Unavailable</h1><p>The server is temporarily unable to serve your request.</p>"
             "</body></html>")


class Simulator:
    """The whole simulator state: data registry, faults to inject, call counters."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.registry = Registry(cfg)
        self._lock = threading.Lock()
        self.faults: list[dict[str, Any]] = []
        self.calls: Counter[tuple[str, str, str | None]] = Counter()

    @property
    def version_info(self) -> dict[str, Any]:
        v = f"{self.cfg.odoo_version}.0"
        return {"server_version": v, "server_version_info": [self.cfg.odoo_version, 0, 0, "final", 0, ""],
                "server_serie": v, "protocol_version": 1}

    # ---- faults and counters ---------------------------------------------------------------
    def add_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        fault = {"kind": kind, "count": int(spec.get("count", 1)), "model": spec.get("model"),
                 "method": spec.get("method"), "delay": float(spec.get("delay") or _DEFAULT_DELAY.get(kind, 0))}
        with self._lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, service: str, method: str, model: str | None, model_method: str | None
                   ) -> dict[str, Any] | None:
        with self._lock:
            for fault in self.faults:
                if fault["model"] and fault["model"] != model:
                    continue
                if fault["method"] and fault["method"] not in (method, model_method):
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return dict(fault)
        return None

    def count_call(self, service: str, method: str, model: str | None) -> None:
        with self._lock:
            self.calls[(service, method, model)] += 1

    def calls_report(self) -> dict[str, Any]:
        with self._lock:
            rows = [{"service": s, "method": m, "model": mo, "count": c}
                    for (s, m, mo), c in sorted(self.calls.items(), key=lambda kv: tuple(map(str, kv[0])))]
        return {"total": sum(r["count"] for r in rows), "calls": rows}

    # ---- JSON-RPC --------------------------------------------------------------------------
    def dispatch(self, service: str, method: str, args: list[Any]) -> Any:
        reg = self.registry
        if service == "common":
            if method == "login":
                return reg.login(*args[:3])
            if method == "authenticate":
                return reg.login(*args[:3])
            if method in ("version", "about"):
                return self.version_info
        elif service == "db":
            if not self.registry.version.has_db_service:  # Odoo 20: dispatch_rpc has no 'db' entry
                raise OdooError("builtins.KeyError", "'db'")
            if method == "list":
                return [self.cfg.db]
            if method == "server_version":
                return self.version_info["server_version"]
            if method == "db_exist":
                return bool(args) and args[0] == self.cfg.db
        elif service == "object" and method in ("execute", "execute_kw"):
            if len(args) < 5:
                raise OdooError("builtins.TypeError", f"{method}() missing required positional arguments")
            db, uid, password, model, mmethod = args[:5]
            reg.check_uid(db, uid, password)
            if method == "execute":
                return reg.call_model(model, mmethod, list(args[5:]), {})
            margs = args[5] if len(args) > 5 else []
            mkw = args[6] if len(args) > 6 else {}
            return reg.call_model(model, mmethod, list(margs or []), dict(mkw or {}))
        raise OdooError("builtins.NameError", f"Unknown {service} method: {method!r}")

    def admin(self, op: dict[str, Any]) -> dict[str, Any]:
        """Apply one mutation op (see README); returns what it created or {'ok': True}."""
        ds = self.registry.days
        kind = op.get("op")
        if kind == "cancel_order":
            ds.write_order(int(op["order_id"]), {"state": "cancel"})
        elif kind == "invoice_order":
            ds.write_order(int(op["order_id"]), {"state": "invoiced"})
        elif kind == "set_state":
            ds.write_order(int(op["order_id"]), {"state": op["state"]})
        elif kind == "late_order":
            return {"ok": True, **ds.late_order(op["date_order"], int(op.get("lines", 3)),
                                                int(op.get("config_id", 1)))}
        elif kind == "refund_line":
            return {"ok": True, **ds.refund_line(int(op["line_id"]), op.get("date_order"))}
        elif kind == "rename_product":
            ds.rename_product(int(op["product_id"]), str(op["name"]))
        elif kind == "corrupt_line":
            ds.corrupt_line(int(op["line_id"]), str(op.get("field", "price_subtotal_incl")), op.get("value"))
        elif kind == "mismatch_order_total":
            ds.mismatch_order_total(int(op["order_id"]), str(op.get("delta", "0.05")))
        elif kind == "revoke_api_key":
            self.registry.api_key_revoked = True
        elif kind == "reset":
            ds.reset()
        else:
            raise ValueError(f"unknown op {kind!r}")
        return {"ok": True}


class Handler(BaseHTTPRequestHandler):
    """One HTTP request; the Simulator lives on the server object."""

    server: SimServer
    protocol_version = "HTTP/1.0"
    server_version = "Werkzeug/2.0.2"
    sys_version = "Python/3.10"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    # ---- helpers ---------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            log.info("client went away before the answer was sent")

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")

    # ---- routes ----------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        sim = self.server.sim
        url = urlsplit(self.path)
        if url.path == "/sim/health":
            return self._json({"status": "ok"})
        if url.path == "/sim/stats":
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                return self._json(sim.registry.stats(q["date_from"], q["date_to"]))
            except (KeyError, ValueError) as exc:
                return self._json({"error": f"date_from and date_to (naive UTC) required: {exc}"}, 400)
        if url.path == "/sim/faults":
            with sim._lock:
                return self._json({"faults": [dict(f) for f in sim.faults]})
        if url.path == "/sim/calls":
            return self._json(sim.calls_report())
        if url.path == "/sim/config":
            cfg = sim.cfg
            return self._json({"db": cfg.db, "timezone": cfg.timezone, "start_date": cfg.start_date.isoformat(),
                               "end_date": cfg.end_date.isoformat(), "odoo_version": cfg.odoo_version,
                               "seed": cfg.seed, "now": sim.registry.days.now_str(), "brands": cfg.brands})
        if url.path.startswith("/json/"):
            return self._json2("GET", url.path, b"")
        if url.path in ("/", "/web", "/web/login"):
            return self._send(200, b"<html><body>Odoo</body></html>", "text/html")
        self._send(404, b"<html><body>404 Not Found</body></html>", "text/html")

    def do_DELETE(self) -> None:  # noqa: N802
        sim = self.server.sim
        path = urlsplit(self.path).path
        if path == "/sim/faults":
            with sim._lock:
                sim.faults.clear()
            return self._json({"ok": True})
        if path == "/sim/calls":
            with sim._lock:
                sim.calls.clear()
            return self._json({"ok": True})
        self._send(404, b"{}")

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path.startswith("/json/"):
            length = int(self.headers.get("Content-Length") or 0)
            return self._json2("POST", path, self.rfile.read(length) if length else b"")
        try:
            body = self._body()
        except (ValueError, UnicodeDecodeError):
            return self._send(400, b"<html><body>400 Bad Request: invalid JSON</body></html>", "text/html")
        if path == "/jsonrpc":
            return self._jsonrpc(body)
        if path == "/web/webclient/version_info":
            return self._json({"jsonrpc": "2.0", "id": body.get("id"), "result": self.server.sim.version_info})
        if path == "/sim/admin":
            return self._admin(body)
        if path == "/sim/faults":
            try:
                specs = body if isinstance(body, list) else [body]
                return self._json({"ok": True, "faults": [self.server.sim.add_fault(s) for s in specs]})
            except (ValueError, TypeError) as exc:
                return self._json({"error": str(exc)}, 400)
        self._send(404, b"<html><body>404 Not Found</body></html>", "text/html")

    def _admin(self, body: Any) -> None:
        sim = self.server.sim
        ops = body if isinstance(body, list) else [body]
        try:
            results = [sim.admin(op) for op in ops]
        except (KeyError, ValueError, TypeError) as exc:
            return self._json({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, 400)
        self._json(results if isinstance(body, list) else results[0])

    def _json2(self, method: str, path: str, raw: bytes) -> None:
        """`/json/...`: the JSON-2 API from 19 on, a redirect to the login page before (odoo_sim/json2.py)."""
        sim = self.server.sim
        if sim.registry.version.major < 18:  # no /json route at all (not recorded: werkzeug's 404 page)
            return self._send(404, _HTML_404.encode(), "text/html; charset=utf-8")
        if not sim.registry.version.has_json2:
            status, headers, body = json2.redirect_to_login(path)
        else:
            parts = path.strip("/").split("/")
            model, mmethod = (parts[2], parts[3]) if len(parts) == 4 else (None, None)
            fault = sim.take_fault("json2", mmethod or "", model, mmethod) if model else None
            if fault is not None:
                log.info("injecting fault %s on /json/2/%s/%s", fault["kind"], model, mmethod)
                if self._inject(fault, None, json2_api=True):
                    return
            status, headers, body = json2.serve(sim, method, path, self.headers, raw)
        try:
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            log.info("client went away before the answer was sent")

    def _jsonrpc(self, body: Any) -> None:
        sim = self.server.sim
        if not sim.cfg.jsonrpc:
            return self._send(404, _HTML_404.encode(), "text/html; charset=utf-8")
        sim.registry.version.log_jsonrpc_call()
        req_id = body.get("id") if isinstance(body, dict) else None
        params = (body.get("params") or {}) if isinstance(body, dict) else {}
        service = str(params.get("service", ""))
        method = str(params.get("method", ""))
        args = list(params.get("args") or [])
        model = mmethod = None
        if service == "object" and len(args) >= 5:
            model, mmethod = str(args[3]), str(args[4])
        sim.count_call(service, mmethod or method, model)
        fault = sim.take_fault(service, method, model, mmethod)
        if fault is not None:
            log.info("injecting fault %s on %s.%s %s.%s", fault["kind"], service, method, model, mmethod)
            if self._inject(fault, req_id):
                return
        t0 = time.perf_counter()
        try:
            payload = {"jsonrpc": "2.0", "id": req_id, "result": sim.dispatch(service, method, args)}
        except OdooError as exc:
            payload = exc.payload(req_id)
            if sim.registry.version.major >= 19 and exc.code == 200:
                payload["error"]["code"] = 0  # recorded: 19 answers server errors with code 0, 18 with 200
        except Exception as exc:  # noqa: BLE001 - the server answers every failure like Odoo does
            log.exception("unexpected error")
            payload = error_payload(req_id, f"builtins.{type(exc).__name__}", str(exc))
        body_bytes = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        log.debug("%s.%s %s.%s answered in %.3fs (%d bytes)", service, method, model, mmethod,
                  time.perf_counter() - t0, len(body_bytes))
        self._send(200, body_bytes)

    def _inject(self, fault: dict[str, Any], req_id: Any, json2_api: bool = False) -> bool:
        """Apply a fault; True when the request is fully handled by it."""
        kind = fault["kind"]
        if json2_api and kind in ("malformed_json", "session_expired", "odoo_error"):
            # JSON-2 has no session; its server errors are HTTP 500 with a JSON body.
            if kind == "malformed_json":
                self._send(200, b'[{"id": 1, "na')
            else:
                self._send(500, json2.error_body("builtins.RuntimeError", "Simulated server error (fault injection)"),
                           "application/json; charset=utf-8")
            return True
        if kind in ("slow", "timeout"):
            time.sleep(fault["delay"])
            return False
        if kind == "http_500":
            self._send(500, _HTML_500.encode(), "text/html; charset=utf-8")
        elif kind == "http_503":
            self._send(503, _HTML_503.encode(), "text/html; charset=utf-8")
        elif kind == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif kind == "malformed_json":
            self._send(200, b'{"jsonrpc": "2.0", "id": ' + json.dumps(req_id).encode() + b', "result": [{"id": 1, "na')
        elif kind == "session_expired":
            self._json(session_expired(req_id))
        elif kind in _CONCURRENCY_ERRORS:
            self._json(error_payload(req_id, *_CONCURRENCY_ERRORS[kind]))
        elif kind == "odoo_error":
            self._json(error_payload(req_id, "builtins.RuntimeError", "Simulated server error (fault injection)"))
        return True


class SimServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the Simulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, cfg: SimConfig) -> None:
        self.sim = Simulator(cfg)
        super().__init__((cfg.host, cfg.port), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)
