"""The Connection extra `api` reaches the client; a wrong value fails before any call, naming the connection."""

from __future__ import annotations

import pytest

from plugins.nk_odoo_hook import OdooHook


def test_the_api_extra_and_https(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ODOO_ONLINE",
        "odoo://reader%40shop.example:KEY123@shop.odoo.com:443/shop?protocol=jsonrpc%2Bssl&api=json2",
    )
    settings = OdooHook("odoo_online").get_settings()
    assert (settings.api, settings.protocol, settings.port, settings.database) == ("json2", "jsonrpc+ssl", 443, "shop")
    assert settings.login == "reader@shop.example" and settings.secret == "KEY123"
    assert "KEY123" not in repr(settings) and "KEY123" not in settings.describe()


def test_the_default_is_auto(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ODOO_PLAIN", "odoo://admin:pw@odoo.local:8069/prod")
    assert OdooHook("odoo_plain").get_settings().api == "auto"


def test_an_unknown_api_is_refused(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ODOO_BAD", "odoo://admin:pw@odoo.local:8069/prod?api=xmlrpc")
    with pytest.raises(ValueError, match="connection 'odoo_bad': api must be one of auto, jsonrpc, json2"):
        OdooHook("odoo_bad").get_settings()
