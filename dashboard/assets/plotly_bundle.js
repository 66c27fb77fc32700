/* dcc.Graph loads Plotly.js when a graph first mounts, from window._dashPlotlyJSURL, which
   Dash's renderer sets to plotly.py's full bundle (4.8 MB). Pin it to the vendored cartesian
   bundle (scatter, bar, heatmap, ...: every trace type the dashboard draws, 1.5 MB).

   And load it early rather than when the first graph mounts (every page has graphs): it
   downloads with the other scripts and runs while the page waits for its first callback
   answer, instead of after it. Until it has run, window.Plotly is a promise-like placeholder:
   dcc.Graph's loader does `Promise.resolve(window.Plotly || <load the script>)`, so it waits
   for this load instead of starting a second one; the bundle then sets window.Plotly itself.
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
  if (window.Plotly) return;

  var waiting = [];
  var started = false;
  // Run the bundle once the first callback request is out (Dash's `request_pre` renderer hook,
  // set in dashboard/delivery.py): its ~0.3 s of script evaluation then overlaps the server's
  // answer instead of delaying the renderer's start or the drawing of the answer.
  function load() {
    if (started) return;
    started = true;
    var script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.onload = function () {
      waiting.splice(0).forEach(function (w) {
        w[0]();
      });
    };
    script.onerror = function (error) {
      if (window.Plotly === placeholder) delete window.Plotly; // a graph mounted later tries itself
      waiting.splice(0).forEach(function (w) {
        w[1](error);
      });
    };
    document.head.appendChild(script);
  }
  var placeholder = {
    then: function (resolve, reject) {
      waiting.push([resolve, reject]);
      load(); // a graph is waiting: load now whatever happened before
    }
  };
  window.Plotly = placeholder;
  window.nkdashStartPlotly = load;
  // Fetch it now, next to the other scripts (it runs only when `load` adds the script).
  var hint = document.createElement("link");
  hint.rel = "preload";
  hint.as = "script";
  hint.href = url;
  document.head.appendChild(hint);
})();
