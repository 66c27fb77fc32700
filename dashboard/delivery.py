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
  plotly.js version (1.5 MB; `assets/vendor/README.md`). Pages without a graph load no
  Plotly.js at all, as before. Should a Dash upgrade stop reading that URL, the graphs
  still draw with the full bundle (and tests/dashboard/test_bundle.py fails).
"""

from __future__ import annotations

import flask_compress
from dash import Dash

PLOTLY_BUNDLE = "vendor/plotly-cartesian-4.1.1.min.js"  # under assets/; also named in assets/plotly_bundle.js
_START_PLOTLY = "function () { if (window.nkdashStartPlotly) window.nkdashStartPlotly(); }"


def configure(app: Dash) -> None:
    """Call once, before the app serves its first request (Dash lists the assets then)."""
    server = app.server
    server.config["COMPRESS_STREAMING_ENDPOINT_CONDITIONAL"] = ["static", "_dash_assets.static"]
    flask_compress.Compress(server)
    # The bundle is not a <script> tag of every page: assets/plotly_bundle.js loads it, and runs it
    # when the first callback request is out (this renderer hook), or when a graph asks first.
    app.renderer = f"var renderer = new DashRenderer({{request_pre: {_START_PLOTLY}}});"
    ours = r"^plotly-cartesian-.*\.js$"
    app.config.assets_ignore = f"{app.config.assets_ignore}|{ours}" if app.config.assets_ignore else ours
