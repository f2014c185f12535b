"""Body size and media type limits, applied before a request reaches any route.

The body is read (up to the limit) before the app sees it, so an oversized upload is a
413 whether or not the client sent ``Content-Length``, and nothing is stored. API clients
get it in the one error shape; a person who submitted a form (any ``/console`` address,
or a request outside ``/api/`` that prefers ``text/html``) gets a page in their language
that says what the limit is and that nothing was saved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from badgeworks.web.errors import error_body
from badgeworks.web.negotiation import choose
from badgeworks.web.pages import page_language, render

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Media types a write endpoint under /api/ accepts at all (each route narrows further).
ACCEPTED = ("application/json", "multipart/form-data", "text/csv")
_MULTIPART_SLACK = 64 * 1024
_CONSOLE = "/console"
#: The most of a refused body read (and thrown away) so a browser sees the 413 page.
_DRAIN_CAP = 32 * 1024 * 1024

log = logging.getLogger("badgeworks.web")


class BodyLimitMiddleware:
    """Refuse bodies over the configured limits (413) and unknown media types (415)."""

    def __init__(self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json = max_json_bytes
        self.max_upload = max_upload_bytes + _MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        limit = self.max_json if media_type in ("", "application/json") else self.max_upload
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, headers, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(
                    scope, receive, send, headers, limit, more=_more_body(message)
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and scope["path"].startswith("/api/") and media_type not in ACCEPTED:
            await _reject(
                send,
                415,
                "input.unsupported_media_type",
                (
                    f"the body's media type {media_type!r} is not accepted here"
                    if media_type
                    else "the request has a body but no Content-Type"
                )
                + "; send application/json, multipart/form-data or text/csv (see /docs)",
            )
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        limit: int,
        *,
        more: bool = True,
    ) -> None:
        """The 413: a page for people submitting forms, the error shape for everyone else."""
        if _wants_html(scope["path"], headers):
            # People are told the limit they configured, not the multipart allowance.
            shown = limit if limit == self.max_json else limit - _MULTIPART_SLACK
            response = _too_large_page(scope, shown)
            if response is not None:
                # A browser still sending the file when the connection closes shows
                # "connection reset" instead of our page, so read the rest (discarding
                # it, up to a cap) before answering.
                if more and not await _drain(receive):
                    return
                await response(scope, _no_body, send)
                return
        await _reject(send, 413, "input.too_large", _too_large(limit))


def _too_large(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


def _wants_html(path: str, headers: dict[str, str]) -> bool:
    """Console forms always get a page; the API never does; elsewhere ``Accept`` decides
    (the same negotiation the mentor review pages use)."""
    if path == _CONSOLE or path.startswith(_CONSOLE + "/"):
        return True
    if path.startswith("/api/"):
        return False
    offers = ("application/json", "text/html")
    return choose(headers.get("accept"), offers) == "text/html"


def _size(limit: int, lang: str) -> str:
    """``limit`` bytes as people say it (1 MB = 1,048,576 bytes here, as upload forms do)."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= scale:
            text = f"{limit / scale:.1f}".removesuffix(".0")
            return f"{text.replace('.', ',') if lang == 'es' else text} {unit}"
    return f"{limit} B"


def _too_large_page(scope: Scope, limit: int) -> Response | None:
    """The HTML 413 page, or ``None`` if it cannot be rendered (the JSON answer is used)."""
    path = str(scope["path"])
    # A page that cannot be rendered must not hide the 413 itself, hence the broad except.
    try:
        # Starlette puts the app in the scope before any middleware runs; the page needs
        # its templates and settings.
        request = Request(scope)
        return render(
            request,
            "console/too_large.html",
            status_code=413,
            headers={"Cache-Control": "no-store"},
            limit=_size(limit, page_language(request)),
            console=path == _CONSOLE or path.startswith(_CONSOLE + "/"),
        )
    except Exception:
        log.exception("could not render the HTML 413 page for %s", path[:200])
        return None


def _more_body(message: Message) -> bool:
    """True if the client has more of the body to send after ``message``."""
    return bool(message.get("more_body", False))


async def _drain(receive: Receive) -> bool:
    """Read and discard the rest of a refused body, up to ``_DRAIN_CAP`` bytes; False if
    the client went away (there is no one to answer)."""
    drained = 0
    while drained <= _DRAIN_CAP:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        drained += len(message.get("body", b""))
        if not _more_body(message):
            return True
    return True


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps(error_body(status, code, message)).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
