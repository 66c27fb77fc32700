"""The stores page (`/stores`): every store side by side for the period of the filter bar.

Revenue, orders, basket, margin, like-for-like growth against the same days a year
earlier (only days loaded in both years count), and the POS sessions with the sum of their
cash differences (`fact_sessions`). Category and brand do not apply here.
"""

from __future__ import annotations

from datetime import date, timedelta

import dash
import pandas as pd
from dash import Input, Output, callback, html
from dash.exceptions import PreventUpdate

from dashboard import components, figures, formatting, ids, queries
from dashboard.components import Column

_COLUMNS = (
    Column("store_name", "Store", pinned=True, min_width=150, wrap=True),
    Column("revenue", "Revenue", "money"),
    Column("orders", "Orders", "count"),
    Column("basket", "Basket", "money"),
    Column("margin", "Margin", "money"),
    Column("margin_pct", "Margin %", "percent"),
    Column("lfl_now", "Like-for-like revenue", "money", min_width=130),
    Column("lfl_before", "Same days last year", "money", min_width=130),
    Column("lfl_growth", "Like-for-like growth", "percent", min_width=120),
    Column("sessions", "Sessions", "count"),
    Column("with_difference", "Sessions with a cash difference", "count", min_width=130),
    Column("cash_difference", "Cash difference", "money", min_width=120),
)
_CHARTS = (ids.STORES_REVENUE, ids.STORES_LFL, ids.STORES_DAILY)


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            html.Div(id=ids.STORES_PERIOD, className="period"),
            html.Div(id=ids.STORES_MESSAGES, className="messages", role="status"),
            html.Div(
                [
                    components.chart_panel("Revenue per store", ids.STORES_REVENUE, "stores"),
                    components.chart_panel("Like-for-like growth vs last year", ids.STORES_LFL, "stores"),
                    components.chart_panel("Daily revenue per store", ids.STORES_DAILY, "trend", wide=True),
                    components.grid_panel("Stores side by side", ids.STORES_GRID, _COLUMNS),
                ],
                className="panels",
            ),
        ],
        className="page",
    )


dash.register_page(__name__, path="/stores", name="Stores", order=1, layout=layout, title="NK Dash · Stores")


def _lfl_note(page: queries.Page) -> html.Div:
    f = page.filters
    days: list[date] = page.data.get("lfl_days", [])
    text = (
        "Like-for-like growth compares only the days of this period loaded in both years "
        f"with the same calendar days a year earlier: {len(days)} of {f.days} day(s) count."
    )
    return components.message(text, "info")


def _sessions_note(page: queries.Page) -> html.Div | None:
    without: list[date] = page.data.get("days_without_sessions", [])
    if not without:
        return None
    return components.message(
        f"{len(without)} loaded day(s) have no sessions file ({components.listed_days(without)}): "
        "sessions and cash differences leave them out.",
        "warn",
    )


def rows(page: queries.Page) -> list[dict]:
    table: pd.DataFrame = page.data["stores"]
    keep = [c.field for c in _COLUMNS]
    return components.records(table.reindex(columns=keep), {k: k for k in keep})


def render(raw: dict | None) -> tuple:
    """Period label, messages, the three charts, their CSV rows, and the grid."""
    page = queries.load_stores(raw or {})
    currency = page.currency
    if page.filters is None:
        reason = "No data loaded yet" if page.info.empty else "Invalid filter"
        blank = figures.empty(reason)
        messages = components.period_messages(page, False, compared=False)
        return ("", messages, blank, blank, blank, [], [], [], [], components.grid_columns(_COLUMNS, currency))
    table: pd.DataFrame = page.data["stores"]
    has_rows = bool(len(table)) and float(table["orders"].sum()) > 0
    messages = components.period_messages(page, has_rows, compared=False)
    if len(page.missing_days) < page.filters.days:
        messages.append(_lfl_note(page))
    note = _sessions_note(page)
    if note is not None:
        messages.append(note)
    money = formatting.money_label("Revenue", currency)
    ranked = table.rename(columns={"store_name": "name"})
    revenue_fig = figures.ranking(ranked if has_rows else None, currency)
    revenue_rows = components.ranking_rows(revenue_fig, "Store", money)
    growth = table.rename(
        columns={"store_name": "name", "lfl_growth": "growth", "lfl_now": "now", "lfl_before": "before"}
    )
    growth = growth[growth["growth"].notna()]
    lfl_fig = figures.growth_bars(growth)
    lfl_rows = components.records(
        growth,
        {
            "name": "Store",
            "now": formatting.money_label("Like-for-like revenue", currency),
            "before": formatting.money_label("Same days last year", currency),
            "growth": "Growth (%)",
        },
    )
    daily = _daily(page)
    daily_fig = figures.lines(daily, formatting.money_label("Revenue", currency), currency)
    daily_rows = components.records(daily, {"date": "Date", "series": "Store", "value": money})
    return (
        components.period_label(page.filters, compared=False),
        messages,
        revenue_fig,
        lfl_fig,
        daily_fig,
        revenue_rows,
        lfl_rows,
        daily_rows,
        rows(page),
        components.grid_columns(_COLUMNS, currency),
    )


def _daily(page: queries.Page) -> pd.DataFrame:
    """Revenue per store for every day of the period: 0 on a loaded day without sales, a gap on a missing one."""
    f = page.filters
    daily: pd.DataFrame = page.data["daily"]
    names = {int(k): v for k, v in zip(page.data["stores"]["store_id"], page.data["stores"]["store_name"], strict=True)}
    if daily.empty:
        return pd.DataFrame(columns=["date", "series", "value"])
    values = {
        (pd.Timestamp(d).date(), int(s)): float(v)
        for d, s, v in zip(daily["date"], daily["store_id"], daily["revenue"], strict=True)
    }
    out = []
    for store_id, name in names.items():
        for i in range(f.days):
            day = f.start + timedelta(days=i)
            loaded = day in page.info.loaded_days
            out.append((day, name, values.get((day, store_id), 0.0) if loaded else None))
    return pd.DataFrame.from_records(out, columns=["date", "series", "value"])


RENDER_OUTPUTS = (
    "period",
    "messages",
    "revenue",
    "lfl",
    "daily",
    "revenue_rows",
    "lfl_rows",
    "daily_rows",
    "rows",
    "columns",
)


@callback(
    Output(ids.STORES_PERIOD, "children"),
    Output(ids.STORES_MESSAGES, "children"),
    *[Output(chart, "figure") for chart in _CHARTS],
    *[Output(ids.chart_data(chart), "data") for chart in _CHARTS],
    Output(ids.STORES_GRID, "rowData"),
    Output(ids.STORES_GRID, "columnDefs"),
    Input(ids.FILTERS, "data"),
)
def _render(raw):
    if raw is None:  # the shell has not read the URL yet: its answer triggers this again
        raise PreventUpdate
    return render(raw)
