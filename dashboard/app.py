"""The app shell: header with the data freshness, the nav, ONE filter bar shared by every page, then the page.

Pages are Dash pages (`dashboard/pages/*.py`, each registering itself and owning its
layout and callbacks). The filter state is the URL query string
(`?start=&end=&period=&compare=&store=&category=&brand=`): the shell resolves it into
`dcc.Store(id=ids.FILTERS)` (raw strings) that every page renders from; changing a control
rewrites the URL (without re-rendering the page), and the nav links carry the query string
so the next page opens on the same view. Keys the shell does not know (`group`, `product`…)
belong to a page and are kept as they are.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
from dash import (
    ClientsideFunction,
    Dash,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

from dashboard import auth, delivery, ids, queries
from include.etl.config import store_timezone

_ASSETS = Path(__file__).with_name("assets")
# Imported by `create_app` once the app exists (a page registers itself when imported).
PAGES = (
    "dashboard.pages.overview",
    "dashboard.pages.stores",
    "dashboard.pages.products",
    "dashboard.pages.payments",
    "dashboard.pages.customers",
)
SHARED_KEYS = ("start", "end", "period", "compare", "store", "category", "brand")
_CONTROLS = (ids.DATE_RANGE, ids.SHORTCUT, ids.COMPARE, ids.STORE, ids.CATEGORY, ids.BRAND)
SYNC_OUTPUTS = (
    "search",
    "start",
    "end",
    "period",
    "compare",
    "store",
    "category",
    "brand",
    "raw",
    "resolved",
    "store_options",
    "category_options",
    "brand_options",
    "min_date",
    "max_date",
    "freshness",
)
_CONFIGURED = False  # an app exists, so pages may register
_PAGES_DONE = False


def _labelled(label: str, control: Any, box_id: str | None = None) -> html.Div:
    children = [html.Label(label, className="filter__label"), control]
    return html.Div(children, className="filter", id=box_id) if box_id else html.Div(children, className="filter")


def filter_bar() -> html.Section:
    return html.Section(
        [
            _labelled(
                "Period",
                dcc.DatePickerRange(
                    id=ids.DATE_RANGE,
                    display_format="YYYY-MM-DD",
                    first_day_of_week=1,
                    updatemode="bothdates",
                    minimum_nights=0,
                    clearable=False,
                ),
            ),
            _labelled(
                "Shortcut",
                dcc.Dropdown(
                    id=ids.SHORTCUT,
                    options=[{"label": label, "value": key} for key, label in queries.PERIODS.items()],
                    placeholder="Custom dates",
                    searchable=False,
                ),
            ),
            _labelled(
                "Compare with",
                dcc.Dropdown(
                    id=ids.COMPARE,
                    options=[{"label": label.capitalize(), "value": key} for key, label in queries.COMPARES.items()],
                    value="previous",
                    clearable=False,
                    searchable=False,
                ),
            ),
            _labelled("Store", dcc.Dropdown(id=ids.STORE, placeholder="All stores", clearable=True)),
            _labelled("Category", dcc.Dropdown(id=ids.CATEGORY, placeholder="All categories"), ids.CATEGORY_BOX),
            _labelled("Brand", dcc.Dropdown(id=ids.BRAND, placeholder="All brands"), ids.BRAND_BOX),
            html.Button("Reset", id=ids.RESET, className="button button--ghost", n_clicks=0),
        ],
        id=ids.FILTER_BAR,
        className="filters",
    )


def _pages() -> list[dict]:
    return sorted(dash.page_registry.values(), key=lambda p: (p.get("order") is None, p.get("order") or 0))


def shell() -> html.Div:
    """The whole page; a function, so each visit builds it fresh and nothing is queried at import."""
    pages = _pages()
    nav_config = {
        "paths": [p["path"] for p in pages],
        "product_pages": [p["path"] for p in pages if p.get("product_filters")],
    }
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.FILTERS),
            dcc.Store(id=ids.PERIOD),
            dcc.Store(id=ids.NAV_CONFIG, data=nav_config),
            html.Header(
                [
                    html.Div(
                        [html.Span("NK", className="brand__mark"), html.H1("NK Dash")],
                        className="brand",
                    ),
                    html.Div("Loading…", id=ids.FRESHNESS, className="freshness"),
                    auth.user_badge(),
                ],
                className="header",
            ),
            html.Nav(
                [dcc.Link(p["name"], href=p["path"], id=ids.nav_link(p["path"]), className="nav__link") for p in pages],
                id=ids.NAV,
                className="nav",
                **{"aria-label": "Pages"},
            ),
            html.Main([filter_bar(), dash.page_container], className="main"),
        ],
        className="app",
    )


def freshness(info: queries.LakeInfo, timezone: str) -> str:
    if info.empty:
        return "No data loaded yet"
    text = f"Data up to {info.last_loaded_day:%a %d %b %Y} ({timezone})"
    if info.last_sale_day and info.last_sale_day != info.last_loaded_day:
        text += f" · last sale {info.last_sale_day:%d %b %Y}"
    return text


def _search(query: dict[str, str]) -> str:
    return "?" + urlencode(query) if query else ""


def _clean(raw: dict[str, Any]) -> dict[str, str]:
    """Values as strings, empty ones dropped, the default comparison (`previous`) left out."""
    out = {key: str(value) for key, value in raw.items() if value not in (None, "")}
    if out.get("compare") == "previous":
        del out["compare"]
    return out


def url_filters(query: dict[str, Any]) -> dict[str, str]:
    """The shared filters of a URL's query values, as the shell stores them in `ids.FILTERS`.

    `query` is `dict(parse_qsl(search))` or what Dash passes a page's `layout` (a list for a
    repeated key: the last value counts, as in `dict(parse_qsl(...))`). A page's layout renders
    its first view from this, so the first load needs no round trip through `sync_filters`.
    """
    last = {key: value[-1] if isinstance(value, list) and value else value for key, value in query.items()}
    return _clean({key: value for key, value in last.items() if key in SHARED_KEYS})


def sync_filters(
    trigger: str | None,
    search: str | None,
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
    compare: str | None = None,
    store: int | str | None = None,
    category: str | None = None,
    brand: str | None = None,
    current: dict | None = None,
) -> tuple:
    """Reconcile the URL and the controls; returns the outputs named in `SYNC_OUTPUTS`, in order.

    The URL wins on load and on back/forward; a control change rewrites the URL. `current`
    is the raw filters already stored: an unchanged value is not sent again (no re-render).
    """
    info = queries.read_lake_info()
    pairs = parse_qsl((search or "").lstrip("?"), keep_blank_values=False)
    extras = {k: v for k, v in pairs if k not in SHARED_KEYS}
    if trigger == ids.RESET:
        raw: dict[str, Any] = {}
    elif trigger in _CONTROLS:
        raw = _clean({"store": store, "category": category, "brand": brand, "compare": compare})
        if period and trigger != ids.DATE_RANGE:
            raw.update(_clean({"period": period}))
        else:
            raw.update(_clean({"start": start, "end": end}))
    else:
        raw = url_filters(dict(pairs))
    timezone = getattr(store_timezone(), "key", "UTC")
    options = (
        [{"label": name, "value": sid} for sid, name in info.stores],
        [{"label": c, "value": c} for c in info.categories],
        [{"label": b, "value": b} for b in info.brands],
        info.first_loaded_day.isoformat() if info.first_loaded_day else None,
        info.last_loaded_day.isoformat() if info.last_loaded_day else None,
        freshness(info, timezone),
    )
    stored = raw if raw != current else no_update
    try:
        filters = None if info.empty else queries.resolve_filters(raw, info)
    except queries.InvalidFilter:
        filters = None
    if filters is None:
        unchanged = (no_update,) * 8
        return (*unchanged, stored, None, *options)
    if trigger == ids.RESET:
        new_search = _search(extras)
    elif trigger in _CONTROLS:
        new_search = _search({**filters.query(), **extras})
    else:
        new_search = search or ""
    prev_start, prev_end = filters.previous
    resolved = {
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "compare_start": prev_start.isoformat(),
        "compare_end": prev_end.isoformat(),
    }
    controls = (
        filters.start.isoformat(),
        filters.end.isoformat(),
        filters.period,
        filters.compare,
        filters.store_id,
        filters.category,
        filters.brand,
    )
    return (new_search if new_search != (search or "") else no_update, *controls, stored, resolved, *options)


@callback(
    Output(ids.URL, "search"),
    Output(ids.DATE_RANGE, "start_date"),
    Output(ids.DATE_RANGE, "end_date"),
    Output(ids.SHORTCUT, "value"),
    Output(ids.COMPARE, "value"),
    Output(ids.STORE, "value"),
    Output(ids.CATEGORY, "value"),
    Output(ids.BRAND, "value"),
    Output(ids.FILTERS, "data"),
    Output(ids.PERIOD, "data"),
    Output(ids.STORE, "options"),
    Output(ids.CATEGORY, "options"),
    Output(ids.BRAND, "options"),
    Output(ids.DATE_RANGE, "min_date_allowed"),
    Output(ids.DATE_RANGE, "max_date_allowed"),
    Output(ids.FRESHNESS, "children"),
    Input(ids.URL, "search"),
    Input(ids.DATE_RANGE, "start_date"),
    Input(ids.DATE_RANGE, "end_date"),
    Input(ids.SHORTCUT, "value"),
    Input(ids.COMPARE, "value"),
    Input(ids.STORE, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.BRAND, "value"),
    Input(ids.RESET, "n_clicks"),
    State(ids.FILTERS, "data"),
)
def _sync(search, start, end, period, compare, store, category, brand, _reset, current):
    return sync_filters(ctx.triggered_id, search, start, end, period, compare, store, category, brand, current)


def page_search(search: str | None, **changes: str | None) -> str:
    """The URL query string with a page's own keys set (None removes one), the shared filters kept."""
    query = dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=False))
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = str(value)
    return _search(query)


def _dash() -> Dash:
    return Dash(
        __name__,
        title="NK Dash",
        assets_folder=str(_ASSETS),
        serve_locally=True,
        update_title=None,
        use_pages=True,
        pages_folder="",
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )


def pages_ready() -> None:
    """Let the page modules register themselves: Dash allows that only once an app has been made."""
    global _CONFIGURED
    if not _CONFIGURED:
        _dash()
        _CONFIGURED = True


def _register_pages() -> None:
    """Import every page once per process (pages and `@callback`s are process-wide in Dash)."""
    global _PAGES_DONE
    if _PAGES_DONE:
        return
    for module in PAGES:
        try:
            page = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a page that is there but fails to import is a bug, not a missing page
                raise
            continue
        entry = dash.page_registry.get(module)
        if entry is not None and not entry.get("layout"):
            # Dash reads `layout` itself only from a pages folder it scans; these modules are imported here.
            entry["layout"] = page.layout
    paths = [p["path"] for p in _pages()]
    clientside_callback(
        ClientsideFunction(namespace="nkdash", function_name="nav"),
        *[Output(ids.nav_link(p), "href") for p in paths],
        *[Output(ids.nav_link(p), "className") for p in paths],
        Output(ids.CATEGORY_BOX, "className"),
        Output(ids.BRAND_BOX, "className"),
        Input(ids.URL, "pathname"),
        Input(ids.URL, "search"),
        State(ids.NAV_CONFIG, "data"),
    )
    _PAGES_DONE = True


def create_app() -> Dash:
    """A Dash app with every page. Pages and callbacks are registered once per process and belong
    to the first app that serves a request (Dash's `dash.callback` registry), as in production."""
    global _CONFIGURED
    app = _dash()
    _CONFIGURED = True
    _register_pages()
    delivery.configure(app)  # compressed responses, the partial Plotly.js bundle
    auth.protect(app)  # a login whenever the dashboard listens beyond loopback (dashboard/auth.py)
    app.layout = shell
    return app
