"""Issue 8: the page reads well at real sizes, and names things the way the store dimension does.

A lake with 60 brands, one template sold in 5 variants, amounts in the millions and fact
store names that carry Odoo's session suffix: callbacks first, then the real browser
(no KPI text clipped, `scrollWidth <= clientWidth`, on a laptop and on a phone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from dashboard_fake_lake import (
    BIG_END,
    DESK_TEMPLATE,
    DESK_VARIANTS,
    SESSION_NAMES,
    STORES,
    big_select,
    fmt_money,
    totals,
)
from test_dashboard_browser import _ARGS, _WAIT_MS, CHROMIUM, start_dashboard

from dashboard import app, figures, ids, queries
from dashboard.pages import overview

START = BIG_END.replace(day=1)


def _render(raw: dict, group: str | None = None) -> dict:
    return dict(zip(overview.RENDER_OUTPUTS, overview.render(raw, group), strict=True))


def _find(tree: object, component_id: str) -> object:
    if isinstance(tree, (list, tuple)):
        for item in tree:
            found = _find(item, component_id)
            if found is not None:
                return found
        return None
    if getattr(tree, "id", None) == component_id:
        return tree
    children = getattr(tree, "children", None)
    return None if children is None or isinstance(children, str) else _find(children, component_id)


def test_big_figures_are_compact_with_the_exact_value_on_hover(big_env: Path, big_rows: list[dict]) -> None:
    expected = totals(big_select(big_rows, START, BIG_END))
    assert expected["revenue"] > 1_000_000  # the point of this lake
    kpis = _render({})["kpis"]
    card = _find(kpis, ids.kpi("revenue"))
    millions = (expected["revenue"] / 1_000_000).quantize(Decimal("0.01"))
    assert card.children == f"€{millions:,}M"
    assert card.title == fmt_money(expected["revenue"])
    assert _find(kpis, ids.kpi("orders")).children == f"{expected['orders']:,}"


def test_sixty_brands_show_the_top_bars_and_one_other(big_env: Path, big_rows: list[dict]) -> None:
    brand_mix = _render({})["brand_mix"]
    bar = brand_mix["data"][0]
    assert len(bar["y"]) == figures.TOP_BARS + 1
    assert bar["y"][0] == "Other (48)"  # drawn bottom-up: the smallest bar first
    assert sum(bar["x"]) == pytest.approx(float(totals(big_select(big_rows, START, BIG_END))["revenue"]))
    long_names = [c[0] for c in bar["customdata"] if len(c[0]) > figures.LABEL_CHARS]
    assert long_names and all(figures.short(n) in bar["y"] and figures.short(n).endswith("…") for n in long_names)


def test_store_names_come_from_the_store_dimension(big_env: Path) -> None:
    sync = dict(zip(app.SYNC_OUTPUTS, app.sync_filters(ids.URL, ""), strict=True))
    assert sorted(o["label"] for o in sync["store_options"]) == sorted(STORES.values())
    stores = _render({})["stores"]
    shown = set(stores["data"][0]["y"])
    assert shown == set(STORES.values())
    assert not shown & set(SESSION_NAMES.values())


def test_top_products_by_variant_or_by_template(big_env: Path, big_rows: list[dict]) -> None:
    rows = big_select(big_rows, START, BIG_END)
    per_variant: dict[int, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["product_id"] in DESK_VARIANTS:
            per_variant[r["product_id"]] += r["revenue"]
    variants = queries.load_overview({}).top_products
    shown = dict(zip(variants["product_id"], variants["product_name"], strict=True))
    for pid, values in DESK_VARIANTS.items():
        assert shown[pid] == f"[FURN_0096] Customizable Desk ({values})"
    search = overview._group_in_url("template", f"?start={START}&end={BIG_END}")
    assert search == f"?start={START}&end={BIG_END}&group=template"
    assert overview._group_in_url("variant", search) == f"?start={START}&end={BIG_END}"
    raw = {"start": str(START), "end": str(BIG_END)}
    grouped = queries.load_overview({**raw, "group": "template"}).top_products
    desk = grouped[grouped["product_name"] == "Customizable Desk"]
    assert len(desk) == 1 and int(desk["variants"].iloc[0]) == 5
    assert Decimal(str(desk["revenue"].iloc[0])).quantize(Decimal("0.01")) == sum(per_variant.values())
    assert DESK_TEMPLATE  # the template id the variants share
    columns = _render(raw, "template")["columns"]
    assert "variants" in [c["field"] for c in columns]


def test_a_lake_loaded_before_the_store_dimension_uses_the_fact_names(lake_env: Path) -> None:
    """The old lake (no dim_stores, no variant columns): store names from the fact, products by product_name."""
    o = queries.load_overview({"group": "template"})
    assert o.filters is not None and o.filters.group == "template"
    assert set(o.by_store["store_name"]) <= set(STORES.values())
    assert all(name.startswith("Product ") for name in o.top_products["product_name"])


# ------------------------------------------------------------------ the real browser


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory, big_lake: Path) -> Iterator[str]:
    yield from start_dashboard(tmp_path_factory, big_lake)


@pytest.mark.browser
@pytest.mark.e2e
def test_no_kpi_is_clipped_in_a_real_browser(big_server: str, big_rows: list[dict]) -> None:
    from playwright.sync_api import expect, sync_playwright

    expected = totals(big_select(big_rows, START, BIG_END))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=_ARGS)
        try:
            for viewport in (
                {"width": 1366, "height": 900},
                {"width": 1024, "height": 768},
                {"width": 390, "height": 844},
            ):
                page = browser.new_page(viewport=viewport)
                page.goto(big_server)
                revenue = page.locator("#kpi-revenue")
                expect(revenue).to_have_text(f"€{expected['revenue'] / 1_000_000:,.2f}M", timeout=_WAIT_MS)
                expect(revenue).to_have_attribute("title", fmt_money(expected["revenue"]))
                clipped = page.evaluate(
                    """() => [...document.querySelectorAll('.kpi__value, .kpi__prev, .kpi__delta')]
                              .filter(e => e.scrollWidth > e.clientWidth).map(e => e.id || e.textContent)"""
                )
                assert clipped == [], (viewport, clipped)
                expect(page.locator("#chart-brand-mix")).to_contain_text("Other (48)", timeout=_WAIT_MS)
                expect(page.locator("#chart-stores")).to_contain_text("Ghent Korenmarkt")
                assert "Mitchell Admin" not in page.locator("body").inner_text()
                page.close()
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(big_server)
            table = page.locator("#table-top-products")
            expect(table).to_contain_text("[FURN_0096] Customizable Desk (Steel, White)", timeout=_WAIT_MS)
            page.get_by_text("All variants together").click()
            expect(page).to_have_url(f"{big_server}?group=template", timeout=_WAIT_MS)
            expect(table).not_to_contain_text("(Steel, White)", timeout=_WAIT_MS)
            expect(table).to_contain_text("Customizable Desk")
            page.close()
        finally:
            browser.close()
