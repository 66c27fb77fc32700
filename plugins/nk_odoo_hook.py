"""Airflow hook for Odoo: turns the Connection `odoo_default` into a logged-in `OdooClient`.

Connection fields: host, port, schema = database, login, password = password *or API
key* (users with two-factor login must use an API key; JSON-2 takes API keys only). Extras:
`api` (`auto` = JSON-2 on Odoo 19+ when the secret is an API key, `/jsonrpc` otherwise;
`jsonrpc`; `json2`), `protocol` (`jsonrpc` or `jsonrpc+ssl` = HTTPS, for both APIs),
`timeout` (seconds), `page_size` (records per `search_read`), `max_attempts` and
`backoff_base` (retries of transient faults). Example:
`AIRFLOW_CONN_ODOO_DEFAULT='odoo://admin:<api key>@odoo.example.com:443/prod?protocol=jsonrpc%2Bssl&api=json2'`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException

from include.etl.odoo_client import APIS, OdooClient, OdooPermanentError, OdooSettings


class OdooConnectionError(ValueError):
    """The Connection itself is unusable (missing fields, unknown protocol)."""


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """Errors no retry can mend fail the task at once, without Airflow's retries, with the same message.

    Wrong password or API key, missing access rights, unknown database, changed schema and an
    unusable Connection would give the same verdict on every try; transient faults (already
    retried inside the client) still go through the task's retries.
    """
    try:
        yield
    except (OdooPermanentError, OdooConnectionError) as exc:
        raise AirflowFailException(f"{exc} (not retried: a retry cannot mend this)") from exc


class OdooHook(BaseHook):
    conn_name_attr = "odoo_conn_id"
    default_conn_name = "odoo_default"
    conn_type = "odoo"
    hook_name = "Odoo"

    def __init__(self, odoo_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.odoo_conn_id = odoo_conn_id

    def get_settings(self) -> OdooSettings:
        conn = self.get_connection(self.odoo_conn_id)
        extra = conn.extra_dejson
        protocol = str(extra.get("protocol", "jsonrpc"))
        if protocol not in ("jsonrpc", "jsonrpc+ssl"):
            raise OdooConnectionError(f"connection '{self.odoo_conn_id}': protocol must be jsonrpc or jsonrpc+ssl")
        api = str(extra.get("api", "auto"))
        if api not in APIS:
            raise OdooConnectionError(f"connection '{self.odoo_conn_id}': api must be one of {', '.join(APIS)}")
        if not conn.host or not conn.schema or not conn.login:
            raise OdooConnectionError(
                f"connection '{self.odoo_conn_id}' needs host, schema (the Odoo database) and login"
            )
        secret = conn.password or str(extra.get("api_key", ""))
        return OdooSettings(
            host=conn.host,
            port=int(conn.port or (443 if protocol == "jsonrpc+ssl" else 8069)),
            database=conn.schema,
            login=conn.login,
            secret=secret,
            protocol=protocol,
            api=api,
            timeout=float(extra.get("timeout", 120)),
            page_size=int(extra.get("page_size", 5000)),
            max_attempts=int(extra.get("max_attempts", 5)),
            backoff_base=float(extra.get("backoff_base", 1.0)),
            conn_id=self.odoo_conn_id,
        )

    def get_conn(self) -> OdooClient:
        return OdooClient(self.get_settings()).connect()
