"""The products page (`/products`): one product, or every variant of a template, for the period.

Search by name (the dropdown asks the server, so thousands of products stay light); the
page shows its KPIs against the compared period, its daily trend (variants together or
apart), its stores, its hours, and per variant quantity, revenue, margin, discounts and
refunds. Own URL keys: `product=p:<product_id>` or `t:<template_id>`, `variants=apart`.
Category and brand do not apply here; the store filter does.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
import pandas as pd
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import components, figures, formatting, ids, queries
from dashboard.components import Column

_SPLIT_OPTIONS = [
    {"label": "Variants together", "value": "together"},
    {"label": "Variants apart", "value": "apart"},
]
_COLUMNS = (
    Column("name", "Variant", pinned=True, min_width=160, wrap=True),
    Column("qty", "Qty", "quantity"),
    Column("revenue", "Revenue", "money"),
    Column("orders", "Orders", "count"),
    Column("margin", "Margin", "money"),
    Column("margin_pct", "Margin %", "percent"),
    Column("discounts", "Discounts", "money"),
    Column("refunds", "Refunds", "money"),
    Column("refunded_qty", "Refunded qty", "quantity"),
)
_CHARTS = (ids.PRODUCT_TREND, ids.PRODUCT_STORES, ids.PRODUCT_HOURS)
_CARDS = (
    ("revenue", "Revenue (tax incl.)", "money", True),
    ("qty", "Units sold", "quantity", True),
    ("orders", "Orders with it", "count", True),
    ("margin", "Margin", "money", True),
    ("margin_pct", "Margin %", "percent", True),
    ("discounts", "Discounts given", "money", False),
    ("refunds", "Refunds", "money", False),
)
_OPTIONS_SHOWN = 30


def _options(value: str | None) -> list[dict]:
    """The first options by name, and the chosen one (a URL may name one beyond them)."""
    found = queries.search_products("", limit=_OPTIONS_SHOWN)
    options = [{"label": label, "value": v} for v, label in found]
    if value and value not in {o["value"] for o in options}:
        label = queries.product_label(value)
        if label:
            options.insert(0, {"label": label, "value": value})
    return options


def layout(product: str | None = None, variants: str | None = None, **_query: str) -> html.Div:
    """The page; the product choice comes from the URL (`?product=p:123&variants=apart`)."""
    choice = queries.parse_product(product)
    value = choice.value if choice else None
    try:
        options = _options(value)
    except Exception:  # noqa: BLE001 - an unreadable lake shows its message through the render callback
        options = []
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Product or template", className="filter__label", htmlFor=ids.PRODUCT),
                            dcc.Dropdown(
                                id=ids.PRODUCT,
                                options=options,
                                value=value,
                                placeholder="Type a product or template name…",
                                searchable=True,
                                clearable=True,
                                optionHeight=44,
                            ),
                        ],
                        className="filter",
                    ),
                    dcc.RadioItems(
                        id=ids.PRODUCT_SPLIT,
                        options=_SPLIT_OPTIONS,
                        value="apart" if variants == "apart" else "together",
                        inline=True,
                        className="group-by",
                        inputClassName="group-by__input",
                        labelClassName="group-by__label",
                    ),
                ],
                className="page-tools",
            ),
            html.Div(id=ids.PRODUCT_PERIOD, className="period"),
            html.Div(id=ids.PRODUCT_MESSAGES, className="messages", role="status"),
            html.Section(_cards(None, ""), id=ids.PRODUCT_KPIS, className="kpis"),
            html.Div(
                [
                    components.chart_panel("Daily revenue", ids.PRODUCT_TREND, "trend", wide=True),
                    components.chart_panel("Revenue per store", ids.PRODUCT_STORES, "stores"),
                    components.chart_panel("Revenue per hour of the day", ids.PRODUCT_HOURS, "stores"),
                    components.grid_panel("Per variant", ids.PRODUCT_GRID, _COLUMNS),
                ],
                className="panels",
            ),
        ],
        className="page",
    )


dash.register_page(__name__, path="/products", name="Products", order=2, layout=layout, title="NK Dash · Products")


# --------------------------------------------------------------------------- builders


def _part(rollups: dict, part: str, current: bool = True) -> list[dict]:
    return rollups.get((part, current), [])


def _totals(rollups: dict, current: bool) -> dict[str, Any]:
    rows = _part(rollups, "total", current)
    if not rows:
        return {
            "revenue": 0.0,
            "qty": 0.0,
            "orders": 0,
            "margin": 0.0,
            "margin_pct": None,
            "discounts": 0.0,
            "refunds": 0.0,
        }
    r = rows[0]
    excl = float(r["revenue_excl_tax"])
    return {
        "revenue": float(r["revenue"]),
        "qty": float(r["qty"]),
        "orders": int(r["orders"]),
        "margin": float(r["margin"]),
        "margin_pct": float(r["margin"]) / excl * 100 if excl else None,
        "discounts": float(r["discounts"]),
        "refunds": float(r["refunds"]),
    }


def _cards(page: queries.Page | None, currency: str) -> list[html.Div]:
    known = page is not None and page.filters is not None and "rollups" in page.data
    now = _totals(page.data["rollups"], True) if known else {}
    before = _totals(page.data["rollups"], False) if known else {}
    return [
        components.kpi_card(
            f"product-{name}",
            label,
            kind,
            now.get(name),
            before.get(name),
            currency,
            up_is_good=up,
            compare_size=name == "refunds",
            known=known,
        )
        for name, label, kind, up in _CARDS
    ]


def _days(f: queries.Filters) -> list[date]:
    return [f.start + timedelta(days=i) for i in range(f.days)]


def trend(page: queries.Page, apart: bool) -> pd.DataFrame:
    """Columns date, series, value: the revenue per day, one series per variant when `apart`."""
    f = page.filters
    rollups: dict = page.data["rollups"]
    variants: list[tuple[int, str]] = page.data["variants"]
    if apart and len(variants) > 1:
        values = {(r["date"], r["product_id"]): float(r["revenue"]) for r in _part(rollups, "day_product")}
        series = variants
    else:
        values = {(r["date"], 0): float(r["revenue"]) for r in _part(rollups, "day")}
        series = [(0, page.data.get("label") or "Revenue")]
    out = []
    for key, name in series:
        for day in _days(f):
            loaded = day in page.info.loaded_days
            out.append((day, name, values.get((day, key), 0.0) if loaded else None))
    return pd.DataFrame.from_records(out, columns=["date", "series", "value"])


def by_store(page: queries.Page) -> pd.DataFrame:
    names = dict(page.info.stores)
    rows = sorted(_part(page.data["rollups"], "store"), key=lambda r: -float(r["revenue"]))
    return pd.DataFrame.from_records(
        [(names.get(r["store_id"], f"Store {r['store_id']}"), float(r["revenue"]), int(r["orders"])) for r in rows],
        columns=["name", "revenue", "orders"],
    )


def by_hour(page: queries.Page) -> pd.DataFrame:
    values = {r["local_hour"]: (float(r["revenue"]), int(r["orders"])) for r in _part(page.data["rollups"], "hour")}
    return pd.DataFrame.from_records(
        [(f"{h:02d}h", *values.get(h, (0.0, 0))) for h in range(24)], columns=["hour", "revenue", "orders"]
    )


def variant_rows(page: queries.Page) -> list[dict]:
    sold = {r["product_id"]: r for r in _part(page.data.get("rollups", {}), "product")}
    out = []
    for pid, name in page.data.get("variants", []):
        r = sold.get(pid)
        if r is None:
            out.append({**{c.field: 0 for c in _COLUMNS[1:]}, "name": name, "margin_pct": None})
            continue
        excl = float(r["revenue_excl_tax"])
        out.append(
            {
                "name": name,
                "qty": float(r["qty"]),
                "revenue": round(float(r["revenue"]), 2),
                "orders": int(r["orders"]),
                "margin": round(float(r["margin"]), 2),
                "margin_pct": round(float(r["margin"]) / excl * 100, 2) if excl else None,
                "discounts": round(float(r["discounts"]), 2),
                "refunds": round(float(r["refunds"]), 2),
                "refunded_qty": float(r["refunded_qty"]),
            }
        )
    return sorted(out, key=lambda r: -r["revenue"])


def render(raw: dict | None, product: str | None, split: str | None = "together") -> tuple:
    """Period, messages, KPI cards, the three charts, their CSV rows and the per-variant grid."""
    page = queries.load_product(raw or {}, product)
    currency = page.currency
    columns = components.grid_columns(_COLUMNS, currency)
    if page.filters is None or "rollups" not in page.data:
        if page.filters is not None and page.data.get("invalid_product"):
            reason = "Unknown product"
            messages = [components.message("This product is not known: search another one above.", "error")]
        elif page.filters is not None:
            reason = "Search a product or template above"
            messages = [components.message("Search a product or template above to see how it sells.", "info")]
        else:
            reason = "No data loaded yet" if page.info.empty else "Invalid filter"
            messages = components.period_messages(page, False)
        blank = figures.empty(reason)
        label = components.period_label(page.filters) if page.filters else ""
        return (label, messages, _cards(None, currency), blank, blank, blank, [], [], [], [], columns)
    now = _totals(page.data["rollups"], True)
    messages = components.period_messages(page, has_rows=now["qty"] != 0 or now["revenue"] != 0)
    if not page.data["variants"]:
        messages.insert(0, components.message("This template has no variant in dim_products.", "warn"))
    money = formatting.money_label("Revenue", currency)
    daily = trend(page, split == "apart")
    stores_df = by_store(page)
    hours = by_hour(page)
    stores_fig = figures.ranking(stores_df if not stores_df.empty else None, currency)
    return (
        components.period_label(page.filters),
        messages,
        _cards(page, currency),
        figures.lines(daily, money, currency),
        stores_fig,
        figures.columns(list(hours["hour"]), [float(v) for v in hours["revenue"]], money, currency),
        components.records(daily, {"date": "Date", "series": "Product", "value": money}),
        components.ranking_rows(stores_fig, "Store", money),
        components.records(hours, {"hour": "Hour", "revenue": money, "orders": "Orders"}),
        variant_rows(page),
        columns,
    )


RENDER_OUTPUTS = (
    "period",
    "messages",
    "kpis",
    "trend",
    "stores",
    "hours",
    "trend_rows",
    "stores_rows",
    "hours_rows",
    "rows",
    "columns",
)


@callback(
    Output(ids.PRODUCT_PERIOD, "children"),
    Output(ids.PRODUCT_MESSAGES, "children"),
    Output(ids.PRODUCT_KPIS, "children"),
    *[Output(chart, "figure") for chart in _CHARTS],
    *[Output(ids.chart_data(chart), "data") for chart in _CHARTS],
    Output(ids.PRODUCT_GRID, "rowData"),
    Output(ids.PRODUCT_GRID, "columnDefs"),
    Input(ids.FILTERS, "data"),
    Input(ids.PRODUCT, "value"),
    Input(ids.PRODUCT_SPLIT, "value"),
)
def _render(raw, product, split):
    if raw is None:  # the shell has not read the URL yet: its answer triggers this again
        raise PreventUpdate
    return render(raw, product, split)


@callback(Output(ids.PRODUCT_SPLIT, "className"), Input(ids.PRODUCT, "value"))
def _split_shown(product):
    """Together / apart means something for a template only."""
    choice = queries.parse_product(product)
    return "group-by" if choice is not None and choice.kind == "t" else "group-by group-by--hidden"


def search_options(search: str | None, value: str | None) -> list[dict]:
    """Options matching what is typed (every word, any case), keeping the chosen one."""
    found = [{"label": label, "value": v} for v, label in queries.search_products(search, limit=_OPTIONS_SHOWN)]
    if value and value not in {o["value"] for o in found}:
        label = queries.product_label(value)
        if label:
            found.insert(0, {"label": label, "value": value})
    return found


@callback(
    Output(ids.PRODUCT, "options"),
    Input(ids.PRODUCT, "search_value"),
    State(ids.PRODUCT, "value"),
    prevent_initial_call=True,
)
def _search(search, value):
    if not search:
        raise PreventUpdate
    return search_options(search, value)


# In the browser: no server round trip for a change of the URL alone.
clientside_callback(
    ClientsideFunction(namespace="nkdash", function_name="productInUrl"),
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.PRODUCT, "value"),
    Input(ids.PRODUCT_SPLIT, "value"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
