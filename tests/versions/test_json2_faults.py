"""Transient faults on JSON-2 are retried like on /jsonrpc; faults a retry cannot mend are not."""

from __future__ import annotations

import pytest

from include.etl.odoo_client import OdooError, OdooUnavailable
from include.etl.odoo_json2 import Json2HTTPError, named_params
from tests.versions._support import client

DOMAIN = [("order_id.date_order", ">=", "2025-01-04 00:00:00"), ("order_id.date_order", "<", "2025-01-05 00:00:00")]
FIELDS = ["order_id", "product_id", "qty", "price_subtotal_incl"]


@pytest.fixture()
def sim19(sims):
    yield sims[19]
    sims[19].clear_faults()


@pytest.mark.parametrize("kind", ["http_503", "http_500", "drop", "malformed_json", "timeout"])
def test_transient_faults_are_retried_and_the_answer_is_complete(sim19, kind):
    odoo = client(sim19, api="json2", timeout=1.5, page_size=100)
    expected = odoo.search_read_all("pos.order.line", DOMAIN, FIELDS)
    assert len(expected) > 100
    sim19.fault(kind=kind, count=2, model="pos.order.line", method="search_read", delay=3 if kind == "timeout" else 0)
    before = odoo.retries
    assert odoo.search_read_all("pos.order.line", DOMAIN, FIELDS) == expected
    assert odoo.retries - before == 2


def test_a_persistent_fault_ends_in_odoo_unavailable(sim19):
    odoo = client(sim19, api="json2")
    sim19.fault(kind="http_503", count=10, model="pos.order", method="search_read")
    with pytest.raises(OdooUnavailable) as caught:
        odoo.search_read_all("pos.order", [], ["name"])
    assert "still failing after 3 attempts" in str(caught.value) and odoo.retries == 2


def test_a_server_error_with_a_json_body_is_not_retried(sim19):
    odoo = client(sim19, api="json2")
    sim19.fault(kind="odoo_error", count=1, model="pos.order", method="search_read")
    with pytest.raises(OdooError) as caught:
        odoo.search_read_all("pos.order", [], ["name"])
    assert "HTTP 500 builtins.RuntimeError" in str(caught.value) and odoo.retries == 0


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (Json2HTTPError(500, "psycopg2.errors.SerializationFailure", "could not serialize access", True), True),
        (Json2HTTPError(500, "psycopg2.errors.DeadlockDetected", "deadlock detected", True), True),
        (Json2HTTPError(500, "psycopg2.errors.LockNotAvailable", "could not obtain lock", True), True),
        (Json2HTTPError(500, "builtins.ValueError", "Invalid field", True), False),
        (Json2HTTPError(500, "", "Internal Server Error", False), True),
        (Json2HTTPError(502, "", "Bad Gateway", False), True),
        (Json2HTTPError(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey", True), False),
    ],
)
def test_which_json2_answers_are_transient(error, transient):
    assert error.transient is transient


def test_positional_arguments_become_named_ones():
    assert named_params("search_read", [[("id", ">", 0)]], {"fields": ["name"], "limit": 5}) == {
        "domain": [("id", ">", 0)],
        "fields": ["name"],
        "limit": 5,
    }
    assert named_params("read", [[1, 2]], {"fields": ["name"]}) == {"ids": [1, 2], "fields": ["name"]}
    with pytest.raises(TypeError):
        named_params("action_pos_order_paid", [[1]], {})
    with pytest.raises(TypeError):
        named_params("search_read", [[], ["name"]], {"fields": ["name"]})
