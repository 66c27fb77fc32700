"""The Customers page (`/customers`): how much is sold to known customers, who is new, who buys most.

It renders from the shell's filters (`ids.FILTERS`: period and store; category and brand do
not apply). A customer is known by id and name only (`dim_customers`): nothing else about a
person is in the lake. Callbacks only fetch (`ops_queries`), build (`ops_figures`,
`components`) and return.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import Input, Output, callback, html

from dashboard import components, formatting, ids, ops_figures, ops_queries
from dashboard.components import Column

PERIOD_LABEL = "cust-period"
MESSAGES = "cust-messages"
KPIS = "cust-kpis"
SHARE = "chart-cust-share"
DAILY = "chart-cust-daily"
TOP = "table-cust-top"
CHARTS = (SHARE, DAILY)

TOP_COLUMNS = (
    Column("customer_id", "ID", min_width=90),
    Column("customer_name", "Customer", min_width=160),
    Column("revenue", "Revenue", "money", min_width=120),
    Column("orders", "Orders", "count", min_width=90),
    Column("share", "Share of known", "percent", min_width=110),
    Column("first_day", "First order", "date", min_width=110),
)


def layout(**_query: str) -> html.Div:
    """The page; a function so that nothing is read from the lake at import time."""
    return html.Div(
        [
            html.Div(id=PERIOD_LABEL, className="period"),
            html.Div(id=MESSAGES, className="messages", role="status"),
            html.Section(_cards(None), id=KPIS, className="kpis"),
            html.Div(
                [
                    components.chart_panel("Revenue with a known customer", SHARE, "mix"),
                    components.chart_panel("New and returning customers per day", DAILY, "mix"),
                    components.grid_panel(f"Top {ops_queries.TOP_CUSTOMERS} customers", TOP, TOP_COLUMNS),
                ],
                className="panels",
            ),
        ],
        className="page",
    )


dash.register_page(__name__, path="/customers", name="Customers", order=4, layout=layout, title="NK Dash · Customers")


# --------------------------------------------------------------------------- builders


def _card(name: str, label: str, text: str, note: str = "", exact: str = "") -> html.Div:
    children = [
        html.Div(label, className="kpi__label"),
        html.Div(text, id=f"kpi-cust-{name}", className="kpi__value", title=exact or text),
    ]
    if note:
        children.append(html.Div(note, className="kpi__note"))
    return html.Div(children, className="kpi")


_CARD_LABELS = (
    ("known-share", "Revenue with a known customer"),
    ("known-orders", "Orders with a known customer"),
    ("customers", "Customers"),
    ("new", "New customers"),
    ("returning", "Returning customers"),
)


def _cards(page: ops_queries.CustomersPage | None) -> list[html.Div]:
    if page is None or page.filters is None:
        return [_card(name, label, formatting.MISSING) for name, label in _CARD_LABELS]
    s, split, c = page.share, page.split, page.currency
    known, known_exact = components.shown("money", s.revenue_known, c)
    new_revenue, _ = components.shown("money", split.new_revenue, c)
    returning_revenue, _ = components.shown("money", split.returning_revenue, c)
    return [
        _card("known-share", "Revenue with a known customer", formatting.percent(s.share), known, known_exact),
        _card(
            "known-orders",
            "Orders with a known customer",
            formatting.count(s.orders_known),
            f"{formatting.percent(s.order_share)} of {formatting.count(s.orders)} orders",
        ),
        _card("customers", "Customers", formatting.count(split.customers), "with an order in the period"),
        _card("new", "New customers", formatting.count(split.new), f"first order in the period · {new_revenue}"),
        _card(
            "returning",
            "Returning customers",
            formatting.count(split.returning),
            f"bought before · {returning_revenue}",
        ),
    ]


def chart_rows(page: ops_queries.CustomersPage) -> tuple[list[dict], list[dict]]:
    """The rows each chart draws, with columns named for people (what its CSV button sends)."""
    c = f" ({page.currency})" if page.currency else ""
    s = page.share
    share = [
        {"Sales": "Known customer", f"Revenue{c}": round(float(s.revenue_known), 2)},
        {"Sales": "Anonymous", f"Revenue{c}": round(float(s.revenue - s.revenue_known), 2)},
    ]
    if not s.revenue:
        share = []
    daily = components.records(page.daily, {"date": "Day", "new": "New customers", "returning": "Returning customers"})
    return share, daily


def top_rows(page: ops_queries.CustomersPage) -> list[dict]:
    return components.records(page.top, {c.field: c.field for c in TOP_COLUMNS})


def messages(page: ops_queries.CustomersPage) -> list[html.Div]:
    has_rows = page.filters is not None and (page.share.orders > 0 or bool(page.without_customers))
    out = components.period_messages(page, has_rows, compared=False)
    if page.filters is not None and page.without_customers:
        out.append(
            components.message(
                f"{len(page.without_customers)} day(s) of this period were loaded before customers were recorded "
                f"({components.listed_days(page.without_customers)}): the figures here leave them out. "
                "Rerun those days to fill them.",
                "warn",
            )
        )
    if page.filters is not None and page.customers_since is not None:
        where = " at this store" if page.filters.store_id is not None else ""
        text = f"A customer is new when their first order{where} in the lake falls in this period"
        if page.customers_since >= page.filters.start - timedelta(days=90):
            since = f"{page.customers_since:%d %b %Y}"
            text += f"; the lake records customers from {since} only, so some may have bought before"
        out.append(components.message(text + ".", "info"))
    return out


def render(raw: dict | None) -> tuple:
    """Cards, charts, their CSV rows and the top-customers grid for the filters in `raw`."""
    page = ops_queries.load_customers(dict(raw or {}))
    if page.filters is None:
        blank = ops_figures.empty("No data loaded yet" if page.info.empty else "Invalid filter")
        charts: tuple[Any, ...] = (blank, blank)
        rows: tuple[list[dict], ...] = ([], [])
        top: list[dict] = []
    else:
        c = page.currency
        charts = (
            ops_figures.known_share(float(page.share.revenue), float(page.share.revenue_known), c),
            ops_figures.new_vs_returning(page.daily),
        )
        rows = chart_rows(page)
        top = top_rows(page)
    return (
        components.period_label(page.filters, compared=False),
        messages(page),
        _cards(page),
        *charts,
        *rows,
        top,
        components.grid_columns(TOP_COLUMNS, page.currency),
    )


@callback(
    Output(PERIOD_LABEL, "children"),
    Output(MESSAGES, "children"),
    Output(KPIS, "children"),
    *[Output(chart, "figure") for chart in CHARTS],
    *[Output(ids.chart_data(chart), "data") for chart in CHARTS],
    Output(TOP, "rowData"),
    Output(TOP, "columnDefs"),
    Input(ids.FILTERS, "data"),
)
def _render(raw):
    return render(raw)
