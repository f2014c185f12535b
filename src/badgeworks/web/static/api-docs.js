// Starts Swagger UI on the /docs page (web/api_docs.py). A file of its own, not an inline
// script, so the page's Content-Security-Policy can allow scripts from this service only.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The public validator is a remote service; the docs must work offline.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
