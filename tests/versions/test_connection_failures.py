"""Every connection fault a user can cause fails at once with one line naming the connection, never the key."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from include.etl.odoo_client import OdooAccessError, OdooAuthError, OdooError, OdooSchemaError
from odoo_sim.testing import SimulatorProcess, start_simulator
from tests.versions._support import CONN_ID, client
from tests.versions.conftest import SIM_OPTIONS

WRONG_KEY = "0123456789abcdef0123456789abcdef01234567"


def _fails_at_once(expected: type[Exception], sim: SimulatorProcess, secret: str | None = None, **kw) -> str:
    sim.reset_calls()
    t0 = time.perf_counter()
    with pytest.raises(expected) as caught:
        client(sim, secret, **kw)
    elapsed = time.perf_counter() - t0
    message = str(caught.value)
    assert elapsed < 5, f"took {elapsed:.1f}s: retried a fault a retry cannot mend"
    assert "\n" not in message, message
    assert f"connection '{CONN_ID}'" in message
    for secret_value in (secret, sim.api_key, WRONG_KEY):
        if secret_value:
            assert secret_value not in message
    return message


@pytest.fixture(scope="module")
def expired_sim() -> Iterator[SimulatorProcess]:
    """Odoo 19 whose API key expired a day before the simulator's now."""
    with start_simulator(odoo_version=19, api_key_expiration="2025-02-28 12:00:00", **SIM_OPTIONS) as proc:
        yield proc


@pytest.fixture(scope="module")
def no_pos_rights_sim() -> Iterator[SimulatorProcess]:
    with start_simulator(odoo_version=19, no_access_model=["pos.order", "pos.order.line"], **SIM_OPTIONS) as proc:
        yield proc


@pytest.fixture(scope="module")
def no_jsonrpc_sim() -> Iterator[SimulatorProcess]:
    """Odoo 20 once `/jsonrpc` is gone (Odoo 22, Odoo Online 21.1)."""
    with start_simulator(odoo_version=20, no_jsonrpc=True, **SIM_OPTIONS) as proc:
        yield proc


@pytest.mark.parametrize("api", ["json2", "auto"])
def test_a_wrong_key_is_refused_at_once(sims, api):
    message = _fails_at_once(OdooAuthError, sims[19], WRONG_KEY, api=api)
    assert "API key was refused" in message and "expired or revoked" in message


def test_an_expired_key_says_so(expired_sim):
    message = _fails_at_once(OdooAuthError, expired_sim, api="json2")
    assert "expired" in message


def test_a_revoked_key_says_so(tmp_path):
    with start_simulator(odoo_version=20, **SIM_OPTIONS) as sim:
        odoo = client(sim, api="json2")
        assert odoo.search_ids("pos.config", [])
        sim.admin({"op": "revoke_api_key"})
        with pytest.raises(OdooAuthError) as caught:
            odoo.search_ids("pos.config", [])
        assert "revoked" in str(caught.value) and sim.api_key not in str(caught.value)
        assert odoo.retries == 0
        message = _fails_at_once(OdooAuthError, sim, api="json2")
        assert "revoked" in message


def test_missing_access_rights_name_the_model(no_pos_rights_sim):
    odoo = client(no_pos_rights_sim, api="json2")
    t0 = time.perf_counter()
    with pytest.raises(OdooAccessError) as caught:
        odoo.search_read_all("pos.order", [], ["name"])
    message = str(caught.value)
    assert time.perf_counter() - t0 < 5 and odoo.retries == 0
    assert "lacks access rights" in message and "(pos.order)" in message
    assert f"connection '{CONN_ID}'" in message and no_pos_rights_sim.api_key not in message


@pytest.mark.parametrize("major", [17, 19])
def test_an_unknown_database_is_refused_at_once(sims, major):
    message = _fails_at_once(OdooAuthError, sims[major], database="no_such_db")
    assert "no_such_db" in message


def test_forced_jsonrpc_against_a_server_without_it(no_jsonrpc_sim):
    message = _fails_at_once(OdooError, no_jsonrpc_sim, api="jsonrpc")
    assert "no /jsonrpc endpoint" in message and "api=json2" in message


def test_forced_json2_against_odoo_18(sims):
    message = _fails_at_once(OdooError, sims[18], api="json2")
    assert "no JSON-2 API" in message and "api=jsonrpc" in message


def test_auto_on_a_server_without_jsonrpc_uses_json2(no_jsonrpc_sim):
    odoo = client(no_jsonrpc_sim)
    assert odoo.api == "json2"
    assert odoo.search_ids("pos.config", [])


def test_a_password_on_odoo_19_falls_back_to_jsonrpc_with_a_warning(sims, caplog):
    sim = sims[19]
    with caplog.at_level(logging.WARNING, logger="include.etl.odoo_client"):
        odoo = client(sim, sim.password)
    assert odoo.api == "jsonrpc"
    assert "deprecated" in caplog.text and sim.password not in caplog.text
    assert odoo.search_ids("pos.config", [])
    assert "deprecated in Odoo 19" in sim.read_log()


def test_forced_jsonrpc_on_odoo_20_still_works_and_is_logged_as_deprecated(sims):
    sim = sims[20]
    odoo = client(sim, api="jsonrpc")
    assert odoo.api == "jsonrpc"
    assert len(odoo.search_ids("pos.config", [])) == 3
    assert "deprecated in Odoo 19" in sim.read_log()


def test_a_missing_model_is_a_schema_fault_on_json2(sims):
    odoo = client(sims[19])
    assert odoo.api == "json2"
    assert odoo.has_model("product.brand")
    assert not odoo.has_model("hr.employee")
    with pytest.raises(OdooSchemaError) as caught:
        odoo.search_read_all("pos.order", [], ["name", "no_such_field"])
    assert "Invalid field 'no_such_field'" in str(caught.value)
