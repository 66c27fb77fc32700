"""The overview page: KPI cards, charts and the top-products table for one period and filters.

The URL query string (`?start=&end=&store=&category=&brand=`) is the state: loading a URL
applies its filters, changing a control rewrites the URL, so a view can be bookmarked.
Callbacks only fetch (`queries`), build (`figures`, the card helpers below) and return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html, no_update
from dash.dash_table.Format import Format, Group, Scheme

from dashboard import anomaly_banner, figures, formatting, ids, queries
from include.etl.config import lake_root, store_timezone

_CONTROLS = (ids.DATE_RANGE, ids.STORE, ids.CATEGORY, ids.BRAND, ids.GROUP)
_MAX_LISTED_DAYS = 10
_GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_TABLE_COLUMNS = ("product_id", "product_name", "product_category", "brand", "qty", "revenue")
_GROUP_OPTIONS = [
    {"label": "Each variant", "value": "variant"},
    {"label": "All variants together", "value": "template"},
]


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


def _panel(title: str, body: Any, wide: bool = False, extra: Any = None) -> html.Section:
    header = html.Div([html.H2(title), extra] if extra is not None else [html.H2(title)], className="panel__head")
    return html.Section([header, body], className="panel panel--wide" if wide else "panel")


def _graph(graph_id: str, kind: str) -> html.Div:
    """A graph that fills a box whose CSS class (`graph--<kind>`) sets the height."""
    graph = dcc.Graph(id=graph_id, config=_GRAPH_CONFIG, responsive=True, style={"height": "100%"})
    return html.Div(graph, className=f"graph graph--{kind}")


def _labelled(label: str, control: Any) -> html.Div:
    return html.Div([html.Label(label, className="filter__label"), control], className="filter")


def layout() -> html.Div:
    """The page; a function so that nothing is read from the lake at import time."""
    return html.Div(
        [
            dcc.Store(id=ids.FILTERS),
            dcc.Download(id=ids.DOWNLOAD),
            html.Section(
                [
                    _labelled(
                        "Period",
                        dcc.DatePickerRange(
                            id=ids.DATE_RANGE,
                            display_format="YYYY-MM-DD",
                            first_day_of_week=1,
                            updatemode="bothdates",
                            minimum_nights=0,
                            clearable=False,
                        ),
                    ),
                    _labelled("Store", dcc.Dropdown(id=ids.STORE, placeholder="All stores", clearable=True)),
                    _labelled("Category", dcc.Dropdown(id=ids.CATEGORY, placeholder="All categories")),
                    _labelled("Brand", dcc.Dropdown(id=ids.BRAND, placeholder="All brands")),
                    html.Button("Reset", id=ids.RESET, className="button button--ghost", n_clicks=0),
                ],
                className="filters",
            ),
            # Banners that concern the whole page go here, above everything: "today looks unusual"
            # (the anomaly check after publish), read when the page is opened.
            html.Div(anomaly_banner.banner(lake_root()), id=ids.BANNER, className="banner"),
            html.Div(id=ids.PERIOD_LABEL, className="period"),
            html.Div(id=ids.MESSAGES, className="messages", role="status"),
            html.Section(_kpi_cards(None), id=ids.KPI_GRID, className="kpis"),
            html.Div(
                [
                    _panel(
                        "Daily revenue vs previous period",
                        _graph(ids.TREND, "trend"),
                        wide=True,
                    ),
                    _panel(
                        f"Top {queries.TOP_N} products",
                        dash_table.DataTable(
                            id=ids.TOP_PRODUCTS,
                            columns=_table_columns(""),
                            data=[],
                            sort_action="native",
                            page_action="none",
                            style_table={"overflowX": "auto"},
                            style_cell={
                                "fontFamily": _FONT,
                                "fontSize": "0.9rem",
                                "padding": "6px 8px",
                                "textAlign": "left",
                                "whiteSpace": "normal",
                                "height": "auto",
                            },
                            style_cell_conditional=[
                                {"if": {"column_id": c}, "textAlign": "right"} for c in ("product_id", "qty", "revenue")
                            ],
                            style_header={"fontWeight": "600", "backgroundColor": "#f1f5f9"},
                            style_as_list_view=True,
                        ),
                        wide=True,
                        extra=html.Div(
                            [
                                dcc.RadioItems(
                                    id=ids.GROUP,
                                    options=_GROUP_OPTIONS,
                                    value="variant",
                                    inline=True,
                                    className="group-by",
                                    inputClassName="group-by__input",
                                    labelClassName="group-by__label",
                                ),
                                html.Button("Download CSV", id=ids.DOWNLOAD_BUTTON, className="button", n_clicks=0),
                            ],
                            className="panel__tools",
                        ),
                    ),
                    _panel("Revenue by category", _graph(ids.CATEGORY_MIX, "mix")),
                    _panel("Revenue by brand", _graph(ids.BRAND_MIX, "mix")),
                    _panel(
                        "When customers buy: weekday × hour",
                        _graph(ids.HEATMAP, "heatmap"),
                        wide=True,
                    ),
                    _panel("Revenue per store", _graph(ids.STORES, "stores"), wide=True),
                ],
                className="panels",
            ),
        ],
        className="page",
    )


def _table_columns(currency: str, by_template: bool = False) -> list[dict]:
    money = Format(precision=2, scheme=Scheme.fixed, group=Group.yes)
    columns = [
        {"name": "ID", "id": "product_id", "type": "numeric"},
        {"name": "Product", "id": "product_name", "type": "text"},
        {"name": "Variants", "id": "variants", "type": "numeric"},
        {"name": "Category", "id": "product_category", "type": "text"},
        {"name": "Brand", "id": "brand", "type": "text"},
        {"name": "Qty", "id": "qty", "type": "numeric"},
        {
            "name": f"Revenue ({currency})" if currency else "Revenue",
            "id": "revenue",
            "type": "numeric",
            "format": money,
        },
    ]
    return columns if by_template else [c for c in columns if c["id"] != "variants"]


# --------------------------------------------------------------------------- builders


def _format(kind: str, value: Any, currency: str) -> str:
    if kind == "money":
        return formatting.money(value, currency)
    if kind == "count":
        return formatting.count(value)
    if kind == "quantity":
        return formatting.quantity(value)
    if kind == "ratio":
        return formatting.ratio(value)
    return formatting.percent(value)


def _shown(kind: str, value: Any, currency: str) -> tuple[str, str]:
    """`(text on the card, exact text on hover)`: big figures get compact units so nothing is cut."""
    exact = _format(kind, value, currency)
    if kind == "money":
        return formatting.compact(exact, value, currency), exact
    if kind in ("count", "quantity"):
        return formatting.compact(exact, value, from_value=10_000_000), exact
    return exact, exact


def _kpi_cards(overview: queries.Overview | None) -> list[html.Div]:
    cards = []
    currency = overview.currency if overview else ""
    for card in _CARDS:
        if overview is None or overview.filters is None:
            value, delta, tone, previous = formatting.MISSING, "", "flat", ""
            exact, previous_exact = "", ""
        else:
            current, before = card.value(overview.current), card.value(overview.previous)
            value, exact = _shown(card.kind, current, currency)
            compare_now, compare_before = current, before
            if card.name == "refunds":  # refunds are negative: compare their size
                compare_now, compare_before = abs(current), abs(before)
            delta, direction = formatting.change(compare_now, compare_before, points=card.kind == "percent")
            tone = "flat" if direction == 0 else ("good" if (direction > 0) == card.up_is_good else "bad")
            previous_text, previous_exact = _shown(card.kind, before, currency)
            previous = f"previous: {previous_text}"
        extra = []
        if card.name == "refunds" and overview is not None and overview.filters is not None:
            extra = [
                html.Div(
                    f"{overview.current.refund_lines:,} lines in {overview.current.refund_orders:,} orders",
                    id=ids.kpi("refund-count"),
                    className="kpi__note",
                )
            ]
        cards.append(
            html.Div(
                [
                    html.Div(card.label, className="kpi__label"),
                    html.Div(value, id=ids.kpi(card.name), className="kpi__value", title=exact),
                    *extra,
                    html.Div(delta, id=ids.kpi_delta(card.name), className=f"kpi__delta kpi__delta--{tone}"),
                    html.Div(previous, className="kpi__prev", title=previous_exact),
                ],
                className="kpi",
            )
        )
    return cards


def _days(days: list[date]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:_MAX_LISTED_DAYS])
    return shown + (f" and {len(days) - _MAX_LISTED_DAYS} more" if len(days) > _MAX_LISTED_DAYS else "")


def _message(text: Any, level: str) -> html.Div:
    return html.Div(text, className=f"message message--{level}")


def _messages(o: queries.Overview) -> list[html.Div]:
    if o.info.empty:
        return [
            _message(
                f"The lake has no sales data yet (nothing under {o.info.root}/star-schema/fact_sales). "
                "Once the ETL has loaded a day, reload this page.",
                "error",
            )
        ]
    if o.error:
        return [_message(["Invalid filter: ", o.error, ". ", dcc.Link("Reset the filters", href="/")], "error")]
    f = o.filters
    out = []
    if o.current.lines == 0:
        if len(o.missing_days) == f.days:
            out.append(_message(f"No day between {f.start} and {f.end} has been loaded into the lake.", "warn"))
        else:
            out.append(_message(f"No sales between {f.start} and {f.end} for these filters.", "info"))
    if o.missing_days and len(o.missing_days) < f.days:
        out.append(
            _message(
                f"{len(o.missing_days)} day(s) of this period are not loaded (no data file): "
                f"{_days(o.missing_days)}. "
                "Totals leave them out.",
                "warn",
            )
        )
    prev_start, prev_end = f.previous
    if len(o.missing_previous_days) == f.days:
        out.append(
            _message(f"The previous period ({prev_start} to {prev_end}) is not in the lake: no comparison.", "info")
        )
    elif o.missing_previous_days:
        out.append(
            _message(
                f"The previous period misses {len(o.missing_previous_days)} day(s) "
                f"({_days(o.missing_previous_days)}): "
                "its comparison is partial.",
                "info",
            )
        )
    return out


def _freshness(info: queries.LakeInfo, timezone: str) -> str:
    if info.empty:
        return "No data loaded yet"
    text = f"Data up to {info.last_loaded_day:%a %d %b %Y} ({timezone})"
    if info.last_sale_day and info.last_sale_day != info.last_loaded_day:
        text += f" · last sale {info.last_sale_day:%d %b %Y}"
    return text


def _period_label(o: queries.Overview) -> str:
    if o.filters is None:
        return ""
    f = o.filters
    prev_start, prev_end = f.previous
    return (
        f"{f.start:%d %b %Y} – {f.end:%d %b %Y} ({f.days} days), "
        f"compared with {prev_start:%d %b %Y} – {prev_end:%d %b %Y}"
    )


def _table_rows(df: pd.DataFrame | None) -> list[dict]:
    if df is None or df.empty:
        return []
    out = df.loc[:, [c for c in (*_TABLE_COLUMNS, "variants") if c in df.columns]].copy()
    out["revenue"] = out["revenue"].round(2)
    return out.to_dict("records")


# --------------------------------------------------------------------------- callbacks


def sync_filters(
    trigger: str | None,
    search: str | None,
    start: str | None,
    end: str | None,
    store: int | str | None,
    category: str | None,
    brand: str | None,
    group: str | None = None,
) -> tuple:
    """Reconcile the URL and the controls; returns the outputs of `_sync` in order.

    The URL wins on load and on back/forward; a control change rewrites the URL.
    """
    info = queries.read_lake_info()
    if trigger == ids.RESET:
        raw: dict[str, Any] = {}
    elif trigger in _CONTROLS:
        raw = {"start": start, "end": end, "store": store, "category": category, "brand": brand, "group": group}
    else:
        raw = dict(queries.parse_search(search))
    raw = {key: str(value) for key, value in raw.items() if value not in (None, "")}
    options = (
        [{"label": name, "value": sid} for sid, name in info.stores],
        [{"label": c, "value": c} for c in info.categories],
        [{"label": b, "value": b} for b in info.brands],
        info.first_loaded_day.isoformat() if info.first_loaded_day else None,
        info.last_loaded_day.isoformat() if info.last_loaded_day else None,
    )
    try:
        filters = None if info.empty else queries.resolve_filters(raw, info)
    except queries.InvalidFilter:
        filters = None
    if filters is None:
        return (no_update, no_update, no_update, no_update, no_update, no_update, raw, *options, no_update)
    if trigger == ids.RESET:
        new_search = "" if search else no_update
    elif trigger in _CONTROLS:
        new_search = filters.search() if filters.search() != search else no_update
    else:
        new_search = no_update
    controls = (
        filters.start.isoformat(),
        filters.end.isoformat(),
        filters.store_id,
        filters.category,
        filters.brand,
    )
    return (new_search, *controls, raw, *options, filters.group)


def render(raw: dict | None) -> tuple:
    """Every card, chart and message for the filters in `raw`."""
    o = queries.load_overview(raw or {})
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
    return (
        _freshness(o.info, timezone),
        _period_label(o),
        _messages(o),
        _kpi_cards(o),
        *charts,
        rows,
        _table_columns(currency, by_template),
    )


def download_top_products(n_clicks: int | None, rows: list[dict] | None, raw: dict | None) -> Any:
    """The top-products table as the user sees it (sorted), as CSV."""
    if not n_clicks or not rows:
        return no_update
    raw = raw or {}
    period = "_".join(raw[k] for k in ("start", "end") if raw.get(k)) or "default-period"
    frame = pd.DataFrame(rows).reindex(columns=list(_TABLE_COLUMNS))
    return dcc.send_data_frame(frame.to_csv, f"top-products_{period}.csv", index=False)


@callback(
    Output(ids.URL, "search"),
    Output(ids.DATE_RANGE, "start_date"),
    Output(ids.DATE_RANGE, "end_date"),
    Output(ids.STORE, "value"),
    Output(ids.CATEGORY, "value"),
    Output(ids.BRAND, "value"),
    Output(ids.FILTERS, "data"),
    Output(ids.STORE, "options"),
    Output(ids.CATEGORY, "options"),
    Output(ids.BRAND, "options"),
    Output(ids.DATE_RANGE, "min_date_allowed"),
    Output(ids.DATE_RANGE, "max_date_allowed"),
    Output(ids.GROUP, "value"),
    Input(ids.URL, "search"),
    Input(ids.DATE_RANGE, "start_date"),
    Input(ids.DATE_RANGE, "end_date"),
    Input(ids.STORE, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.BRAND, "value"),
    Input(ids.RESET, "n_clicks"),
    Input(ids.GROUP, "value"),
)
def _sync(search, start, end, store, category, brand, _reset, group):
    return sync_filters(ctx.triggered_id, search, start, end, store, category, brand, group)


@callback(
    Output(ids.FRESHNESS, "children"),
    Output(ids.PERIOD_LABEL, "children"),
    Output(ids.MESSAGES, "children"),
    Output(ids.KPI_GRID, "children"),
    Output(ids.TREND, "figure"),
    Output(ids.CATEGORY_MIX, "figure"),
    Output(ids.BRAND_MIX, "figure"),
    Output(ids.HEATMAP, "figure"),
    Output(ids.STORES, "figure"),
    Output(ids.TOP_PRODUCTS, "data"),
    Output(ids.TOP_PRODUCTS, "columns"),
    Input(ids.FILTERS, "data"),
)
def _render(raw):
    return render(raw)


@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.DOWNLOAD_BUTTON, "n_clicks"),
    State(ids.TOP_PRODUCTS, "derived_virtual_data"),
    State(ids.FILTERS, "data"),
    prevent_initial_call=True,
)
def _download(n_clicks, rows, raw):
    return download_top_products(n_clicks, rows, raw)
