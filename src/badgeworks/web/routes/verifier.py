"""The public verifier: the ``/verify`` page and ``POST /api/v1/verify``.

Both read the same inputs (pasted JSON or JWS, an uploaded ``.json``/PNG/SVG, a URL),
call ``services.verification.public.verify_any`` and show the same report: the API as JSON
(200 verified, 422 not verified, 400 unreadable), the page as a verdict, each check in
plain words, what the credential says, and the technical detail one click away. The
page needs no JavaScript (a plain form POST, multipart for uploads).

``VerifyGuard`` runs before everything else on these paths: the per-client rate limit
(429 with ``Retry-After``) and the verifier's own body cap (413 before reading a large
upload). Nothing submitted is stored or logged; the email for the recipient check is
never echoed back.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import UnsupportedMediaError
from badgeworks.services.infra.rate_limit import limiter_for, retry_after_header
from badgeworks.services.verification.pipeline import unavailable_report
from badgeworks.services.verification.pool import RETRY_AFTER_SECONDS, VerifierBusy, VerifyPool
from badgeworks.services.verification.public import (
    Limits,
    Outcome,
    PresentationOutcome,
    Submission,
    TrustRegistry,
    VerifyInputError,
    check_email,
    compact_json,
    credential_json,
    local_credentials,
    read_api_json,
    read_bytes,
    read_text,
    read_url,
    report_json,
    shared_fetcher,
    verify_any,
)
from badgeworks.settings import Settings
from badgeworks.web.body import read_capped, replay
from badgeworks.web.deps import ContextDep
from badgeworks.web.errors import error_body
from badgeworks.web.i18n import DEFAULT_LANGUAGE, Translator, negotiate
from badgeworks.web.pages import render

router = APIRouter(tags=["verify"])

PAGE = "/verify"
API = "/api/v1/verify"
#: The VC-API's verify endpoints do the same work (a presentation: up to 50 credentials,
#: each with its deliverables), so anonymous calls share the verifier's per-client
#: buckets; calls with an API token (checked by the route: a bad one is 401) are not
#: limited, so an integrator's server is not throttled by its own address. An empty
#: ``Authorization`` header is not a token: it is limited (and then refused with 401).
VCAPI_VERIFY = ("/credentials/verify", "/presentations/verify")
#: Room for the multipart framing and the small text fields around an upload.
_MULTIPART_SLACK = 64 * 1024
#: The page's content security policy: no scripts at all; images from https or data: only.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --------------------------------------------------------------------------- guard


class VerifyGuard:
    """Rate limit and body cap for the verifier's paths (and the VC-API's verify
    endpoints), before the body is read."""

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
            "verify",
            settings,
            per_minute=settings.verify_rate_per_minute,
            burst=settings.verify_rate_burst,
            session_factory=session_factory,
            clock=clock,
        )
        self.max_body = (
            max(settings.verify_max_file_bytes, settings.verify_max_json_bytes) + _MULTIPART_SLACK
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in (PAGE, API, *VCAPI_VERIFY):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if not (method == "POST" or (method == "GET" and "url" in query)):
            await self.app(scope, receive, send)
            return
        if scope["path"] in VCAPI_VERIFY and any(
            k == b"authorization" and v.strip() for k, v in scope["headers"]
        ):
            # A token (the route answers 401 to a bad one). An empty or blank header is
            # no token at all: it is limited like any anonymous call, never exempt.
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else None
        # A limit kept in the database is counted off the event loop.
        wait = (
            await run_in_threadpool(self.limiter.take, address)
            if self.limiter.shared
            else self.limiter.take(address)
        )
        if wait is not None:
            await self._reject(
                scope,
                send,
                429,
                "rate.limited",
                "Too many verifications from your address; try again in "
                f"{retry_after_header(wait)} seconds.",
                {"Retry-After": retry_after_header(wait)},
            )
            return
        if method != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        too_large = (
            f"The upload is larger than the limit of {self.max_body - _MULTIPART_SLACK} bytes."
        )
        if declared.isdigit() and int(declared) > self.max_body:
            await self._reject(scope, send, 413, "input.too_large", too_large)
            return
        read = await read_capped(receive, self.max_body)
        if read is None:
            return
        if read.over:
            await self._reject(scope, send, 413, "input.too_large", too_large)
            return
        await self.app(scope, replay(read.body, receive), send)

    @staticmethod
    async def _reject(
        scope: Scope,
        send: Send,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        headers = headers or {}
        response: Response
        if scope["path"] == PAGE and "app" in scope:
            request = Request(scope)
            response = render(
                request,
                "verify.html",
                status_code=status,
                headers={**PAGE_HEADERS, **headers},
                **_page_data(refusal=code, refusal_message=message),
            )
        else:
            response = JSONResponse(
                error_body(status, code, message), status_code=status, headers=headers
            )

        async def no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await response(scope, no_body, send)


# --------------------------------------------------------------------------- shared


def trust_registry(request: Request) -> TrustRegistry:
    """The app's trust registry (one per app, built on first use; the VC-API uses it too)."""
    registry = getattr(request.app.state, "trust_registry", None)
    if registry is None:
        settings: Settings = request.app.state.settings
        registry = TrustRegistry(settings.verify_trust_registry)
        request.app.state.trust_registry = registry
    assert isinstance(registry, TrustRegistry)
    return registry


def verify_pool(request: Request) -> VerifyPool:
    """The app's bounded verification pool (``create_app`` builds it)."""
    pool = request.app.state.verify_pool
    assert isinstance(pool, VerifyPool)
    return pool


def busy_response(exc: VerifierBusy) -> JSONResponse:
    """503 with Retry-After, in the one error shape, when the verification pool is full."""
    return JSONResponse(
        error_body(503, exc.code, exc.message),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
    )


def _verify(
    ctx: ServiceContext,
    registry: TrustRegistry,
    read: Callable[[], tuple[Submission, str | None]],
) -> Outcome | PresentationOutcome:
    """Read and verify on a pool worker, holding no database session: hosted look-ups
    open short sessions of their own, one at a time, and none is held across a fetch."""
    submission, email = read()
    try:
        return verify_any(ctx, None, submission, registry=registry, email=email)
    except SQLAlchemyError as exc:  # the database failed us: could not verify, not forged
        return Outcome(unavailable_report(exc), None, submission)


def _verified(outcome: Outcome | PresentationOutcome) -> bool:
    if isinstance(outcome, PresentationOutcome):
        return outcome.verified
    return outcome.report.verified


async def _file_bytes(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise VerifyInputError(
            f"Could not verify because the file is larger than the limit of {limit} bytes.",
            code="input.too_large",
        )
    return data


def _form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _form_file(form: FormData) -> UploadFile | None:
    value = form.get("file")
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


# --------------------------------------------------------------------------- API


_API_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object", "description": "A credential (JSON-LD)."},
                        {
                            "type": "object",
                            "properties": {
                                "credential": {"description": "A credential object or text."},
                                "jws": {"type": "string", "description": "A compact JWS."},
                                "url": {"type": "string", "description": "A credential URL."},
                                "email": {
                                    "type": "string",
                                    "description": "Check the recipient against this email.",
                                },
                            },
                        },
                    ]
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "credential": {"type": "string"},
                        "url": {"type": "string"},
                        "email": {"type": "string"},
                    },
                }
            },
        },
    }
}


@router.post(
    API,
    openapi_extra=_API_DOC,
    responses={
        200: {"description": "Verified (possibly with warnings): the report."},
        400: {"description": "Unreadable input: could not verify."},
        413: {"description": "The body or file is too large."},
        422: {
            "description": "Not verified, or could not be verified right now (verdict "
            "could_not_verify: a check could not run; try again): the report says which."
        },
        429: {"description": "Too many verifications from this address (Retry-After)."},
        503: {"description": "The verifier is busy (verify.busy); try again after Retry-After."},
    },
)
async def verify_api(request: Request, ctx: ContextDep) -> Response:
    """Verify a credential: JSON body, multipart ``file`` upload, or ``{"url": …}``.

    Returns ``{"verified", "verdict", "checks", "format", "credential"}``: the report
    ``badgeworks verify --json`` prints, plus the verdict and a summary of the credential.
    200 when verified, 422 when not, 400 when the input cannot be read. Each check's
    ``message`` is in English, or in Spanish when ``Accept-Language`` prefers it; match on
    ``code``, which never changes.
    """
    limits = Limits.from_settings(ctx.settings)
    registry = trust_registry(request)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    fetcher = shared_fetcher(ctx)
    local = local_credentials(ctx)
    read: Callable[[], tuple[Submission, str | None]]
    if media_type in ("", "application/json"):
        body = await request.body()

        def read_json() -> tuple[Submission, str | None]:
            submission, email = read_api_json(body, limits, fetcher, local=local)
            return submission, check_email(email)

        read = read_json
    elif media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=8, max_part_size=limits.max_json_bytes)
        try:
            upload = _form_file(form)
            data = await _file_bytes(upload, limits.max_file_bytes) if upload else None
            label = (upload.filename or "")[:200] if upload else ""
            text = _form_text(form, "credential")
            url = _form_text(form, "url")
            email = check_email(_form_text(form, "email"))
        finally:
            await form.close()
        given = [n for n, v in (("file", data), ("credential", text), ("url", url)) if v]
        if len(given) != 1:
            raise VerifyInputError(
                "Could not verify because the form must hold exactly one of 'file', "
                "'credential' or 'url'" + (f" (it has {', '.join(given)})." if given else "."),
                code="verify.bad_request",
            )

        def read_form() -> tuple[Submission, str | None]:
            if data is not None:
                return read_bytes(data, limits, label=label), email
            if text is not None:
                return read_text(text, limits), email
            return read_url(url or "", limits, fetcher, local=local), email

        read = read_form
    else:
        raise UnsupportedMediaError(
            f"send the credential as application/json or multipart/form-data, not "
            f"{media_type!r:.80}",
            code="input.unsupported_media_type",
        )
    try:
        outcome = await verify_pool(request).run(lambda: _verify(ctx, registry, read))
    except VerifierBusy as exc:
        return busy_response(exc)
    # The JSON ``JSONResponse`` would write, written once for a report kept in memory.
    body = outcome.as_json() if isinstance(outcome, Outcome) else compact_json(outcome)
    # Like the API's refusals, the report's messages follow Accept-Language; codes and
    # everything else stay as they are (English unless another language is asked for).
    lang = negotiate(None, None, request.headers.get("accept-language"))
    if lang != DEFAULT_LANGUAGE:
        translated = translated_report(json.loads(body), Translator(lang))
        body = json.dumps(
            translated, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")
    return Response(
        body,
        status_code=200 if _verified(outcome) else 422,
        media_type="application/json",
        headers={
            "Cache-Control": "no-store",
            "Content-Language": lang,
            "Vary": "Accept-Language",
        },
    )


def translated_report(value: Any, t: Translator) -> Any:
    """``value`` (a report, or a part of one) with each check's ``message`` in ``t``'s
    language where its code has a translation, nested reports (endorsements,
    presentations) included."""
    if isinstance(value, list):
        return [translated_report(item, t) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: translated_report(item, t) for key, item in value.items()}
    if isinstance(out.get("code"), str) and isinstance(out.get("message"), str):
        out["message"] = t.check_message(value) or out["message"]
    return out


# --------------------------------------------------------------------------- page


_OUTCOME_CLASS = {
    "verified": "ok",
    "verified_with_warnings": "warn",
    "not_verified": "bad",
    "could_not_verify": "warn",
}
#: The order and headings of the check groups on the page.
GROUPS = (
    "issuer",
    "proof",
    "status",
    "validity",
    "deliverable",
    "endorsement",
    "recipient",
    "structure",
    "schema",
    "internal",
)


def _result_view(outcome: Outcome) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for check in outcome.report.checks:
        name = check.check if check.check in GROUPS else "internal"
        groups.setdefault(name, []).append(check.as_dict())
    return {
        "verdict": outcome.verdict,
        "verdict_class": _OUTCOME_CLASS[outcome.verdict],
        "failures": [c.as_dict() for c in outcome.report.failures() + outcome.report.unchecked()][
            :5
        ],
        "warnings": [c.as_dict() for c in outcome.report.warnings()][:5],
        "groups": [(name, groups[name]) for name in GROUPS if name in groups],
        "checks": [c.as_dict() for c in outcome.report.checks],
        "summary": outcome.summary or None,
        "format": outcome.submission.format,
        "source": outcome.submission.source,
        "label": outcome.submission.label,
        "report_json": report_json(outcome),
        "credential_json": credential_json(outcome),
    }


def _presentation_view(outcome: PresentationOutcome) -> dict[str, Any]:
    checks = [c.as_dict() for c in outcome.report.checks]
    # Checks (their code picks the page language's message), a credential's own first
    # failure named by the credential it belongs to.
    failures = [c.as_dict() for c in outcome.report.failures() + outcome.report.unchecked()]
    for index, item in enumerate(outcome.credentials, start=1):
        if not item.report.verified:
            name = (item.summary or {}).get("name") or str(index)
            first = (item.report.failures() or item.report.unchecked())[0]
            failures.append({**first.as_dict(), "credential": name})
    return {
        "verdict": outcome.verdict,
        "verdict_class": _OUTCOME_CLASS[outcome.verdict],
        "failures": failures[:5],
        "warnings": [c.as_dict() for c in outcome.report.warnings()][:5],
        "checks": checks,
        "signed": outcome.signed,
        "source": outcome.submission.source,
        "label": outcome.submission.label,
        "count": len(outcome.credentials),
        "credentials": [
            {**_result_view(item), "index": index}
            for index, item in enumerate(outcome.credentials, start=1)
        ],
        "report_json": json.dumps(outcome.as_dict(), indent=2, ensure_ascii=False),
    }


def _page_data(
    *,
    outcome: Outcome | PresentationOutcome | None = None,
    errors: dict[str, str] | None = None,
    url: str = "",
    refusal: str | None = None,
    refusal_message: str | None = None,
) -> dict[str, Any]:
    return {
        "result": _result_view(outcome) if isinstance(outcome, Outcome) else None,
        "presentation": _presentation_view(outcome)
        if isinstance(outcome, PresentationOutcome)
        else None,
        "errors": errors or {},
        "form_url": url,
        "refusal": refusal,
        "refusal_message": refusal_message,
    }


def _page(
    request: Request,
    *,
    status_code: int = 200,
    **data: Any,
) -> HTMLResponse:
    return render(
        request, "verify.html", status_code=status_code, headers=dict(PAGE_HEADERS), **data
    )


def _busy_page(request: Request, exc: VerifierBusy, url: str) -> HTMLResponse:
    return render(
        request,
        "verify.html",
        status_code=503,
        headers={**PAGE_HEADERS, "Retry-After": str(RETRY_AFTER_SECONDS)},
        **_page_data(refusal=exc.code, refusal_message=exc.message, url=url),
    )


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
async def verify_page(request: Request, ctx: ContextDep, url: str | None = None) -> HTMLResponse:
    """The verify form; with ``?url=…`` (a credential page's or QR code's link) the result."""
    if url is None or not url.strip():
        return _page(request, **_page_data())
    limits = Limits.from_settings(ctx.settings)
    fetcher = shared_fetcher(ctx)
    registry = trust_registry(request)
    try:
        outcome = await verify_pool(request).run(
            lambda: _verify(
                ctx,
                registry,
                lambda: (read_url(url, limits, fetcher, local=local_credentials(ctx)), None),
            )
        )
    except VerifierBusy as exc:
        return _busy_page(request, exc, url)
    except VerifyInputError as exc:
        return _page(request, status_code=400, **_page_data(errors={"url": exc.message}, url=url))
    return _page(
        request,
        status_code=200 if _verified(outcome) else 422,
        **_page_data(outcome=outcome, url=url),
    )


@router.post(PAGE, response_class=HTMLResponse, include_in_schema=False)
async def verify_form(request: Request, ctx: ContextDep) -> HTMLResponse:
    """The form's POST (multipart, so it works without JavaScript)."""
    limits = Limits.from_settings(ctx.settings)
    errors: dict[str, str] = {}
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=limits.max_json_bytes)
    except StarletteHTTPException as exc:
        message = f"Could not verify because the form could not be read ({exc.detail})."
        return _page(request, status_code=400, **_page_data(errors={"credential": message}))
    try:
        upload = _form_file(form)
        text = _form_text(form, "credential")
        url = (_form_text(form, "url") or "").strip()
        raw_email = _form_text(form, "email")
        data: bytes | None = None
        label = ""
        if upload is not None:
            try:
                data = await _file_bytes(upload, limits.max_file_bytes)
                label = (upload.filename or "")[:200]
            except VerifyInputError as exc:
                errors["file"] = exc.message
    finally:
        await form.close()
    try:
        email = check_email(raw_email)
    except VerifyInputError as exc:
        errors["email"] = exc.message
        email = None
    given = [
        name for name, value in (("credential", text), ("file", upload), ("url", url)) if value
    ]
    if not given and not errors:
        errors["credential"] = (
            "Could not verify because there was nothing to verify: paste a credential, "
            "choose a file or enter a URL."
        )
    elif len(given) > 1:
        for name in given:
            errors[name] = (
                "Could not verify because more than one input was given: use only one of "
                "paste, file or URL."
            )
    if errors:
        return _page(request, status_code=400, **_page_data(errors=errors, url=url))
    fetcher = shared_fetcher(ctx)
    registry = trust_registry(request)

    def read() -> tuple[Submission, str | None]:
        if data is not None:
            return read_bytes(data, limits, label=label), email
        if text is not None:
            return read_text(text, limits), email
        return read_url(url, limits, fetcher, local=local_credentials(ctx)), email

    try:
        outcome = await verify_pool(request).run(lambda: _verify(ctx, registry, read))
    except VerifierBusy as exc:
        return _busy_page(request, exc, url)
    except VerifyInputError as exc:
        field = given[0]
        return _page(request, status_code=400, **_page_data(errors={field: exc.message}, url=url))
    return _page(
        request,
        status_code=200 if _verified(outcome) else 422,
        **_page_data(outcome=outcome, url=url),
    )
