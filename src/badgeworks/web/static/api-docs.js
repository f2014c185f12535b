// Starts Swagger UI on the /docs page (web/api_docs.py). A file of its own, not an inline
// script, so the page's Content-Security-Policy can allow scripts from this service only.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    // No deep links: Swagger UI puts each one, a link, inside the operation's expand
    // button, and a control inside a control is unusable with a screen reader (axe:
    // nested-interactive, target-size).
    deepLinking: false,
    showExtensions: true,
    showCommonExtensions: true,
    // The public validator is a remote service; the docs must work offline.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
