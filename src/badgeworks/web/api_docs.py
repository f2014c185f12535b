"""The interactive API documentation at ``/docs``, served entirely by the service.

Swagger UI's script and stylesheet are the files of the npm package ``swagger-ui-dist``
kept in ``static/swagger-ui/`` (source, version and sha256 in its ``PROVENANCE.md``), and
the page starts it with our own ``static/api-docs.js`` rather than an inline script (and
``static/api-docs.css`` gives its text enough contrast for WCAG 2.2 AA), so
the page works without network access and its Content-Security-Policy
(``headers.DOCS_CSP``) allows scripts from this service only.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

#: Where the vendored Swagger UI files are served.
SWAGGER_UI = "/static/swagger-ui"


def docs_page(title: str, openapi_url: str) -> str:
    """The ``/docs`` page for the OpenAPI document at ``openapi_url``."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — API documentation</title>
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
<link rel="stylesheet" href="/static/api-docs.css">
</head>
<body>
<main id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></main>
<noscript><p>The interactive documentation needs JavaScript; the API description itself
is at <a href="{escape(openapi_url)}">{escape(openapi_url)}</a>.</p></noscript>
<script src="{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def add_api_docs(app: FastAPI) -> None:
    """Serve ``/docs`` for ``app`` (built with ``docs_url=None``) from the service's files."""
    html = docs_page(app.title, app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        """Swagger UI for this service's OpenAPI document."""
        return HTMLResponse(html)
