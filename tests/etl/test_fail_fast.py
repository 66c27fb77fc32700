"""Errors no retry can mend fail the Airflow task at once; transient ones keep Airflow's retries."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException
from nk_odoo_hook import OdooConnectionError, fail_fast

from include.etl.odoo_client import (
    OdooAccessError,
    OdooAuthError,
    OdooError,
    OdooSchemaError,
    OdooUnavailable,
)


@pytest.mark.parametrize(
    "error",
    [
        OdooAuthError("login 'etl' was refused (wrong password or API key?)"),
        OdooAccessError("user 'etl' lacks access rights"),
        OdooSchemaError("pos.order has no field 'state'"),
        OdooConnectionError("connection 'odoo_default' needs host, schema (the Odoo database) and login"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_permanent_errors_fail_without_retries_and_keep_the_message(error):
    with pytest.raises(AirflowFailException) as caught, fail_fast():
        raise error
    assert str(error) in str(caught.value) and "not retried" in str(caught.value)


@pytest.mark.parametrize("error", [OdooUnavailable("still failing after 5 attempts"), OdooError("boom")])
def test_other_errors_go_through_airflow_retries(error):
    with pytest.raises(type(error)), fail_fast():
        raise error
