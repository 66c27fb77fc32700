"""The page callbacks, called directly with inputs as Dash would pass them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import plotly
import plotly.graph_objects as go
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate
from dashboard_fake_lake import END, STORES, ZERO_SALES_DAY, fmt_money, select, totals

from dashboard import app, components, ids
from dashboard.pages import overview


def _sync(
    trigger: Any,
    search: str,
    start: Any = None,
    end: Any = None,
    store: Any = None,
    category: Any = None,
    brand: Any = None,
    period: Any = None,
    compare: Any = None,
    current: Any = None,
) -> dict:
    out = app.sync_filters(trigger, search, start, end, period, compare, store, category, brand, current)
    return dict(zip(app.SYNC_OUTPUTS, out, strict=True))


def _render(raw: dict | None, group: str | None = None) -> dict:
    return dict(zip(overview.RENDER_OUTPUTS, overview.render(raw, group), strict=True))


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
    same = _sync(ids.STORE, out["search"], "2025-01-31", "2025-03-01", 2, None, None, current=out["raw"])
    assert same["search"] is no_update  # no loop, no new history entry
    assert same["raw"] is no_update  # nothing changed: the page does not render again


def test_a_page_key_survives_a_filter_change(lake_env: Path) -> None:
    out = _sync(ids.STORE, "?product=p%3A101&start=2025-01-31", "2025-01-31", "2025-03-01", 2)
    assert out["search"] == "?start=2025-01-31&end=2025-03-01&store=2&product=p%3A101"
    assert "product" not in out["raw"]
    assert app.page_search(out["search"], product=None) == "?start=2025-01-31&end=2025-03-01&store=2"


def test_period_shortcuts_follow_the_last_loaded_day(lake_env: Path) -> None:
    # The lake's last loaded day is Saturday 2025-03-01.
    expected = {
        "yesterday": ("2025-03-01", "2025-03-01"),
        "wtd": ("2025-02-24", "2025-03-01"),
        "mtd": ("2025-03-01", "2025-03-01"),
        "4w": ("2025-01-27", "2025-02-23"),
        "30d": ("2025-01-31", "2025-03-01"),
    }
    for key, (start, end) in expected.items():
        out = _sync(ids.SHORTCUT, "", "2025-01-01", "2025-01-05", period=key)
        assert (out["start"], out["end"], out["period"]) == (start, end, key), key
        assert out["search"] == f"?period={key}"  # a bookmark moves with the data
        assert out["resolved"]["start"] == start
    dates = _sync(ids.DATE_RANGE, "?period=mtd", "2025-02-01", "2025-02-03", period="mtd")
    assert dates["search"] == "?start=2025-02-01&end=2025-02-03" and dates["period"] is None


def test_compare_with_the_same_period_last_year(lake_env: Path) -> None:
    out = _sync(ids.COMPARE, "", "2025-02-01", "2025-02-28", compare="year")
    assert out["search"] == "?start=2025-02-01&end=2025-02-28&compare=year"
    assert (out["resolved"]["compare_start"], out["resolved"]["compare_end"]) == ("2024-02-01", "2024-02-28")
    shown = _render(out["raw"])
    assert "compared with 01 Feb 2024 – 28 Feb 2024 (same period last year)" in shown["period"]
    assert "The same period last year (2024-02-01 to 2024-02-28) is not in the lake" in _text(shown["messages"])
    assert _find(shown["kpis"], ids.kpi_delta("revenue")).children == "no sales before"


def test_reset_clears_the_url(lake_env: Path) -> None:
    out = _sync(ids.RESET, "?store=2&group=template", "2025-01-31", "2025-03-01", 2, None, None)
    assert out["search"] == "?group=template" and out["raw"] == {} and out["store"] is None


def test_invalid_url_keeps_controls_and_passes_the_value_on(lake_env: Path) -> None:
    out = _sync(ids.URL, "?store=1%3B%20DROP%20VIEW%20fact_sales%3B%20--", None, None, None, None, None)
    assert out["start"] is no_update and out["search"] is no_update
    assert out["raw"] == {"store": "1; DROP VIEW fact_sales; --"}
    shown = _render(out["raw"])
    assert "Invalid filter" in _text(shown["messages"])
    assert _find(shown["kpis"], ids.kpi("revenue")).children == "—"
    assert _annotation(shown["trend"]) == "Invalid filter"
    assert shown["rows"] == [] and shown["trend_rows"] == []


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
    assert "01 Feb 2025 – 28 Feb 2025 (28 days)" in shown["period"]
    assert "2025-02-10" in _text(shown["messages"])  # the missing day inside the period
    assert len(shown["rows"]) == 20 and shown["rows"][0]["revenue"] >= shown["rows"][-1]["revenue"]
    revenue = next(c for c in shown["columns"] if c["field"] == "revenue")
    assert revenue["headerName"] == "Revenue (EUR)"
    assert "NKnumber(params.value, 'en-US', 2, 2" in revenue["valueFormatter"]["function"]
    assert [t["name"] for t in shown["trend"]["data"]] == ["Previous period", "This period"]
    go.Figure(shown["trend"])  # a valid Plotly figure


def test_render_no_sales_in_period(lake_env: Path) -> None:
    day = ZERO_SALES_DAY.isoformat()
    shown = _render({"start": day, "end": day})
    assert f"No sales between {day} and {day}" in _text(shown["messages"])
    for key in ("trend", "category_mix", "brand_mix", "heatmap", "stores"):
        assert _annotation(shown[key]) == "No sales in this period"
    assert _find(shown["kpis"], ids.kpi("revenue")).children == "€0.00"


def test_render_period_outside_the_lake(lake_env: Path) -> None:
    shown = _render({"start": "2024-06-01", "end": "2024-06-07"})
    text = _text(shown["messages"])
    assert "No day of this period is loaded" in text
    assert "no day between 2024-06-01 and 2024-06-07 has been loaded" in text
    assert "previous period" in text


def test_render_empty_lake(empty_lake: Path) -> None:
    shown = _render({})
    assert "no sales data yet" in _text(shown["messages"])
    assert _annotation(shown["trend"]) == "No data loaded yet"
    sync = _sync(None, "", None, None, None, None, None)
    assert sync["store_options"] == [] and sync["start"] is no_update
    assert sync["freshness"] == "No data loaded yet"


def test_every_chart_has_the_csv_of_what_it_draws(lake_env: Path, lake_rows: list[dict]) -> None:
    shown = _render({"start": "2025-02-01", "end": "2025-02-28", "store": "2"})
    trend = shown["trend_rows"]
    assert len(trend) == 28 and trend[0]["Date"] == "2025-02-01"
    assert [r["Revenue (EUR)"] for r in trend] == shown["trend"]["data"][1]["y"]  # the line as drawn
    missing = next(r for r in trend if r["Date"] == "2025-02-10")
    assert missing["Revenue (EUR)"] is None  # a gap, not a zero
    categories = shown["category_rows"]
    bars = shown["category_mix"]["data"][0]
    assert [r["Revenue (EUR)"] for r in categories] == pytest.approx(bars["x"][::-1])  # drawn bottom-up
    assert len(shown["heatmap_rows"]) == 7 * 24
    expected = totals(select(lake_rows, END.replace(month=2, day=1), END.replace(month=2, day=28), store=2))
    assert sum(Decimal(str(r["Revenue (EUR)"])) for r in shown["stores_rows"]) == expected["revenue"]
    sent = components.chart_csv(ids.TREND, trend, {"start": "2025-02-01", "end": "2025-02-28"})
    assert sent["filename"] == "chart-trend_2025-02-01_2025-02-28.csv"
    lines = sent["content"].splitlines()
    assert lines[0] == "Date,Revenue (EUR),Orders,Compared date,Compared revenue (EUR)"
    assert len(lines) == 29
    assert components.chart_csv(ids.TREND, [], {}) is no_update


def test_top_products_grid_by_template_shows_variants(lake_env: Path) -> None:
    shown = _render({}, "template")
    assert "variants" in [c["field"] for c in shown["columns"]]
    assert "variants" not in [c["field"] for c in _render({})["columns"]]


def test_shell_reads_nothing_at_build_time(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("DATA_LAKE_PATH", str(tmp_path / "does-not-exist"))
    dash_app = app.create_app()
    page = dash_app.layout()
    assert _find(page, ids.URL) is not None and _find(page, ids.FILTERS) is not None
    assert _find(overview.layout(), ids.TOP_PRODUCTS) is not None
    assert not (tmp_path / "does-not-exist").exists()


def _json(value: Any) -> str:
    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


def test_the_overview_comes_drawn_for_its_url(lake_env: Path) -> None:
    """Dash's router calls the page's layout with the URL's query values: the first view is in it,
    exactly what the render callback would send once the shell had stored the same filters."""
    search = "?start=2025-02-01&end=2025-02-28&store=2&compare=previous&group=template&product=7"
    raw = _sync(ids.URL, search)["raw"]
    expected = {"start": "2025-02-01", "end": "2025-02-28", "store": "2"}
    assert raw == app.url_filters(dict(parse_qsl(search[1:]))) == expected
    query: dict[str, Any] = dict(parse_qsl(search[1:]))
    query["store"] = ["1", "2"]  # a repeated key (Dash passes a list): the last one counts, as in the shell
    page = overview.layout(**query)
    shown = _render(raw, "template")
    assert _text(_find(page, ids.KPI_GRID).children) == _text(shown["kpis"]) != _text(_render({})["kpis"])
    assert _find(page, ids.PERIOD_LABEL).children == shown["period"]
    assert _json(_find(page, ids.TREND).figure) == _json(shown["trend"])
    assert _find(page, ids.TOP_PRODUCTS).rowData == shown["rows"] and shown["rows"]
    assert _find(page, ids.TOP_PRODUCTS).columnDefs == shown["columns"]
    assert _find(page, ids.GROUP).value == "template"
    assert _find(page, overview.SHOWN).data == {"filters": raw, "group": "template"}
    # The shell's first answer (the same filters) then asks for nothing more; another view does.
    with pytest.raises(PreventUpdate):
        overview.render_if_changed(raw, "template", _find(page, overview.SHOWN).data)
    out = overview.render_if_changed({**raw, "store": "1"}, "template", _find(page, overview.SHOWN).data)
    assert out[-1] == {"filters": {**raw, "store": "1"}, "group": "template"}
    other = _render({**raw, "store": "1"}, "template")["kpis"]
    assert _text(out[overview.RENDER_OUTPUTS.index("kpis")]) == _text(other)
