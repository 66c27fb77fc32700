"""Figures of the Payments & cash and Customers pages: data frames in, Plotly figure dicts out.

Same look and rules as `figures` (plain dicts, `figures._base` layout, "nothing to draw" figure
instead of empty axes). A day that was not loaded, or loaded before payments or customers
were recorded, is None in the frames and so a gap in the chart, never a zero.
"""

from __future__ import annotations

import pandas as pd

from dashboard import figures
from dashboard.figures import Figure, _base, _dates, _floats, compact, empty, short

TYPE_COLORS = {"cash": "#2563eb", "bank": "#7c3aed", "pay_later": "#f59e0b"}
TYPE_LABELS = {"cash": "Cash", "bank": "Card & bank", "pay_later": "Customer account"}
_NEW, _RETURNING, _ANONYMOUS = "#2563eb", "#94a3b8", "#e2e8f0"
_CHANGE, _ROUNDING = "#0ea5e9", "#b91c1c"
NO_PAYMENTS = "No payments in this period"
NO_CUSTOMERS = "No orders with a known customer in this period"


def _no_data(df: pd.DataFrame | None, columns: list[str]) -> bool:
    if df is None or df.empty:
        return True
    values = df[columns].astype(float)
    return bool(values.isna().all().all() or values.fillna(0).eq(0).all().all())


def method_mix(df: pd.DataFrame | None, currency: str) -> Figure:
    """Amount per payment method (change included), biggest on top, coloured by method type."""
    if df is None or df.empty:
        return empty(NO_PAYMENTS)
    data = df.iloc[::-1]
    names = [str(n) for n in data["method"]]
    bar = {
        "type": "bar",
        "orientation": "h",
        "x": [float(v) for v in data["amount"]],
        "y": [short(n) for n in names],
        "marker": {"color": [TYPE_COLORS.get(t, figures._MUTED) for t in data["type"]]},
        "text": [
            f"{compact(float(v))} · {s:.1f} %" if pd.notna(s) else compact(float(v))
            for v, s in zip(data["amount"], data["share"], strict=True)
        ],
        "textposition": "auto",
        "customdata": [
            [n, label, int(p)] for n, label, p in zip(names, data["type_label"], data["payments"], strict=True)
        ],
        "hovertemplate": "%{customdata[0]} (%{customdata[1]})<br>%{x:,.2f} "
        + currency
        + "<br>%{customdata[2]:,} payments<extra></extra>",
    }
    return _base([bar], xaxis={"title": {"text": f"Amount ({currency})"}}, yaxis={"type": "category"})


def type_share(df: pd.DataFrame | None, currency: str) -> Figure:
    """Cash vs card vs customer account: a donut of the amounts (bars when one is negative)."""
    if df is None or df.empty or float(df["amount"].abs().sum()) == 0:
        return empty(NO_PAYMENTS)
    labels = [str(v) for v in df["label"]]
    colors = [TYPE_COLORS.get(t, figures._MUTED) for t in df["type"]]
    if (df["amount"] < 0).any():
        bar = {
            "type": "bar",
            "x": labels,
            "y": [float(v) for v in df["amount"]],
            "marker": {"color": colors},
            "text": [f"{s:.1f} %" if pd.notna(s) else "" for s in df["share"]],
            "textposition": "auto",
            "hovertemplate": "%{x}: %{y:,.2f} " + currency + "<extra></extra>",
        }
        return _base([bar], yaxis={"title": {"text": f"Amount ({currency})"}})
    pie = {
        "type": "pie",
        "labels": labels,
        "values": [float(v) for v in df["amount"]],
        "hole": 0.55,
        "sort": False,
        "direction": "clockwise",
        "marker": {"colors": colors},
        "textinfo": "percent",
        "textposition": "inside",  # an outside label of a thin slice would be cut at the top
        "customdata": [int(n) for n in df["payments"]],
        "hovertemplate": "%{label}: %{value:,.2f} " + currency + " (%{percent})<br>%{customdata:,} payments"
        "<extra></extra>",
    }
    return _base(
        [pie],
        legend={"orientation": "h", "y": -0.05, "yanchor": "top", "x": 0},
        uniformtext={"minsize": 9, "mode": "hide"},
    )


def daily_payments(df: pd.DataFrame | None, currency: str) -> Figure:
    """Payments per day, stacked by method type."""
    types = list(TYPE_LABELS)
    if _no_data(df, types):
        return empty(NO_PAYMENTS)
    x = _dates(df["date"])
    data = [
        {
            "type": "bar",
            "name": TYPE_LABELS[t],
            "x": x,
            "y": _floats(df[t]),
            "marker": {"color": TYPE_COLORS[t]},
            "hovertemplate": "%{x|%a %Y-%m-%d}: %{y:,.2f} " + currency + "<extra>" + TYPE_LABELS[t] + "</extra>",
        }
        for t in types
        if df[t].fillna(0).ne(0).any()
    ]
    return _base(data, barmode="relative", xaxis={"type": "date"}, yaxis={"title": {"text": f"Amount ({currency})"}})


def change_and_rounding(df: pd.DataFrame | None, currency: str) -> Figure:
    """Change given back per day (bars) and the day's cash rounding, payments - revenue (line)."""
    if _no_data(df, ["change", "rounding"]):
        return empty("No change given and no cash rounding in this period")
    x = _dates(df["date"])
    data = [
        {
            "type": "bar",
            "name": "Change given",
            "x": x,
            "y": _floats(df["change"]),
            "marker": {"color": _CHANGE},
            "hovertemplate": "%{x|%a %Y-%m-%d}: %{y:,.2f} " + currency + "<extra>change given</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Cash rounding",
            "x": x,
            "y": _floats(df["rounding"]),
            "yaxis": "y2",
            "line": {"color": _ROUNDING, "width": 2},
            "marker": {"size": 4},
            "hovertemplate": "%{x|%a %Y-%m-%d}: %{y:,.2f} " + currency + "<extra>cash rounding</extra>",
        },
    ]
    return _base(
        data,
        xaxis={"type": "date"},
        yaxis={"title": {"text": f"Change ({currency})"}, "rangemode": "tozero"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "zeroline": True,
            "automargin": True,
            "title": {"text": f"Rounding ({currency})"},
            "tickformat": ",.2f",
        },
    )


def known_share(revenue: float, known: float, currency: str) -> Figure:
    """Revenue with a known customer vs anonymous sales."""
    if revenue == 0 or known < 0 or revenue - known < 0:
        return empty(NO_CUSTOMERS if revenue == 0 else "Refunds exceed sales in this period")
    pie = {
        "type": "pie",
        "labels": ["Known customer", "Anonymous"],
        "values": [known, revenue - known],
        "hole": 0.55,
        "sort": False,
        "direction": "clockwise",
        "marker": {"colors": [_NEW, _ANONYMOUS]},
        "textinfo": "percent",
        "textposition": "inside",
        "hovertemplate": "%{label}: %{value:,.2f} " + currency + " (%{percent})<extra></extra>",
    }
    return _base(
        [pie],
        legend={"orientation": "h", "y": -0.05, "yanchor": "top", "x": 0},
        uniformtext={"minsize": 9, "mode": "hide"},
    )


def new_vs_returning(df: pd.DataFrame | None) -> Figure:
    """Customers per day: new (first order in the lake) and returning, stacked."""
    if _no_data(df, ["new", "returning"]):
        return empty(NO_CUSTOMERS)
    x = _dates(df["date"])
    data = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [None if pd.isna(v) else int(v) for v in df[column]],
            "marker": {"color": color},
            "hovertemplate": "%{x|%a %Y-%m-%d}: %{y:,} customers<extra>" + name.lower() + "</extra>",
        }
        for column, name, color in (("new", "New", _NEW), ("returning", "Returning", _RETURNING))
    ]
    return _base(data, barmode="stack", xaxis={"type": "date"}, yaxis={"title": {"text": "Customers"}})
