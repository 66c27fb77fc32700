"""The External JSON-2 API (`POST /json/2/<model>/<method>`) as Odoo 19 answers it.

Shapes from ../shared/odoo/odoo-19.0-json2-transcripts.md and addons/rpc/controllers/json2.py:
bearer API key, optional `X-Odoo-Database`, named arguments only (a JSON array body is silently
ignored, so `search_read` answers every record with every field), `ids` for record methods,
errors as HTTP statuses with a JSON body {name, message, arguments, context, debug}.
Before 19 the route does not exist: on 18 `/json/...` is a web route that redirects to the login
page (recorded); 16 and 17 have no `/json` route and answer 404.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from odoo_sim.errors import OdooError

if TYPE_CHECKING:
    from odoo_sim.server import Simulator

log = logging.getLogger(__name__)

Answer = tuple[int, dict[str, str], bytes]

# Named parameters of the ORM methods served (odoo/orm/models.py, 19.0); `ids` is the recordset.
# (required, optional, accepts **kwargs, is @api.model)
_SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, bool]] = {
    "search_read": ((), ("domain", "fields", "offset", "limit", "order", "load"), True, True),
    "search": (("domain",), ("offset", "limit", "order"), False, True),
    "search_count": (("domain",), ("limit",), False, True),
    "fields_get": ((), ("allfields", "attributes"), False, True),
    "read": ((), ("fields", "load"), False, False),
    "write": (("vals",), (), False, False),
    "context_get": ((), (), False, True),
}
_WERKZEUG = {
    400: "werkzeug.exceptions.BadRequest",
    401: "werkzeug.exceptions.Unauthorized",
    404: "werkzeug.exceptions.NotFound",
    422: "werkzeug.exceptions.UnprocessableEntity",
}
_REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 422: "Unprocessable Entity"}


def error_body(name: str, message: str, status: int | None = None) -> bytes:
    """Odoo's JSON-2 error body; werkzeug errors carry the status in `arguments`."""
    last = f"{name.rsplit('.', 1)[-1]}: {status} {_REASONS[status]}: {message}" if status else f"{name}: {message}"
    return json.dumps({
        "name": name,
        "message": message,
        "arguments": [message, status] if status else [message],
        "context": {},
        "debug": f"Traceback (most recent call last):\n  File \"<odoo-19.0>/odoo/http.py\", in _serve_db\n{last}\n",
    }, ensure_ascii=False).encode("utf-8")


def _werkzeug(status: int, message: str) -> Answer:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer "
    return status, headers, error_body(_WERKZEUG[status], message, status)


def _orm_error(exc: OdooError) -> Answer:
    """An ORM exception: AccessError is 403, a missing record 404, everything else 500."""
    status = 403 if exc.name.endswith(("AccessError", "AccessDenied")) else 500
    message = exc.message.replace(" on model '", " on '")  # 19 words it "Invalid field 'x' on 'pos.order'"
    return status, {"Content-Type": "application/json; charset=utf-8"}, error_body(exc.name, message)


def redirect_to_login(path: str) -> Answer:
    """Odoo 18: `/json/...` is an auth='user' web route; without a session it redirects (303)."""
    target = "/web/login?redirect=" + quote(path + "?", safe="")
    html = ("<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
            f"<p>You should be redirected automatically to the target URL: <a href=\"{target}\">{target}</a>. "
            "If not, click the link.\n")
    return 303, {"Content-Type": "text/html; charset=utf-8", "Location": target}, html.encode("utf-8")


def serve(sim: Simulator, method_http: str, path: str, headers: Any, raw: bytes) -> Answer:
    """One request under /json/2 on a version that has JSON-2."""
    parts = path.strip("/").split("/")
    if method_http != "POST" or len(parts) != 4:
        return _werkzeug(404, "Did you mean POST /json/2/<model>/<method>?")
    model, method = parts[2], parts[3]
    reg = sim.registry
    sim.count_call("json2", method, model)

    # auth='bearer' (odoo/addons/base/models/ir_http.py): the key is checked before anything else.
    auth = str(headers.get("Authorization") or "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _werkzeug(401, "User not authenticated, use an API Key with a Bearer Authorization header.")
    database = headers.get("X-Odoo-Database")
    if database is not None and database != sim.cfg.db:
        # Not recorded on a real server (the recording ran single-database): the simulator answers
        # with the recorded 404 body shape; docs/odoo-versions.md flags this case as simulated.
        return _werkzeug(404, f"database {database!r} not found")
    if not reg.api_key_ok(token.strip()):
        return _werkzeug(401, "Invalid apikey")

    try:
        params: Any = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        return _werkzeug(400, f"could not parse the body as json: {exc}")
    if not isinstance(params, dict):
        # Json2Dispatcher: `jsonrequest | args` fails for a list, so only the path args remain.
        params = {}
    ids = params.pop("ids", ())
    context = params.pop("context", {})
    del context  # lang/tz/active_test: the simulated data are the same in every context

    if model not in reg.schemas:
        return _werkzeug(404, f"the model {model!r} does not exist")
    signature = _SIGNATURES.get(method)
    if signature is None:
        return _werkzeug(404, f"The method '{method}' does not exist on the model '{model}'")
    required, optional, var_kw, api_model = signature
    if api_model and ids:
        return _werkzeug(422, f"cannot call {model}.{method} with ids")
    missing = [p for p in required if p not in params]
    if missing:
        return _werkzeug(422, f"missing a required argument: '{missing[0]}'")
    unknown = [k for k in params if k not in required + optional]
    if unknown and not var_kw:
        return _werkzeug(422, f"got an unexpected keyword argument '{unknown[0]}'")
    if unknown:
        err = OdooError("builtins.TypeError",
                        f"BaseModel._read_format() got an unexpected keyword argument '{unknown[0]}'")
        return _orm_error(err)

    args: list[Any] = [] if api_model else [list(ids)]
    if method == "write":
        args, params = [list(ids), params["vals"]], {}
    try:
        result = reg.call_model(model, method, args, params)
    except OdooError as exc:
        if exc.name == "builtins.KeyError":
            return _werkzeug(404, f"the model {model!r} does not exist")
        return _orm_error(exc)
    return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(result, ensure_ascii=False).encode()
