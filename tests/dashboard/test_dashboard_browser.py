"""The real thing: `python -m dashboard` as a subprocess, driven by Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_fake_lake import CATEGORIES, END, fmt_money, select, totals

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts"
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_WAIT_MS = 20_000

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dashboard(
    tmp_path_factory: pytest.TempPathFactory, lake_root: Path, extra_env: dict[str, str] | None = None, ready: str = ""
) -> Iterator[str]:
    """`python -m dashboard` over `lake_root` on a free port; yields its URL once `url + ready` answers 200."""
    port = _free_port()
    log = tmp_path_factory.mktemp("dash-log") / "dashboard.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DASH_")},
        "DATA_LAKE_PATH": str(lake_root),
        "DASH_HOST": "127.0.0.1",
        "DASH_PORT": str(port),
        "STORE_TIMEZONE": "UTC",
        "PYTHONPATH": str(REPO),
        **(extra_env or {}),
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + ready, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the dashboard did not start:\n{log.read_text()}")
        time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake_lake: Path) -> Iterator[str]:
    yield from start_dashboard(tmp_path_factory, fake_lake)


def test_dashboard_in_a_real_browser(server: str, browser, lake_rows: list[dict]) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    start = END - timedelta(days=29)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    revenue = page.locator("#kpi-revenue")

    # Default view: the last 30 days with data.
    page.goto(server)
    expect(revenue).to_have_text(fmt_money(totals(select(lake_rows, start, END))["revenue"]), timeout=_WAIT_MS)
    expect(page.locator("#freshness")).to_have_text("Data up to Sat 01 Mar 2025 (UTC)")
    expect(page.locator("#messages")).to_contain_text("2025-02-10")
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(500)  # let plotly finish drawing before the picture
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # A control: pick a store; the KPI follows and the URL carries the filter.
    page.locator("#filter-store").click()
    page.get_by_role("option", name="Ghent Korenmarkt").click()
    expect(revenue).to_have_text(fmt_money(totals(select(lake_rows, start, END, store=2))["revenue"]), timeout=_WAIT_MS)
    expect(page).to_have_url(f"{server}?start={start}&end={END}&store=2")
    page.go_back()  # browser history restores the previous filters
    expect(revenue).to_have_text(fmt_money(totals(select(lake_rows, start, END))["revenue"]), timeout=_WAIT_MS)
    expect(page.locator("#filter-store")).to_contain_text("All stores")

    # A shared URL: dates and a category come from the query string.
    category = CATEGORIES[11]
    page.goto(f"{server}?start=2025-02-01&end=2025-02-14&category={quote(category)}")
    feb = totals(select(lake_rows, END.replace(month=2, day=1), END.replace(month=2, day=14), category=category))
    expect(revenue).to_have_text(fmt_money(feb["revenue"]), timeout=_WAIT_MS)
    expect(page.locator("#filter-category")).to_contain_text(category)
    expect(page.locator("#period-label")).to_contain_text("01 Feb 2025 – 14 Feb 2025")

    # An injection attempt: a clean message, no numbers, no traceback.
    page.goto(f"{server}?store={quote('1; DROP VIEW fact_sales; --')}")
    expect(page.locator("#messages")).to_contain_text("Invalid filter", timeout=_WAIT_MS)
    expect(revenue).to_have_text("—")
    page.goto(f"{server}?brand={quote(chr(39) + ' OR 1=1 --')}")
    expect(page.locator("#messages")).to_contain_text("Invalid filter: unknown brand", timeout=_WAIT_MS)

    # The lake is untouched: the default view still shows the known total.
    page.goto(server)
    expect(revenue).to_have_text(fmt_money(totals(select(lake_rows, start, END))["revenue"]), timeout=_WAIT_MS)
    assert not [e for e in errors if "favicon" not in e], "\n".join(errors)
    page.close()


# Text cut off: an element holding text itself (not a container of texts), wider than its box
# while its box hides the overflow. Screen-reader-only boxes (1 px) and the charts' SVG aside.
_CLIPPED = """() => [...document.querySelectorAll('body *')].filter(e => {
    if (!e.offsetParent || e.closest('.js-plotly-plot') || e.clientWidth <= 1) return false;
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) return false;
    let box = e;
    for (let i = 0; i < 3 && box; i++, box = box.parentElement) {
        const s = getComputedStyle(box);
        const hides = ['hidden', 'clip'].includes(s.overflowX) || s.textOverflow === 'ellipsis';
        if (hides && box.scrollWidth > box.clientWidth + 1) return true;
    }
    return false;
}).map(e => (e.id || e.className || e.tagName) + ': ' + e.textContent.trim().slice(0, 40))"""
_WIDE = "() => document.scrollingElement.scrollWidth <= window.innerWidth"


def _check_layout(page, where: str) -> None:  # noqa: ANN001
    page.wait_for_timeout(400)  # charts and grids size themselves after the data arrives
    assert page.evaluate(_WIDE), f"{where}: the page scrolls sideways"
    clipped = page.evaluate(_CLIPPED)
    assert clipped == [], f"{where}: clipped text {clipped}"


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_at_desktop_and_phone_width(server: str, browser, lake_rows: list[dict], width: int) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    start = END - timedelta(days=29)

    # Overview with a store picked in the shared filter bar.
    page.goto(f"{server}?store=2")
    revenue = page.locator("#kpi-revenue")
    expect(revenue).to_have_text(fmt_money(totals(select(lake_rows, start, END, store=2))["revenue"]), timeout=_WAIT_MS)
    expect(page.locator("#table-top-products")).to_contain_text("Product", timeout=_WAIT_MS)
    _check_layout(page, f"overview at {width}px")
    page.screenshot(path=str(ARTIFACTS / f"overview-{width}.png"), full_page=True)

    # The nav keeps the filters: the Stores page opens on the same store.
    page.locator("#nav-stores").click()
    expect(page).to_have_url(f"{server}stores?store=2", timeout=_WAIT_MS)
    grid = page.locator("#table-stores")
    expect(grid).to_contain_text("Ghent Korenmarkt", timeout=_WAIT_MS)
    expect(grid).not_to_contain_text("Brussels Centre")
    expect(page.locator("#filter-store")).to_contain_text("Ghent Korenmarkt")
    expect(page.locator("#stores-messages")).to_contain_text("only the days of this period loaded in both years")
    expect(page.locator("#filter-category-box")).to_be_hidden()  # category and brand do not apply here
    _check_layout(page, f"stores at {width}px")
    page.screenshot(path=str(ARTIFACTS / f"stores-{width}.png"), full_page=True)

    # Products: search by name, pick one; its revenue for the same store and period.
    page.locator("#nav-products").click()
    expect(page).to_have_url(f"{server}products?store=2", timeout=_WAIT_MS)
    page.locator("#product-choice").click()
    page.keyboard.type("Product 101")
    page.get_by_role("option", name="Product 101").click()
    expect(page).to_have_url(f"{server}products?store=2&product=p%3A101", timeout=_WAIT_MS)
    mine = [r for r in select(lake_rows, start, END, store=2) if r["product_id"] == 101]
    expect(page.locator("#kpi-product-revenue")).to_have_text(fmt_money(totals(mine)["revenue"]), timeout=_WAIT_MS)
    expect(page.locator("#table-product-variants")).to_contain_text("Product 101", timeout=_WAIT_MS)
    expect(page.locator("#product-split")).to_be_hidden()  # together / apart is for templates
    _check_layout(page, f"products at {width}px")
    page.screenshot(path=str(ARTIFACTS / f"products-{width}.png"), full_page=True)

    # Back on the overview through the nav, the page key stays out of the shared filters.
    page.locator("#nav-overview").click()
    expect(revenue).to_have_text(fmt_money(totals(select(lake_rows, start, END, store=2))["revenue"]), timeout=_WAIT_MS)
    assert not [e for e in errors if "favicon" not in e], "\n".join(errors)
    page.close()


def test_a_chart_csv_is_what_the_chart_draws(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    import csv

    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}?start=2025-02-01&end=2025-02-28&store=1")
    expect(page.locator("#kpi-revenue")).not_to_have_text("—", timeout=_WAIT_MS)
    plot = page.locator("#chart-trend .js-plotly-plot")
    expect(plot).to_be_visible(timeout=_WAIT_MS)
    page.wait_for_function("() => document.querySelector('#chart-trend .js-plotly-plot').data?.length === 2")
    drawn = page.evaluate("() => document.querySelector('#chart-trend .js-plotly-plot').data[1]")
    with page.expect_download() as download:
        page.locator("#chart-trend").locator("xpath=ancestor::section").get_by_role("button", name="CSV").click()
    assert download.value.suggested_filename == "chart-trend_2025-02-01_2025-02-28.csv"
    path = tmp_path / "trend.csv"
    download.value.save_as(path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["Date"] for r in rows] == [x[:10] for x in drawn["x"]]
    assert [float(r["Revenue (EUR)"]) if r["Revenue (EUR)"] else None for r in rows] == drawn["y"]
    page.close()
