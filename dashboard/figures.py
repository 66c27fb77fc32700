"""Plotly figure builders: data frames in, figures out. No query and no Dash here."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ACCENT = "#2563eb"
_MUTED = "#94a3b8"
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def _base(fig: go.Figure) -> go.Figure:
    fig.update_layout(
        autosize=True,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": _FONT, "size": 12, "color": "#1e293b"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        hoverlabel={"font": {"family": _FONT}},
    )
    fig.update_xaxes(gridcolor="#e2e8f0", zeroline=False, automargin=True)
    fig.update_yaxes(gridcolor="#e2e8f0", zeroline=False, automargin=True)
    return fig


def empty(message: str) -> go.Figure:
    """A figure that says why there is nothing to draw, instead of blank axes."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 14, "color": "#64748b"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig)


def trend(df: pd.DataFrame | None, currency: str) -> go.Figure:
    """Daily revenue, with the previous period drawn on the same day offsets."""
    if (
        df is None
        or df.empty
        or (df["revenue"].fillna(0).eq(0).all() and df["prev_revenue"].fillna(0).eq(0).all())
    ):
        return empty("No sales in this period")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=df["date"],
            y=df["prev_revenue"],
            name="Previous period",
            mode="lines",
            line={"color": _MUTED, "dash": "dot", "width": 2},
            customdata=df["prev_date"].astype(str),
            hovertemplate="%{customdata}: %{y:,.2f} " + currency + "<extra>previous</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=df["date"],
            y=df["revenue"],
            name="This period",
            mode="lines+markers",
            line={"color": _ACCENT, "width": 3},
            marker={"size": 5},
            hovertemplate="%{x|%a %Y-%m-%d}: %{y:,.2f} " + currency + "<extra>this period</extra>",
        )
    )
    fig.update_yaxes(title_text=f"Revenue ({currency})", rangemode="tozero")
    return _base(fig)


def ranking(
    df: pd.DataFrame | None, currency: str, empty_message: str = "No sales in this period"
) -> go.Figure:
    """Horizontal bars of revenue per `name`, biggest on top (category, brand, store mix)."""
    if df is None or df.empty:
        return empty(empty_message)
    data = df.iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=data["revenue"],
            y=data["name"],
            orientation="h",
            marker_color=_ACCENT,
            text=[f"{v:,.2f}" for v in data["revenue"]],
            textposition="auto",
            customdata=data["orders"],
            hovertemplate="%{y}<br>%{x:,.2f} " + currency + "<br>%{customdata} orders<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=f"Revenue ({currency})")
    return _base(fig)


def heatmap(df: pd.DataFrame | None, currency: str, timezone: str) -> go.Figure:
    """Revenue by weekday (rows) and store-local hour (columns)."""
    if df is None or df.empty or float(df["revenue"].abs().sum()) == 0:
        return empty("No sales in this period")
    hours = list(range(24))
    grid = df.pivot(index="weekday", columns="hour", values="revenue").reindex(
        index=range(1, 8), columns=hours
    )
    orders = df.pivot(index="weekday", columns="hour", values="orders").reindex(
        index=range(1, 8), columns=hours
    )
    fig = go.Figure(
        go.Heatmap(
            z=grid.fillna(0).values,
            x=[f"{h:02d}h" for h in hours],
            y=list(WEEKDAYS),
            customdata=orders.fillna(0).values,
            colorscale="Blues",
            colorbar={"title": currency, "thickness": 10},
            hovertemplate="%{y} %{x}: %{z:,.2f} " + currency + "<br>%{customdata} orders<extra></extra>",
            xgap=1,
            ygap=1,
            zmin=0,  # an hour with only refunds is not "less than nothing" on this scale
            zmax=max(float(grid.max().max()), 0.01),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=f"Hour of day ({timezone})")
    return _base(fig)
