"""Odoo `pos.order.state` values, and the ones whose lines count as sales."""

from __future__ import annotations

COUNTED_STATES = frozenset({"paid", "done", "invoiced"})
ORDER_STATES = COUNTED_STATES | {"draft", "cancel"}
