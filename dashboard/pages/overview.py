"""The overview page (`/`): KPI cards, charts and the top-products grid for one period and filters.

It renders from the shell's filters (`ids.FILTERS`); its own URL key is `group=template`
(top products with all variants of a template together). Callbacks only fetch
(`queries`), build (`figures`, `components`) and return.

The first view comes drawn with the page itself: `layout` is called by Dash's router with
the URL's query values and renders them (`app.url_filters`, the same filters the shell
stores), so a first visit costs one callback round trip, not two (router, then `_render`
once the shell's filters arrive). `_render` then runs only when the filters or the grouping
differ from what the page shows (`SHOWN`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash
import pandas as pd
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import anomaly_banner, components, figures, formatting, ids, queries
from dashboard.app import url_filters
from dashboard.components import Column
from include.etl.config import lake_root, store_timezone

_GROUP_OPTIONS = [
    {"label": "Each variant", "value": "variant"},
    {"label": "All variants together", "value": "template"},
]
# What matters first (a phone shows the first columns; the others scroll inside the grid).
_TOP_COLUMNS = (
    Column("product_name", "Product", min_width=200, wrap=True),
    Column("revenue", "Revenue", "money"),
    Column("qty", "Qty", "quantity"),
    Column("variants", "Variants", "count"),
    Column("product_category", "Category", min_width=220),
    Column("brand", "Brand", min_width=160),
    Column("product_id", "ID", "count"),
)
_CHARTS = (ids.TREND, ids.CATEGORY_MIX, ids.BRAND_MIX, ids.HEATMAP, ids.STORES)
SHOWN = "overview-shown"  # {"filters": ..., "group": ...} the page shows (a dcc.Store)


@dataclass(frozen=True)
class _Card:
    name: str
    label: str
    value: Callable[[queries.Kpis], Any]
    kind: str  # money | count | quantity | ratio | percent
    up_is_good: bool = True


_CARDS = (
    _Card("revenue", "Revenue (tax incl.)", lambda k: k.revenue, "money"),
    _Card("revenue-excl-tax", "Revenue excl. tax", lambda k: k.revenue_excl_tax, "money"),
    _Card("orders", "Orders", lambda k: k.orders, "count"),
    _Card("avg-basket", "Average basket", lambda k: k.avg_basket, "money"),
    _Card("units", "Units sold", lambda k: k.units, "quantity"),
    _Card("units-per-order", "Units per order", lambda k: k.units_per_order, "ratio"),
    _Card("margin", "Margin", lambda k: k.margin, "money"),
    _Card("margin-pct", "Margin %", lambda k: k.margin_pct, "percent"),
    _Card("discounts", "Discounts given", lambda k: k.discounts, "money", up_is_good=False),
    _Card("refunds", "Refunds", lambda k: k.refunds, "money", up_is_good=False),
)


def layout(group: str | list[str] | None = None, **query: str | list[str]) -> html.Div:
    """The page, drawn for the URL's query values (Dash's router passes them); a function, so
    nothing is read at import time."""
    if isinstance(group, list):  # a repeated key: the last one counts, as in the shell
        group = group[-1] if group else None
    group = group if group in queries.GROUPS else "variant"
    raw = url_filters(query)
    page = html.Div(
        [
            dcc.Store(id=SHOWN, data=_shown(raw, group)),
            # Banners that concern the whole page go here, above everything: "today looks unusual"
            # (the anomaly check after publish), read when the page is opened.
            html.Div(anomaly_banner.banner(lake_root()), id=ids.BANNER, className="banner"),
            html.Div(id=ids.PERIOD_LABEL, className="period"),
            html.Div(id=ids.MESSAGES, className="messages", role="status"),
            html.Section(_kpi_cards(None), id=ids.KPI_GRID, className="kpis"),
            html.Div(
                [
                    components.chart_panel("Daily revenue vs compared period", ids.TREND, "trend", wide=True),
                    components.grid_panel(
                        f"Top {queries.TOP_N} products",
                        ids.TOP_PRODUCTS,
                        _TOP_COLUMNS,
                        tools=[
                            dcc.RadioItems(
                                id=ids.GROUP,
                                options=_GROUP_OPTIONS,
                                value=group,
                                inline=True,
                                className="group-by",
                                inputClassName="group-by__input",
                                labelClassName="group-by__label",
                            )
                        ],
                    ),
                    components.chart_panel("Revenue by category", ids.CATEGORY_MIX, "mix"),
                    components.chart_panel("Revenue by brand", ids.BRAND_MIX, "mix"),
                    components.chart_panel("When customers buy: weekday × hour", ids.HEATMAP, "heatmap", wide=True),
                    components.chart_panel("Revenue per store", ids.STORES, "stores", wide=True),
                ],
                className="panels",
            ),
        ],
        className="page",
    )
    _fill(page, list(zip(_TARGETS, render(raw, group), strict=True)))
    return page


def _shown(raw: dict, group: str | None) -> dict:
    return {"filters": raw, "group": group}


def _fill(tree: Any, values: list[tuple[tuple[Any, str], Any]]) -> None:
    """Set `values` (((component id, property), value) pairs) on the components of `tree`."""
    if isinstance(tree, (list, tuple)):
        for item in tree:
            _fill(item, values)
        return
    if not hasattr(tree, "to_plotly_json"):
        return
    for (component_id, prop), value in values:
        if getattr(tree, "id", None) == component_id:
            setattr(tree, prop, value)
    _fill(getattr(tree, "children", None), values)


# The app imports this module itself (no pages folder scan), so the layout is given here.
dash.register_page(
    __name__, path="/", name="Overview", order=0, layout=layout, product_filters=True, title="NK Dash · Overview"
)


# --------------------------------------------------------------------------- builders


def _kpi_cards(overview: queries.Overview | None) -> list[html.Div]:
    known = overview is not None and overview.filters is not None
    currency = overview.currency if overview else ""
    cards = []
    for card in _CARDS:
        current = card.value(overview.current) if known else None
        before = card.value(overview.previous) if known else None
        note = None
        if card.name == "refunds" and known:
            note = html.Div(
                f"{overview.current.refund_lines:,} lines in {overview.current.refund_orders:,} orders",
                id=ids.kpi("refund-count"),
                className="kpi__note",
            )
        cards.append(
            components.kpi_card(
                card.name,
                card.label,
                card.kind,
                current,
                before,
                currency,
                up_is_good=card.up_is_good,
                compare_size=card.name == "refunds",  # refunds are negative: compare their size
                note=note,
                known=known,
            )
        )
    return cards


def _messages(o: queries.Overview) -> list[html.Div]:
    return components.period_messages(o, has_rows=o.current.lines > 0)


def _period_label(o: queries.Overview) -> str:
    return components.period_label(o.filters)


def _table_rows(df: pd.DataFrame | None) -> list[dict]:
    if df is None or df.empty:
        return []
    keep = [c.field for c in _TOP_COLUMNS if c.field in df.columns]
    out = df.loc[:, keep].copy()
    out["revenue"] = out["revenue"].round(2)
    return out.to_dict("records")


def _round(value: Any) -> Any:
    return None if value is None or value != value else round(float(value), 2)


def _count(value: Any) -> int | None:
    return None if value is None or value != value else int(value)


def _day(value: Any) -> str:
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value)


def chart_rows(o: queries.Overview, charts: tuple[dict, ...]) -> tuple[list[dict], ...]:
    """The rows each chart draws, in `_CHARTS` order (what their CSV buttons send)."""
    if o.filters is None:
        return ([], [], [], [], [])
    c = o.currency
    money, compared = formatting.money_label("Revenue", c), formatting.money_label("Compared revenue", c)
    trend: list[dict] = []
    if o.trend is not None and charts[0].get("data"):
        t = o.trend
        trend = [
            {"Date": _day(d), money: _round(r), "Orders": _count(n), "Compared date": _day(pd_), compared: _round(pr)}
            for d, r, n, pd_, pr in zip(
                t["date"], t["revenue"], t["orders"], t["prev_date"], t["prev_revenue"], strict=True
            )
        ]
    heat: list[dict] = []
    if o.heatmap is not None and charts[3].get("data"):
        h = o.heatmap
        heat = [
            {"Weekday": figures.WEEKDAYS[int(w) - 1], "Hour": int(hr), money: round(float(r), 2), "Orders": int(n)}
            for w, hr, r, n in zip(h["weekday"], h["hour"], h["revenue"], h["orders"], strict=True)
        ]
    return (
        trend,
        components.ranking_rows(charts[1], "Category", money),
        components.ranking_rows(charts[2], "Brand", money),
        heat,
        components.ranking_rows(charts[4], "Store", money),
    )


# --------------------------------------------------------------------------- callbacks


def render(raw: dict | None, group: str | None = None) -> tuple:
    """Every card, chart, chart CSV and grid row for the filters in `raw` (and the top-products grouping)."""
    raw = dict(raw or {})
    if group:
        raw["group"] = group
    o = queries.load_overview(raw)
    timezone = getattr(store_timezone(), "key", "UTC")
    currency = o.currency
    if o.filters is None:
        reason = "No data loaded yet" if o.info.empty else "Invalid filter"
        empty = figures.empty(reason)
        charts = (empty, empty, empty, empty, empty)
        rows: list[dict] = []
    else:
        no_sales = "No sales in this period"
        stores = None if o.by_store is None else o.by_store.rename(columns={"store_name": "name"})
        charts = (
            figures.trend(o.trend, currency),
            figures.ranking(o.by_category, currency, no_sales),
            figures.ranking(o.by_brand, currency, no_sales),
            figures.heatmap(o.heatmap, currency, timezone),
            figures.ranking(stores, currency, no_sales),
        )
        rows = _table_rows(o.top_products)
    by_template = o.filters is not None and o.filters.group == "template"
    columns = [c for c in _TOP_COLUMNS if by_template or c.field != "variants"]
    return (
        _period_label(o),
        _messages(o),
        _kpi_cards(o),
        *charts,
        *chart_rows(o, charts),
        rows,
        components.grid_columns(columns, currency),
    )


RENDER_OUTPUTS = (
    "period",
    "messages",
    "kpis",
    "trend",
    "category_mix",
    "brand_mix",
    "heatmap",
    "stores",
    "trend_rows",
    "category_rows",
    "brand_rows",
    "heatmap_rows",
    "stores_rows",
    "rows",
    "columns",
)


# Where each of `render`'s values goes (`RENDER_OUTPUTS` order): the callback's outputs and `layout`'s first view.
_TARGETS = (
    (ids.PERIOD_LABEL, "children"),
    (ids.MESSAGES, "children"),
    (ids.KPI_GRID, "children"),
    *[(chart, "figure") for chart in _CHARTS],
    *[(ids.chart_data(chart), "data") for chart in _CHARTS],
    (ids.TOP_PRODUCTS, "rowData"),
    (ids.TOP_PRODUCTS, "columnDefs"),
)


@callback(
    *[Output(component_id, prop) for component_id, prop in _TARGETS],
    Output(SHOWN, "data"),
    Input(ids.FILTERS, "data"),
    Input(ids.GROUP, "value"),
    State(SHOWN, "data"),
    prevent_initial_call=True,  # the layout came drawn
)
def _render(raw, group, shown):
    return render_if_changed(raw, group, shown)


def render_if_changed(raw: dict | None, group: str | None, shown: dict | None) -> tuple:
    """`render`'s values and the new `SHOWN`, unless there are no filters yet (the shell has not
    read the URL) or they are the view the page already shows (the shell's first answer)."""
    if raw is None or shown == _shown(raw, group):
        raise PreventUpdate
    return (*render(raw, group), _shown(raw, group))


# In the browser: no server round trip for a change of the URL alone.
clientside_callback(
    ClientsideFunction(namespace="nkdash", function_name="groupInUrl"),
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.GROUP, "value"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
