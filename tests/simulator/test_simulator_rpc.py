"""The simulator seen through odoorpc and raw HTTP, as the ETL sees a real Odoo 17."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import odoorpc
import pytest

from odoo_sim.testing import SimulatorProcess, start_simulator

COUNTED = ["paid", "done", "invoiced"]
DAY_FROM, DAY_TO = "2025-01-09 23:00:00", "2025-01-10 23:00:00"  # business day 2025-01-10 in Brussels
DT_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def rpc(sim: SimulatorProcess, service: str, method: str, *args: object) -> dict:
    body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": list(args)},
            "id": 7}
    req = urllib.request.Request(sim.url + "/jsonrpc", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def day_domain(lo: str = DAY_FROM, hi: str = DAY_TO, prefix: str = "order_id.") -> list:
    return [(f"{prefix}date_order", ">=", lo), (f"{prefix}date_order", "<", hi)]


def test_login_with_password_and_api_key(sim: SimulatorProcess) -> None:
    for secret in (sim.password, sim.api_key):
        client = odoorpc.ODOO(sim.host, port=sim.port)
        client.login(sim.db, sim.login, secret)
        assert client.version == "17.0"
        assert client.env.context["tz"] == "Europe/Brussels"
        assert client.env["pos.order"].search_count([]) > 0


def test_bad_credentials_and_unknown_db(sim: SimulatorProcess) -> None:
    client = odoorpc.ODOO(sim.host, port=sim.port)
    with pytest.raises(odoorpc.error.RPCError, match="Wrong login"):
        client.login(sim.db, sim.login, "wrong")
    assert rpc(sim, "common", "login", sim.db, sim.login, "wrong")["result"] is False
    denied = rpc(sim, "object", "execute_kw", sim.db, 2, "wrong", "pos.order", "search", [[]], {})
    assert denied["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    missing = rpc(sim, "common", "login", "nope", sim.login, sim.password)
    assert missing["error"]["data"]["name"] == "psycopg2.OperationalError"
    assert 'database "nope" does not exist' in missing["error"]["data"]["message"]


def test_unknown_field_and_model_errors(sim: SimulatorProcess, odoo: odoorpc.ODOO) -> None:
    raw = rpc(sim, "object", "execute_kw", sim.db, 2, sim.password, "pos.order.line", "search_read",
              [[]], {"fields": ["nope"], "limit": 1})
    err = raw["error"]
    assert err["code"] == 200 and err["message"] == "Odoo Server Error"
    assert err["data"]["name"] == "builtins.ValueError"
    assert err["data"]["message"] == "Invalid field 'nope' on model 'pos.order.line'"
    assert err["data"]["debug"].startswith("Traceback")
    with pytest.raises(odoorpc.error.RPCError, match="Invalid field 'nope'"):
        odoo.env["pos.order.line"].search([("order_id.nope", "=", 1)])
    raw = rpc(sim, "object", "execute_kw", sim.db, 2, sim.password, "x.nope", "search", [[]], {})
    assert raw["error"]["data"]["name"] == "builtins.KeyError"


def test_version_16_without_brands_and_no_access() -> None:
    with start_simulator(odoo_version=16, no_brands=True, no_access_model=["pos.order.line"],
                         start_date="2025-01-01", end_date="2025-01-03", lines_per_day=20) as sim16:
        client = odoorpc.ODOO(sim16.host, port=sim16.port)
        client.login(sim16.db, sim16.login, sim16.password)
        assert client.version == "16.0"
        fields = client.env["product.product"].fields_get(attributes=["type", "relation"])
        assert fields["pos_categ_id"] == {"type": "many2one", "relation": "pos.category"}
        assert "pos_categ_ids" not in fields and "product_brand_id" not in fields
        assert "product.brand" not in client.env
        with pytest.raises(odoorpc.error.RPCError) as exc:
            client.env["pos.order.line"].search_read([], ["qty"], limit=1)
        assert exc.value.info["data"]["name"] == "odoo.exceptions.AccessError"


def test_version_17_fields(odoo: odoorpc.ODOO) -> None:
    fields = odoo.env["product.product"].fields_get()
    assert fields["pos_categ_ids"]["type"] == "many2many" and "pos_categ_id" not in fields
    assert fields["product_brand_id"]["relation"] == "product.brand"
    assert "product.brand" in odoo.env
    brands = odoo.env["product.brand"].search_read([], ["name", "write_date"])
    assert brands and set(brands[0]) == {"id", "name", "write_date"}


def test_paging_returns_every_line_once(odoo: odoorpc.ODOO) -> None:
    lines = odoo.env["pos.order.line"]
    dom = day_domain()
    expected = lines.search(dom, order="id")
    assert len(expected) == lines.search_count(dom) > 200
    seen: list[int] = []
    offset = 0
    while True:
        page = lines.search_read(dom, ["id"], offset=offset, limit=97, order="id asc")
        seen += [r["id"] for r in page]
        offset += 97
        if len(page) < 97:
            break
    assert seen == expected
    orders = odoo.env["pos.order"].search_read(day_domain(prefix=""), ["date_order"], order="date_order desc, id")
    dates = [o["date_order"] for o in orders]
    assert dates == sorted(dates, reverse=True)
    assert all(DAY_FROM <= d < DAY_TO for d in dates)


def test_odoo_value_conventions(odoo: odoorpc.ODOO) -> None:
    line = odoo.env["pos.order.line"].search_read(day_domain(), ["order_id", "product_id", "tax_ids",
                                                                 "refunded_orderline_id", "qty", "customer_note"],
                                                  limit=1, order="id")[0]
    assert set(line) == {"id", "order_id", "product_id", "tax_ids", "refunded_orderline_id", "qty", "customer_note"}
    assert isinstance(line["order_id"][0], int) and isinstance(line["order_id"][1], str)
    assert all(isinstance(t, int) for t in line["tax_ids"])
    assert line["customer_note"] is False and isinstance(line["qty"], float)
    order = odoo.env["pos.order"].read([line["order_id"][0]], ["partner_id", "lines", "date_order", "amount_total"])[0]
    assert line["id"] in order["lines"]
    # an empty many2one is False, a set one [id, display name] (orders with and without a customer)
    partners = [o["partner_id"] for o in odoo.env["pos.order"].search_read(day_domain(prefix=""), ["partner_id"])]
    assert False in partners
    assert any(isinstance(p, list) and isinstance(p[0], int) and isinstance(p[1], str) for p in partners)
    assert DT_RE.match(order["date_order"])
    products = odoo.env["product.product"].search_read([("name", "ilike", "café")], ["name", "categ_id"], limit=5)
    assert products and all("/" in p["categ_id"][1] for p in products)
    assert odoo.env["pos.order.line"].search_count([("order_id.state", "=", False)]) == 0


def test_states_mix(odoo: odoorpc.ODOO) -> None:
    orders = odoo.env["pos.order"]
    counts = {s: orders.search_count([("state", "=", s)]) for s in ("paid", "done", "invoiced", "draft", "cancel")}
    assert all(counts.values()), counts
    assert counts["paid"] > counts["done"] > counts["invoiced"] > counts["cancel"]


def test_refunds_reference_existing_lines(odoo: odoorpc.ODOO) -> None:
    lines = odoo.env["pos.order.line"]
    refunds = lines.search_read([("refunded_orderline_id", "!=", False)], ["qty", "product_id",
                                                                          "refunded_orderline_id", "order_id"])
    assert len(refunds) > 5
    originals = {r["id"]: r for r in lines.read([r["refunded_orderline_id"][0] for r in refunds],
                                                ["qty", "product_id", "order_id"])}
    for r in refunds:
        orig = originals[r["refunded_orderline_id"][0]]
        assert r["qty"] < 0 < orig["qty"] and r["product_id"] == orig["product_id"]
        assert orig["order_id"][0] < r["order_id"][0]


def test_amount_total_is_sum_of_lines(odoo: odoorpc.ODOO) -> None:
    orders = odoo.env["pos.order"].search_read(day_domain(prefix=""), ["amount_total", "amount_tax"])
    lines = odoo.env["pos.order.line"].search_read(day_domain(), ["order_id", "price_subtotal",
                                                                  "price_subtotal_incl"])
    incl: dict[int, Decimal] = {}
    tax: dict[int, Decimal] = {}
    for ln in lines:
        oid = ln["order_id"][0]
        incl[oid] = incl.get(oid, Decimal(0)) + Decimal(repr(ln["price_subtotal_incl"]))
        tax[oid] = tax.get(oid, Decimal(0)) + Decimal(repr(ln["price_subtotal_incl"])) - Decimal(
            repr(ln["price_subtotal"]))
    assert any(ln["price_subtotal"] != ln["price_subtotal_incl"] for ln in lines)
    for o in orders:
        assert Decimal(repr(o["amount_total"])) == incl[o["id"]]
        assert Decimal(repr(o["amount_tax"])) == tax[o["id"]]


def test_stats_agree_with_search_read(sim: SimulatorProcess, odoo: odoorpc.ODOO) -> None:
    stats = sim.stats(DAY_FROM, DAY_TO)
    lines = odoo.env["pos.order.line"].search_read(day_domain() + [("order_id.state", "in", COUNTED)],
                                                   ["qty", "price_subtotal_incl", "price_subtotal", "order_id"])
    assert stats["lines"] == len(lines) and stats["line_ids"] == sorted(r["id"] for r in lines)
    assert Decimal(stats["revenue"]) == sum(Decimal(repr(r["price_subtotal_incl"])) for r in lines)
    assert Decimal(stats["revenue_excl_tax"]) == sum(Decimal(repr(r["price_subtotal"])) for r in lines)
    assert Decimal(stats["quantity"]) == sum(Decimal(repr(r["qty"])) for r in lines)
    assert stats["orders"] == len({r["order_id"][0] for r in lines})
    excluded = odoo.env["pos.order"].search(day_domain(prefix="") + [("state", "in", ["draft", "cancel"])])
    assert sorted(stats["order_ids_excluded"]["draft"] + stats["order_ids_excluded"]["cancel"]) == sorted(excluded)


@pytest.mark.parametrize(("tz", "day", "utc_2350"), [
    ("Europe/Brussels", "2025-01-15", "2025-01-15 22:50:00"),
    ("Europe/Brussels", "2025-07-15", "2025-07-15 21:50:00"),
    ("America/New_York", "2025-01-15", "2025-01-16 04:50:00"),
    ("Asia/Tokyo", "2025-01-15", "2025-01-15 14:50:00"),
])
def test_2350_local_order_and_first_hour(tz: str, day: str, utc_2350: str) -> None:
    with start_simulator(timezone=tz, start_date="2025-01-14", end_date="2025-07-17", lines_per_day=40,
                         products=50, now="2025-08-01 00:00:00") as s:
        client = odoorpc.ODOO(s.host, port=s.port)
        client.login(s.db, s.login, s.password)
        orders = client.env["pos.order"]
        hits = orders.search_read([("date_order", "=", utc_2350), ("config_id", "=", 1),
                                   ("state", "in", COUNTED)], ["date_order"])
        assert hits, f"no 23:50 local order on {day} in {tz}"
        zone = ZoneInfo(tz)
        midnight = datetime.fromisoformat(f"{day} 00:00:00").replace(tzinfo=zone).astimezone(UTC)
        one_am = datetime.fromisoformat(f"{day} 01:00:00").replace(tzinfo=zone).astimezone(UTC)
        fmt = "%Y-%m-%d %H:%M:%S"
        early = orders.search_count([("date_order", ">=", midnight.strftime(fmt)),
                                     ("date_order", "<", one_am.strftime(fmt)), ("state", "in", COUNTED)])
        assert early >= 1


def test_determinism_across_processes(sim: SimulatorProcess, odoo: odoorpc.ODOO) -> None:
    from tests.simulator.conftest import SIM_OPTIONS

    fields = ["order_id", "product_id", "qty", "price_subtotal_incl", "full_product_name", "write_date"]
    first = odoo.env["pos.order.line"].search_read(day_domain(), fields, order="id")
    with start_simulator(**SIM_OPTIONS) as twin:
        client = odoorpc.ODOO(twin.host, port=twin.port)
        client.login(twin.db, twin.login, twin.password)
        assert client.env["pos.order.line"].search_read(day_domain(), fields, order="id") == first
        assert twin.stats(DAY_FROM, DAY_TO) == sim.stats(DAY_FROM, DAY_TO)
