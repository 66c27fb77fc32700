"""Mutations, fault injection, call counters and a timing print for 50k lines/day."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from decimal import Decimal

import odoorpc
import pytest

from odoo_sim import expected_stats
from odoo_sim.testing import SimulatorProcess, start_simulator

DAY_FROM, DAY_TO = "2025-01-19 23:00:00", "2025-01-20 23:00:00"


def post_jsonrpc(sim: SimulatorProcess, timeout: float = 5) -> bytes:
    body = {"jsonrpc": "2.0", "method": "call", "id": 1,
            "params": {"service": "object", "method": "execute_kw",
                       "args": [sim.db, 2, sim.password, "pos.order", "search", [[]], {"limit": 1}]}}
    req = urllib.request.Request(sim.url + "/jsonrpc", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


@pytest.fixture(autouse=True)
def _clean(sim: SimulatorProcess) -> None:
    sim.admin({"op": "reset"})
    sim.clear_faults()


def test_in_process_stats_match_endpoint(sim: SimulatorProcess) -> None:
    from tests.simulator.conftest import SIM_OPTIONS

    argv = [a for k, v in SIM_OPTIONS.items() for a in (f"--{k.replace('_', '-')}", str(v))]
    assert expected_stats(DAY_FROM, DAY_TO, argv) == sim.stats(DAY_FROM, DAY_TO)


def test_mutations_show_in_rpc_and_stats(sim: SimulatorProcess, odoo: odoorpc.ODOO) -> None:
    before = sim.stats(DAY_FROM, DAY_TO)
    orders = odoo.env["pos.order"]
    victim = before["order_ids"][0]
    sim.admin({"op": "cancel_order", "order_id": victim})
    after = sim.stats(DAY_FROM, DAY_TO)
    assert after["orders"] == before["orders"] - 1 and victim in after["order_ids_excluded"]["cancel"]
    got = orders.read([victim], ["state", "write_date"])[0]
    assert got["state"] == "cancel" and got["write_date"] == "2025-03-01 12:00:00"

    orders.write([victim], {"state": "paid"})  # JSON-RPC write
    assert sim.stats(DAY_FROM, DAY_TO)["orders"] == before["orders"]

    late = sim.admin({"op": "late_order", "date_order": "2025-01-20 10:00:00", "lines": 2})
    changed = odoo.env["pos.order.line"].search([("order_id.write_date", ">", "2025-02-28 00:00:00")])
    assert set(late["line_ids"]) <= set(changed)
    assert sim.stats(DAY_FROM, DAY_TO)["lines"] == before["lines"] + 2

    src = before["line_ids"][0]
    refund = sim.admin({"op": "refund_line", "line_id": src, "date_order": "2025-01-25 09:00:00"})
    line = odoo.env["pos.order.line"].read(refund["line_ids"], ["refunded_orderline_id", "qty"])[0]
    assert line["refunded_orderline_id"][0] == src and line["qty"] < 0

    sim.admin({"op": "rename_product", "product_id": 1, "name": "Café crème XXL"})
    prod = odoo.env["product.product"].read([1], ["name", "display_name", "write_date"])[0]
    assert prod["name"] == "Café crème XXL" and prod["write_date"] == "2025-03-01 12:00:00"
    assert prod["display_name"] == "[NK00001] Café crème XXL"  # Odoo's `[default_code] Name`

    sim.admin({"op": "corrupt_line", "line_id": src, "field": "price_subtotal_incl", "value": "NaN"})
    assert odoo.env["pos.order.line"].read([src], ["price_subtotal_incl"])[0]["price_subtotal_incl"] == "NaN"
    sim.admin({"op": "corrupt_line", "line_id": src, "field": "qty", "value": None})
    raw = odoo.json("/jsonrpc", {"service": "object", "method": "execute_kw",
                                 "args": [sim.db, 2, sim.password, "pos.order.line", "read", [[src], ["qty"]]]})
    assert raw["result"][0]["qty"] is None

    oid = before["order_ids"][1]
    total = orders.read([oid], ["amount_total"])[0]["amount_total"]
    sim.admin({"op": "mismatch_order_total", "order_id": oid, "delta": "0.05"})
    new_total = orders.read([oid], ["amount_total"])[0]["amount_total"]
    assert Decimal(repr(new_total)) - Decimal(repr(total)) == Decimal("0.05")

    sim.admin({"op": "reset"})
    assert sim.stats(DAY_FROM, DAY_TO) == before


@pytest.mark.parametrize("kind", ["http_500", "http_503", "drop", "malformed_json", "session_expired",
                                  "odoo_error", "slow", "timeout"])
def test_fault_kinds_seen_by_raw_client(sim: SimulatorProcess, kind: str) -> None:
    sim.fault(kind=kind, count=1, model="pos.order", delay=0.3 if kind == "slow" else 2)
    assert sim.faults()[0]["kind"] == kind
    t0 = time.perf_counter()
    if kind in ("http_500", "http_503"):
        with pytest.raises(urllib.error.HTTPError) as exc:
            post_jsonrpc(sim)
        assert exc.value.code == int(kind[-3:]) and b"<html" in exc.value.read().lower()
    elif kind == "drop":
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
            post_jsonrpc(sim)
    elif kind == "malformed_json":
        with pytest.raises(json.JSONDecodeError):
            json.loads(post_jsonrpc(sim))
    elif kind == "session_expired":
        err = json.loads(post_jsonrpc(sim))["error"]
        assert err["code"] == 100 and err["data"]["name"] == "odoo.http.SessionExpiredException"
    elif kind == "odoo_error":
        err = json.loads(post_jsonrpc(sim))["error"]
        assert err["code"] == 200 and err["message"] == "Odoo Server Error"
    elif kind == "slow":
        assert "result" in json.loads(post_jsonrpc(sim))
        assert time.perf_counter() - t0 >= 0.3
    else:
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            post_jsonrpc(sim, timeout=0.5)
    assert sim.faults() == []
    assert "result" in json.loads(post_jsonrpc(sim))  # next call is healthy again


def test_fault_filter_and_call_counter(sim: SimulatorProcess) -> None:
    sim.fault(kind="http_503", count=2, model="pos.order.line", method="search_read")
    sim.reset_calls()
    client = odoorpc.ODOO(sim.host, port=sim.port)
    client.login(sim.db, sim.login, sim.password)  # not matched by the fault
    lines = client.env["pos.order.line"]
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError):
            lines.search_read([], ["qty"], limit=1)
    assert len(lines.search_read([], ["qty"], limit=1)) == 1
    calls = {(c["service"], c["method"], c["model"]): c["count"] for c in sim.calls()["calls"]}
    assert calls[("object", "search_read", "pos.order.line")] == 3
    assert calls[("common", "login", None)] == 1
    assert calls[("object", "context_get", "res.users")] == 1


def test_timing_50k_lines_per_day() -> None:
    """Not an assertion on speed: prints how long one 50k-line business day takes to page through."""
    t0 = time.perf_counter()
    with start_simulator(start_date="2025-01-01", end_date="2025-01-08", lines_per_day=50_000,
                         now="2025-03-01 12:00:00") as big:
        startup = time.perf_counter() - t0
        client = odoorpc.ODOO(big.host, port=big.port, timeout=120)
        client.login(big.db, big.login, big.password)
        lines = client.env["pos.order.line"]
        dom = [("order_id.date_order", ">=", "2025-01-04 23:00:00"),
               ("order_id.date_order", "<", "2025-01-05 23:00:00")]
        fields = ["order_id", "product_id", "qty", "price_unit", "discount", "price_subtotal",
                  "price_subtotal_incl", "total_cost", "full_product_name", "refunded_orderline_id", "write_date"]
        t1 = time.perf_counter()
        total, offset, pages = 0, 0, 0
        while True:
            page = lines.search_read(dom, fields, offset=offset, limit=5000, order="id")
            total += len(page)
            pages += 1
            offset += 5000
            if len(page) < 5000:
                break
        elapsed = time.perf_counter() - t1
        print(f"\n[odoo_sim timing] startup {startup:.2f}s; {total} lines in {pages} pages of 5000: {elapsed:.2f}s")
        assert total == lines.search_count(dom)
