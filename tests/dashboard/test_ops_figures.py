"""The Payments & cash and Customers figures: valid Plotly, gaps for days without data, a message when empty."""

from __future__ import annotations

import math
from decimal import Decimal

import plotly.graph_objects as go
import pytest
from ops_fake_lake import MISSING_DAY, START, generate, write

from dashboard import ops_figures, ops_queries


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    root = tmp_path_factory.mktemp("ops-fig-lake")
    write(root, generate())
    raw = {"start": "2025-01-01", "end": "2025-03-01"}
    return ops_queries.load_payments(raw, str(root)), ops_queries.load_customers(raw, str(root)), root


def _valid(figure: dict) -> go.Figure:
    return go.Figure(figure)  # raises on any property Plotly does not know


def test_payment_figures(pages: tuple) -> None:
    pay, _cust, _root = pages
    mix = _valid(ops_figures.method_mix(pay.methods, "EUR"))
    assert list(mix.data[0].y)[::-1] == list(pay.methods["method"])  # biggest on top
    assert sum(mix.data[0].x) == pytest.approx(float(pay.totals.amount))
    share = _valid(ops_figures.type_share(pay.types, "EUR"))
    assert share.data[0].type == "pie" and list(share.data[0].labels) == list(pay.types["label"])
    daily = _valid(ops_figures.daily_payments(pay.daily, "EUR"))
    assert {t.name for t in daily.data} == {"Cash", "Card & bank", "Customer account"}
    cash = dict(zip(daily.data[0].x, daily.data[0].y, strict=True))
    assert cash[START.isoformat()] is None and cash[MISSING_DAY.isoformat()] is None  # gaps, not zeros
    assert cash["2025-02-11"] == 0
    change = _valid(ops_figures.change_and_rounding(pay.daily, "EUR"))
    assert sum(v for v in change.data[1].y if v is not None) == pytest.approx(float(pay.totals.rounding), abs=1e-6)


def test_customer_figures(pages: tuple) -> None:
    _pay, cust, _root = pages
    share = _valid(ops_figures.known_share(float(cust.share.revenue), float(cust.share.revenue_known), "EUR"))
    assert sum(share.data[0].values) == pytest.approx(float(cust.share.revenue))
    split = _valid(ops_figures.new_vs_returning(cust.daily))
    assert sum(v for v in split.data[0].y if v is not None) == cust.split.new
    assert sum(v for v in split.data[1].y if v is not None) >= cust.split.returning
    assert split.data[0].y[0] is None  # a day loaded before customers were recorded


def test_empty_figures_say_why(pages: tuple) -> None:
    _pay, _cust, root = pages
    empty_day = ops_queries.load_payments({"start": "2025-02-11", "end": "2025-02-11"}, str(root))
    for figure in (
        ops_figures.method_mix(empty_day.methods, "EUR"),
        ops_figures.type_share(empty_day.types, "EUR"),
        ops_figures.daily_payments(empty_day.daily, "EUR"),
        ops_figures.change_and_rounding(empty_day.daily, "EUR"),
        ops_figures.known_share(0.0, 0.0, "EUR"),
        ops_figures.new_vs_returning(None),
    ):
        assert _valid(figure).layout.annotations[0].text
    negative = empty_day.types.iloc[0:0]
    assert _valid(ops_figures.type_share(negative, "EUR")).layout.annotations


def test_type_share_with_a_negative_amount_draws_bars() -> None:
    import pandas as pd

    df = pd.DataFrame(
        {
            "type": ["cash", "pay_later"],
            "label": ["Cash", "Customer account"],
            "amount": [50.0, -10.0],
            "payments": [3, 1],
            "share": [125.0, -25.0],
        }
    )
    figure = _valid(ops_figures.type_share(df, "EUR"))
    assert figure.data[0].type == "bar" and not math.isnan(figure.data[0].y[1])
    assert Decimal(str(figure.data[0].y[1])) == Decimal("-10.0")
