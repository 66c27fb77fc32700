"""Odoo `pos.order.state` values, and the ones whose lines count as sales.

Odoo 16-18 name an invoiced order `invoiced`; 19 removed that state: an invoiced order stays
`paid`/`done` with `account_move` set, so it is counted through those states
(docs/odoo-versions.md). The union below covers every version.
"""

from __future__ import annotations

from collections.abc import Iterable

COUNTED_STATES = frozenset({"paid", "done", "invoiced"})
ORDER_STATES = COUNTED_STATES | {"draft", "cancel"}


def unknown_states(selection: Iterable[str]) -> set[str]:
    """States a server declares (`fields_get` of pos.order.state) that the ETL cannot classify."""
    return set(selection) - ORDER_STATES


def counted_states(selection: Iterable[str]) -> frozenset[str]:
    """The counted states this server can hold: paid/done/invoiced up to 18, paid/done from 19."""
    return COUNTED_STATES & frozenset(selection)
