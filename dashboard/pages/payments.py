"""The Payments & cash page (`/payments`): how the money came in, and which cash drawers did not add up.

It renders from the shell's filters (`ids.FILTERS`: period and store; category and brand do
not apply to payments). Its own URL key is `threshold` (the cash difference from which a
session is listed). Callbacks only fetch (`ops_queries`), build (`ops_figures`, `components`)
and return.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard import components, formatting, ids, ops_figures, ops_queries
from dashboard.components import Column

PERIOD_LABEL = "pay-period"
MESSAGES = "pay-messages"
KPIS = "pay-kpis"
METHODS = "chart-pay-methods"
TYPES = "chart-pay-types"
DAILY = "chart-pay-daily"
CHANGE = "chart-pay-change"
SESSIONS = "table-pay-sessions"
SESSIONS_NOTE = "pay-sessions-note"
THRESHOLD = "pay-threshold"
CHARTS = (METHODS, TYPES, DAILY, CHANGE)

SESSION_COLUMNS = (  # what matters first: a phone shows the day, the difference and the store
    Column("date", "Day", "date", min_width=125),
    Column("difference", "Difference", "money", min_width=125),
    Column("store_name", "Store", min_width=140),
    Column("session_name", "Session", min_width=125),
    Column("expected_cash", "Expected cash", "money", min_width=130),
    Column("counted_cash", "Counted cash", "money", min_width=130),
    Column("status", "State", min_width=90),
    Column("hours", "Open – close", min_width=130),
    Column("opened_by", "Opened by", min_width=135),
    Column("closed_by", "Closed by", min_width=135),
)


def layout(threshold: str | None = None, **_query: str) -> html.Div:
    """The page; a function (called with the URL's query values) so nothing is read at import time."""
    value = float(ops_queries.parse_threshold(threshold if threshold is not None else ops_queries.DEFAULT_THRESHOLD))
    threshold_box = html.Div(
        [
            html.Label("Difference from", htmlFor=THRESHOLD, className="filter__label"),
            dcc.Input(
                id=THRESHOLD,
                type="number",
                min=0,
                step=0.01,
                value=value,
                debounce=True,
                inputMode="decimal",
                className="threshold",
            ),
        ],
        className="threshold-box",
    )
    sessions = components.grid_panel(
        "Sessions with a cash difference", SESSIONS, SESSION_COLUMNS, tools=[threshold_box]
    )
    # the grid starts with the columns its callback sends (cells are drawn with the first formatters)
    grid = _component(sessions, SESSIONS)
    grid.columnDefs = session_columns("")
    # a few hundred rows at most: every column is drawn, so a phone scrolls the grid to any of them
    grid.dashGridOptions = {**grid.dashGridOptions, "suppressColumnVirtualisation": True}
    return html.Div(
        [
            html.Div(id=PERIOD_LABEL, className="period"),
            html.Div(id=MESSAGES, className="messages", role="status"),
            html.Section(_cards(None), id=KPIS, className="kpis kpis--six"),
            html.Div(
                [
                    components.chart_panel("Payment methods", METHODS, "mix"),
                    components.chart_panel("Cash vs card", TYPES, "mix"),
                    components.chart_panel("Payments per day", DAILY, "trend", wide=True),
                    components.chart_panel("Change given and cash rounding", CHANGE, "trend", wide=True),
                    html.Div(id=SESSIONS_NOTE, className="messages panel--wide", role="status"),
                    sessions,
                ],
                className="panels",
            ),
        ],
        className="page",
    )


dash.register_page(
    __name__, path="/payments", name="Payments & cash", order=3, layout=layout, title="NK Dash · Payments"
)


# --------------------------------------------------------------------------- builders


def _component(tree: Any, component_id: str) -> Any:
    """The component with `component_id` inside `tree` (None when absent)."""
    if getattr(tree, "id", None) == component_id:
        return tree
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, str):
            found = _component(child, component_id)
            if found is not None:
                return found
    return None


def _card(name: str, label: str, text: str, note: str = "", exact: str = "") -> html.Div:
    children = [
        html.Div(label, className="kpi__label"),
        html.Div(text, id=f"kpi-pay-{name}", className="kpi__value", title=exact or text),
    ]
    if note:
        children.append(html.Div(note, className="kpi__note"))
    return html.Div(children, className="kpi")


def _money(value: Decimal | None, currency: str) -> tuple[str, str]:
    return components.shown("money", value, currency)


def _cards(page: ops_queries.PaymentsPage | None) -> list[html.Div]:
    if page is None or page.filters is None:
        blank = formatting.MISSING
        return [
            _card(n, label, blank)
            for n, label in (
                ("amount", "Payments received"),
                ("cash-share", "Paid in cash"),
                ("change", "Change given"),
                ("rounding", "Cash rounding"),
                ("refunds", "Refunds paid back"),
                ("sessions", "Sessions"),
            )
        ]
    t, c = page.totals, page.currency
    cash = page.types[page.types["type"] == "cash"]["share"] if page.types is not None else pd.Series(dtype=float)
    cash_share = float(cash.iloc[0]) if len(cash) and pd.notna(cash.iloc[0]) else None
    amount, amount_exact = _money(t.amount, c)
    change, change_exact = _money(t.change, c)
    rounding, rounding_exact = _money(t.rounding, c)
    refunds, refunds_exact = _money(t.refunds, c)
    difference, _ = _money(page.cash_difference, c)
    open_note = f", {page.open_sessions:,} still open" if page.open_sessions else ""
    return [
        _card("amount", "Payments received", amount, f"{t.payments:,} payments", amount_exact),
        _card("cash-share", "Paid in cash", formatting.percent(cash_share), "of the amount received"),
        _card("change", "Change given", change, f"{t.change_count:,} times", change_exact),
        _card("rounding", "Cash rounding", rounding, "payments − sales", rounding_exact),
        _card("refunds", "Refunds paid back", refunds, f"{t.refund_count:,} payments", refunds_exact),
        _card("sessions", "Sessions", formatting.count(page.sessions), f"cash difference {difference}{open_note}"),
    ]


def chart_rows(page: ops_queries.PaymentsPage) -> tuple[list[dict], ...]:
    """The rows each chart draws, with columns named for people (what its CSV button sends)."""
    c = page.currency
    money = f" ({c})" if c else ""
    methods = components.records(
        page.methods,
        {
            "method": "Payment method",
            "type_label": "Type",
            "amount": f"Amount{money}",
            "payments": "Payments",
            "share": "Share (%)",
        },
    )
    types = components.records(
        page.types, {"label": "Type", "amount": f"Amount{money}", "payments": "Payments", "share": "Share (%)"}
    )
    daily = components.records(
        page.daily,
        {
            "date": "Day",
            "cash": f"Cash{money}",
            "bank": f"Card & bank{money}",
            "pay_later": f"Customer account{money}",
            "total": f"Total{money}",
        },
    )
    change = components.records(
        page.daily, {"date": "Day", "change": f"Change given{money}", "rounding": f"Cash rounding{money}"}
    )
    return methods, types, daily, change


def messages(page: ops_queries.PaymentsPage) -> list[html.Div]:
    # a period loaded before payments were recorded is not "no sales": the warning below says why
    has_rows = (page.methods is not None and not page.methods.empty) or bool(page.without_payments)
    out = components.period_messages(page, has_rows, compared=False)
    if page.filters is not None and page.without_payments:
        out.append(
            components.message(
                f"{len(page.without_payments)} day(s) of this period were loaded before payments were recorded "
                f"({components.listed_days(page.without_payments)}): they are left out here. "
                "Rerun those days to fill them.",
                "warn",
            )
        )
    return out


def render(raw: dict | None) -> tuple:
    """Cards, charts and their CSV rows for the filters in `raw`."""
    page = ops_queries.load_payments(dict(raw or {}))
    if page.filters is None:
        blank = ops_figures.empty("No data loaded yet" if page.info.empty else "Invalid filter")
        charts: tuple[Any, ...] = (blank,) * len(CHARTS)
        rows: tuple[list[dict], ...] = ([],) * len(CHARTS)
    else:
        c = page.currency
        charts = (
            ops_figures.method_mix(page.methods, c),
            ops_figures.type_share(page.types, c),
            ops_figures.daily_payments(page.daily, c),
            ops_figures.change_and_rounding(page.daily, c),
        )
        rows = chart_rows(page)
    return (components.period_label(page.filters, compared=False), messages(page), _cards(page), *charts, *rows)


@callback(
    Output(PERIOD_LABEL, "children"),
    Output(MESSAGES, "children"),
    Output(KPIS, "children"),
    *[Output(chart, "figure") for chart in CHARTS],
    *[Output(ids.chart_data(chart), "data") for chart in CHARTS],
    Input(ids.FILTERS, "data"),
)
def _render(raw):
    return render(raw)


def _hours(day: Any, start: Any, stop: Any) -> str:
    """`07:30 – 21:30` in store time; the stop's date when it is not the session's day; `07:30 –` while open."""
    if start is None or pd.isna(start):
        return ""
    text = f"{pd.Timestamp(start):%H:%M} –"
    if stop is None or pd.isna(stop):
        return text
    stop = pd.Timestamp(stop)
    return f"{text} {stop:%H:%M}" if stop.date() == pd.Timestamp(day).date() else f"{text} {stop:%d %b %H:%M}"


def session_rows(page: ops_queries.SessionsPage) -> list[dict]:
    """Grid rows; an open session's counted cash and difference read "open", never 0."""
    if page.rows is None or page.rows.empty:
        return []
    out = []
    for r in page.rows.itertuples(index=False):
        is_open = r.status == "open"
        out.append(
            {
                "date": f"{pd.Timestamp(r.date):%Y-%m-%d}",
                "store_name": r.store_name,
                "session_name": r.session_name,
                "status": r.status,
                "opened_by": r.opened_by,
                "closed_by": None if pd.isna(r.closed_by) else r.closed_by,
                "hours": _hours(r.date, r.start_local, r.stop_local),
                "expected_cash": None if pd.isna(r.expected_cash) else round(float(r.expected_cash), 2),
                "counted_cash": "open" if is_open else round(float(r.counted_cash), 2),
                "difference": "open" if is_open or pd.isna(r.cash_difference) else round(float(r.cash_difference), 2),
            }
        )
    return out


def render_sessions(raw: dict | None, threshold: Any) -> tuple[list[dict], list[dict], list[html.Div]]:
    value = ops_queries.parse_threshold(threshold if threshold is not None else ops_queries.DEFAULT_THRESHOLD)
    page = ops_queries.load_sessions(dict(raw or {}), value)
    rows = session_rows(page)
    note: list[html.Div] = []
    if page.filters is not None:
        flagged = sum(1 for r in rows if r["status"] != "open")
        still_open = len(rows) - flagged
        text = (
            f"{flagged:,} closed session(s) with a cash difference of {formatting.money(value, page.currency)} or more"
        )
        if still_open:
            text += f"; {still_open:,} session(s) still open (difference not known yet)"
        note.append(components.message(text + ".", "info"))
        if page.without_sessions:
            note.append(
                components.message(
                    f"{len(page.without_sessions)} day(s) were loaded before sessions were recorded "
                    f"({components.listed_days(page.without_sessions)}).",
                    "warn",
                )
            )
    return rows, session_columns(page.currency), note


def session_columns(currency: str) -> list[dict]:
    """The grid's columns; counted cash and difference show the text "open" for a session not closed yet."""
    columns = components.grid_columns(SESSION_COLUMNS, currency)
    for col in columns:
        formatter = col.get("valueFormatter", {}).get("function")
        if col["field"] in ("counted_cash", "difference") and formatter:
            col["valueFormatter"] = {"function": formatter.replace("NKnumber(", "NKnumberOrText(", 1)}
            col["cellDataType"] = False  # an inferred "number" type would blank the text
    return columns


@callback(
    Output(SESSIONS, "rowData"),
    Output(SESSIONS, "columnDefs"),
    Output(SESSIONS_NOTE, "children"),
    Input(ids.FILTERS, "data"),
    Input(THRESHOLD, "value"),
)
def _render_sessions(raw, threshold):
    return render_sessions(raw, threshold)


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(THRESHOLD, "value"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def _threshold_in_url(threshold, search):
    """The threshold goes into the URL (`threshold=5`), so a shared link lists the same sessions."""
    from dashboard.app import page_search

    if threshold is None:
        return no_update
    value = ops_queries.parse_threshold(threshold)
    new = page_search(search, threshold=None if value == ops_queries.DEFAULT_THRESHOLD else format(value, "f"))
    return new if new != (search or "") else no_update
