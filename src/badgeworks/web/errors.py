"""The one JSON error shape, produced by one handler for every error the app can raise.

``{"ok": false, "status": <int>, "code": "<machine code>", "error": "<what to fix>"}``

A person gets the same status and code as a page in their language instead, so a person
never lands on raw JSON; ``wants_html`` is the one rule for who that is (the body limits,
which run before a ``Request`` exists, use the same rule through ``html_preferred``).

Domain code raises ``BadgeworksError`` subclasses and never builds HTTP errors;
``status_for`` is the only place that decides which status each one becomes, for the API,
the console, the review pages and the candidate pages alike.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from badgeworks.core.errors import (
    BadgeworksError,
    ConfigError,
    ContextError,
    CredentialError,
    DidError,
    InputError,
    JsonLdError,
    KeyFormatError,
    SchemaError,
)
from badgeworks.services.accounts.candidate_access import ExportTooLarge, LinkGone
from badgeworks.services.accounts.staff import RateLimited
from badgeworks.services.endorsements.workflow import ReviewLinkGone
from badgeworks.services.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnsupportedMediaError,
    ValidationFailed,
)
from badgeworks.services.field_problems import describe_errors
from badgeworks.web.headers import security_headers
from badgeworks.web.i18n import negotiate
from badgeworks.web.negotiation import choose
from badgeworks.web.observability import HEADER, current_request_id, request_id_of
from badgeworks.web.pages import render

log = logging.getLogger("badgeworks.web")

#: The staff console: every answer there is a page.
CONSOLE = "/console"

#: Each error class's status, the first match winning: a narrower class comes before the
#: broader one it extends (a used link is gone, not a conflict; too many sign-ins is a
#: rate limit, not a refusal).
_STATUS: tuple[tuple[type[BadgeworksError], int], ...] = (
    (ReviewLinkGone, 410),
    (LinkGone, 410),
    (ExportTooLarge, 413),
    (RateLimited, 429),
    (NotFoundError, 404),
    (AuthError, 401),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (UnsupportedMediaError, 415),
    (ValidationFailed, 422),
    (InputError, 400),
    (CredentialError, 422),
    (SchemaError, 422),
    (JsonLdError, 422),
    (ContextError, 422),
    (DidError, 422),
    (ConfigError, 503),
    (KeyFormatError, 500),
)

_HTTP_CODES = {
    400: "request.bad",
    401: "auth.missing_token",
    403: "auth.forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "input.too_large",
    415: "input.unsupported_media_type",
    422: "request.invalid",
    429: "auth.rate_limited",
}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """The error shape (also used by the body-limit middleware, which runs before routing),
    with the request's id (``request_id``, the ``X-Request-ID`` header) to quote."""
    body: dict[str, Any] = {"ok": False, "status": status, "code": code, "error": message}
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return body


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response in the one shape."""
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def status_for(exc: BadgeworksError) -> int:
    """The HTTP status of ``exc`` on every surface (an unknown kind of error is a 400)."""
    if isinstance(exc, InputError) and exc.code == "input.too_large":
        return 413
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _validation_message(request: Request, exc: RequestValidationError) -> tuple[int, str, str]:
    """The refused fields in words (``services/field_problems.py``), each with its JSON
    property's name, in the language the caller's ``Accept-Language`` asks for (English
    unless Spanish is preferred)."""
    errors = exc.errors()
    for error in errors[:10]:
        if str(error.get("type", "")) == "json_invalid":
            return (
                400,
                "input.not_json",
                "the request body is not valid JSON: "
                + str(error.get("ctx", {}).get("error", "check the syntax")),
            )
    lang = negotiate(None, None, request.headers.get("accept-language"))
    problems = describe_errors(errors, lang, property_name=True)
    fallback = "the request is invalid" if lang == "en" else "la solicitud no es válida"
    return 422, "request.invalid", " ".join(problems) or fallback


async def handle_error(request: Request, exc: Exception) -> Response:
    """The single exception handler: every error becomes the one shape (or its page)."""
    response = _error_json(request, exc)
    request_id = request_id_of(request.scope)
    if request_id is not None:
        body = json.loads(bytes(response.body))
        if body.get("request_id") != request_id:
            # A 500 is answered from outside the middleware that set the request's context.
            body["request_id"] = request_id
            kept = {
                k: v
                for k, v in response.headers.items()
                if k.lower() not in ("content-length", "content-type")
            }
            response = JSONResponse(body, status_code=response.status_code, headers=kept)
    answer: Response = error_page_for(request, response) if wants_html(request) else response
    if request_id is not None:
        answer.headers[HEADER] = request_id
    return answer


def html_preferred(path: str, accept: str | None) -> bool:
    """Whether a request for ``path`` with this ``Accept`` is answered with a page.

    The API, static files and ``.json`` documents never are; console forms always are (a
    person submitted them); elsewhere ``Accept`` decides, JSON winning a tie.
    """
    if path.startswith(("/api/", "/static/")) or path.endswith(".json"):
        return False
    if path == CONSOLE or path.startswith(CONSOLE + "/"):
        return True
    return choose(accept, ("application/json", "text/html")) == "text/html"


def wants_html(request: Request) -> bool:
    """Whether ``request`` is answered with a page rather than JSON (``html_preferred``)."""
    return html_preferred(request.url.path, request.headers.get("accept"))


def public_message(exc: BadgeworksError) -> str:
    """What the caller is told about ``exc``: its message, except that a server-side
    error says only what an operator must do (never key details)."""
    if status_for(exc) < 500:
        return exc.message
    return _server_message(exc)


def error_page_for(request: Request, response: JSONResponse) -> Response:
    """The page a person sees instead of the JSON error ``response`` (same status and code)."""
    body = json.loads(bytes(response.body))
    status: int = body["status"]
    known = (401, 403, 404, 408, 410, 413, 429, 503)
    kind = str(status) if status in known else ("5xx" if status >= 500 else "4xx")
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("retry-after", "allow")}
    headers["Cache-Control"] = "no-store"
    # 404 says nothing more than "not here", so hidden and unknown things look the same;
    # a busy server (503) says what happened and when to try again.
    hidden = status in (404, 410) or (status >= 500 and status != 503)
    detail = None if hidden else body["error"]
    page = render(
        request,
        "error.html",
        status_code=status,
        headers=headers,
        status=status,
        code=body["code"],
        title_key=f"error.title_{kind}",
        body_key=f"error.body_{kind}",
        detail=detail,
        reference=body.get("request_id"),
    )
    # A 500 page is sent from outside every middleware, so it carries its own headers.
    present = {k.lower(): v for k, v in page.headers.items()}
    for name, value in security_headers(
        present, path=request.url.path, https=request.url.scheme == "https"
    ):
        page.headers[name] = value
    return page


def _error_json(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, BadgeworksError):
        status = status_for(exc)
        if status >= 500:
            log.error("server-side error %s on %s %s", exc.code, request.method, request.url.path)
        # Key and config problems must not leak details (never key material anyway).
        return error_response(status, exc.code, public_message(exc))
    if isinstance(exc, RequestValidationError):
        status, code, message = _validation_message(request, exc)
        return error_response(status, code, message)
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        code = _HTTP_CODES.get(status, f"http.{status}")
        message = str(exc.detail) if exc.detail else "request failed"
        if status == 404 and message == "Not Found":
            message = f"there is nothing at {request.url.path!r:.200}; see /docs for the API"
        elif status == 405:
            message = f"{request.method} is not allowed on {request.url.path!r:.200}"
        return error_response(status, code, message, headers=dict(exc.headers or {}))
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "an internal error occurred; it has been logged")


def _server_message(exc: BadgeworksError) -> str:
    if isinstance(exc, ConfigError):
        return exc.message
    return "the service could not use its signing key; an operator must check the logs"
