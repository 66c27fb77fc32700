"""Odoo-shaped errors and their JSON-RPC payloads."""

from __future__ import annotations

from typing import Any

_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/usr/lib/python3/dist-packages/odoo/http.py", line 1770, in _serve_db\n'
    "    return service_model.retrying(self._serve_ir_http, self.env)\n"
    '  File "/usr/lib/python3/dist-packages/odoo/service/model.py", line 133, in retrying\n'
    "    result = func()\n"
    "{name}: {message}\n"
)


class OdooError(Exception):
    """An exception that the server turns into Odoo's error payload."""

    def __init__(self, name: str, message: str, code: int = 200, title: str = "Odoo Server Error") -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.code = code
        self.title = title

    def payload(self, req_id: Any) -> dict[str, Any]:
        return error_payload(req_id, self.name, self.message, self.code, self.title)


def error_payload(req_id: Any, name: str, message: str, code: int = 200,
                  title: str = "Odoo Server Error") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": req_id,
        "error": {
            "code": code,
            "message": title,
            "data": {
                "name": name,
                "debug": _TRACE.format(name=name, message=message),
                "message": message,
                "arguments": [message],
                "context": {},
            },
        },
    }


def access_denied() -> OdooError:
    return OdooError("odoo.exceptions.AccessDenied", "Access Denied")


def value_error(message: str) -> OdooError:
    return OdooError("builtins.ValueError", message)


def missing_db(db: str) -> OdooError:
    return OdooError(
        "psycopg2.OperationalError",
        f'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
        f'FATAL:  database "{db}" does not exist\n',
    )


def access_error(model: str, description: str) -> OdooError:
    return OdooError(
        "odoo.exceptions.AccessError",
        f"You are not allowed to access '{description}' ({model}) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Point of Sale/Manager\n\n"
        "Contact your administrator to request access if necessary.",
    )


def session_expired(req_id: Any) -> dict[str, Any]:
    return error_payload(req_id, "odoo.http.SessionExpiredException", "Session expired", code=100,
                         title="Odoo Session Expired")
