"""Source faults: transient ones are retried and the day still loads exactly; lasting ones fail cleanly."""

from __future__ import annotations

from datetime import date

import pytest
from nk_quality import run_gates

from include.etl import lake, tasks
from include.etl.odoo_client import OdooAccessError, OdooAuthError, OdooClient, OdooUnavailable
from odoo_sim.testing import start_simulator
from tests.resilience._support import (
    CONN_ID,
    SIM_OPTIONS,
    TZ,
    assert_day_equals_sim,
    client,
    fact_file,
    fingerprint,
    lake_day,
    settings,
    temp_files,
)

DAY = date(2025, 1, 14)

# (kind, count, delay): `timeout` sleeps past the client's 2 s timeout; `slow` answers within it.
TRANSIENT = [
    ("http_500", 2, None),
    ("http_503", 2, None),
    ("drop", 2, None),
    ("malformed_json", 2, None),
    ("session_expired", 2, None),
    ("timeout", 1, 3.0),
    ("slow", 1, 1.0),
    # PostgreSQL concurrency errors that Odoo's own retry loop gave up on (data.name = psycopg2 class)
    ("serialization_failure", 2, None),
    ("deadlock", 2, None),
    ("lock_not_available", 2, None),
]


@pytest.mark.parametrize(("kind", "count", "delay"), TRANSIENT, ids=[t[0] for t in TRANSIENT])
def test_transient_fault_is_retried_and_the_day_loads_exactly(sim, tmp_path, kind, count, delay):
    odoo = client(sim)
    spec = {"kind": kind, "count": count, "model": "pos.order.line", "method": "search_read"}
    if delay is not None:
        spec["delay"] = delay
    sim.reset_calls()
    sim.fault(**spec)

    published = tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)

    assert sim.faults() == [], "the injected fault was never hit"
    assert published == str(fact_file(tmp_path, DAY))
    assert_day_equals_sim(tmp_path, sim, DAY)
    if kind == "slow":
        assert odoo.retries == 0, "a slow answer within the timeout needs no retry"
    else:
        assert odoo.retries == count
    logins = sum(c["count"] for c in sim.calls()["calls"] if c["service"] == "common" and c["method"] == "login")
    assert logins == (count if kind == "session_expired" else 0), "only an expired session needs a new login"
    assert temp_files(tmp_path) == []


def test_fault_lasting_beyond_max_attempts_publishes_nothing(sim, tmp_path):
    odoo = client(sim)
    sim.fault(kind="http_503", count=50, model="pos.order.line", method="search_read")

    with pytest.raises(OdooUnavailable) as err:
        tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)

    message = str(err.value)
    assert "pos.order.line.search_read" in message
    assert "after 4 attempts" in message
    assert CONN_ID in message
    assert odoo.retries == 3
    assert not fact_file(tmp_path, DAY).exists()
    assert not list(tmp_path.rglob("*.parquet")), "no raw, clean, rejects or fact file of a failed extract"
    assert lake_day(tmp_path, DAY).lines == 0
    assert temp_files(tmp_path) == []


def test_failure_mid_way_leaves_the_earlier_load_byte_identical(sim, tmp_path):
    odoo = client(sim)
    tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)
    before = fingerprint(tmp_path, DAY)
    raw_before = lake.partition_file(tmp_path, lake.RAW_LINES, DAY).read_bytes()
    # Orders and lines are read, then the product read keeps failing.
    sim.fault(kind="http_500", count=50, model="product.product", method="read")

    with pytest.raises(OdooUnavailable, match=r"product\.product\.read"):
        tasks.run_day(odoo, DAY, TZ, str(tmp_path), run_gates)

    assert fingerprint(tmp_path, DAY) == before
    assert lake.partition_file(tmp_path, lake.RAW_LINES, DAY).read_bytes() == raw_before
    sim.clear_faults()
    assert_day_equals_sim(tmp_path, sim, DAY)


def test_wrong_password_fails_fast_naming_the_connection_not_the_secret(sim):
    secret = "Wr0ng-pa55-4-nk-dash"
    odoo = OdooClient(settings(sim, secret=secret))

    with pytest.raises(OdooAuthError) as err:
        odoo.connect()

    message = str(err.value)
    assert f"connection '{CONN_ID}'" in message
    assert f"database '{sim.db}'" in message
    assert "refused" in message
    assert secret not in message
    assert secret not in repr(odoo.settings)
    assert odoo.retries == 0, "bad credentials are not retried"


def test_api_key_works_where_the_password_does(sim, tmp_path):
    odoo = client(sim, secret=sim.api_key)
    tasks.run_day(odoo, DAY, TZ, str(tmp_path), None)
    assert_day_equals_sim(tmp_path, sim, DAY)


def test_unknown_database_is_a_clear_error(sim):
    with pytest.raises(OdooAuthError, match=r"database 'no_such_db' does not exist") as err:
        client(sim, database="no_such_db")
    assert CONN_ID in str(err.value)


def test_missing_access_rights_fail_fast_with_the_model_named(tmp_path):
    with start_simulator(**SIM_OPTIONS, no_access_model=["pos.order.line"]) as restricted:
        odoo = client(restricted)
        with pytest.raises(OdooAccessError) as err:
            tasks.run_day(odoo, DAY, TZ, str(tmp_path), None)
    message = str(err.value)
    assert "pos.order.line" in message
    assert CONN_ID in message
    assert "lacks access rights" in message
    assert odoo.retries == 0
    assert not list(tmp_path.rglob("*.parquet"))
