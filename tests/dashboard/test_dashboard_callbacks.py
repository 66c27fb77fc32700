"""The page callbacks, called directly with inputs as Dash would pass them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from dash import no_update
from dashboard_fake_lake import END, STORES, ZERO_SALES_DAY, fmt_money, select, totals

from dashboard import app, ids
from dashboard.pages import overview

_SYNC = (
    "search",
    "start",
    "end",
    "store",
    "category",
    "brand",
    "raw",
    "store_options",
    "category_options",
    "brand_options",
    "min_date",
    "max_date",
    "group",
)
_RENDER = (
    "freshness",
    "period",
    "messages",
    "kpis",
    "trend",
    "category_mix",
    "brand_mix",
    "heatmap",
    "stores",
    "rows",
    "columns",
)


def _sync(*args: Any) -> dict:
    return dict(zip(_SYNC, overview.sync_filters(*args), strict=True))


def _render(raw: dict | None) -> dict:
    return dict(zip(_RENDER, overview.render(raw), strict=True))


def _find(tree: Any, component_id: str) -> Any:
    """The component with `component_id` in a Dash component tree (or list of trees)."""
    if isinstance(tree, (list, tuple)):
        for item in tree:
            found = _find(item, component_id)
            if found is not None:
                return found
        return None
    if getattr(tree, "id", None) == component_id:
        return tree
    children = getattr(tree, "children", None)
    return None if children is None or isinstance(children, str) else _find(children, component_id)


def _text(tree: Any) -> str:
    if tree is None:
        return ""
    if isinstance(tree, str):
        return tree
    if isinstance(tree, (list, tuple)):
        return " ".join(_text(t) for t in tree)
    return _text(getattr(tree, "children", None))


def _annotation(fig: dict) -> str:
    return " ".join(a["text"] for a in fig["layout"].get("annotations", []))


def test_url_on_load_sets_controls_without_rewriting_the_url(lake_env: Path) -> None:
    out = _sync(ids.URL, "?start=2025-02-01&end=2025-02-28&store=1&brand=Acme", None, None, None, None, None)
    assert out["search"] is no_update
    assert (out["start"], out["end"], out["store"], out["brand"], out["category"]) == (
        "2025-02-01",
        "2025-02-28",
        1,
        "Acme",
        None,
    )
    assert out["raw"] == {"start": "2025-02-01", "end": "2025-02-28", "store": "1", "brand": "Acme"}
    assert {o["value"] for o in out["store_options"]} == set(STORES)
    assert out["max_date"] == END.isoformat()


def test_first_load_without_query_shows_defaults(lake_env: Path) -> None:
    out = _sync(None, "", None, None, None, None, None)
    assert out["search"] is no_update and out["raw"] == {}
    assert (out["start"], out["end"]) == ("2025-01-31", "2025-03-01")


def test_a_control_change_rewrites_the_url(lake_env: Path) -> None:
    out = _sync(ids.STORE, "", "2025-01-31", "2025-03-01", 2, None, None)
    assert out["search"] == "?start=2025-01-31&end=2025-03-01&store=2"
    assert out["raw"]["store"] == "2"
    same = _sync(ids.STORE, out["search"], "2025-01-31", "2025-03-01", 2, None, None)
    assert same["search"] is no_update  # no loop, no new history entry


def test_reset_clears_the_url(lake_env: Path) -> None:
    out = _sync(ids.RESET, "?store=2", "2025-01-31", "2025-03-01", 2, None, None)
    assert out["search"] == "" and out["raw"] == {} and out["store"] is None


def test_invalid_url_keeps_controls_and_passes_the_value_on(lake_env: Path) -> None:
    out = _sync(ids.URL, "?store=1%3B%20DROP%20VIEW%20fact_sales%3B%20--", None, None, None, None, None)
    assert out["start"] is no_update and out["search"] is no_update
    assert out["raw"] == {"store": "1; DROP VIEW fact_sales; --"}
    shown = _render(out["raw"])
    assert "Invalid filter" in _text(shown["messages"])
    assert _find(shown["kpis"], ids.kpi("revenue")).children == "—"
    assert _annotation(shown["trend"]) == "Invalid filter"
    assert shown["rows"] == []


def test_render_shows_known_kpis(lake_env: Path, lake_rows: list[dict]) -> None:
    shown = _render({"start": "2025-02-01", "end": "2025-02-28", "store": "2"})
    expected = totals(select(lake_rows, END.replace(month=2, day=1), END.replace(month=2, day=28), store=2))
    before = totals(select(lake_rows, END.replace(month=1, day=4), END.replace(month=1, day=31), store=2))
    assert _find(shown["kpis"], ids.kpi("revenue")).children == fmt_money(expected["revenue"])
    assert _find(shown["kpis"], ids.kpi("orders")).children == f"{expected['orders']:,}"
    assert _find(shown["kpis"], ids.kpi("refunds")).children == fmt_money(expected["refunds"])
    assert _find(shown["kpis"], ids.kpi("refund-count")).children == (
        f"{expected['refund_lines']} lines in {expected['refund_orders']} orders"
    )
    change = (expected["revenue"] - before["revenue"]) / before["revenue"] * 100
    arrow = "▲" if change > 0 else "▼"
    assert _find(shown["kpis"], ids.kpi_delta("revenue")).children == f"{arrow} {abs(change):,.1f} %"
    assert shown["freshness"].startswith("Data up to Sat 01 Mar 2025")
    assert "01 Feb 2025 – 28 Feb 2025 (28 days)" in shown["period"]
    assert "2025-02-10" in _text(shown["messages"])  # the missing day inside the period
    assert len(shown["rows"]) == 20 and shown["rows"][0]["revenue"] >= shown["rows"][-1]["revenue"]
    assert shown["columns"][-1]["name"] == "Revenue (EUR)"
    assert [t["name"] for t in shown["trend"]["data"]] == ["Previous period", "This period"]
    go.Figure(shown["trend"])  # a valid Plotly figure


def test_render_no_sales_in_period(lake_env: Path) -> None:
    day = ZERO_SALES_DAY.isoformat()
    shown = _render({"start": day, "end": day})
    assert f"No sales between {day} and {day}" in _text(shown["messages"])
    for key in ("trend", "category_mix", "brand_mix", "heatmap", "stores"):
        assert _annotation(shown[key]) == "No sales in this period"
    assert _find(shown["kpis"], ids.kpi("revenue")).children == "0.00 EUR"


def test_render_period_outside_the_lake(lake_env: Path) -> None:
    shown = _render({"start": "2024-06-01", "end": "2024-06-07"})
    text = _text(shown["messages"])
    assert "No day between 2024-06-01 and 2024-06-07 has been loaded" in text
    assert "previous period" in text


def test_render_empty_lake(empty_lake: Path) -> None:
    shown = _render({})
    assert "no sales data yet" in _text(shown["messages"])
    assert shown["freshness"] == "No data loaded yet"
    assert _annotation(shown["trend"]) == "No data loaded yet"
    sync = _sync(None, "", None, None, None, None, None)
    assert sync["store_options"] == [] and sync["start"] is no_update


def test_download_is_the_table_as_seen(lake_env: Path) -> None:
    rows = _render({})["rows"]
    rows = sorted(rows, key=lambda r: r["product_name"])  # as if the user sorted by name
    sent = overview.download_top_products(1, rows, {"start": "2025-01-31", "end": "2025-03-01"})
    assert sent["filename"] == "top-products_2025-01-31_2025-03-01.csv"
    lines = sent["content"].splitlines()
    assert lines[0] == "product_id,product_name,product_category,brand,qty,revenue"
    assert lines[1].split(",")[1] == rows[0]["product_name"]
    assert len(lines) == 21
    assert overview.download_top_products(None, rows, {}) is no_update


def test_shell_reads_nothing_at_build_time(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("DATA_LAKE_PATH", str(tmp_path / "does-not-exist"))
    dash_app = app.create_app()
    page = dash_app.layout()
    assert _find(page, ids.URL) is not None and _find(page, ids.TOP_PRODUCTS) is not None
    assert not (tmp_path / "does-not-exist").exists()
