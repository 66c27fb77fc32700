"""Plotly figures as plain dicts: data frames in, figures out. No query and no Dash here.

Dicts, not `plotly.graph_objects`: Dash sends a figure as JSON either way, and building
graph objects (validation of every property) cost ≈ 100 ms per page; a dict costs < 1 ms.
The dicts follow the Plotly figure schema (https://plotly.com/python/reference/).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TOP_BARS = 12
LABEL_CHARS = 28
OTHER = "Other"
_ACCENT = "#2563eb"
_MUTED = "#94a3b8"
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_AXIS = {"gridcolor": "#e2e8f0", "zeroline": False, "automargin": True}

Figure = dict[str, Any]


def _base(data: list[dict], **layout: Any) -> Figure:
    base = {
        "autosize": True,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": _FONT, "size": 12, "color": "#1e293b"},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "hoverlabel": {"font": {"family": _FONT}},
        "xaxis": dict(_AXIS),
        "yaxis": dict(_AXIS),
    }
    for key, value in layout.items():
        if key in ("xaxis", "yaxis"):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return {"data": data, "layout": base}


def empty(message: str) -> Figure:
    """A figure that says why there is nothing to draw, instead of blank axes."""
    return _base(
        [],
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "font": {"size": 14, "color": "#64748b"},
            }
        ],
        xaxis={"visible": False},
        yaxis={"visible": False},
    )


def short(name: str, limit: int = LABEL_CHARS) -> str:
    """A label that fits an axis: long names are cut with an ellipsis (the full name is on hover)."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def compact(value: float) -> str:
    """`3.51 M`, `303.2 k`, `950.00`: a bar label that fits; the exact value is on hover."""
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:,.2f} B"
    if size >= 1e6:
        return f"{value / 1e6:,.2f} M"
    if size >= 1e4:
        return f"{value / 1e3:,.1f} k"
    return f"{value:,.2f}"


def _dates(series: pd.Series) -> list[str]:
    return [d.isoformat() if hasattr(d, "isoformat") else str(d) for d in series]


def _floats(series: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in series]


def trend(df: pd.DataFrame | None, currency: str) -> Figure:
    """Daily revenue, with the previous period drawn on the same day offsets."""
    if df is None or df.empty or (df["revenue"].fillna(0).eq(0).all() and df["prev_revenue"].fillna(0).eq(0).all()):
        return empty("No sales in this period")
    x = _dates(df["date"])
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": _floats(df["prev_revenue"]),
            "name": "Previous period",
            "mode": "lines",
            "line": {"color": _MUTED, "dash": "dot", "width": 2},
            "customdata": _dates(df["prev_date"]),
            "hovertemplate": "%{customdata}: %{y:,.2f} " + currency + "<extra>previous</extra>",
        },
        {
            "type": "scatter",
            "x": x,
            "y": _floats(df["revenue"]),
            "name": "This period",
            "mode": "lines+markers",
            "line": {"color": _ACCENT, "width": 3},
            "marker": {"size": 5},
            "hovertemplate": "%{x|%a %Y-%m-%d}: %{y:,.2f} " + currency + "<extra>this period</extra>",
        },
    ]
    return _base(
        data, xaxis={"type": "date"}, yaxis={"title": {"text": f"Revenue ({currency})"}, "rangemode": "tozero"}
    )


def top_with_other(df: pd.DataFrame, top: int = TOP_BARS) -> pd.DataFrame:
    """The `top` biggest rows by revenue and one "Other (n)" row for the rest (revenue and orders summed).

    The orders of "Other" are a sum over its members, so an order in two of them counts
    twice there; its hover says so.
    """
    ranked = df.sort_values("revenue", ascending=False, kind="stable")
    if len(ranked) <= top + 1:
        return ranked.assign(members=1)
    head, tail = ranked.iloc[:top], ranked.iloc[top:]
    other = pd.DataFrame(
        {
            "name": [f"{OTHER} ({len(tail)})"],
            "revenue": [float(tail["revenue"].sum())],
            "orders": [int(tail["orders"].sum())],
            "members": [len(tail)],
        }
    )
    return pd.concat([head.assign(members=1), other], ignore_index=True)


def ranking(
    df: pd.DataFrame | None, currency: str, empty_message: str = "No sales in this period", top: int = TOP_BARS
) -> Figure:
    """Horizontal bars of revenue per `name`, biggest on top; beyond `top` members one "Other" bar."""
    if df is None or df.empty:
        return empty(empty_message)
    data = top_with_other(df, top).iloc[::-1]
    names = [str(n) for n in data["name"]]
    notes = ["orders (summed over its members)" if m > 1 else "orders" for m in data["members"]]
    bar = {
        "type": "bar",
        "orientation": "h",
        "x": [float(v) for v in data["revenue"]],
        "y": [short(n) for n in names],
        "marker": {"color": [_MUTED if m > 1 else _ACCENT for m in data["members"]]},
        "text": [compact(float(v)) for v in data["revenue"]],
        "textposition": "auto",
        "customdata": [[n, int(o), note] for n, o, note in zip(names, data["orders"], notes, strict=True)],
        "hovertemplate": "%{customdata[0]}<br>%{x:,.2f} " + currency + "<br>%{customdata[1]:,} %{customdata[2]}"
        "<extra></extra>",
    }
    return _base([bar], xaxis={"title": {"text": f"Revenue ({currency})"}}, yaxis={"type": "category"})


def heatmap(df: pd.DataFrame | None, currency: str, timezone: str) -> Figure:
    """Revenue by weekday (rows) and store-local hour (columns)."""
    if df is None or df.empty or float(df["revenue"].abs().sum()) == 0:
        return empty("No sales in this period")
    hours = list(range(24))
    grid = df.pivot(index="weekday", columns="hour", values="revenue").reindex(index=range(1, 8), columns=hours)
    orders = df.pivot(index="weekday", columns="hour", values="orders").reindex(index=range(1, 8), columns=hours)
    z = grid.fillna(0)
    cell = {
        "type": "heatmap",
        "z": z.values.tolist(),
        "x": [f"{h:02d}h" for h in hours],
        "y": list(WEEKDAYS),
        "customdata": orders.fillna(0).astype(int).values.tolist(),
        "colorscale": "Blues",
        "colorbar": {"title": {"text": currency}, "thickness": 10},
        "hovertemplate": "%{y} %{x}: %{z:,.2f} " + currency + "<br>%{customdata} orders<extra></extra>",
        "xgap": 1,
        "ygap": 1,
        "zmin": 0,  # an hour with only refunds is not "less than nothing" on this scale
        "zmax": max(float(z.max().max()), 0.01),
    }
    return _base([cell], yaxis={"autorange": "reversed"}, xaxis={"title": {"text": f"Hour of day ({timezone})"}})


_GOOD = "#15803d"
_BAD = "#b91c1c"
_SERIES = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#84cc16", "#ec4899")


def growth_bars(df: pd.DataFrame | None, empty_message: str = "No day loaded in both years") -> Figure:
    """Horizontal bars of growth in percent per `name` (columns name, growth, now, before); None = no bar."""
    if df is None or df.empty or df["growth"].isna().all():
        return empty(empty_message)
    data = df.iloc[::-1]
    values = _floats(data["growth"])
    bar = {
        "type": "bar",
        "orientation": "h",
        "x": values,
        "y": [short(str(n)) for n in data["name"]],
        "marker": {"color": [_MUTED if v is None else (_GOOD if v >= 0 else _BAD) for v in values]},
        "text": ["n/a" if v is None else f"{v:+,.1f} %" for v in values],
        "textposition": "auto",
        "customdata": [
            [str(n), 0.0 if pd.isna(a) else float(a), 0.0 if pd.isna(b) else float(b)]
            for n, a, b in zip(data["name"], data["now"], data["before"], strict=True)
        ],
        "hovertemplate": "%{customdata[0]}: %{x:+,.1f} %<br>%{customdata[1]:,.2f} vs %{customdata[2]:,.2f}"
        "<extra></extra>",
    }
    return _base(
        [bar],
        xaxis={"title": {"text": "Growth (%)"}, "zeroline": True, "zerolinecolor": "#94a3b8"},
        yaxis={"type": "category"},
    )


def lines(
    df: pd.DataFrame | None, y_title: str, hover_unit: str = "", empty_message: str = "No sales in this period"
) -> Figure:
    """One line per `series` over `date` (columns date, series, value); a missing value is a gap."""
    if df is None or df.empty or df["value"].fillna(0).eq(0).all():
        return empty(empty_message)
    data = []
    for i, (name, part) in enumerate(df.groupby("series", sort=False)):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": short(str(name)),
                "x": _dates(part["date"]),
                "y": _floats(part["value"]),
                "line": {"color": _SERIES[i % len(_SERIES)], "width": 2},
                "marker": {"size": 4},
                "hovertemplate": "%{x|%a %Y-%m-%d}: %{y:,.2f} " + hover_unit + "<extra>" + str(name)[:40] + "</extra>",
            }
        )
    return _base(data, xaxis={"type": "date"}, yaxis={"title": {"text": y_title}, "rangemode": "tozero"})


def columns(labels: list[str], values: list[float | None], y_title: str, hover_unit: str = "") -> Figure:
    """Vertical bars, one per label in the given order (e.g. hours of the day)."""
    if not values or all((v or 0) == 0 for v in values):
        return empty("No sales in this period")
    bar = {
        "type": "bar",
        "x": labels,
        "y": values,
        "marker": {"color": _ACCENT},
        "hovertemplate": "%{x}: %{y:,.2f} " + hover_unit + "<extra></extra>",
    }
    return _base([bar], xaxis={"type": "category"}, yaxis={"title": {"text": y_title}})
