"""Every component id of the dashboard, in one place (shared by layout, callbacks and tests)."""

from __future__ import annotations

# ------------------------------------------------------------------ the shell (dashboard/app.py)
URL = "url"
FRESHNESS = "freshness"
NAV = "nav"
FILTERS = "filters-store"  # the raw filter values (strings), what every page renders from
PERIOD = "filters-period"  # the resolved period {"start", "end", "compare_start", "compare_end"}, for file names
FILTER_BAR = "filter-bar"
NAV_CONFIG = "nav-config"  # {"paths": every page path, "product_pages": paths whose page uses category and brand}

DATE_RANGE = "filter-date-range"
SHORTCUT = "filter-period"
COMPARE = "filter-compare"
STORE = "filter-store"
CATEGORY = "filter-category"
BRAND = "filter-brand"
CATEGORY_BOX = "filter-category-box"
BRAND_BOX = "filter-brand-box"
RESET = "filter-reset"

# ------------------------------------------------------------------ overview
MESSAGES = "messages"
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

# ------------------------------------------------------------------ stores
STORES_MESSAGES = "stores-messages"
STORES_PERIOD = "stores-period"
STORES_GRID = "table-stores"
STORES_REVENUE = "chart-stores-revenue"
STORES_LFL = "chart-stores-lfl"
STORES_DAILY = "chart-stores-daily"

# ------------------------------------------------------------------ products
PRODUCT = "product-choice"
PRODUCT_SPLIT = "product-split"
PRODUCT_MESSAGES = "product-messages"
PRODUCT_PERIOD = "product-period"
PRODUCT_KPIS = "product-kpis"
PRODUCT_TREND = "chart-product-trend"
PRODUCT_STORES = "chart-product-stores"
PRODUCT_HOURS = "chart-product-hours"
PRODUCT_GRID = "table-product-variants"


def kpi(name: str) -> str:
    """Id of the value element of KPI card `name` (e.g. `kpi-revenue`)."""
    return f"kpi-{name}"


def kpi_delta(name: str) -> str:
    return f"kpi-{name}-delta"


def nav_link(path: str) -> str:
    """Id of the nav link to page `path` (`/` → `nav-overview`, `/stores` → `nav-stores`)."""
    return "nav-" + (path.strip("/").replace("/", "-") or "overview")


def chart_data(chart_id: str) -> dict[str, str]:
    """The store holding the rows chart `chart_id` draws (what its CSV button sends)."""
    return {"type": "chart-data", "chart": chart_id}


def csv_button(chart_id: str) -> dict[str, str]:
    return {"type": "chart-csv", "chart": chart_id}


def csv_download(chart_id: str) -> dict[str, str]:
    return {"type": "chart-csv-download", "chart": chart_id}


def grid_csv(grid_id: str) -> dict[str, str]:
    """The CSV button of grid `grid_id` (AG Grid exports what it shows: sorted and filtered)."""
    return {"type": "grid-csv", "grid": grid_id}
