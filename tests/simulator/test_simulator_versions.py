"""`--odoo-version 16..20`: the recorded schemas, name formats and protocols (../shared/odoo/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import odoorpc
import pytest

from odoo_sim.testing import SimulatorProcess, start_simulator

_DATA = Path(__file__).resolve().parents[2] / "odoo_sim" / "data"
OPTIONS = {"seed": 3, "start_date": "2025-01-01", "end_date": "2025-01-04", "lines_per_day": 120,
           "products": 80, "now": "2025-03-01 12:00:00"}


@pytest.fixture(scope="module")
def versions() -> Iterator[dict[int, SimulatorProcess]]:
    procs: dict[int, SimulatorProcess] = {}
    try:
        for major in (16, 17, 18, 19, 20):
            procs[major] = start_simulator(odoo_version=major, **OPTIONS)
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def json2(sim: SimulatorProcess, model: str, method: str, body: object, key: str | None = None,
          database: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Authorization": f"bearer {key or sim.api_key}",
               "X-Odoo-Database": database or sim.db}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{sim.url}/json/2/{model}/{method}", content=content, headers=headers, timeout=30)


def login(sim: SimulatorProcess) -> odoorpc.ODOO:
    odoo = odoorpc.ODOO(sim.host, port=sim.port, timeout=30)
    odoo.login(sim.db, sim.login, sim.api_key)
    return odoo


@pytest.mark.parametrize(("major", "recorded"), [(17, "17.0"), (18, "18.0"), (19, "19.0"), (20, "19.0")])
def test_fields_get_is_the_recorded_one(versions, major, recorded):
    real = json.loads((_DATA / f"fields_get-{recorded}.json").read_text(encoding="utf-8"))
    odoo = login(versions[major])
    assert odoo.version == f"{major}.0"
    for model in ("pos.order", "pos.order.line", "pos.category", "product.template"):
        served = odoo.execute_kw(model, "fields_get", [], {"attributes": ["type", "relation"]})
        expected = {f: {k: v for k, v in spec.items() if k in ("type", "relation")} for f, spec in real[model].items()}
        assert {f: served[f] for f in expected} == expected, f"{model} on {major}"


def test_version_differences_of_the_schema(versions):
    def fields(major: int, model: str) -> dict:
        return login(versions[major]).execute_kw(model, "fields_get", [], {"attributes": ["type", "selection"]})

    assert "pos_categ_id" in fields(16, "product.product") and "pos_categ_ids" not in fields(16, "product.product")
    assert "child_id" in fields(17, "pos.category") and "child_ids" in fields(18, "pos.category")
    assert "detailed_type" in fields(17, "product.product") and "detailed_type" not in fields(18, "product.product")
    assert fields(18, "product.product")["is_storable"]["type"] == "boolean"
    states18 = [s for s, _ in fields(18, "pos.order")["state"]["selection"]]
    states19 = [s for s, _ in fields(19, "pos.order")["state"]["selection"]]
    assert "invoiced" in states18 and "invoiced" not in states19
    assert fields(18, "pos.order")["amount_total"]["type"] == "float"
    assert fields(19, "pos.order")["amount_total"]["type"] == "monetary"


def test_order_names_and_states_by_version(versions):
    cols = ["name", "pos_reference", "state", "account_move", "date_order", "config_id"]
    orders17 = login(versions[17]).env["pos.order"].search_read([], ["name", "pos_reference", "state"], order="id")
    answer = json2(versions[19], "pos.order", "search_read", {"domain": [], "fields": cols, "order": "id asc"})
    orders19 = answer.json()
    assert answer.status_code == 200 and len(orders19) == len(orders17) > 100
    assert {o["state"] for o in orders17} >= {"paid", "done", "invoiced", "draft", "cancel"}
    for o17, o19 in zip(orders17, orders19, strict=True):
        assert o17["id"] == o19["id"]
        assert o17["pos_reference"].startswith("Order ")
        yy, config_id = o19["date_order"][2:4], o19["config_id"][0]
        assert o19["pos_reference"] == f"{yy}0-{config_id}-{o19['id']:06d}"  # YY<device>-<config>-<seq>
        if o17["state"] == "invoiced":
            assert o19["state"] == "done" and o19["account_move"]
        else:
            assert o19["state"] == o17["state"]
        if o19["state"] in ("draft", "cancel"):
            assert o19["name"] == "/"
        else:
            assert o19["name"].endswith(f" - {o19['id']:06d}")


def test_json2_answers_like_the_recorded_server(versions):
    sim = versions[19]
    count = json2(sim, "pos.order", "search_count", {"domain": []})
    assert count.status_code == 200 and count.json() > 100
    # positional body: silently ignored, so every record with every field comes back
    ignored = json2(sim, "pos.order", "search_read", [[["state", "=", "cancel"]], ["name"], 0, 1])
    assert ignored.status_code == 200
    assert len(ignored.json()) == count.json() and {"amount_total", "lines", "session_id"} <= set(ignored.json()[0])
    cases = [
        (json2(sim, "pos.order", "search_count", [[]]), 422, "werkzeug.exceptions.UnprocessableEntity",
         "missing a required argument: 'domain'"),
        (json2(sim, "pos.order", "search_count", b""), 422, "werkzeug.exceptions.UnprocessableEntity",
         "missing a required argument: 'domain'"),
        (json2(sim, "pos.order", "search_count", {"domain": []}, key="nope"), 401,
         "werkzeug.exceptions.Unauthorized", "Invalid apikey"),
        (json2(sim, "pos.order.nope", "search_read", {"domain": []}), 404, "werkzeug.exceptions.NotFound",
         "the model 'pos.order.nope' does not exist"),
        (json2(sim, "pos.order", "search_read", {"domain": [], "fields": ["name", "no_such_field"], "limit": 1}),
         500, "builtins.ValueError", "Invalid field 'no_such_field' on 'pos.order'"),
        (json2(sim, "pos.order", "search_read", {"args": [[], ["name"]], "limit": 1}), 500, "builtins.TypeError",
         "BaseModel._read_format() got an unexpected keyword argument 'args'"),
        (json2(sim, "pos.order", "search_read", {"ids": [1], "domain": [], "fields": ["name"]}), 422,
         "werkzeug.exceptions.UnprocessableEntity", "cannot call pos.order.search_read with ids"),
        (json2(sim, "pos.order", "search_count", b'{"domain": [}'), 400, "werkzeug.exceptions.BadRequest",
         "could not parse the body as json: "),
    ]
    for response, status, name, message in cases:
        body = response.json()
        assert response.status_code == status, body
        assert set(body) == {"name", "message", "arguments", "context", "debug"}
        assert body["name"] == name and body["message"].startswith(message), body
    assert cases[2][0].headers["WWW-Authenticate"].lower().startswith("bearer")
    no_header = httpx.post(f"{sim.url}/json/2/pos.order/search_count", json={"domain": []}, timeout=10)
    assert no_header.status_code == 401
    assert no_header.json()["message"] == "User not authenticated, use an API Key with a Bearer Authorization header."
    read = json2(sim, "product.product", "read", {"ids": [1, 2], "fields": ["display_name", "is_storable"]})
    assert [r["id"] for r in read.json()] == [1, 2] and set(read.json()[0]) == {"id", "display_name", "is_storable"}


def test_access_rights_are_403_on_json2():
    with start_simulator(odoo_version=19, no_access_model=["pos.order"], **OPTIONS) as sim:
        denied = json2(sim, "pos.order", "search_read", {"domain": [], "fields": ["name"], "limit": 1})
        assert denied.status_code == 403 and denied.json()["name"] == "odoo.exceptions.AccessError"
        assert "(pos.order)" in denied.json()["message"]
        assert json2(sim, "product.product", "search_read", {"domain": [], "limit": 2}).status_code == 200


def test_no_json2_before_19(versions):
    answer = json2(versions[18], "pos.order", "search_count", {"domain": []})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/web/login?redirect=%2Fjson%2F2%2Fpos.order%2Fsearch_count%3F"
    for major in (16, 17):
        assert json2(versions[major], "pos.order", "search_count", {"domain": []}).status_code == 404


def test_jsonrpc_deprecation_warning_from_19_and_no_db_service_in_20(versions):
    for major in (18, 19, 20):
        login(versions[major]).env["pos.config"].search([])
    assert "deprecated in Odoo 19" not in versions[18].read_log()
    for major in (19, 20):
        log = versions[major].read_log()
        assert "WARNING odoo.addons.rpc.controllers.jsonrpc: The /xmlrpc, /xmlrpc/2 and /jsonrpc endpoints are " \
               "deprecated in Odoo 19" in log
        assert "Mute this logger: --log-handler odoo.addons.rpc.controllers.jsonrpc:ERROR" in log
    assert login(versions[19]).db.list() == [versions[19].db]
    with pytest.raises(odoorpc.error.RPCError) as caught:
        login(versions[20]).db.list()
    assert caught.value.info["data"]["name"] == "builtins.KeyError"


def test_wrong_key_error_code_is_0_from_19(versions):
    body = {"jsonrpc": "2.0", "method": "call", "id": 1,
            "params": {"service": "object", "method": "execute_kw",
                       "args": [versions[18].db, 2, "wrong", "pos.order", "search_count", [[]], {}]}}
    codes = {m: httpx.post(f"{versions[m].url}/jsonrpc", json=body, timeout=10).json()["error"]["code"]
             for m in (18, 19)}
    assert codes == {18: 200, 19: 0}
