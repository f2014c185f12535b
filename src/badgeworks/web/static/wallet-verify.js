// The wallet request page (/verify/wallet/…): without scripts it reloads itself every few
// seconds (a <meta> refresh inside <noscript>); with this script it only asks for the
// request's state every second and a half and reloads once, when the wallet's answer (or a
// refusal, or the expiry) is in.
"use strict";
(function () {
  var section = document.getElementById("wallet-request");
  if (!section || !window.fetch) return;
  var url = section.getAttribute("data-status-url");
  var shown = document.getElementById("wallet-refusal");
  var refusal = shown ? shown.getAttribute("data-refusal") : null;
  function poll() {
    window.fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && (body.state !== "waiting" || body.refusal !== refusal)) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1500);
})();
