"""How the page's files reach the browser: compression and a partial Plotly.js bundle (issue 10).

- Every response (JS bundles, assets, layout, callbacks) is compressed with flask-compress
  (zstd, br, gzip or deflate: the first the browser accepts). Dash's `compress=True` is
  not used because it configures flask-compress before we can: assets are streamed files,
  and flask-compress answers their conditional requests (ETag → 304 on a revisit) only for
  the endpoints listed in `COMPRESS_STREAMING_ENDPOINT_CONDITIONAL`.
- `dcc.Graph` loads Plotly.js when the first graph mounts, from the URL Dash's renderer
  puts in `window._dashPlotlyJSURL`: plotly.py's full `plotly.min.js` (4.8 MB, every trace
  type). The dashboard draws only cartesian traces (scatter, bar, heatmap), so
  `assets/plotly_bundle.js` points that URL at the vendored cartesian bundle of the same
  plotly.js version (1.5 MB; `assets/vendor/README.md`), and has the browser fetch it at
  once, next to the other scripts (every page has graphs), so the graph finds it cached.
  Should a Dash upgrade stop reading that URL, the graphs still draw with the full bundle
  (and tests/dashboard/test_bundle.py fails).
- `assets/preload.js` fetches the same way the lazily loaded chunks every first view needs
  (date picker, dropdown, graph, AG Grid's community module): the filter bar and the page
  would otherwise ask for them one after the other, once they have arrived. AG Grid's main
  bundle (1.3 MB) stays a <script> of every page: every page has a grid, and Dash needs a
  component's namespace loaded before it renders a layout that uses it.
"""

from __future__ import annotations

import flask_compress
from dash import Dash

PLOTLY_BUNDLE = "vendor/plotly-cartesian-4.1.1.min.js"  # under assets/; also named in assets/plotly_bundle.js


def configure(app: Dash) -> None:
    """Call once, before the app serves its first request (Dash lists the assets then)."""
    server = app.server
    server.config["COMPRESS_STREAMING_ENDPOINT_CONDITIONAL"] = ["static", "_dash_assets.static"]
    flask_compress.Compress(server)
    # The bundle is run by dcc.Graph when a graph mounts (fetched early by assets/plotly_bundle.js),
    # not by a <script> tag of every page.
    ours = r"^plotly-cartesian-.*\.js$"
    app.config.assets_ignore = f"{app.config.assets_ignore}|{ours}" if app.config.assets_ignore else ours
