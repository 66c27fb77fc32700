"""How numbers read on the page, in the store's locale (`STORE_LOCALE`, default `en_US`) through Babel.

Money is written the locale's way with the lake's currency (`€1,234.50` in `en_US`,
`1 234,50 €` in `fr_BE`); several currencies in one total (`EUR/USD`) or none fall back
to the number followed by the codes. Deltas carry an arrow and a sign-free magnitude.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_compact_currency, format_compact_decimal, format_currency, format_decimal

MISSING = "—"
DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=8)
def _parse(name: str) -> str:
    try:
        return str(Locale.parse(name.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE


def locale() -> str:
    """The locale of `STORE_LOCALE` (Babel name such as `fr_BE`); an unknown value falls back to `en_US`."""
    return _parse(os.environ.get("STORE_LOCALE", "").strip() or DEFAULT_LOCALE)


def js_locale() -> str:
    """The same locale as a BCP 47 tag (`fr-BE`), for the browser's `Intl.NumberFormat` (grids)."""
    return locale().replace("_", "-")


def _is_code(currency: str) -> bool:
    return len(currency) == 3 and currency.isalpha()


def money(value: Decimal | float | None, currency: str) -> str:
    if value is None:
        return MISSING
    number = Decimal(str(value))
    if _is_code(currency):
        return format_currency(number, currency.upper(), locale=locale())
    return f"{format_decimal(number, format='#,##0.00', locale=locale())} {currency}".strip()


def money_label(label: str, currency: str) -> str:
    """A column or axis title of amounts: `Revenue (EUR)`, or the bare label when the currency is unknown."""
    return f"{label} ({currency})" if currency else label


def number(value: Decimal | float | int | None, decimals: int = 2) -> str:
    if value is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=locale())


def count(value: int | None) -> str:
    return MISSING if value is None else format_decimal(value, format="#,##0", locale=locale())


def quantity(value: Decimal | float | None) -> str:
    """Units keep up to 3 decimals (weighed goods) and drop trailing zeros."""
    if value is None:
        return MISSING
    return format_decimal(Decimal(str(value)), format="#,##0.###", locale=locale())


def ratio(value: Decimal | float | None) -> str:
    return number(value, 2)


def percent(value: Decimal | float | None) -> str:
    """A value already in percent (12.3 → `12.3 %`)."""
    return MISSING if value is None else f"{number(value, 1)} %"


def change(current: Decimal | int | None, previous: Decimal | int | None, points: bool = False) -> tuple[str, int]:
    """`(text, direction)` of the change from `previous` to `current`; direction is -1, 0 or 1.

    Percentages change in points; everything else in percent of the previous value.
    """
    if current is None or previous is None:
        return "no comparison", 0
    diff = Decimal(current) - Decimal(previous)
    direction = (diff > 0) - (diff < 0)
    arrow = {1: "▲", -1: "▼", 0: "="}[direction]
    if points:
        return f"{arrow} {number(abs(diff), 1)} pts", direction
    if previous == 0:
        return ("no sales before" if current else "= 0"), direction
    pct = diff / abs(Decimal(previous)) * 100
    return f"{arrow} {number(abs(pct), 1)} %", direction


def growth(current: Decimal | float | None, previous: Decimal | float | None) -> Decimal | None:
    """Growth in percent from `previous` to `current`; None when there is nothing to compare with."""
    if current is None or previous is None or Decimal(str(previous)) == 0:
        return None
    return (Decimal(str(current)) - Decimal(str(previous))) / abs(Decimal(str(previous))) * 100


def compact(text: str, value: Decimal | float | int | None, suffix: str = "", from_value: int = 1_000_000) -> str:
    """`text` itself, or `€3.51M` when |value| ≥ `from_value` (a card then shows the exact text on hover).

    `suffix` is the currency: a currency code is written the locale's way, anything else
    follows the compact number.
    """
    if value is None:
        return text
    amount = Decimal(str(value))
    if abs(amount) < from_value:
        return text
    if _is_code(suffix):
        return format_compact_currency(amount, suffix.upper(), locale=locale(), fraction_digits=2)
    return f"{format_compact_decimal(amount, locale=locale(), fraction_digits=2)} {suffix}".strip()
