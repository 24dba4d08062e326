// The statistician's day refreshes itself without a reload: the status section is fetched again every 15 s.
// Without JavaScript the page still works; it is only not refreshed.
(function () {
  var section = document.getElementById("status");
  if (!section || !section.dataset.refresh) { return; }
  setInterval(function () {
    fetch(section.dataset.refresh, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { section.innerHTML = html; section.dataset.refreshed = Date.now(); } })
      .catch(function () {});
  }, 15000);
})();
