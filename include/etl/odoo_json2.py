"""The External JSON-2 API of Odoo 19+ (`POST /json/2/<model>/<method>`) over one reused httpx client.

Named arguments only: a JSON array body is silently ignored by Odoo (a `search_read` then
answers every record with every field), so positional arguments are mapped onto the
method's parameter names here and any left over is a programming error. Errors are HTTP
statuses with a JSON body {name, message, arguments, context, debug} (recorded in
../shared/odoo/odoo-19.0-json2-transcripts.md); `Json2HTTPError` carries them to the
client, which maps them onto its exception classes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from include.etl.odoo_client import OdooSettings

log = logging.getLogger(__name__)

# Parameter names of the ORM methods the ETL calls, in positional order (odoo/orm/models.py, 19.0).
# `ids` stands for the recordset of record methods (read, write).
POSITIONAL_NAMES: dict[str, tuple[str, ...]] = {
    "search_read": ("domain", "fields", "offset", "limit", "order"),
    "search": ("domain", "offset", "limit", "order"),
    "search_count": ("domain", "limit"),
    "fields_get": ("allfields", "attributes"),
    "read": ("ids", "fields", "load"),
    "write": ("ids", "vals"),
    "context_get": (),
}
# Odoo retries these itself and gives up with a 500 naming them: a later attempt may pass.
CONCURRENCY_ERRORS = (
    "psycopg2.errors.SerializationFailure",
    "psycopg2.errors.DeadlockDetected",
    "psycopg2.errors.LockNotAvailable",
)
_TRANSIENT_STATUS = {429, 502, 503, 504}


class Json2HTTPError(Exception):
    """A non-200 answer of /json/2: status, Odoo's exception `name` and `message` (no secret in it)."""

    def __init__(self, status: int, name: str, message: str, is_json: bool) -> None:
        super().__init__(f"HTTP {status} {name}: {message}" if name else f"HTTP {status}: {message}")
        self.status = status
        self.name = name
        self.message = message
        self.is_json = is_json

    @property
    def transient(self) -> bool:
        if self.status in _TRANSIENT_STATUS:
            return True
        if self.status == 500:
            return not self.is_json or self.name in CONCURRENCY_ERRORS
        return False


class Json2MissingError(Exception):
    """The server has no JSON-2 route: Odoo 16-18 redirect /json/... to their login page."""


def named_params(method: str, args: Sequence[Any], kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """`execute_kw`-style (args, kwargs) as the named body JSON-2 needs."""
    params = dict(kwargs or {})
    if args:
        names = POSITIONAL_NAMES.get(method)
        if names is None or len(args) > len(names):
            raise TypeError(f"JSON-2 needs named arguments: no parameter names known for {method}{tuple(args)!r}")
        for name, value in zip(names, args, strict=False):
            if name in params:
                raise TypeError(f"{method}: '{name}' given both by position and by name")
            params[name] = value
    return params


def is_transient(exc: BaseException) -> bool:
    """Whether a retry of a JSON-2 call may succeed."""
    if isinstance(exc, Json2HTTPError):
        return exc.transient
    return isinstance(
        exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, json.JSONDecodeError)
    )


class Json2Transport:
    """Calls `/json/2/<model>/<method>` with the API key as bearer token; one connection pool."""

    name = "json2"

    def __init__(self, settings: OdooSettings, version: str = "") -> None:
        scheme = "https" if settings.protocol == "jsonrpc+ssl" else "http"
        self.base_url = f"{scheme}://{settings.host}:{settings.port}"
        self.server_version = version
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=settings.timeout,
            follow_redirects=False,
            headers={
                "Authorization": f"bearer {settings.secret}",
                "X-Odoo-Database": settings.database,
                "Content-Type": "application/json",
                "User-Agent": "nk-dash",
            },
        )

    def login(self) -> None:
        """Check the key with one cheap call (`res.users.context_get`)."""
        self.execute("res.users", "context_get", (), {})

    def execute(self, model: str, method: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> Any:
        body = named_params(method, args, kwargs)
        response = self._http.post(f"/json/2/{model}/{method}", content=json.dumps(body).encode("utf-8"))
        if response.status_code == 200:
            return json.loads(response.content)
        if 300 <= response.status_code < 400:
            raise Json2MissingError(
                f"/json/2 answered HTTP {response.status_code} (to {response.headers.get('Location', '?')})"
            )
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            raise Json2HTTPError(
                response.status_code, str(payload.get("name") or ""), str(payload.get("message") or ""), True
            )
        raise Json2HTTPError(response.status_code, "", response.reason_phrase or "no JSON body", False)

    def close(self) -> None:
        self._http.close()


def fetch_version(settings: OdooSettings) -> str:
    """`server_version` from `/web/webclient/version_info` (a JSON-RPC web route of every version)."""
    scheme = "https" if settings.protocol == "jsonrpc+ssl" else "http"
    url = f"{scheme}://{settings.host}:{settings.port}/web/webclient/version_info"
    body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1}
    response = httpx.post(url, json=body, timeout=settings.timeout)
    if response.status_code != 200:
        raise Json2HTTPError(response.status_code, "", response.reason_phrase or "", False)
    result = json.loads(response.content).get("result") or {}
    return str(result.get("server_version") or "")


def major_of(version: str) -> int:
    try:
        return int(version.split(".")[0].split("+")[0].replace("saas~", ""))
    except ValueError:
        return 0
