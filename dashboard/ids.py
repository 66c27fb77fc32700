"""Every component id of the dashboard, in one place (shared by layout, callbacks and tests)."""

from __future__ import annotations

URL = "url"
FRESHNESS = "freshness"
FILTERS = "filters-store"
MESSAGES = "messages"

DATE_RANGE = "filter-date-range"
STORE = "filter-store"
CATEGORY = "filter-category"
BRAND = "filter-brand"
RESET = "filter-reset"
GROUP = "top-products-group"
BANNER = "page-banner"

KPI_GRID = "kpi-grid"
PERIOD_LABEL = "period-label"

TREND = "chart-trend"
CATEGORY_MIX = "chart-category-mix"
BRAND_MIX = "chart-brand-mix"
HEATMAP = "chart-heatmap"
STORES = "chart-stores"

TOP_PRODUCTS = "table-top-products"
DOWNLOAD_BUTTON = "download-top-products-button"
DOWNLOAD = "download-top-products"


def kpi(name: str) -> str:
    """Id of the value element of KPI card `name` (e.g. `kpi-revenue`)."""
    return f"kpi-{name}"


def kpi_delta(name: str) -> str:
    return f"kpi-{name}-delta"
