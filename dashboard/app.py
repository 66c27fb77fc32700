"""The app shell: header with the data freshness, and the overview page under it.

One page does not need Dash's pages router (whose location would re-render the page on
every filter change written to the URL), so the shell places the page layout itself.
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash, dcc, html

from dashboard import delivery, ids
from dashboard.pages import overview

_ASSETS = Path(__file__).with_name("assets")


def shell() -> html.Div:
    """The whole page; a function, so each visit builds it fresh and nothing is queried at import."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            html.Header(
                [
                    html.Div(
                        [html.Span("NK", className="brand__mark"), html.H1("NK Dash · Shops overview")],
                        className="brand",
                    ),
                    html.Div("Loading…", id=ids.FRESHNESS, className="freshness"),
                ],
                className="header",
            ),
            html.Main(overview.layout(), className="main"),
        ],
        className="app",
    )


def create_app() -> Dash:
    app = Dash(
        __name__,
        title="NK Dash",
        assets_folder=str(_ASSETS),
        serve_locally=True,
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    delivery.configure(app)
    app.layout = shell
    return app
