"""What real Odoo 17 calls things: stores by their stored name, variants by Odoo's display name, sellers.

The simulator serves pos.config's display name with the session suffix (`Shop (not used)`,
`Shop (Cashier)`), templates with several variants and, with `--pos-hr`, employees: each
test here failed before the lake read the stored names and the variant fields.
"""

from __future__ import annotations

from datetime import date

import pytest
from nk_quality import run_gates

from include.etl import tasks, views
from odoo_sim.testing import start_simulator
from tests.resilience._support import SIM_OPTIONS, TZ, assert_day_equals_sim, client

DAY = date(2025, 1, 14)
# "now" inside the next business day: today's sessions are open, so every display name has a cashier
OPEN_SESSION_NOW = "2025-01-15 10:00:00"


def _rows(root, sql: str, params: list | None = None) -> list[tuple]:
    con = views.connect(str(root))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sim_open_sessions():
    with start_simulator(**{**SIM_OPTIONS, "now": OPEN_SESSION_NOW}, pos_hr=True) as proc:
        yield proc


@pytest.fixture(scope="module")
def loaded(sim_open_sessions, tmp_path_factory):
    root = tmp_path_factory.mktemp("lake-names")
    tasks.run_day(client(sim_open_sessions), DAY, TZ, str(root), run_gates)
    return root


def test_store_names_are_the_stored_name_whatever_the_session_state(sim_open_sessions, loaded):
    odoo = client(sim_open_sessions)
    configs = odoo.search_read_all("pos.config", [], ["name", "display_name"])
    # the source really does decorate the display name while a session is open
    assert all(c["display_name"] != c["name"] and c["display_name"].startswith(c["name"] + " (") for c in configs)
    stored = {c["id"]: c["name"] for c in configs}

    dim = dict(_rows(loaded, "SELECT store_id, store_name FROM dim_stores"))
    assert dim == stored
    fact = dict(_rows(loaded, "SELECT DISTINCT store_id, store_name FROM fact_sales"))
    assert fact == {k: v for k, v in stored.items() if k in fact} and fact


def test_store_dimension_has_company_currency_and_active(loaded):
    rows = _rows(loaded, "SELECT company_id, company_name, currency, active, source_write_date FROM dim_stores")
    assert rows and all(r[0] == 1 and r[1] == "NK Demo Belgium SRL" and r[2] == "EUR" and r[3] is True for r in rows)
    assert all(r[4] is not None for r in rows)


def test_variants_carry_template_values_and_odoo_display_name(sim_open_sessions, loaded):
    odoo = client(sim_open_sessions)
    products = dict(_rows(loaded, "SELECT product_id, product_display_name FROM dim_products"))
    source = {
        p["id"]: p
        for p in odoo.read(
            "product.product",
            sorted(products),
            ["display_name", "product_tmpl_id", "default_code", "barcode", "product_template_variant_value_ids"],
        )
    }
    assert products == {pid: p["display_name"] for pid, p in source.items()}

    multi = _rows(
        loaded,
        "SELECT product_tmpl_id, template_name, list(product_id ORDER BY product_id), "
        "list(variant_values ORDER BY product_id), list(product_display_name ORDER BY product_id) "
        "FROM dim_products GROUP BY ALL HAVING count(*) > 1",
    )
    assert multi, "the day sold several variants of at least one template"
    for tmpl_id, template_name, pids, values, names in multi:
        assert all(source[p]["product_tmpl_id"][0] == tmpl_id for p in pids)
        assert len(set(names)) == len(names), f"variants of {template_name} are indistinguishable: {names}"
        for pid, value, name in zip(pids, values, names, strict=True):
            code = source[pid]["default_code"]
            assert name == (f"[{code}] " if code else "") + f"{template_name} ({value})"
    codes = dict(_rows(loaded, "SELECT product_id, barcode FROM dim_products"))
    assert codes == {pid: p["barcode"] or None for pid, p in source.items()}


def test_sellers_user_and_employee_with_pos_hr(sim_open_sessions, loaded):
    odoo = client(sim_open_sessions)
    assert_day_equals_sim(loaded, sim_open_sessions, DAY)
    orders = {
        o["id"]: o
        for o in odoo.search_read_all(
            "pos.order",
            [("date_order", ">=", "2025-01-13 23:00:00"), ("date_order", "<", "2025-01-14 23:00:00")],
            ["user_id", "employee_id", "cashier"],
        )
    }
    facts = _rows(loaded, "SELECT DISTINCT order_id, user_id, employee_id FROM fact_sales")
    assert facts
    for order_id, user_id, employee_id in facts:
        assert user_id == orders[order_id]["user_id"][0]
        assert employee_id == orders[order_id]["employee_id"][0]
    staff = {(t, i): n for t, i, n in _rows(loaded, "SELECT staff_type, staff_id, staff_name FROM dim_staff")}
    for order_id, _user_id, employee_id in facts:
        # the name on the receipt (pos_hr's `cashier`) is the employee's
        assert staff[("employee", employee_id)] == orders[order_id]["cashier"]
    assert {t for t, _ in staff} == {"user", "employee"}


def test_without_pos_hr_the_seller_is_the_user(sim, tmp_path):
    tasks.run_day(client(sim), DAY, TZ, str(tmp_path), run_gates)
    rows = _rows(tmp_path, "SELECT count(*), count(user_id), count(employee_id) FROM fact_sales")
    assert rows[0][0] > 0 and rows[0][1] == rows[0][0] and rows[0][2] == 0
    staff = _rows(tmp_path, "SELECT DISTINCT staff_type FROM dim_staff")
    assert staff == [("user",)]
