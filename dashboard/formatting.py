"""How numbers read on the page: money with 2 decimals and the currency, deltas with a sign."""

from __future__ import annotations

from decimal import Decimal

MISSING = "—"


def money(value: Decimal | float | None, currency: str) -> str:
    if value is None:
        return MISSING
    return f"{Decimal(str(value)):,.2f} {currency}".strip()


def count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def quantity(value: Decimal | float | None) -> str:
    """Units keep up to 3 decimals (weighed goods) and drop trailing zeros."""
    if value is None:
        return MISSING
    text = f"{Decimal(str(value)):,.3f}"
    return text.rstrip("0").rstrip(".")


def ratio(value: Decimal | float | None) -> str:
    return MISSING if value is None else f"{Decimal(str(value)):,.2f}"


def percent(value: Decimal | float | None) -> str:
    return MISSING if value is None else f"{Decimal(str(value)):,.1f} %"


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
        return f"{arrow} {abs(diff):,.1f} pts", direction
    if previous == 0:
        return ("no sales before" if current else "= 0"), direction
    pct = diff / abs(Decimal(previous)) * 100
    return f"{arrow} {abs(pct):,.1f} %", direction


_UNITS = ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"))


def compact(text: str, value: Decimal | float | int | None, suffix: str = "", from_value: int = 1_000_000) -> str:
    """`text` itself, or `3.51 M EUR` when |value| ≥ `from_value` (a card then shows the exact text on hover)."""
    if value is None:
        return text
    number = Decimal(str(value))
    if abs(number) < from_value:
        return text
    for size, unit in _UNITS:
        if abs(number) >= size:
            return f"{number / size:,.2f} {unit} {suffix}".strip()
    return text
