"""Numbers in the store's locale (`STORE_LOCALE`), on the cards (Babel) and in the grids (Intl in the browser)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dashboard import components, formatting

NBSP = "\u00a0"
NNBSP = "\u202f"


def test_default_locale_is_en_us(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORE_LOCALE", raising=False)
    assert formatting.money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert formatting.money(Decimal("-3"), "USD") == "-$3.00"
    assert formatting.count(1234567) == "1,234,567"
    assert formatting.quantity(Decimal("2.500")) == "2.5"
    assert formatting.percent(Decimal("12.345")) == "12.3 %"
    assert formatting.change(Decimal(110), Decimal(100)) == ("▲ 10.0 %", 1)
    assert formatting.compact("x", Decimal("3512345.2"), "EUR") == "€3.51M"


def test_a_belgian_shop_reads_its_own_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORE_LOCALE", "fr_BE")
    assert formatting.money(Decimal("1234.5"), "EUR") == f"1{NNBSP}234,50{NBSP}€"
    assert formatting.count(1234567) == f"1{NNBSP}234{NNBSP}567"
    assert formatting.percent(Decimal("12.345")) == "12,3 %"
    assert formatting.change(Decimal("105.5"), Decimal(100)) == ("▲ 5,5 %", 1)
    monkeypatch.setenv("STORE_LOCALE", "nl-BE")  # the BCP 47 spelling works too
    assert formatting.money(Decimal("1234.5"), "EUR") == f"€{NBSP}1.234,50"
    columns = components.grid_columns([components.Column("revenue", "Revenue", "money")], "EUR")
    assert "'nl-BE', 2, 2" in columns[0]["valueFormatter"]["function"]  # the grid formats alike
    assert columns[0]["headerName"] == "Revenue (EUR)"


def test_unknown_locale_or_mixed_currencies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORE_LOCALE", "xx_NOPE")
    assert formatting.locale() == "en_US"
    assert formatting.money(Decimal("1234.5"), "EUR/USD") == "1,234.50 EUR/USD"
    assert formatting.money(None, "EUR") == formatting.MISSING
