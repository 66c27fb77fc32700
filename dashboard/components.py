"""Building blocks every page uses: chart panels with their CSV, grids, messages.

- `chart_panel(title, chart_id, kind)`: a panel with a `dcc.Graph` (id `chart_id`) and a
  "CSV" button. The page's render callback returns the figure AND the rows it draws into
  `dcc.Store(id=ids.chart_data(chart_id))` (records, columns named for people); one
  pattern-matching callback here sends them as `<chart_id>_<start>_<end>.csv`.
- `grid(grid_id, columns)`: a Dash AG Grid (sorting, filtering, resizing, numbers in the
  store's locale) whose "CSV" button exports what the grid shows, sorted and filtered, in
  the browser (AG Grid's `exportDataAsCsv`).
- `message(text, level)` and `period_messages(...)`: a period with no loaded day, missing
  days or no sales says so instead of drawing zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import dash_ag_grid as dag
import pandas as pd
from dash import (
    MATCH,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

from dashboard import formatting, ids

GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
MAX_LISTED_DAYS = 10


# --------------------------------------------------------------------------- panels


def panel(title: str, body: Any, wide: bool = False, tools: Sequence[Any] = ()) -> html.Section:
    head = [html.H2(title)]
    if tools:
        head.append(html.Div(list(tools), className="panel__tools"))
    return html.Section(
        [html.Div(head, className="panel__head"), body], className="panel panel--wide" if wide else "panel"
    )


def chart_panel(title: str, chart_id: str, kind: str, wide: bool = False, tools: Sequence[Any] = ()) -> html.Section:
    """A graph whose box height comes from CSS (`graph--<kind>`), with a CSV of exactly what it draws."""
    graph = dcc.Graph(id=chart_id, config=GRAPH_CONFIG, responsive=True, style={"height": "100%"})
    body = html.Div(
        [
            html.Div(graph, className=f"graph graph--{kind}"),
            dcc.Store(id=ids.chart_data(chart_id)),
            dcc.Download(id=ids.csv_download(chart_id)),
        ]
    )
    button = html.Button(
        "CSV", id=ids.csv_button(chart_id), className="button button--small", n_clicks=0, title="Download as CSV"
    )
    return panel(title, body, wide, [*tools, button])


def records(df: pd.DataFrame | None, columns: dict[str, str], decimals: int | None = 2) -> list[dict]:
    """`df`'s `columns` renamed for people (`{"revenue": "Revenue (EUR)"}`), floats rounded, as records."""
    if df is None or df.empty:
        return []
    out = df.loc[:, list(columns)].rename(columns=columns)
    if decimals is not None:
        for name in out.columns:
            if pd.api.types.is_float_dtype(out[name]):
                out[name] = out[name].round(decimals)
    names = list(out.columns)
    return [
        {name: _plain(value) for name, value in zip(names, row, strict=True)}
        for row in out.itertuples(index=False, name=None)
    ]


def _plain(value: Any) -> Any:
    """A JSON-ready cell: a date as ISO text, a missing value as None, numpy scalars as Python ones."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
        return None if isinstance(value, float) and value != value else value
    return value


def ranking_rows(figure: dict, what: str, money: str) -> list[dict]:
    """The bars of a `figures.ranking` chart as drawn (biggest first; "Other (n)" included), read off the figure."""
    if not figure.get("data"):
        return []
    bar = figure["data"][0]
    return [
        {what: name, money: round(value, 2), "Orders": orders}
        for value, (name, orders, _note) in zip(reversed(bar["x"]), reversed(bar["customdata"]), strict=True)
    ]


def csv_name(chart_id: str, period: dict | None) -> str:
    period = period or {}
    days = "_".join(str(period[k]) for k in ("start", "end") if period.get(k)) or "period"
    return f"{chart_id}_{days}.csv"


def chart_csv(chart_id: str, rows: list[dict] | None, period: dict | None) -> Any:
    """What a chart's CSV button sends: the rows the chart draws, in their order."""
    if not rows:
        return no_update
    frame = pd.DataFrame.from_records(rows)
    return dcc.send_data_frame(frame.to_csv, csv_name(chart_id, period), index=False)


@callback(
    Output(ids.csv_download(MATCH), "data"),
    Input(ids.csv_button(MATCH), "n_clicks"),
    State(ids.chart_data(MATCH), "data"),
    State(ids.PERIOD, "data"),
    prevent_initial_call=True,
)
def _send_chart_csv(n_clicks, rows, period):
    if not n_clicks:
        return no_update
    return chart_csv(ctx.triggered_id["chart"], rows, period)


# --------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str = "text"  # text | money | count | quantity | number | percent | date
    pinned: bool = False
    min_width: int | None = None
    wrap: bool = False  # long names wrap onto more lines instead of being cut


_DIGITS = {"money": 2, "count": 0, "quantity": 3, "number": 2, "percent": 1}


def grid_columns(columns: Sequence[Column], currency: str = "") -> list[dict]:
    """AG Grid column definitions; numbers formatted in the browser with `STORE_LOCALE` (Intl.NumberFormat)."""
    locale = formatting.js_locale()
    out = []
    for c in columns:
        header = f"{c.header} ({currency})" if c.kind == "money" and currency else c.header
        col: dict[str, Any] = {"field": c.field, "headerName": header, "headerTooltip": header}
        if c.kind in _DIGITS:
            digits = _DIGITS[c.kind]
            low = 0 if c.kind == "quantity" else digits
            suffix = " %" if c.kind == "percent" else ""
            col.update(
                type="rightAligned",
                filter="agNumberColumnFilter",
                valueFormatter={"function": f"NKnumber(params.value, '{locale}', {low}, {digits}, '{suffix}')"},
            )
            col["minWidth"] = 125 if c.kind == "money" else 115
        else:
            col.update(filter="agTextColumnFilter", minWidth=140)
            if c.wrap:  # a name wraps onto a second line rather than being cut
                col.update(wrapText=True, autoHeight=True)
        if c.pinned:
            col["pinned"] = "left"
        if c.min_width:
            col["minWidth"] = c.min_width
        out.append(col)
    return out


def grid(grid_id: str, columns: Sequence[Column] = (), height: str = "auto") -> dag.AgGrid:
    """A spreadsheet-like table: click a header to sort, filter from its menu, drag to resize."""
    return dag.AgGrid(
        id=grid_id,
        columnDefs=grid_columns(columns),
        rowData=[],
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "minWidth": 105,
            "flex": 1,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        dashGridOptions={
            "domLayout": "autoHeight" if height == "auto" else "normal",
            "animateRows": False,
            "suppressMovableColumns": False,
            "localeText": {"noRowsToShow": "No rows for this period"},
            "tooltipShowDelay": 300,
        },
        columnSize="responsiveSizeToFit",
        className="ag-theme-quartz grid",
        style={"height": None if height == "auto" else height, "width": "100%"},
    )


def grid_panel(title: str, grid_id: str, columns: Sequence[Column] = (), tools: Sequence[Any] = ()) -> html.Section:
    button = html.Button(
        "CSV", id=ids.grid_csv(grid_id), className="button button--small", n_clicks=0, title="Download as CSV"
    )
    body = html.Div([grid(grid_id, columns), dcc.Store(id={"type": "grid-csv-done", "grid": grid_id})])
    return panel(title, body, wide=True, tools=[*tools, button])


# The grid exports itself in the browser: what it shows, in its sort order and with its filters.
clientside_callback(
    ClientsideFunction(namespace="nkdash", function_name="exportGrid"),
    Output({"type": "grid-csv-done", "grid": MATCH}, "data"),
    Input(ids.grid_csv(MATCH), "n_clicks"),
    State(ids.grid_csv(MATCH), "id"),
    State(ids.PERIOD, "data"),
    prevent_initial_call=True,
)


# --------------------------------------------------------------------------- messages


def message(text: Any, level: str = "info") -> html.Div:
    """A message box; `level` is info, warn or error."""
    return html.Div(text, className=f"message message--{level}")


def listed_days(days: list[date]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:MAX_LISTED_DAYS])
    more = len(days) - MAX_LISTED_DAYS
    return shown + (f" and {more} more" if more > 0 else "")


def period_messages(page: Any, has_rows: bool, compared: bool = True) -> list[html.Div]:
    """What a page says about its period instead of drawing zeros.

    `page` has `info`, `filters`, `error`, `missing_days`, `missing_previous_days`
    (`queries.Page` or `queries.Overview`); `has_rows` is whether the period had sales.
    """
    info = page.info
    if info.empty:
        return [
            message(
                f"The lake has no sales data yet (nothing under {info.root}/star-schema/fact_sales). "
                "Once the ETL has loaded a day, reload this page.",
                "error",
            )
        ]
    if page.error:
        return [message(["Invalid filter: ", page.error, ". ", dcc.Link("Reset the filters", href="?")], "error")]
    f = page.filters
    out = []
    missing = page.missing_days
    if len(missing) == f.days:
        out.append(
            message(
                f"No day of this period is loaded: no day between {f.start} and {f.end} has been loaded into the lake.",
                "warn",
            )
        )
    elif not has_rows:
        out.append(message(f"No sales between {f.start} and {f.end} for these filters.", "info"))
    if missing and len(missing) < f.days:
        out.append(
            message(
                f"{len(missing)} day(s) missing: {listed_days(missing)} are not loaded in this period (no data file). "
                "Totals leave them out.",
                "warn",
            )
        )
    if not compared:
        return out
    prev_start, prev_end = f.previous
    label = f.compare_label.capitalize()
    if len(page.missing_previous_days) == (prev_end - prev_start).days + 1:
        out.append(
            message(f"The {f.compare_label} ({prev_start} to {prev_end}) is not in the lake: no comparison.", "info")
        )
    elif page.missing_previous_days:
        out.append(
            message(
                f"{label} misses {len(page.missing_previous_days)} day(s) "
                f"({listed_days(page.missing_previous_days)}): its comparison is partial.",
                "info",
            )
        )
    return out


def period_label(filters: Any, compared: bool = True) -> str:
    if filters is None:
        return ""
    text = f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({filters.days} days)"
    if compared:
        prev_start, prev_end = filters.previous
        text += f", compared with {prev_start:%d %b %Y} – {prev_end:%d %b %Y} ({filters.compare_label})"
    return text


# --------------------------------------------------------------------------- KPI cards


def formatted(kind: str, value: Any, currency: str) -> str:
    if kind == "money":
        return formatting.money(value, currency)
    if kind == "count":
        return formatting.count(value)
    if kind == "quantity":
        return formatting.quantity(value)
    if kind == "ratio":
        return formatting.ratio(value)
    return formatting.percent(value)


def shown(kind: str, value: Any, currency: str) -> tuple[str, str]:
    """`(text on the card, exact text on hover)`: big figures get compact units so nothing is cut."""
    exact = formatted(kind, value, currency)
    if kind == "money":
        return formatting.compact(exact, value, currency), exact
    if kind in ("count", "quantity"):
        return formatting.compact(exact, value, from_value=10_000_000), exact
    return exact, exact


def kpi_card(
    name: str,
    label: str,
    kind: str,
    current: Any,
    before: Any,
    currency: str,
    up_is_good: bool = True,
    compare_size: bool = False,
    note: Any = None,
    known: bool = True,
) -> html.Div:
    """One KPI card with its change against the compared period (`known=False`: a dash, no change)."""
    if not known:
        value, exact, delta, tone, previous, previous_exact = formatting.MISSING, "", "", "flat", "", ""
    else:
        value, exact = shown(kind, current, currency)
        now, then = (
            (abs(current), abs(before))
            if compare_size and current is not None and before is not None
            else (current, before)
        )
        delta, direction = formatting.change(now, then, points=kind == "percent")
        tone = "flat" if direction == 0 else ("good" if (direction > 0) == up_is_good else "bad")
        previous_text, previous_exact = shown(kind, before, currency)
        previous = f"previous: {previous_text}"
    children = [
        html.Div(label, className="kpi__label"),
        html.Div(value, id=ids.kpi(name), className="kpi__value", title=exact),
    ]
    if note is not None:
        children.append(note)
    children += [
        html.Div(delta, id=ids.kpi_delta(name), className=f"kpi__delta kpi__delta--{tone}"),
        html.Div(previous, className="kpi__prev", title=previous_exact),
    ]
    return html.Div(children, className="kpi")
