"""The overview page carries the "today looks unusual" banner that the DAG's anomaly check wrote."""

from __future__ import annotations

import json
from datetime import date

from dashboard import ids
from dashboard.anomaly_banner import BANNER_ID
from dashboard.pages import overview
from include.etl import anomaly


def _banner_slot(component):
    """The page's banner slot (found by id anywhere in the layout)."""
    stack = [component]
    while stack:
        node = stack.pop()
        if getattr(node, "id", None) == ids.BANNER:
            return node
        children = getattr(node, "children", None)
        stack.extend(children if isinstance(children, list) else [children] if children is not None else [])
    raise AssertionError("no banner slot on the page")


def test_page_shows_the_banner_only_when_the_newest_checked_day_was_unusual(empty_lake):
    assert _banner_slot(overview.layout()).children is None
    path = anomaly.anomalies_file(str(empty_lake), date(2025, 1, 6))
    path.parent.mkdir(parents=True)
    flagged = {"day": "2025-01-06", "store_id": 1, "store_name": "Gent – Korenmarkt", "figure": "orders",
               "value": 12.0, "median": 140.0, "zscore": -5.1}
    path.write_text(json.dumps({"day": "2025-01-06", "stores": [], "anomalies": [flagged]}))
    slot = _banner_slot(overview.layout())
    assert slot.children is not None and slot.children.id == BANNER_ID
    assert "Gent – Korenmarkt: orders 12, usually 140" in str(slot.children.children[2].children[0].children)
