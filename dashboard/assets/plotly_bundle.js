/* dcc.Graph loads Plotly.js when a graph first mounts, from window._dashPlotlyJSURL, which
   Dash's renderer sets to plotly.py's full bundle (4.8 MB). Pin it to the vendored cartesian
   bundle (scatter, bar, heatmap, ...: every trace type the dashboard draws, 1.5 MB), and fetch
   it now, next to the page's other scripts (every page has graphs): the graph's script tag then
   finds it in the browser's memory cache instead of downloading it once the page has arrived.
   Running it early as well (while the first callback is out) was measured no faster on the
   busy 2-core machine: the browser's and the server's work share the same cores.
   Why and how to update: dashboard/delivery.py, assets/vendor/README.md. */
(function () {
  var config = JSON.parse(document.getElementById("_dash-config").textContent);
  var url = config.requests_pathname_prefix + "assets/vendor/plotly-cartesian-4.1.1.min.js";
  Object.defineProperty(window, "_dashPlotlyJSURL", {
    configurable: false,
    get: function () {
      return url;
    },
    set: function () {} // the renderer's assignment of the full bundle is ignored
  });
  var hint = document.createElement("link");
  hint.rel = "preload";
  hint.as = "script";
  hint.href = url;
  document.head.appendChild(hint);
})();
