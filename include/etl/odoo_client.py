"""Odoo access: login, schema discovery, keyset-paged `search_read`, retries — over two transports.

`OdooClient` is the one interface `include/etl` uses. Underneath, a transport carries the calls:
`odoorpc` over `/jsonrpc` for Odoo 16-18 (and later while `/jsonrpc` exists), or the External
JSON-2 API (`/json/2`, include/etl/odoo_json2.py) for Odoo 19 and later. The connection extra
`api` chooses: `auto` (default: JSON-2 when `/web/webclient/version_info` says 19+ and the secret
is an API key it accepts, `/jsonrpc` otherwise), `jsonrpc` or `json2`.

The number of RPC calls grows with rows / page size, never per record: every read is
a `search_read` page or a batched `read` of many ids. Transient faults (timeouts,
dropped connections, HTTP 5xx, malformed answers, an expired session) are retried with
bounded exponential backoff; faults that a retry cannot mend (bad credentials, missing
access rights, unknown database or field) fail at once with a message that names the
connection and the cause, never the secret.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import time
import urllib.error
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import odoorpc
import odoorpc.error

from include.etl import odoo_json2
from include.etl.odoo_json2 import Json2HTTPError, Json2MissingError, Json2Transport

log = logging.getLogger(__name__)

Domain = list[Any]
Record = dict[str, Any]


class OdooError(RuntimeError):
    """A fault of the Odoo source, with the connection named and the secret left out."""


class OdooPermanentError(OdooError):
    """A fault that no retry can mend: the run must fail at once (the DAG fails the task without retries)."""


class OdooAuthError(OdooPermanentError):
    """Wrong login, password or API key, or unknown database: retrying cannot help."""


class OdooAccessError(OdooPermanentError):
    """The user lacks access rights to a model."""


class OdooSchemaError(OdooPermanentError):
    """The source does not have a field or model the pipeline needs."""


class OdooUnavailable(OdooError):
    """Transient faults persisted through every retry."""


@dataclass(frozen=True)
class OdooSettings:
    host: str
    database: str
    login: str
    secret: str = field(repr=False)  # password or API key
    port: int = 8069
    protocol: str = "jsonrpc"
    timeout: float = 120.0
    page_size: int = 5000
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    conn_id: str = "odoo_default"
    api: str = "auto"  # auto | jsonrpc | json2

    def describe(self) -> str:
        scheme = "https" if self.protocol == "jsonrpc+ssl" else "http"
        return f"connection '{self.conn_id}' ({scheme}://{self.host}:{self.port}, database '{self.database}')"


_TRANSIENT_HTTP = {429, 500, 502, 503, 504}
_SESSION_EXPIRED = "SessionExpiredException"
# PostgreSQL concurrency errors: Odoo retries them itself a few times per request
# (odoo/service/model.py `retrying`) and passes them on when they persist; a later call
# succeeds. The same names reach JSON-2 clients in a 500's body.
_CONCURRENCY_ERRORS = frozenset(odoo_json2.CONCURRENCY_ERRORS)


def _rpc_error_name(exc: odoorpc.error.RPCError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    return str((info.get("data") or {}).get("name") or "")


def _rpc_error_code(exc: odoorpc.error.RPCError) -> int | None:
    info = exc.info if isinstance(exc.info, dict) else {}
    code = info.get("code")
    return code if isinstance(code, int) else None


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in _TRANSIENT_HTTP
    if isinstance(
        exc,
        (
            urllib.error.URLError,
            TimeoutError,
            socket.timeout,
            ConnectionError,
            http.client.HTTPException,
            json.JSONDecodeError,
        ),
    ):
        return True
    if isinstance(exc, odoorpc.error.RPCError):
        name = _rpc_error_name(exc)
        return _rpc_error_code(exc) == 100 or _SESSION_EXPIRED in name or name in _CONCURRENCY_ERRORS
    return False


APIS = ("auto", "jsonrpc", "json2")
_JSON2_MIN_MAJOR = 19


class Transport(Protocol):
    """What the client needs of a protocol: one model-method call, and closing."""

    name: str

    def execute(self, model: str, method: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


class OdoorpcTransport:
    """`/jsonrpc` through odoorpc (`object.execute_kw`); login is `common.login` + `context_get`."""

    name = "jsonrpc"

    def __init__(self, odoo: odoorpc.ODOO) -> None:
        self.odoo = odoo

    def execute(self, model: str, method: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        return self.odoo.execute_kw(model, method, list(args), kwargs)

    def close(self) -> None:
        return None


class OdooClient:
    """One logged-in Odoo session (odoorpc or JSON-2) with call accounting and retries."""

    def __init__(self, settings: OdooSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._transport: Transport | None = None
        self._chosen = ""  # the transport of the first successful login, kept for re-logins
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}
        self.rpc_calls = 0
        self.retries = 0
        self.pages = 0
        self.server_version = ""

    # -- connection -------------------------------------------------------------------
    def connect(self) -> OdooClient:
        self._with_retry("login", self._login)
        log.info(
            "logged in to Odoo %s as '%s' (server %s) over %s",
            self.settings.describe(),
            self.settings.login,
            self.server_version,
            self.api,
        )
        return self

    @property
    def api(self) -> str:
        """The transport in use: `jsonrpc` or `json2` (empty before the first login)."""
        return self._transport.name if self._transport is not None else ""

    def _login(self) -> None:
        s = self.settings
        if s.api not in APIS:
            raise OdooPermanentError(f"{s.describe()}: extra 'api' must be one of {', '.join(APIS)}, not '{s.api}'")
        if s.api == "jsonrpc" or self._chosen == "jsonrpc":
            # a forced /jsonrpc, or a new session after one expired: no need to ask the version again
            self._login_jsonrpc(self.server_version or None)
            return
        if self._chosen == "json2":
            self._login_json2()
            return
        # /web/webclient/version_info: one call, then the transport follows from the version.
        self.rpc_calls += 1
        self.server_version = odoo_json2.fetch_version(s)
        major = odoo_json2.major_of(self.server_version)
        if major < _JSON2_MIN_MAJOR:
            if s.api == "json2":
                raise OdooPermanentError(
                    f"Odoo login on {s.describe()}: the server runs Odoo {self.server_version}, which has no "
                    f"JSON-2 API (Odoo {_JSON2_MIN_MAJOR}+); set the connection extra api=jsonrpc"
                )
            self._login_jsonrpc(self.server_version)
            return
        try:
            self._login_json2()
        except OdooAuthError as json2_refused:
            if s.api == "json2":
                raise
            # auto: JSON-2 takes API keys only; a password still works on /jsonrpc while it exists.
            log.warning(
                "Odoo %s on %s refused the secret as an API key on /json/2; trying a password login over "
                "/jsonrpc, which Odoo %d deprecated (create an API key to move to JSON-2)",
                self.server_version,
                s.describe(),
                major,
            )
            try:
                self._login_jsonrpc(self.server_version)
            except OdooError:
                raise json2_refused from None

    def _login_jsonrpc(self, version: str | None = None) -> None:
        s = self.settings
        # odoorpc reads /web/webclient/version_info on construction unless told: one call.
        if version is None:
            self.rpc_calls += 1
        odoo = odoorpc.ODOO(s.host, protocol=s.protocol, port=s.port, timeout=s.timeout, version=version)
        self.server_version = str(odoo.version)
        # common.login, then res.users.context_get: two calls.
        self.rpc_calls += 2
        try:
            odoo.login(s.database, s.login, s.secret)
        except odoorpc.error.RPCError as exc:
            raise self._classify(exc, "login") from None
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise OdooPermanentError(
                    f"Odoo login on {s.describe()}: the server has no /jsonrpc endpoint (HTTP 404; removed "
                    "in Odoo 22 and Odoo Online 21.1); set the connection extra api=json2 and use an API key"
                ) from None
            raise
        self._transport = OdoorpcTransport(odoo)
        self._chosen = "jsonrpc"

    def _login_json2(self) -> None:
        transport = Json2Transport(self.settings, self.server_version)
        self.rpc_calls += 1  # res.users.context_get checks the key
        try:
            transport.login()
        except Exception as exc:
            transport.close()
            error = self._classify_json2(exc, "login")
            if error is not None:
                raise error from None
            raise
        self._transport = transport
        self._chosen = "json2"

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    @property
    def major_version(self) -> int:
        try:
            return int(self.server_version.split(".")[0].split("+")[0].replace("saas~", ""))
        except ValueError:
            return 0

    # -- calls ------------------------------------------------------------------------
    def call(self, model: str, method: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> Any:
        """`execute_kw` with retries; re-logs in when the session expired."""

        def once() -> Any:
            if self._transport is None:
                self._login()
            assert self._transport is not None
            self.rpc_calls += 1
            try:
                return self._transport.execute(model, method, list(args), kwargs or {})
            except odoorpc.error.RPCError as exc:
                if is_transient(exc):
                    if _rpc_error_code(exc) == 100 or _SESSION_EXPIRED in _rpc_error_name(exc):
                        self._transport = None  # session expired: log in again on the retry
                    raise
                raise self._classify(exc, f"{model}.{method}") from None
            except (Json2HTTPError, Json2MissingError) as exc:
                error = self._classify_json2(exc, f"{model}.{method}")
                if error is not None:
                    raise error from None
                raise

        return self._with_retry(f"{model}.{method}", once)

    def _with_retry(self, what: str, fn: Callable[[], Any]) -> Any:
        s = self.settings
        for attempt in range(1, s.max_attempts + 1):
            try:
                return fn()
            except OdooError:
                raise
            except Exception as exc:
                if not (is_transient(exc) or odoo_json2.is_transient(exc)):
                    raise OdooError(
                        f"Odoo call {what} on {s.describe()} failed: {type(exc).__name__}: {_safe(exc, s)}"
                    ) from None
                if attempt == s.max_attempts:
                    raise OdooUnavailable(
                        f"Odoo call {what} on {s.describe()} still failing after {attempt} attempts: "
                        f"{type(exc).__name__}: {_safe(exc, s)}"
                    ) from None
                delay = min(s.backoff_max, s.backoff_base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
                self.retries += 1
                log.warning(
                    "Odoo call %s failed (%s: %s), attempt %d/%d, retrying in %.1f s",
                    what,
                    type(exc).__name__,
                    _safe(exc, s),
                    attempt,
                    s.max_attempts,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _classify(self, exc: odoorpc.error.RPCError, what: str) -> OdooError:
        s = self.settings
        name = _rpc_error_name(exc)
        message = _safe(exc, s)
        where = f"Odoo {what} on {s.describe()}"
        if "Wrong login" in message or "AccessDenied" in name:
            return OdooAuthError(f"{where}: login '{s.login}' was refused (wrong password or API key?)")
        if "does not exist" in message and "database" in message.lower():
            return OdooAuthError(f"{where}: database '{s.database}' does not exist on the server")
        if "AccessError" in name:
            return OdooAccessError(f"{where}: user '{s.login}' lacks access rights: {message}")
        if "Invalid field" in message or "KeyError" in name:
            return OdooSchemaError(f"{where}: {message}")
        return OdooError(f"{where} failed: {name or 'RPCError'}: {message}")

    def _classify_json2(self, exc: Exception, what: str) -> OdooError | None:
        """A JSON-2 answer as one of the client's errors; None when a retry may mend it."""
        s = self.settings
        where = f"Odoo {what} on {s.describe()} (JSON-2)"
        if isinstance(exc, Json2MissingError):
            return OdooPermanentError(
                f"{where}: the server has no JSON-2 API ({_safe(exc, s)}; Odoo before {_JSON2_MIN_MAJOR} "
                "sends /json/2 to its login page); set the connection extra api=jsonrpc"
            )
        if not isinstance(exc, Json2HTTPError) or exc.transient:
            return None
        message = _safe(Exception(exc.message), s)
        if exc.status == 401:
            return OdooAuthError(
                f"{where}: the API key was refused (HTTP 401 '{message}'): it is wrong, expired or revoked; "
                f"create a new key for user '{s.login}' (Preferences > Account Security) and update the connection"
            )
        if exc.status == 403 or "AccessError" in exc.name:
            return OdooAccessError(f"{where}: user '{s.login}' lacks access rights: {message}")
        if exc.status == 404 and "database" in message:
            return OdooAuthError(f"{where}: database '{s.database}' is not served: {message}")
        if exc.status == 404 and "model" in message and "does not exist" in message:
            return OdooSchemaError(f"{where}: {message}")
        if "Invalid field" in message:
            return OdooSchemaError(f"{where}: {message}")
        return OdooError(f"{where} failed: HTTP {exc.status} {exc.name or ''}: {message}")

    # -- schema -----------------------------------------------------------------------
    def fields(self, model: str) -> dict[str, dict[str, Any]]:
        """`fields_get` of `model`, read once per client."""
        if model not in self._fields:
            attributes = ["type", "relation", "string", "selection"]
            self._fields[model] = self.call(model, "fields_get", [], {"attributes": attributes})
        return self._fields[model]

    def has_model(self, model: str) -> bool:
        try:
            self.fields(model)
        except OdooSchemaError:
            return False
        except OdooError as exc:
            if "doesn't exist" in str(exc) or "does not exist" in str(exc) or "KeyError" in str(exc):
                return False
            raise
        return True

    # -- reads ------------------------------------------------------------------------
    def search_read_pages(
        self, model: str, domain: Domain, fields: Sequence[str], page_size: int | None = None
    ) -> Iterator[list[Record]]:
        """Every record of `domain`, in pages, by keyset on `id` (stable while the source changes)."""
        size = page_size or self.settings.page_size
        last_id = 0
        while True:
            page = self.call(
                model,
                "search_read",
                [[*domain, ("id", ">", last_id)]],
                {"fields": list(fields), "limit": size, "order": "id asc"},
            )
            self.pages += 1
            if page:
                yield page
            if len(page) < size:
                return
            last_id = page[-1]["id"]

    def search_read_all(self, model: str, domain: Domain, fields: Sequence[str]) -> list[Record]:
        return [rec for page in self.search_read_pages(model, domain, fields) for rec in page]

    def read(self, model: str, ids: Sequence[int], fields: Sequence[str]) -> list[Record]:
        """Batched `read` of many ids: one call per page, never per record."""
        unique = sorted(set(ids))
        out: list[Record] = []
        size = self.settings.page_size
        for start in range(0, len(unique), size):
            out.extend(self.call(model, "read", [unique[start : start + size]], {"fields": list(fields)}))
            self.pages += 1
        return out

    def search_ids(self, model: str, domain: Domain) -> list[int]:
        return list(self.call(model, "search", [domain]))


def _safe(exc: BaseException, settings: OdooSettings) -> str:
    """The exception text, with the secret masked should any layer have echoed it."""
    text = str(exc) or type(exc).__name__
    if settings.secret:
        text = text.replace(settings.secret, "***")
    return text[:500]
