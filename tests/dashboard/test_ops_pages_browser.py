"""Payments & cash and Customers in Chromium: one dashboard process over a lake with payments, sessions, customers.

Both pages at 1280 and 375 px: the known totals, no console error, no horizontal scroll of
the page, no clipped card; and one chart CSV downloaded equals what the chart shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from ops_fake_lake import END, OpsLake, customer_totals, flagged_sessions, generate, payment_totals, write
from test_dashboard_browser import ARTIFACTS, start_dashboard

from dashboard import components, formatting

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

START = date(2025, 2, 1)
QUERY = f"?start={START}&end={END}"
_WAIT_MS = 20_000
WIDTHS = (1280, 375)


@pytest.fixture(scope="module")
def ops() -> OpsLake:
    return generate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ops: OpsLake) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ops-browser-lake")
    write(root, ops)
    yield from start_dashboard(tmp_path_factory, root)


def _open(browser, width: int):  # noqa: ANN001, ANN202
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def _layout_checks(page, name: str, width: int) -> None:  # noqa: ANN001
    page.wait_for_timeout(400)  # let plotly and the grid finish drawing
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{name} at {width} px scrolls horizontally: {widths}"
    clipped = page.evaluate(
        "Array.from(document.querySelectorAll('.kpi__value, .kpi__label, .nav__link, .panel__head h2'))"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert not clipped, f"{name} at {width} px clips {clipped}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_payments_page(server: str, browser, ops: OpsLake, width: int) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page, errors = _open(browser, width)
    want = payment_totals(ops, START, END)
    page.goto(f"{server}payments{QUERY}")
    expect(page.locator("#kpi-pay-amount")).to_have_text(
        components.shown("money", want["amount"], "EUR")[0], timeout=_WAIT_MS
    )
    expect(page.locator("#kpi-pay-change")).to_have_text(components.shown("money", want["change"], "EUR")[0])
    expect(page.locator("#kpi-pay-rounding")).to_have_text(components.shown("money", want["rounding"], "EUR")[0])
    expect(page.locator("#kpi-pay-refunds")).to_have_text(components.shown("money", want["refunds"], "EUR")[0])
    expect(page.locator("#pay-messages")).to_contain_text("2025-02-10")  # the day never loaded
    expect(page.locator(".nav__link--active")).to_have_text("Payments & cash")
    # the sessions grid: the default threshold, then 5.00 typed in; the open session reads "open"
    grid = page.locator("#table-pay-sessions")
    flagged = flagged_sessions(ops, START, END, Decimal("1.00"))
    expect(grid.locator(".ag-center-cols-container .ag-row")).to_have_count(len(flagged), timeout=_WAIT_MS)
    still_open = next(s for s in ops.sessions if s["state"] != "closed")["session_name"]
    open_row = grid.locator(f'.ag-center-cols-container .ag-row:has-text("{still_open}")')
    expect(open_row.locator('[col-id="difference"]')).to_have_text("open")  # never 0
    expect(open_row.locator('[col-id="counted_cash"]')).to_have_text("open")
    short = next(s for s in flagged if s["cash_difference"] is not None and s["cash_difference"] < -10)
    short_row = grid.locator(f'.ag-center-cols-container .ag-row:has-text("{short["session_name"]}")')
    expect(short_row.locator('[col-id="difference"]')).to_have_text(f"{short['cash_difference']:,.2f}")
    expect(short_row.locator('[col-id="counted_cash"]')).to_have_text(f"{short['counted_cash']:,.2f}")
    box = page.locator("#pay-threshold")
    box.fill("5")
    box.press("Enter")
    flagged = flagged_sessions(ops, START, END, Decimal(5))
    expect(grid.locator(".ag-center-cols-container .ag-row")).to_have_count(len(flagged), timeout=_WAIT_MS)
    expect(page).to_have_url(f"{server}payments{QUERY}&threshold=5")
    _layout_checks(page, "payments", width)
    assert not [e for e in errors if "favicon" not in e], "\n".join(errors)
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_customers_page(server: str, browser, ops: OpsLake, width: int) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page, errors = _open(browser, width)
    want = customer_totals(ops, START, END)
    # arrive from the payments page through the nav: the filters come along
    page.goto(f"{server}payments{QUERY}")
    expect(page.locator("#kpi-pay-amount")).not_to_have_text(formatting.MISSING, timeout=_WAIT_MS)
    nav = page.locator("#nav-customers")
    if not nav.is_visible():  # a compact menu on phones
        page.locator(".nav__toggle, #nav-toggle").first.click()
    nav.click()
    expect(page).to_have_url(f"{server}customers{QUERY}")
    share = want["revenue_known"] / want["revenue"] * 100
    expect(page.locator("#kpi-cust-known-share")).to_have_text(formatting.percent(share), timeout=_WAIT_MS)
    expect(page.locator("#kpi-cust-new")).to_have_text(formatting.count(want["new"]))
    expect(page.locator("#kpi-cust-returning")).to_have_text(formatting.count(want["returning"]))
    top = page.locator("#table-cust-top")
    best = max(want["by_customer"].items(), key=lambda kv: (kv[1][0], -kv[0]))[0]
    expect(top.locator(".ag-row").first).to_contain_text(f"Customer {best:04d}", timeout=_WAIT_MS)
    _layout_checks(page, "customers", width)
    assert not [e for e in errors if "favicon" not in e], "\n".join(errors)
    page.close()


def test_a_chart_csv_is_what_the_chart_shows(server: str, browser, ops: OpsLake) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page, errors = _open(browser, 1280)
    page.goto(f"{server}payments{QUERY}&store=2")
    want = payment_totals(ops, START, END, store=2)
    expect(page.locator("#kpi-pay-amount")).to_have_text(
        components.shown("money", want["amount"], "EUR")[0], timeout=_WAIT_MS
    )
    page.wait_for_function(  # the figure is drawn after the cards: wait for its bars
        "n => { const g = document.querySelector('#chart-pay-methods .js-plotly-plot');"
        " return g && g.data && g.data[0] && g.data[0].customdata && g.data[0].customdata.length === n; }",
        arg=len(want["by_method"]),
        timeout=_WAIT_MS,
    )
    shown = page.evaluate(
        "(() => { const g = document.querySelector('#chart-pay-methods .js-plotly-plot');"
        " return g.data[0].customdata.map((c, i) => [c[0], g.data[0].x[i], c[2]]); })()"
    )
    with page.expect_download() as info:
        page.locator("#chart-pay-methods").locator("xpath=ancestor::section[1]").get_by_role(
            "button", name="CSV"
        ).click()
    download = info.value
    assert download.suggested_filename == f"chart-pay-methods_{START}_{END}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    got = {r["Payment method"]: (Decimal(r["Amount (EUR)"]), int(r["Payments"])) for r in rows}
    assert got == {m: (Decimal(str(a)).quantize(Decimal("0.01")), n) for m, a, n in shown}
    assert got == {m: (a, want["count_by_method"][m]) for m, a in want["by_method"].items()}
    assert not [e for e in errors if "favicon" not in e], "\n".join(errors)
    page.close()
