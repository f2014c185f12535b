"""What a request must pass before its body is read, and the limits on the body itself.

``RequestGuard`` (outermost) routes the request and, where the route needs a token or a
console session, checks it from the headers alone: a caller without one is answered
401 (or sent to sign in) and not one byte of its body is read. It then admits the body:
bodies over 64 KiB take one of ``max_concurrent_uploads`` slots and reserve their
declared size in a ``max_buffered_upload_bytes`` budget; with no room left the answer is
503 ``server.busy`` with ``Retry-After``, again before reading. A body must arrive within
``request_body_timeout_seconds`` (408 ``input.too_slow``), so a stalled upload gives its
slot back.

``BodyLimitMiddleware`` then reads the body (up to the limit), so an oversized upload is
a 413 whether or not the client sent ``Content-Length`` and nothing is stored, and checks
a JSON body strictly before any route parses it: a key twice in one object
(``input.duplicate_key``), a ``\\uD800``-style lone surrogate (``input.invalid_unicode``),
nesting deeper than ``max_json_depth`` (``input.too_deep``), ``NaN`` (``input.not_json``).
API clients get the one error shape; a person who submitted a form (any ``/console``
address, or a page request that prefers ``text/html``: ``errors.html_preferred``) gets a
page in their language that says what the limit is and that nothing was saved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match

from badgeworks.core.document import parse_json_document
from badgeworks.core.errors import BadgeworksError, InputError
from badgeworks.services.locale_format import local_number
from badgeworks.settings import Settings
from badgeworks.web.body import discard_rest, more_body, read_capped, replay
from badgeworks.web.deps import get_optional_principal, get_principal, optional_principal
from badgeworks.web.errors import (
    CONSOLE,
    error_body,
    error_page_for,
    error_response,
    handle_error,
    html_preferred,
    wants_html,
)
from badgeworks.web.pages import page_language, render
from badgeworks.web.routes.console.common import PREFIX as CONSOLE_PREFIX
from badgeworks.web.routes.console.common import LoginRequired, get_signed_in

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Media types a write endpoint under /api/ accepts at all (each route narrows further).
ACCEPTED = ("application/json", "multipart/form-data", "text/csv")
_MULTIPART_SLACK = 64 * 1024
#: The most request paths ``RequestGuard`` keeps the matched route of.
MAX_KEPT_ROUTES = 4096
#: The verifier's API reads a credential sent as the whole body itself (its own limits).
VERIFIER_API = "/api/v1/verify"
#: The most of a refused body read (and thrown away) so a browser sees the 413 page.
_DRAIN_CAP = 32 * 1024 * 1024

log = logging.getLogger("badgeworks.web")


class BodyLimitMiddleware:
    """Refuse bodies over the configured limits (413), unknown media types (415) and JSON
    that parsers could read two ways or not at all (400)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_json_bytes: int,
        max_upload_bytes: int,
        max_json_depth: int = 64,
    ) -> None:
        self.app = app
        self.max_json = max_json_bytes
        self.max_upload = max_upload_bytes + _MULTIPART_SLACK
        self.max_json_depth = max_json_depth

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
        read = await read_capped(receive, limit)
        if read is None:
            return
        if read.over:
            await self._too_large(scope, receive, send, headers, limit, more=read.more)
            return
        body = read.body
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
        if body.strip() and _is_json(media_type):
            problem = strict_json_problem(
                body,
                self.max_json_depth,
                declared_json=bool(media_type),
                # The verifier reads a credential sent as the whole body with its own
                # strict reader and reports problems in its own words.
                surrogates_only=scope["path"] == VERIFIER_API,
            )
            if problem is not None:
                await _reject(send, 400, problem.code, problem.message)
                return
        await self.app(scope, replay(body, receive), send)

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
        if html_preferred(scope["path"], headers.get("accept")):
            # People are told the limit they configured, not the multipart allowance.
            shown = limit if limit == self.max_json else limit - _MULTIPART_SLACK
            response = _too_large_page(scope, shown)
            if response is not None:
                # A browser still sending the file when the connection closes shows
                # "connection reset" instead of our page, so read the rest (discarding
                # it, up to a cap) before answering.
                if more and not await discard_rest(receive, _DRAIN_CAP):
                    return
                await response(scope, _no_body, send)
                return
        await _reject(send, 413, "input.too_large", _too_large(limit))


def _too_large(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


def _size(limit: int, lang: str) -> str:
    """``limit`` bytes as people say it (1 MB = 1,048,576 bytes here, as upload forms do)."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= scale:
            # One decimal at most, with the language's decimal sign ("1.5 MB", "1,5 MB").
            return f"{local_number(round(limit / scale, 1), lang)} {unit}"
    return f"{local_number(limit, lang)} B"


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
            console=path == CONSOLE or path.startswith(CONSOLE + "/"),
        )
    except Exception:
        log.exception("could not render the HTML 413 page for %s", path[:200])
        return None


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


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


# --------------------------------------------------------------------------- strict JSON

#: A ``\\u`` escape of a UTF-16 surrogate (D800–DFFF); only such escapes can put a lone
#: surrogate into parsed text (the bytes themselves are not UTF-8).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class JsonProblem:
    """Why a JSON request body is refused: a stable code and what to do about it."""

    code: str
    message: str


_SURROGATE_PROBLEM = JsonProblem(
    "input.invalid_unicode",
    "the request body has a \\u escape of a lone UTF-16 surrogate (D800-DFFF), which is "
    "not a Unicode character; send valid text (a character outside the Basic Multilingual "
    "Plane is written as a high surrogate followed by a low one)",
)


def _is_json(media_type: str) -> bool:
    """The media types FastAPI parses as JSON (none given counts: it parses those too)."""
    if media_type in ("", "application/json"):
        return True
    return media_type.startswith("application/") and media_type.endswith("+json")


def _lone_surrogate(value: Any) -> bool:
    """True if any key or string in ``value`` holds a surrogate code point (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def strict_json_problem(
    body: bytes, max_depth: int, *, declared_json: bool = True, surrogates_only: bool = False
) -> JsonProblem | None:
    """What is wrong with ``body`` as a JSON request, or None if nothing.

    Refused are: a key twice in one object (two parsers may keep different copies, so
    what is checked differs from what is stored or signed), nesting deeper than
    ``max_depth`` (measured before parsing; deep nesting ends in ``RecursionError`` in
    recursive code later), a lone surrogate (text that cannot be stored or encoded as
    UTF-8), and ``NaN``/``Infinity``. A body sent without ``Content-Type``
    (``declared_json`` False) that is not JSON at all is left to the route, and so is
    everything but a lone surrogate with ``surrogates_only``.
    """
    if surrogates_only:
        if not _SURROGATE_ESCAPE.search(body):
            return None
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return None
        return _SURROGATE_PROBLEM if _lone_surrogate(parsed) else None
    try:
        value = parse_json_document(body, max_bytes=len(body) + 1, max_depth=max_depth)
    except InputError as exc:
        if exc.code == "input.duplicate_key":
            key = str(exc.details.get("key", ""))
            return JsonProblem(
                exc.code,
                f"the request body has the key {key!r:.80} twice in one object; send each "
                "key once (a JSON object with a repeated key can be read two ways)",
            )
        if exc.code == "input.too_deep":
            return JsonProblem(
                exc.code,
                f"the request body nests more than {max_depth} levels deep; no request "
                "needs that many, so check how it is built",
            )
        if not declared_json:
            return None
        if exc.code in ("input.not_json", "input.binary", "input.not_utf8"):
            # One code for every body that is not JSON text (docs/api.md).
            return JsonProblem(
                "input.not_json", f"the request body is not valid JSON: {exc.message}"
            )
        return JsonProblem(exc.code, f"the request body is refused: {exc.message}")
    if _SURROGATE_ESCAPE.search(body) and _lone_surrogate(value):
        return _SURROGATE_PROBLEM
    return None


# --------------------------------------------------------------------------- before the body

#: Bodies up to this size (every ordinary JSON call) take no upload slot.
SMALL_BODY = 64 * 1024
_BUSY_RETRY_SECONDS = 5


class RequestGuard:
    """Authenticate, admit and time a request body before anything reads it."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.max_uploads = settings.max_concurrent_uploads
        # One body of the largest size any endpoint takes must always fit, so a body over
        # the budget on its own is over every limit: the body limits answer it (413).
        self.budget = max(
            settings.max_buffered_upload_bytes,
            settings.max_upload_bytes + _MULTIPART_SLACK,
            settings.verify_max_file_bytes + _MULTIPART_SLACK,
            settings.verify_max_json_bytes + _MULTIPART_SLACK,
            settings.max_json_bytes,
        )
        self.timeout = settings.request_body_timeout_seconds
        self.uploads = 0
        self.reserved = 0
        self._needs: dict[int, frozenset[str]] = {}
        #: ``_route_of`` by (method, root path, path): the routes do not change once the
        #: app serves, so a path is matched against them once, not on every request.
        self._routes: dict[tuple[str, str, str], tuple[bool, APIRoute | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared_text = headers.get("content-length", "").strip()
        declared = int(declared_text) if declared_text.isdigit() else 0
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if declared == 0 and not chunked:
            await self.app(scope, receive, send)
            return
        served, route = self._route_of(scope)
        if not served:
            # Nothing takes this method at this path: the router's 404 or 405 needs no body.
            await self.app(scope, _empty_body, send)
            return
        refusal = await self._authenticate(scope, headers, route)
        if refusal is not None:
            await refusal(scope, _no_body, send)
            return
        # A declared size over the budget is over every limit: the 413 needs no slot.
        large = (chunked or declared > SMALL_BODY) and declared <= self.budget
        if large and (self.uploads >= self.max_uploads or self.reserved + declared > self.budget):
            await self._busy(scope, send)
            return
        body = _BodyWatch(self, large=large, reserved=declared if large else 0)
        if large:
            self.uploads += 1
            self.reserved += body.reserved
        try:
            await self.app(scope, body.receive_with(receive), body.send_with(send))
            if body.refused is not None and not body.started:
                status, code, message = body.refused
                extra = {"Retry-After": str(_BUSY_RETRY_SECONDS)} if status == 503 else None
                response = _answer(scope, status, code, message, extra)
                await response(scope, _no_body, send)
        finally:
            if large:
                self.uploads -= 1
                self.reserved -= body.reserved

    def _route_of(self, scope: Scope) -> tuple[bool, APIRoute | None]:
        """``_route_of(scope)``, kept per path (at most ``MAX_KEPT_ROUTES`` paths: paths
        with ids in them are many, so past that the kept ones are dropped)."""
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        found = self._routes.get(key)
        if found is None:
            found = _route_of(scope)
            if len(self._routes) >= MAX_KEPT_ROUTES:
                self._routes.clear()
            self._routes[key] = found
        return found

    async def _busy(self, scope: Scope, send: Send) -> None:
        log.warning("upload refused: %d uploads, %d bytes held", self.uploads, self.reserved)
        response = _answer(
            scope,
            503,
            "server.busy",
            "the server is receiving as many uploads as it can hold right now; nothing was "
            f"read or saved, try again in {_BUSY_RETRY_SECONDS} seconds",
            {"Retry-After": str(_BUSY_RETRY_SECONDS)},
        )
        await response(scope, _no_body, send)

    async def _authenticate(
        self, scope: Scope, headers: dict[str, str], route: APIRoute | None
    ) -> Response | None:
        """The refusal for a route that needs a token or a console session the request does
        not carry (a database lookup, no body read); None to go on."""
        if route is None:
            return None
        needs = self._needs.get(id(route))
        if needs is None:
            needs = self._needs[id(route)] = _needs_of(route.dependant)
        if not needs:
            return None
        request = Request(scope)
        if "token" in needs or ("optional_token" in needs and "authorization" in headers):
            try:
                await run_in_threadpool(_check_token, request, "token" in needs)
            except BadgeworksError as exc:
                return await handle_error(request, exc)
        if "console" in needs:
            try:
                await run_in_threadpool(_check_console, request)
            except LoginRequired:
                target = quote(str(scope["path"]), safe="")
                return RedirectResponse(f"{CONSOLE_PREFIX}/login?next={target}", status_code=303)
        return None


class _BodyWatch:
    """One request's body as it arrives: counted against the budget and timed."""

    def __init__(self, guard: RequestGuard, *, large: bool, reserved: int) -> None:
        self.guard = guard
        self.large = large
        self.reserved = reserved
        self.received = 0
        self.done = False
        self.started = False
        self.refused: tuple[int, str, str] | None = None
        self.deadline = asyncio.get_running_loop().time() + guard.timeout

    def receive_with(self, receive: Receive) -> Receive:
        async def watched() -> Message:
            if self.done or self.refused is not None:
                return await receive() if self.refused is None else {"type": "http.disconnect"}
            left = self.deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(left, 0.001))
            except TimeoutError:
                return self._refuse(
                    408,
                    "input.too_slow",
                    f"the request body did not arrive within {self.guard.timeout:g} seconds; "
                    "nothing was saved. Send it again on a faster connection",
                )
            if message["type"] != "http.request":
                return message
            self.received += len(message.get("body", b""))
            if self.large and self.received > self.reserved:
                # Chunked (or longer than declared): reserve as it comes. A body over the
                # budget by itself is over its limit, and the body limit says so (413).
                grow = self.received - self.reserved
                if self.received > self.guard.budget:
                    pass  # refused by the body limit as soon as it sees this chunk
                elif self.guard.reserved + grow > self.guard.budget:
                    return self._refuse(
                        503,
                        "server.busy",
                        "the server is receiving as many uploads as it can hold right now; "
                        f"nothing was saved, try again in {_BUSY_RETRY_SECONDS} seconds",
                    )
                else:
                    self.guard.reserved += grow
                    self.reserved += grow
            if not more_body(message):
                self.done = True
            return message

        return watched

    def send_with(self, send: Send) -> Send:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        return watched

    def _refuse(self, status: int, code: str, message: str) -> Message:
        """Tell the reader the client is gone; the guard answers once the reader stops."""
        self.refused = (status, code, message)
        return {"type": "http.disconnect"}


def _answer(
    scope: Scope, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The error shape, or the error page for a person who submitted a form."""
    response: Response = error_response(status, code, message, headers=headers)
    if "app" in scope:
        request = Request(scope)
        if wants_html(request):
            assert isinstance(response, JSONResponse)
            response = error_page_for(request, response)
    return response


def _route_of(scope: Scope) -> tuple[bool, APIRoute | None]:
    """Whether anything serves this method and path, and the API route that does (the
    first full match, as the router picks it)."""
    app = scope.get("app")
    router = getattr(app, "router", None)
    return _match(getattr(router, "routes", ()), scope)


def _match(routes: Any, scope: Scope) -> tuple[bool, APIRoute | None]:
    for route in routes:
        # An included router (FastAPI keeps it whole) is searched in place; our routers
        # carry their own prefixes, so their routes match the full path.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found, api_route = _match(inner.routes, scope)
            if found:
                return found, api_route
            continue
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return True, route if isinstance(route, APIRoute) else None
    return False, None


def _needs_of(dependant: Dependant) -> frozenset[str]:
    """Which credentials a route's dependencies check: ``token`` (an API token),
    ``optional_token`` (checked only when sent) and ``console`` (a staff session)."""
    calls = {
        get_principal: "token",
        get_optional_principal: "optional_token",
        get_signed_in: "console",
    }
    found: set[str] = set()
    stack = [dependant]
    while stack:
        item = stack.pop()
        if item.call in calls:
            found.add(calls[item.call])
        stack.extend(item.dependencies)
    return frozenset(found)


def _check_token(request: Request, required: bool) -> None:
    """Raise the route's own ``AuthError`` for a missing, malformed or unknown token."""
    if not required:
        optional_principal(request)
        return
    with request.app.state.session_factory() as session:
        get_principal(request, session)


def _check_console(request: Request) -> None:
    """Raise ``LoginRequired`` without a live console session."""
    with request.app.state.session_factory() as session:
        get_signed_in(request, session)
