/* NK Dash browser helpers: grid number formats, grid CSV export, nav links that keep the filters. */
(function () {
  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  var formats = {};

  /* A number in the store's locale (STORE_LOCALE, passed by the server), or "" for a missing value. */
  dagfuncs.NKnumber = function (value, locale, low, high, suffix) {
    if (value === null || value === undefined || value === "" || isNaN(value)) return "";
    var key = locale + "|" + low + "|" + high;
    if (!formats[key]) {
      formats[key] = new Intl.NumberFormat(locale, { minimumFractionDigits: low, maximumFractionDigits: high });
    }
    return formats[key].format(value) + (suffix || "");
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    nkdash: {
      /* AG Grid's own CSV export: what the grid shows, sorted and filtered, named <grid>_<start>_<end>.csv. */
      exportGrid: function (n, id, period) {
        if (!n) return window.dash_clientside.no_update;
        var api = window.dash_ag_grid && window.dash_ag_grid.getApi(id.grid);
        if (!api) return window.dash_clientside.no_update;
        var days = period && period.start ? "_" + period.start + "_" + period.end : "";
        api.exportDataAsCsv({ fileName: id.grid + days + ".csv" });
        return n;
      },
      /* Nav links carry the current query string; the current page is marked; category and brand
         show only on pages that use them. */
      nav: function (pathname, search, config) {
        var paths = config.paths, productPages = config.product_pages;
        var query = search || "";
        var here = pathname || "/";
        var hrefs = paths.map(function (p) { return p + query; });
        var classes = paths.map(function (p) { return p === here ? "nav__link nav__link--active" : "nav__link"; });
        var uses = (productPages || []).indexOf(here) >= 0;
        var box = uses ? "filter" : "filter filter--hidden";
        return hrefs.concat(classes, [box, box]);
      },
    },
  });
})();
