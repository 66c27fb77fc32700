/* Fetch the lazily loaded component chunks every first view needs (date picker and dropdowns of
   the filter bar, dcc.Graph, AG Grid's community module) while the page's own scripts run,
   instead of one after the other once the layout or the page has arrived: their script tags,
   added later by the components, then find them in the browser's memory cache (issue 10).
   Measured with bench/browser_bench.py (docs/benchmark.md). A chunk renamed by a Dash or
   dash-ag-grid upgrade would be a useless request: tests/dashboard/test_bundle.py checks that
   every name here is an async chunk of the installed packages, and that the page fetches it. */
(function () {
  var config = JSON.parse(document.getElementById("_dash-config").textContent);
  var base = config.requests_pathname_prefix + "_dash-component-suites/";
  var chunks = window.NKDASH_PRELOAD = [
    "dash/dcc/async-datepicker.js",
    "dash/dcc/async-dropdown.js",
    "dash/dcc/async-graph.js",
    "dash_ag_grid/async-community.js"
  ];
  chunks.forEach(function (chunk) {
    var hint = document.createElement("link");
    hint.rel = "preload";
    hint.as = "script";
    hint.href = base + chunk;
    document.head.appendChild(hint);
  });
})();
