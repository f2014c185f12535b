"""Security headers on every response, whatever route (or error handler) made it.

Every HTML page gets a Content-Security-Policy that forbids framing
(``frame-ancestors 'none'``, plus ``X-Frame-Options: DENY`` for old browsers) and, when
its route set none, allows only our own stylesheets and https/data images and no
scripts at all (the pages need no JavaScript; the console also allows its own script
files, for its Copy buttons). A route's own policy is kept, with
``frame-ancestors 'none'`` added if it lacks one. Every response gets
``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``; over TLS (``https``,
directly or from a trusted proxy's ``X-Forwarded-Proto``) also
``Strict-Transport-Security``. The interactive API docs at ``/docs`` run Swagger UI
from this service's own files (``web/api_docs.py``), so they get a policy that allows
scripts from here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The pages' policy: no scripts, our stylesheets, images from us, https or data:.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: The staff console's pages: as the pages, plus scripts from this service (the Copy
#: buttons' static/copy.js; never inline).
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: The Swagger UI page (web/api_docs.py): its bundle, stylesheet and start-up script from
#: this service; the styles Swagger UI sets on its elements; its data: icons.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
#: One year, the floor of the HSTS preload list.
HSTS = "max-age=31536000; includeSubDomains"
REFERRER_POLICY = "strict-origin-when-cross-origin"


def security_headers(headers: dict[str, str], *, path: str, https: bool) -> list[tuple[str, str]]:
    """The headers to add to a response with ``headers`` (lower-case names) at ``path``."""
    added: list[tuple[str, str]] = []
    if "x-content-type-options" not in headers:
        added.append(("X-Content-Type-Options", "nosniff"))
    if "referrer-policy" not in headers:
        added.append(("Referrer-Policy", REFERRER_POLICY))
    if https and "strict-transport-security" not in headers:
        added.append(("Strict-Transport-Security", HSTS))
    if headers.get("content-type", "").lower().startswith("text/html"):
        csp = headers.get("content-security-policy")
        if csp is None:
            if path == "/docs" or path.startswith("/docs/"):
                policy = DOCS_CSP
            elif path == "/console" or path.startswith("/console/"):
                policy = CONSOLE_CSP
            else:
                policy = PAGE_CSP
            added.append(("Content-Security-Policy", policy))
        elif "frame-ancestors" not in csp:
            added.append(("Content-Security-Policy", "frame-ancestors 'none'"))
        if "x-frame-options" not in headers:
            added.append(("X-Frame-Options", "DENY"))
    return added


class SecurityHeadersMiddleware:
    """Add ``security_headers`` to every HTTP response (runs outside all other layers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
                for name, value in security_headers(present, path=path, https=https):
                    raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)
