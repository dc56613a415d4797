// Progressive enhancement: the inbox shows new alerts without a manual reload. Without script the page
// still works; this only asks every few seconds whether the newest alert changed, then reloads the list.
(function () {
  var inbox = document.getElementById("inbox");
  if (!inbox || !window.fetch) { return; }
  var shown = inbox.getAttribute("data-latest") || "";
  function check() {
    fetch("/app/alerts/latest", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.latest && data.latest !== shown) { window.location.reload(); }
      })
      .catch(function () {})
      .finally(function () { window.setTimeout(check, 3000); });
  }
  window.setTimeout(check, 3000);
})();
