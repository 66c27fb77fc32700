"""The "today looks unusual" banner: what `check_anomalies` found for the newest checked day.

`banner(lake_root)` returns a Dash component, or None when that day looked usual (or no day
was checked yet), so a page can place it above its KPI cards:
`html.Div(anomaly_banner.banner(lake_root()), id=...)`. It reads one small JSON file
(`<lake>/_state/anomalies/`, docs/lake-contract.md) through `include.etl.anomaly`; no Airflow.
"""

from __future__ import annotations

from dash import html

from dashboard.auth import store_scope
from include.etl.anomaly import latest_anomalies

BANNER_ID = "anomaly-banner"
_LABELS = {"refunds_share": "refunds share", "discount_share": "discount share"}
_SHARES = ("refunds_share", "discount_share")


def _value(figure: str, value: float) -> str:
    if figure in _SHARES:
        return f"{value * 100:.1f} %"
    if figure == "orders":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def describe(anomaly: dict) -> str:
    """One line: `Ghent: revenue 312.40, usually 1,204.10 (robust z −4.2)`."""
    figure = anomaly["figure"]
    return (
        f"{anomaly['store_name']}: {_LABELS.get(figure, figure)} {_value(figure, anomaly['value'])}, "
        f"usually {_value(figure, anomaly['median'])} (robust z {anomaly['zscore']:+.1f})"
    )


def banner(lake_root: str) -> html.Div | None:
    scope = store_scope()  # a shop manager hears about their own store only (dashboard/auth.py)
    anomalies = [a for a in latest_anomalies(lake_root) if scope is None or a.get("store_id") == scope]
    if not anomalies:
        return None
    day = anomalies[0]["day"]
    return html.Div(
        [
            html.Strong(f"{day} looks unusual"),
            html.Span(" compared with the same weekday of the previous weeks:"),
            html.Ul([html.Li(describe(a)) for a in anomalies]),
        ],
        id=BANNER_ID,
        role="alert",
        className="anomaly-banner",
        style={"background": "#fff4e5", "border": "1px solid #f0a020", "borderRadius": "6px",
               "padding": "8px 14px", "margin": "8px 0"},
    )
