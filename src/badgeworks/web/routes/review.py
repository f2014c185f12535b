"""The mentor's review pages: ``/review/<token>`` (no account, no JavaScript needed).

``GET`` shows the candidate, the project, its deliverables and the achievement's rubric;
``POST`` signs the review (one request); ``POST …/upload`` accepts an endorsement the
endorser signed with their own DID; ``POST …/withdraw`` withdraws an endorsement through a
withdrawal link. Each form carries a nonce bound to the link's token
(CSRF). Browsers get HTML pages for every outcome (410 for a used, expired or revoked
link); other clients get the API's JSON error shape. These are pages, not API, so they
are left out of the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.datastructures import UploadFile

from badgeworks.core.errors import BadgeworksError, InputError
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.endorsements.workflow import MAX_UPLOAD
from badgeworks.services.errors import NotFoundError, ValidationFailed
from badgeworks.web.deps import ContextDep, SessionDep
from badgeworks.web.errors import error_response, public_message, status_for, wants_html
from badgeworks.web.pages import render

router = APIRouter(tags=["review"], include_in_schema=False)

#: The largest form accepted (a signed endorsement plus the other fields).
MAX_FORM = MAX_UPLOAD + 64 * 1024
#: The review link is a secret: never send it in a Referer, never cache or frame it.
PRIVATE = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; form-action 'self'",
}
_GONE_KEYS = {
    "review.used": ("mentor.gone_used_title", "mentor.gone_used"),
    "review.expired": ("mentor.gone_expired_title", "mentor.gone_expired"),
    "review.revoked": ("mentor.gone_revoked_title", "mentor.gone_revoked"),
}


@dataclass
class ReviewForm:
    """What the browser sent, as plain values."""

    nonce: str | None = None
    comment: str = ""
    ratings: dict[str, str] = field(default_factory=dict)
    skills: list[int] = field(default_factory=list)
    endorsement: str = ""
    reason: str = ""
    problems: list[str] = field(default_factory=list)


def _error(request: Request, exc: BadgeworksError) -> Response:
    status = status_for(exc)
    if not wants_html(request):
        return error_response(status, exc.code, public_message(exc), headers=PRIVATE)
    if exc.code in _GONE_KEYS:
        title, text = _GONE_KEYS[exc.code]
    elif isinstance(exc, NotFoundError):
        title, text = "mentor.not_found_title", "mentor.not_found"
    else:
        title, text = "mentor.error_title", "mentor.error"
    return render(
        request,
        "mentor_gone.html",
        status_code=status,
        headers=PRIVATE,
        title_key=title,
        message_key=text,
        code=exc.code,
    )


def _page(
    request: Request,
    ctx: ServiceContext,
    token: str,
    view: dict[str, Any],
    *,
    values: ReviewForm | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "mentor_withdraw.html" if view.get("withdraw") else "mentor_review.html",
        status_code=status_code,
        headers=PRIVATE,
        v=view,
        nonce=endorsements.form_nonce(ctx, token),
        action=f"/review/{token}",
        upload_action=f"/review/{token}/upload",
        withdraw_action=f"/review/{token}/withdraw",
        values=values or ReviewForm(),
        errors=errors or [],
    )


@router.get("/review/{token}")
def review_page(token: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """The review page behind a single-use link."""
    try:
        invite = endorsements.open_invite(session, ctx, token)
        view = endorsements.review_view(session, ctx, invite)
    except BadgeworksError as exc:
        return _error(request, exc)
    return _page(request, ctx, token, view)


async def _read_form(request: Request) -> ReviewForm:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM:
        raise InputError(f"the form is larger than {MAX_FORM} bytes", code="input.too_large")
    try:
        form = await request.form(max_files=1, max_fields=300, max_part_size=MAX_FORM)
    except Exception:  # a malformed body of any kind is the sender's problem: a 400
        raise InputError("the form could not be read", code="input.bad_form") from None
    result = ReviewForm()
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(MAX_UPLOAD + 1)
                if len(data) > MAX_UPLOAD:
                    raise InputError(
                        f"the file is larger than {MAX_UPLOAD} bytes", code="input.too_large"
                    )
                if name in ("endorsement", "file"):
                    result.endorsement = data.decode("utf-8", "replace")
                continue
            if name == "nonce":
                result.nonce = value
            elif name == "comment":
                result.comment = value
            elif name == "reason":
                result.reason = value
            elif name == "endorsement":
                result.endorsement = result.endorsement or value
            elif name.startswith("rating.") and value:
                result.ratings[name.removeprefix("rating.")[:100]] = value
            elif name == "skill":
                if not value.isdigit() or len(value) > 4:
                    result.problems.append(f"{value!r:.40} is not a skill of this achievement")
                else:
                    result.skills.append(int(value))
    finally:
        await form.close()
    return result


#: What a posted review form leads to, worked out in a worker thread (the services are
#: synchronous): ``(request, session, ctx, token, form) -> response``.
FormAnswer = Callable[[Request, Any, ServiceContext, str, ReviewForm], Response]


async def _answer_form(
    request: Request, session: Any, ctx: ServiceContext, token: str, answer: FormAnswer
) -> Response:
    """Read the posted form, then ``answer`` it; a form that cannot be read is an error."""
    try:
        form = await _read_form(request)
    except BadgeworksError as exc:
        return _error(request, exc)
    return await run_in_threadpool(answer, request, session, ctx, token, form)


@router.post("/review/{token}")
async def submit_review(
    token: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """Sign the review: ratings, comment and vouched skills, in one request."""
    return await _answer_form(request, session, ctx, token, partial(_submit, is_upload=False))


@router.post("/review/{token}/upload")
async def upload_endorsement(
    token: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """Accept an endorsement signed by the endorser's own DID (verified first)."""
    return await _answer_form(request, session, ctx, token, partial(_submit, is_upload=True))


@router.post("/review/{token}/withdraw")
async def withdraw_endorsement(
    token: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """Withdraw an endorsement through a withdrawal link."""
    return await _answer_form(request, session, ctx, token, _withdraw)


def _open_with_nonce(session: Any, ctx: ServiceContext, token: str, form: ReviewForm) -> None:
    """The link is still open and the form carries its nonce (else a ``BadgeworksError``)."""
    endorsements.open_invite(session, ctx, token)
    endorsements.check_nonce(ctx, token, form.nonce)


def _endorsement_answer(
    request: Request, session: Any, ctx: ServiceContext, row: Any, *, page: str, status_code: int
) -> Response:
    """A browser goes to the endorsement's ``page``; another client gets it as JSON."""
    if wants_html(request):
        return RedirectResponse(page, status_code=303)
    return JSONResponse(
        jsonable_encoder(endorsements.endorsement_public(session, ctx, row)),
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _withdraw(
    request: Request, session: Any, ctx: ServiceContext, token: str, form: ReviewForm
) -> Response:
    try:
        _open_with_nonce(session, ctx, token, form)
        row = endorsements.withdraw_by_link(session, ctx, token, reason=form.reason)
    except BadgeworksError as exc:
        return _error(request, exc)
    return _endorsement_answer(
        request, session, ctx, row, page=f"/endorsements/{row.id}", status_code=200
    )


def _submit(
    request: Request,
    session: Any,
    ctx: ServiceContext,
    token: str,
    form: ReviewForm,
    *,
    is_upload: bool,
) -> Response:
    try:
        _open_with_nonce(session, ctx, token, form)
        if form.problems:
            raise ValidationFailed("; ".join(form.problems), code="review.unknown_skill")
        if is_upload:
            row = endorsements.upload(session, ctx, token, form.endorsement)
        else:
            row = endorsements.submit(
                session,
                ctx,
                token,
                ratings=form.ratings,
                comment=form.comment,
                skills=form.skills,
            )
    except ValidationFailed as exc:
        if not wants_html(request):
            return _error(request, exc)
        try:
            invite = endorsements.open_invite(session, ctx, token)
            view = endorsements.review_view(session, ctx, invite)
        except BadgeworksError as again:
            return _error(request, again)
        return _page(request, ctx, token, view, values=form, errors=[exc.message], status_code=422)
    except BadgeworksError as exc:
        return _error(request, exc)
    return _endorsement_answer(
        request, session, ctx, row, page=f"/endorsements/{row.id}?signed=1", status_code=201
    )
