"""The Payments & cash and Customers pages' callbacks, called directly on the generated lake with payments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from ops_fake_lake import CUSTOMERS, END, OpsLake, customer_totals, flagged_sessions, generate, payment_totals, write

from dashboard import components, formatting, ops_queries

RAW = {"start": "2025-02-01", "end": END.isoformat()}
START = date(2025, 2, 1)


@pytest.fixture(scope="module")
def ops() -> OpsLake:
    return generate()


@pytest.fixture(scope="module")
def ops_root(ops: OpsLake, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ops-pages-lake")
    write(root, ops)
    return root


@pytest.fixture
def app_pages(ops_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    monkeypatch.setenv("DATA_LAKE_PATH", str(ops_root))
    monkeypatch.setenv("STORE_TIMEZONE", "UTC")
    from dashboard.app import create_app

    create_app()  # pages register themselves with the app
    from dashboard.pages import customers, payments

    yield payments, customers


def _texts(component) -> list[str]:  # noqa: ANN001
    """Every string inside a Dash component tree."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [t for c in component for t in _texts(c)]
    children = getattr(component, "children", None)
    return _texts(children) if children is not None else []


def _card(cards: list, name: str) -> str:
    for card in cards:
        for child in card.children:
            if getattr(child, "id", None) == name:
                return child.children
    raise AssertionError(f"no card {name}")


def test_payments_render_shows_the_known_totals(app_pages: tuple, ops: OpsLake) -> None:
    payments, _customers = app_pages
    out = payments.render(RAW)
    label, messages, cards, *rest = out
    figures, rows = rest[: len(payments.CHARTS)], rest[len(payments.CHARTS) :]
    want = payment_totals(ops, START, END)
    shown = components.shown("money", want["amount"], "EUR")[0]
    assert _card(cards, "kpi-pay-amount") == shown
    assert _card(cards, "kpi-pay-change") == components.shown("money", want["change"], "EUR")[0]
    assert _card(cards, "kpi-pay-rounding") == components.shown("money", want["rounding"], "EUR")[0]
    assert _card(cards, "kpi-pay-refunds") == components.shown("money", want["refunds"], "EUR")[0]
    assert "2025" in label and any("missing" in t for t in _texts(messages))  # 2025-02-10 is not loaded
    methods, types, daily, change = rows
    assert {r["Payment method"]: Decimal(str(r["Amount (EUR)"])) for r in methods} == want["by_method"]
    assert {r["Payment method"]: r["Payments"] for r in methods} == want["count_by_method"]
    assert sum(Decimal(str(r["Amount (EUR)"])) for r in types) == want["amount"]
    assert [r["Day"] for r in daily][0] == "2025-02-01" and len(daily) == (END - START).days + 1
    assert sum(Decimal(str(r["Cash rounding (EUR)"] or 0)) for r in change) == want["rounding"]
    assert all(fig["data"] for fig in figures)


def test_payments_before_payments_were_recorded_says_so(app_pages: tuple) -> None:
    payments, _ = app_pages
    _label, messages, *_ = payments.render({"start": "2025-01-01", "end": "2025-01-10"})
    text = " ".join(_texts(messages))
    assert "5 day(s) of this period were loaded before payments were recorded" in text
    only_old = " ".join(_texts(payments.render({"start": "2025-01-01", "end": "2025-01-05"})[1]))
    assert "loaded before payments were recorded" in only_old and "No sales" not in only_old
    assert "No sales" in " ".join(_texts(payments.render({"start": "2025-02-11", "end": "2025-02-11"})[1]))


def test_sessions_grid_lists_the_differences_and_open_sessions(app_pages: tuple, ops: OpsLake) -> None:
    payments, _ = app_pages
    rows, columns, note = payments.render_sessions(RAW, "5")
    want = flagged_sessions(ops, START, END, Decimal(5))
    assert sorted(r["session_name"] for r in rows) == sorted(s["session_name"] for s in want)
    still_open = [r for r in rows if r["status"] == "open"]
    assert len(still_open) == 1 and still_open[0]["difference"] == "open" and still_open[0]["counted_cash"] == "open"
    assert all(abs(r["difference"]) >= 5 for r in rows if r["status"] == "closed")
    difference = next(c for c in columns if c["field"] == "difference")
    assert difference["headerName"] == "Difference (EUR)" and difference["valueFormatter"]["function"].startswith(
        "NKnumberOrText(params.value"
    )
    text = " ".join(_texts(note))
    assert f"{len(rows) - 1:,} closed session(s)" in text and "still open" in text
    # a threshold nobody can type falls back to the default
    default_rows, _, _ = payments.render_sessions(RAW, "nonsense")
    assert len(default_rows) == len(flagged_sessions(ops, START, END, ops_queries.DEFAULT_THRESHOLD))


def test_customers_render_shows_the_known_totals(app_pages: tuple, ops: OpsLake) -> None:
    _, customers = app_pages
    label, messages, cards, share_fig, daily_fig, share_rows, daily_rows, top, columns = customers.render(RAW)
    want = customer_totals(ops, START, END)
    share = want["revenue_known"] / want["revenue"] * 100
    assert _card(cards, "kpi-cust-known-share") == formatting.percent(share)
    assert _card(cards, "kpi-cust-new") == formatting.count(want["new"])
    assert _card(cards, "kpi-cust-returning") == formatting.count(want["returning"])
    assert sum(Decimal(str(r["Revenue (EUR)"])) for r in share_rows) == want["revenue"]
    assert sum(r["New customers"] or 0 for r in daily_rows) == want["new"]
    ranked = sorted(want["by_customer"].items(), key=lambda kv: (-kv[1][0], kv[0]))
    assert [r["customer_id"] for r in top] == [c for c, _ in ranked][: ops_queries.TOP_CUSTOMERS]
    assert {r["customer_name"] for r in top} <= set(CUSTOMERS.values())
    assert set(top[0]) == {"customer_id", "customer_name", "revenue", "orders", "share", "first_day"}
    assert [c["field"] for c in columns][:2] == ["customer_id", "customer_name"]
    assert share_fig["data"] and daily_fig["data"]
    assert "the lake records customers from 06 Jan 2025 only" in " ".join(_texts(messages))


def test_invalid_filters_and_an_empty_lake(app_pages: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payments, customers = app_pages
    for module in (payments, customers):
        out = module.render({"store": "99"})
        assert any("Invalid filter" in t for t in _texts(out[1]))
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DATA_LAKE_PATH", str(empty))
    for module in (payments, customers):
        assert any("no sales data yet" in t for t in _texts(module.render({})[1]))
    assert payments.render_sessions({}, 1)[0] == []


def test_layouts_read_nothing_from_the_lake(app_pages: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    payments, customers = app_pages
    monkeypatch.setenv("DATA_LAKE_PATH", "/nonexistent/lake")
    assert payments.layout(threshold="7.5") is not None and customers.layout() is not None
    threshold = _find(payments.layout(threshold="7.5"), payments.THRESHOLD)
    assert threshold.value == 7.5
    assert _find(payments.layout(threshold="x"), payments.THRESHOLD).value == float(ops_queries.DEFAULT_THRESHOLD)


def _find(component, component_id: str):  # noqa: ANN001, ANN202
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        found = _find(child, component_id)
        if found is not None:
            return found
    return None
