// A session that ended while the page stayed open (an idle phone tab, a logout elsewhere):
// the next callback answers 401, so go to the login form, which brings the user back here.
(function () {
  const fetch0 = window.fetch.bind(window);
  window.fetch = function (input, init) {
    return fetch0(input, init).then(function (response) {
      const url = typeof input === "string" ? input : (input && input.url) || "";
      if (response.status === 401 && url.indexOf("/_dash-") !== -1) {
        const here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
