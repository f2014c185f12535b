"""Asking a candidate's wallet for proof (OpenID for Verifiable Presentations 1.0).

- ``POST /verify/wallet`` (the form on ``/verify``, or ``GET /verify/wallet`` on its own):
  starts a request, optionally narrowed to an issuer or an achievement, and sends the
  employer to its page (303), or answers 201 with the request as JSON for
  ``Accept: application/json``.
- ``GET /verify/wallet/{id}``: the request's page. While it waits: the QR code and the
  ``openid4vp://`` link, until when it is good, and why the last answer was refused.
  Without JavaScript the page reloads itself every few seconds (a ``<meta>`` refresh
  inside ``<noscript>``); with JavaScript (``static/wallet-verify.js``, no inline script)
  it only asks ``/verify/wallet/{id}/status`` every second and a half and reloads once,
  when the answer (or the expiry) is in, so a screen reader is not sent back to the top
  every few seconds. Answered: the same report as any verification (``_verify_result.html``).
- ``GET /verify/wallet/{id}/request.json``: the request's parameters as JSON.
- ``POST /oid4vp/responses/{id}``: the wallet's answer (``direct_post``), verified on the
  verifier's bounded pool; ``{}`` when accepted, else the OAuth error shape with our code.

``WalletGuard`` rate-limits starting requests and posting answers per client address
(the verifier's limits, its own buckets) and caps an answer's body before it is read.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from badgeworks.adapters import qr
from badgeworks.services.exchange import oid4vp
from badgeworks.services.exchange.oid4vp import AnswerRefused, RequestInputError, RequestView
from badgeworks.services.infra.rate_limit import limiter_for, retry_after_header
from badgeworks.services.verification.pool import VerifierBusy
from badgeworks.services.verification.public import (
    Outcome,
    Submission,
    known_issuers_kept,
)
from badgeworks.settings import Settings
from badgeworks.web.body import read_capped, replay
from badgeworks.web.deps import ContextDep
from badgeworks.web.errors import error_body
from badgeworks.web.pages import render
from badgeworks.web.routes.verifier import _result_view, busy_response, trust_registry, verify_pool

router = APIRouter(tags=["wallet verification"])

START = "/verify/wallet"
PAGE = "/verify/wallet/{request_id}"
RESPONSES = "/oid4vp/responses/"
#: How often the page reloads itself without JavaScript (seconds).
REFRESH_SECONDS = 4
#: The page's policy: our stylesheets and script, fetches to us only, images from us,
#: https or data: (the QR code).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
NO_STORE = {"Cache-Control": "no-store"}
#: Room for the form encoding and the ``state`` field around the ``vp_token``.
_FORM_SLACK = 16 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def oauth_error(status: int, error: str, code: str, message: str) -> JSONResponse:
    """OID4VP 1.0 §8.2 / RFC 6749 §5.2: ``error`` and ``error_description``, plus our code."""
    headers = dict(NO_STORE)
    return JSONResponse(
        {"error": error, "error_description": message, "code": code},
        status_code=status,
        headers=headers,
    )


def _unknown() -> JSONResponse:
    return JSONResponse(
        error_body(404, "oid4vp.unknown_request", "There is no such presentation request."),
        status_code=404,
        headers=NO_STORE,
    )


# --------------------------------------------------------------------------- guard


class WalletGuard:
    """Per-address rate limit on starting requests and posting answers, and the answer's
    body cap, before anything is read."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        session_factory: Callable[[], Session],
        clock: Callable[[], datetime],
    ) -> None:
        self.app = app
        self.limiter = limiter_for(
            "wallet_verify",
            settings,
            per_minute=settings.verify_rate_per_minute,
            burst=settings.verify_rate_burst,
            session_factory=session_factory,
            clock=clock,
        )
        self.max_body = settings.verify_max_json_bytes + _FORM_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        answering = path.startswith(RESPONSES)
        if scope["type"] != "http" or scope["method"] != "POST" or not (answering or path == START):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else None
        wait = (
            await run_in_threadpool(self.limiter.take, address)
            if self.limiter.shared
            else self.limiter.take(address)
        )
        if wait is not None:
            message = (
                "Too many requests from your address; try again in "
                f"{retry_after_header(wait)} seconds."
            )
            response: Response = oauth_error(429, "invalid_request", "rate.limited", message)
            if not answering and "app" in scope:
                response = _start_page(Request(scope), status_code=429, errors={"wallet": "rate"})
            response.headers["Retry-After"] = retry_after_header(wait)
            await response(scope, receive, send)
            return
        if not answering:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        too_large = oauth_error(
            413,
            "invalid_request",
            "oid4vp.too_large",
            f"The answer is larger than the limit of {self.max_body - _FORM_SLACK} bytes.",
        )
        if declared.isdigit() and int(declared) > self.max_body:
            await too_large(scope, receive, send)
            return
        read = await read_capped(receive, self.max_body)
        if read is None:
            return
        if read.over:
            await too_large(scope, receive, send)
            return
        await self.app(scope, replay(read.body, receive), send)


# --------------------------------------------------------------------------- pages


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _start_page(
    request: Request,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    issuer: str = "",
    achievement: str = "",
) -> HTMLResponse:
    return render(
        request,
        "wallet_verify.html",
        status_code=status_code,
        headers=dict(PAGE_HEADERS),
        view=None,
        wallet_errors=errors or {},
        wallet_issuer=issuer,
        wallet_achievement=achievement,
    )


@router.get(START, response_class=HTMLResponse, include_in_schema=False)
async def wallet_start_page(request: Request) -> HTMLResponse:
    """The start form on its own (``/verify`` shows the same form)."""
    return _start_page(request)


def _form_value(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post(START, include_in_schema=False, response_model=None)
async def wallet_start(request: Request, ctx: ContextDep) -> Response:
    """Start a request and go to its page (or 201 with the request as JSON)."""
    try:
        form = await request.form(max_files=0, max_fields=8)
    except StarletteHTTPException:
        return _start_page(request, status_code=400, errors={"wallet": "form"})
    issuer = _form_value(form, "issuer")
    achievement = _form_value(form, "achievement")
    await form.close()
    try:
        started = await run_in_threadpool(
            oid4vp.start_request, ctx, issuer=issuer, achievement=achievement
        )
    except RequestInputError as exc:
        field = exc.details.get("field", "wallet")
        if _wants_json(request):
            return JSONResponse(error_body(400, exc.code, exc.message), status_code=400)
        return _start_page(
            request,
            status_code=400,
            errors={str(field): str(field)},
            issuer=issuer[:500],
            achievement=achievement[:500],
        )
    page = f"/verify/wallet/{started.id}"
    if _wants_json(request):
        body = {**started.as_json(), "page": ctx.base_url + page}
        return JSONResponse(body, status_code=201, headers={**NO_STORE, "Location": page})
    lang = request.query_params.get("lang")
    return RedirectResponse(page + (f"?lang={lang}" if lang in ("en", "es") else ""), 303)


def _qr_image(link: str) -> str | None:
    """The QR code as a data: URL (the page's policy allows data: images), or None when
    the link is too long for one."""
    try:
        svg = qr.svg(link, scale=4)
    except qr.QrError:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _result(view: RequestView) -> dict[str, Any] | None:
    """The answered request's report, shaped as the verifier's result page shapes it."""
    stored = view.outcome
    if stored is None:
        return None
    document = stored.get("document")
    credential = stored.get("credential")
    submission = Submission(
        document if isinstance(document, dict | str) else {},
        "wallet",
        str(stored.get("holder") or ""),
    )
    outcome = Outcome(
        report=oid4vp.as_report(stored),
        credential=credential if isinstance(credential, dict) else None,
        submission=submission,
        summary=stored.get("summary") or {},
    )
    return _result_view(outcome)


async def _view(ctx: Any, request_id: str) -> RequestView | None:
    return await run_in_threadpool(oid4vp.find_request, ctx, request_id, now=ctx.clock())


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
async def wallet_request_page(request: Request, ctx: ContextDep, request_id: str) -> HTMLResponse:
    """The request's page: waiting (QR code and link), expired, or the report."""
    view = await _view(ctx, request_id)
    if view is None:
        return render(
            request,
            "wallet_verify.html",
            status_code=404,
            headers=dict(PAGE_HEADERS),
            view=None,
            unknown=True,
            wallet_errors={},
            wallet_issuer="",
            wallet_achievement="",
        )
    link = view.request.link()
    return render(
        request,
        "wallet_verify.html",
        headers=dict(PAGE_HEADERS),
        view=view,
        link=link,
        qr_image=_qr_image(link) if view.state == "waiting" else None,
        result=_result(view),
        request_json=view.request.as_json(),
        expires=view.request.expires_at,
        wallet_errors={},
        wallet_issuer="",
        wallet_achievement="",
        refresh_seconds=REFRESH_SECONDS,
    )


@router.get(PAGE + "/status", include_in_schema=False)
async def wallet_request_status(ctx: ContextDep, request_id: str) -> JSONResponse:
    """``{"state": "waiting" | "answered" | "expired", "verdict": …, "refusal": …}``."""
    view = await _view(ctx, request_id)
    if view is None:
        return _unknown()
    return JSONResponse(
        {"state": view.state, "verdict": view.verdict, "refusal": view.refusal_code},
        headers=NO_STORE,
    )


@router.get(PAGE + "/request.json", include_in_schema=False)
async def wallet_request_json(ctx: ContextDep, request_id: str) -> JSONResponse:
    """The request's parameters as JSON (docs/wallets.md)."""
    view = await _view(ctx, request_id)
    if view is None:
        return _unknown()
    # ``state`` is the request's OID4VP parameter; where the request stands is ``status``.
    return JSONResponse({**view.request.as_json(), "status": view.state}, headers=NO_STORE)


# --------------------------------------------------------------------------- answers


@router.post(RESPONSES + "{request_id}", include_in_schema=False, response_model=None)
async def wallet_response(request: Request, ctx: ContextDep, request_id: str) -> Response:
    """The wallet's answer (OID4VP 1.0 §8.2, ``direct_post``)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return oauth_error(
            415,
            "invalid_request",
            "oid4vp.media_type",
            "Send the answer as application/x-www-form-urlencoded (OID4VP 1.0 §8.2).",
        )
    try:
        form = await request.form(max_files=0, max_fields=8)
    except StarletteHTTPException as exc:
        return oauth_error(
            400,
            "invalid_request",
            "oid4vp.malformed",
            f"The form could not be read ({exc.detail}).",
        )
    fields = {k: v for k, v in form.multi_items()}
    duplicated = len(fields) != len(form.multi_items())
    await form.close()
    if duplicated:
        return oauth_error(
            400, "invalid_request", "oid4vp.malformed", "The answer repeats a form field."
        )
    registry = trust_registry(request)

    def run() -> oid4vp.Answer:
        known = known_issuers_kept(ctx, registry)
        return oid4vp.answer(ctx, request_id, fields, known=known)

    try:
        await verify_pool(request).run(run)
    except AnswerRefused as refused:
        return oauth_error(refused.status, refused.error, refused.code, refused.message)
    except VerifierBusy as exc:
        return busy_response(exc)
    return JSONResponse({}, headers=NO_STORE)
