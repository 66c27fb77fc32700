/* Payments & cash page (pages-ops): a grid cell that holds text (a session still "open") shows it as it is,
   a number is formatted like every other grid number (NKnumber, dashboard/assets/nkdash.js). */
(function () {
  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  dagfuncs.NKnumberOrText = function (value, locale, low, high, suffix) {
    if (typeof value === "string") return value;
    return dagfuncs.NKnumber(value, locale, low, high, suffix);
  };
})();
