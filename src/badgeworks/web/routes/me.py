"""The candidate's own pages under ``/me``: magic-link sign-in, portfolio choices, export.

- ``GET``/``POST /me/sign-in``: the email form. The answer is the same whether or not the
  address has credentials here (no account enumeration).
- ``GET /me/link/<token>``: a confirm page (so mail scanners that prefetch links do not
  use them up); its ``POST`` uses the single-use link and starts a session. A used,
  expired or unknown link gets a 410 page.
- ``GET /me``: the candidate's choices; ``POST /me/portfolio`` saves them (profile links
  included) through the same ``services.portfolio.store.update`` the issuer API uses;
  ``POST /me/sign-out``.
- ``POST /me/photo/<candidate id>`` (multipart: ``file``, ``caption``) sets the photo, or
  only its alt text when no file is chosen; ``POST /me/photo/<candidate id>/delete``
  removes it; ``GET /me/photo/<candidate id>`` shows the candidate their own photo,
  whatever visitors may see.
- ``GET /me/export.zip``: every credential (exact stored JSON) and deliverable file.

The session cookie is HttpOnly, SameSite=Lax, path ``/me``, Secure over HTTPS. Every form
carries a CSRF token.

Asking for a link, and opening or using one, are rate limited per client address
(``services.candidate_access.SignInLimits``): beyond the limit a 429 page with
``Retry-After``, checked before anything else, so nothing is sent or written and the page
is the same whether or not the address is known. The client address is the connection's
(behind a proxy, uvicorn's ``--proxy-headers`` makes it the real one), as for the public
verifier and the console sign-in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import ValidationError
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.models import Candidate
from badgeworks.db.portfolio import Portfolio
from badgeworks.services.accounts import candidate_access as access
from badgeworks.services.accounts.candidate_access import SignedInCandidate
from badgeworks.services.errors import NotFoundError
from badgeworks.services.infra.rate_limit import Limiter, retry_after_header
from badgeworks.services.portfolio import photos, portrait, store
from badgeworks.services.portfolio.links import LINK_LABEL_MAX, LINK_URL_MAX, MAX_LINKS
from badgeworks.services.portfolio.models import PortfolioPublic, PortfolioUpdate
from badgeworks.web.deps import ContextDep, Id, SessionDep
from badgeworks.web.errors import status_for
from badgeworks.web.i18n import Translator
from badgeworks.web.limits import _size
from badgeworks.web.pages import page_language, render
from badgeworks.web.routes.double_submit import form_token, token_matches

router = APIRouter(tags=["candidate"], include_in_schema=False)

PREFIX = "/me"
COOKIE = "me_session"
SIGNIN_CSRF_COOKIE = "me_signin_csrf"
PRIVATE = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; form-action 'self'",
    "X-Robots-Tag": "noindex",
}
_GONE = {
    "candidate.link_used": "candidate.gone_used",
    "candidate.link_expired": "candidate.gone_expired",
    "candidate.link_unknown": "candidate.gone_unknown",
}
VISIBILITIES = ("public", "unlisted", "hidden")
#: The secret of a sign-in link, as it stands in the link's path.
LinkToken = Annotated[str, Path(max_length=200)]


def _secure(request: Request) -> bool:
    base: str = request.app.state.settings.base_url
    return base.startswith("https://") or request.url.scheme == "https"


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def _signed_in(request: Request, session: SessionDep, ctx: ContextDep) -> SignedInCandidate | None:
    return access.resume(session, ctx, request.cookies.get(COOKIE))


MaybeSignedIn = Annotated[SignedInCandidate | None, Depends(_signed_in)]


def _to_sign_in() -> Response:
    return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PRIVATE)


# ------------------------------------------------------------------------------ rate limits

_LIMITS_LOCK = threading.Lock()


def _limits(request: Request) -> access.SignInLimits:
    """The app's sign-in rate limits, built from its settings on first use."""
    state = request.app.state
    with _LIMITS_LOCK:
        limits = getattr(state, "candidate_limits", None)
        if limits is None:
            limits = access.SignInLimits.from_settings(
                state.settings, state.session_factory, state.ctx.clock
            )
            state.candidate_limits = limits
    assert isinstance(limits, access.SignInLimits)
    return limits


def _limited(
    request: Request, session: Session, bucket: Limiter, message_key: str, retry: str
) -> Response | None:
    """Spend one of the client's tokens in ``bucket``: None if allowed, else the 429 page.

    A limit kept in the database counts on the request's own ``session``, before the
    route has used it."""
    wait = bucket.take(request.client.host if request.client else None, session)
    if wait is None:
        return None
    seconds = retry_after_header(wait)
    return render(
        request,
        "me_limited.html",
        status_code=429,
        headers={**PRIVATE, "Retry-After": seconds},
        message_key=message_key,
        wait_seconds=int(seconds),
        retry_href=retry,
    )


def _link_limited(request: Request, session: Session, token: str) -> Response | None:
    """Opening or using a sign-in link spends a token of the ``redeem`` limit."""
    return _limited(
        request,
        session,
        _limits(request).redeem,
        "candidate.limited_link",
        f"{PREFIX}/link/{token}",
    )


# ------------------------------------------------------------------------------ sign-in


def _sign_in_page(request: Request, *, sent: bool = False, status_code: int = 200) -> Response:
    token = form_token(request, SIGNIN_CSRF_COOKIE)
    response = render(
        request,
        "me_sign_in.html",
        status_code=status_code,
        headers=PRIVATE,
        csrf_token=token,
        sent=sent,
    )
    _set_cookie(request, response, SIGNIN_CSRF_COOKIE, token, 3600)
    return response


@router.get("/me/sign-in")
def sign_in_form(request: Request) -> Response:
    """The email form."""
    return _sign_in_page(request)


@router.post("/me/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    email: Annotated[str, Form(max_length=320)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Queue a link if the address is known; the answer is the same either way."""
    limited = _limited(
        request, session, _limits(request).links, "candidate.limited_sign_in", f"{PREFIX}/sign-in"
    )
    if limited is not None:
        return limited
    if not token_matches(request, SIGNIN_CSRF_COOKIE, csrf_token):
        return _error(request, "candidate.csrf", 403)
    access.request_link(session, ctx, email)
    return _sign_in_page(request, sent=True)


def _error(request: Request, code: str, status_code: int) -> Response:
    key = _GONE.get(code, "candidate.error")
    return render(
        request,
        "me_gone.html",
        status_code=status_code,
        headers=PRIVATE,
        message_key=key,
        code=code,
    )


@router.get("/me/link/{token}")
def link_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    token: LinkToken,
) -> Response:
    """Confirm before using the single-use link."""
    limited = _link_limited(request, session, token)
    if limited is not None:
        return limited
    try:
        access.check_link(session, ctx, token)
    except access.LinkGone as exc:
        return _error(request, exc.code, status_for(exc))
    return render(
        request,
        "me_link.html",
        headers=PRIVATE,
        action=f"{PREFIX}/link/{token}",
        nonce=access.link_nonce(ctx, token),
    )


@router.post("/me/link/{token}")
def use_link(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    token: LinkToken,
    nonce: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Use the link once, start a session and go to ``/me``."""
    limited = _link_limited(request, session, token)
    if limited is not None:
        return limited
    try:
        cookie, _csrf = access.redeem_link(session, ctx, token, nonce)
    except BadgeworksError as exc:  # a used or expired link (410), a forged form (403)
        return _error(request, exc.code, status_for(exc))
    response = RedirectResponse(PREFIX, status_code=303, headers=PRIVATE)
    _set_cookie(request, response, COOKIE, cookie, int(access.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/me/sign-out")
def sign_out(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    who: MaybeSignedIn,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """End the session server-side and clear the cookie."""
    if who is not None:
        try:
            access.check_csrf(who, csrf_token)
        except BadgeworksError as exc:
            return _error(request, exc.code, status_for(exc))
        access.end(session, ctx, who)
    response = _to_sign_in()
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# ------------------------------------------------------------------------------ choices


#: The size of the photo preview at /me, in CSS pixels (its longer side).
PREVIEW_SIDE = 96
#: What the "saved" note says, by ``?what=`` after a redirect.
_SAVED = {"photo": "candidate.photo_saved", "photo_removed": "candidate.photo_removed"}
#: The portfolio form's refusals by the field pydantic names (the first one refused).
_FIELD_ERRORS = {
    "visibility": "candidate.error_visibility",
    "headline": "candidate.error_headline",
    "credentials": "candidate.error_items",
    "deliverables": "candidate.error_items",
}
#: The portfolio form's refusals by error code: the message, and the field at fault.
_CODE_ERRORS = {
    "portfolio.handle_invalid": ("candidate.error_handle_invalid", "handle"),
    "portfolio.handle_reserved": ("candidate.error_handle_reserved", "handle"),
    "portfolio.handle_abusive": ("candidate.error_handle_abusive", "handle"),
    "portfolio.handle_taken": ("candidate.error_handle_taken", "handle"),
}
#: The longest headline (``PortfolioUpdate.headline``).
HEADLINE_MAX = 200
#: Localised messages for the photo's error codes (the service's English otherwise).
_PHOTO_ERRORS = {
    "portfolio.photo_type": "candidate.photo_error_type",
    "input.too_large": "candidate.photo_error_too_large",
    "portfolio.photo_too_many_pixels": "candidate.photo_error_pixels",
    "portfolio.photo_unreadable": "candidate.photo_error_unreadable",
    "portfolio.photo_truncated": "candidate.photo_error_truncated",
    "portfolio.photo_alt_required": "candidate.photo_error_alt",
    "portfolio.photo_alt_too_long": "candidate.photo_error_alt_long",
    "portfolio.photo_alt_invalid": "candidate.photo_error_alt_invalid",
    "portfolio.no_photo": "candidate.photo_error_missing",
    "input.empty": "candidate.photo_error_missing",
}


def _link_rows(links: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """Exactly ``MAX_LINKS`` rows for the form: the links, then empty rows."""
    rows = [{"label": x.get("label", ""), "url": x.get("url", "")} for x in links or []]
    rows = rows[:MAX_LINKS]
    return rows + [{"label": "", "url": ""}] * (MAX_LINKS - len(rows))


def _preview(ctx: ContextDep, row: Portfolio, candidate_id: int) -> dict[str, Any] | None:
    """The candidate's own photo as /me shows it (whatever visitors may see)."""
    data = portrait.photo_bytes(ctx, row)
    size = photos.dimensions(data) if data else None
    if size is None:
        return None
    scale = PREVIEW_SIDE / max(size)
    return {
        "url": f"{PREFIX}/photo/{candidate_id}",
        "alt": row.photo_caption or "",
        "width": max(1, round(size[0] * scale)),
        "height": max(1, round(size[1] * scale)),
    }


#: The portfolio form's fields as a refused save keeps them (``_typed``).
Draft = dict[str, Any]


def _typed(values: dict[str, str], links: list[dict[str, str]]) -> Draft:
    """Everything the candidate typed into the portfolio form, to show again after a
    refused save: nothing they chose is lost because one field was wrong."""
    return {
        "handle": values.get("handle", ""),
        "visibility": values.get("visibility", ""),
        "show_name": values.get("show_name") == "on",
        "headline": values.get("headline", ""),
        "credentials": {
            k.removeprefix("credential:"): v
            for k, v in values.items()
            if k.startswith("credential:")
        },
        "deliverables": {
            k.removeprefix("deliverable:"): v
            for k, v in values.items()
            if k.startswith("deliverable:")
        },
        "links": links,
    }


def _form(public: PortfolioPublic, draft: Draft | None) -> Draft:
    """What the portfolio form shows: the saved choices, with what was typed over them."""
    saved: Draft = {
        "handle": public.handle,
        "visibility": public.visibility,
        "show_name": public.show_name,
        "headline": public.headline or "",
        "credentials": dict(public.credentials),
        "deliverables": dict(public.deliverables),
    }
    if draft is None:
        return saved
    return {
        **saved,
        **{k: draft[k] for k in ("handle", "visibility", "show_name", "headline")},
        # Only the items the form has; a forged name is not shown back.
        "credentials": {k: draft["credentials"].get(k, v) for k, v in saved["credentials"].items()},
        "deliverables": {
            k: draft["deliverables"].get(k, v) for k, v in saved["deliverables"].items()
        },
    }


def _portfolios(
    session: SessionDep,
    ctx: ContextDep,
    who: SignedInCandidate,
    drafts: dict[int, Draft] | None = None,
) -> list[dict[str, Any]]:
    out = []
    for candidate in access.candidates_for(session, who.email):
        cid = candidate.id or 0
        row = store.get_or_create(session, candidate)
        public = store.to_public(session, ctx, candidate, row)
        draft = (drafts or {}).get(cid)
        out.append(
            {
                "candidate_id": candidate.id,
                "name": candidate.name,
                "program": access.issuer_name(session, candidate),
                "p": public,
                "form": _form(public, draft),
                "photo": _preview(ctx, row, cid),
                # After a refused save, the rows as typed (so nothing has to be typed again).
                "link_rows": _link_rows(
                    draft["links"] if draft else [link.model_dump() for link in public.links]
                ),
                "credentials": access.own_credentials(session, ctx.settings.base_url, cid),
                "credential_names": access.credential_names(session, cid),
                "deliverable_names": access.deliverable_names(session, cid),
            }
        )
    return out


def _me_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    who: SignedInCandidate,
    *,
    errors: dict[int, str] | None = None,
    error_fields: dict[int, str] | None = None,
    saved: int | None = None,
    saved_key: str = "candidate.saved",
    drafts: dict[int, Draft] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "me.html",
        status_code=status_code,
        headers=PRIVATE,
        email=who.email,
        csrf_token=who.csrf_token,
        portfolios=_portfolios(session, ctx, who, drafts),
        visibilities=VISIBILITIES,
        errors=errors or {},
        error_fields=error_fields or {},
        saved=saved,
        saved_key=saved_key,
        photo_limit=_size(portrait.photo_max_bytes(ctx), page_language(request)),
        link_label_max=LINK_LABEL_MAX,
        link_url_max=LINK_URL_MAX,
        caption_max=portrait.PHOTO_CAPTION_MAX,
    )


@router.get("/me")
def me(request: Request, session: SessionDep, ctx: ContextDep, who: MaybeSignedIn) -> Response:
    """The candidate's choices for each of their portfolios."""
    if who is None:
        return _to_sign_in()
    what = request.query_params.get("what") or ""
    return _me_page(
        request,
        session,
        ctx,
        who,
        saved=_int(request.query_params.get("saved")),
        saved_key=_SAVED.get(what, "candidate.saved"),
    )


def _text_fields(form: FormData) -> dict[str, str]:
    """The posted form's text fields (files left out)."""
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@router.post("/me/portfolio")
async def save_portfolio(
    request: Request, session: SessionDep, ctx: ContextDep, who: MaybeSignedIn
) -> Response:
    """Save one portfolio's choices (only one of the signed-in candidate's own)."""
    if who is None:
        return _to_sign_in()
    form = await request.form(max_files=0, max_fields=5000)
    values = _text_fields(form)
    candidate = _own(request, session, who, _int(values.get("candidate_id")), values)
    if isinstance(candidate, Response):
        return candidate
    candidate_id = candidate.id or 0
    rows, row_numbers = _submitted_links(values)
    data: dict[str, Any] = {
        "handle": values.get("handle", "").strip() or None,
        "visibility": values.get("visibility") or None,
        "show_name": values.get("show_name") == "on",
        "headline": values.get("headline", ""),
        "credentials": {
            k.removeprefix("credential:"): v
            for k, v in values.items()
            if k.startswith("credential:")
        },
        "deliverables": {
            k.removeprefix("deliverable:"): v
            for k, v in values.items()
            if k.startswith("deliverable:")
        },
    }
    if any(k.startswith(("link_label_", "link_url_")) for k in values):
        # Only a form with link rows changes the links (empty rows remove them).
        data["links"] = rows
    drafts = {candidate_id: _typed(values, rows)}
    t = Translator(page_language(request))
    try:
        update = PortfolioUpdate.model_validate({k: v for k, v in data.items() if v is not None})
        store.update(session, candidate, update, actor=who.actor, now=ctx.clock())
    except ValidationError as exc:
        loc = exc.errors()[0].get("loc", ())
        field = str(loc[0]) if loc else ""
        if field == "links":
            message = _link_error(t, loc, row_numbers)
        else:
            message = t(_FIELD_ERRORS.get(field, "candidate.error_form"), max=HEADLINE_MAX)
        return _me_page(
            request,
            session,
            ctx,
            who,
            errors={candidate_id: message},
            error_fields={candidate_id: field},
            drafts=drafts,
            status_code=422,
        )
    except BadgeworksError as exc:
        session.rollback()
        key, field = _CODE_ERRORS.get(exc.code, (None, ""))
        handle = str(data.get("handle") or "").strip().lower()[:40]
        message = t(key, handle=handle) if key else exc.message
        return _me_page(
            request,
            session,
            ctx,
            who,
            errors={candidate_id: message},
            error_fields={candidate_id: field},
            drafts=drafts,
            status_code=status_for(exc),
        )
    return RedirectResponse(f"{PREFIX}?saved={candidate_id}", status_code=303, headers=PRIVATE)


def _submitted_links(values: dict[str, str]) -> tuple[list[dict[str, str]], list[int]]:
    """The link rows of the form (``link_label_<n>``, ``link_url_<n>``), empty ones left out,
    in row order; and each kept row's number (1-based), for error messages."""
    numbers = sorted(
        {
            int(k.rsplit("_", 1)[1])
            for k in values
            if k.startswith(("link_label_", "link_url_"))
            and k.rsplit("_", 1)[1].isdigit()
            and len(k.rsplit("_", 1)[1]) < 4
        }
    )
    rows: list[dict[str, str]] = []
    kept: list[int] = []
    for n in numbers:
        label = values.get(f"link_label_{n}", "").strip()
        url = values.get(f"link_url_{n}", "").strip()
        if label or url:
            rows.append({"label": label, "url": url})
            kept.append(n + 1)
    return rows, kept


def _link_error(t: Translator, loc: tuple[Any, ...], row_numbers: list[int]) -> str:
    """A refused link, said once in the page's language: which row, and which field."""
    if len(loc) < 3 or not isinstance(loc[1], int) or loc[1] >= len(row_numbers):
        return t("candidate.link_error_count", max=MAX_LINKS)
    n = row_numbers[loc[1]]
    if loc[2] == "label":
        return t("candidate.link_error_label", n=n, max=LINK_LABEL_MAX)
    return t("candidate.link_error_url", n=n, max=LINK_URL_MAX)


# ------------------------------------------------------------------------------ photo


def _own(
    request: Request,
    session: SessionDep,
    who: SignedInCandidate,
    candidate_id: int | None,
    values: dict[str, str],
) -> Candidate | Response:
    """The signed-in candidate's own row ``candidate_id``, or the error page to answer: a
    form without the session's CSRF token first, then a candidate that is not theirs."""
    try:
        access.check_csrf(who, values.get("csrf_token"))
    except BadgeworksError as exc:
        return _error(request, exc.code, status_for(exc))
    try:
        if candidate_id is None:
            raise NotFoundError("no candidate chosen", code="candidate.not_yours")
        return access.own_candidate(session, who, candidate_id)
    except NotFoundError as exc:
        return _error(request, exc.code, status_for(exc))


@router.post("/me/photo/{candidate_id}")
async def save_photo(
    request: Request, session: SessionDep, ctx: ContextDep, who: MaybeSignedIn, candidate_id: Id
) -> Response:
    """Set the photo and its alt text, or only the alt text when no file is chosen."""
    if who is None:
        return _to_sign_in()
    form = await request.form(max_files=1, max_fields=10)
    try:
        values = _text_fields(form)
        candidate = _own(request, session, who, candidate_id, values)
        if isinstance(candidate, Response):
            return candidate
        cid = candidate.id or 0
        upload = form.get("file")
        data = b""
        if isinstance(upload, UploadFile):
            data = await upload.read(portrait.photo_max_bytes(ctx) + 1)
        caption = values.get("caption", "")
        try:
            if data:
                portrait.set_photo(session, ctx, candidate, data, caption, actor=who.actor)
            else:
                portrait.set_photo_caption(
                    session, candidate, caption, actor=who.actor, now=ctx.clock()
                )
        except BadgeworksError as exc:
            session.rollback()
            return _me_page(
                request,
                session,
                ctx,
                who,
                errors={cid: _photo_message(request, ctx, exc)},
                status_code=status_for(exc),
            )
        return RedirectResponse(
            f"{PREFIX}?saved={cid}&what=photo", status_code=303, headers=PRIVATE
        )
    finally:
        await form.close()


def _photo_message(request: Request, ctx: ContextDep, exc: BadgeworksError) -> str:
    """The refused photo's reason in the page's language (the service's words otherwise)."""
    key = _PHOTO_ERRORS.get(exc.code)
    if key is None:
        return exc.message
    lang = page_language(request)
    return Translator(lang)(
        key,
        size=_size(portrait.photo_max_bytes(ctx), lang),
        megapixels=photos.MAX_PIXELS // 1_000_000,
        max=portrait.PHOTO_CAPTION_MAX,
    )


@router.post("/me/photo/{candidate_id}/delete")
async def delete_photo(
    request: Request, session: SessionDep, ctx: ContextDep, who: MaybeSignedIn, candidate_id: Id
) -> Response:
    """Remove the photo (its file is deleted)."""
    if who is None:
        return _to_sign_in()
    form = await request.form(max_files=0, max_fields=10)
    values = _text_fields(form)
    candidate = _own(request, session, who, candidate_id, values)
    if isinstance(candidate, Response):
        return candidate
    portrait.remove_photo(session, ctx, candidate, actor=who.actor)
    return RedirectResponse(
        f"{PREFIX}?saved={candidate.id}&what=photo_removed", status_code=303, headers=PRIVATE
    )


@router.get("/me/photo/{candidate_id}")
def own_photo(
    request: Request, session: SessionDep, ctx: ContextDep, who: MaybeSignedIn, candidate_id: Id
) -> Response:
    """The signed-in candidate's own photo, shown at /me even while visitors cannot see it."""
    if who is None:
        return _to_sign_in()
    try:
        candidate = access.own_candidate(session, who, candidate_id)
    except NotFoundError as exc:
        return _error(request, exc.code, status_for(exc))
    row = store.get_or_create(session, candidate, create=False)
    data = portrait.photo_bytes(ctx, row)
    if data is None:
        return _error(request, "portfolio.photo_not_found", 404)
    return Response(
        data,
        media_type=photos.MEDIA_TYPE,  # only our own re-encoded JPEGs are stored
        headers={**PRIVATE, "X-Content-Type-Options": "nosniff"},
    )


# ------------------------------------------------------------------------------ export


#: The export is streamed in pieces of this size.
_EXPORT_CHUNK = 64 * 1024


@router.get("/me/export.zip")
def export(request: Request, session: SessionDep, ctx: ContextDep, who: MaybeSignedIn) -> Response:
    """Everything the candidate holds: credentials (exact JSON) and deliverable files."""
    if who is None:
        return _to_sign_in()
    try:
        handle = access.export_zip_file(session, ctx, who)
    except access.ExportTooLarge as exc:
        return _error(request, exc.code, status_for(exc))
    size = handle.seek(0, 2)
    handle.seek(0)

    def chunks() -> Iterator[bytes]:
        # Sent as it is read (Starlette iterates a sync iterator in its thread pool).
        with handle:
            while chunk := handle.read(_EXPORT_CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        # Also closed (the temporary file removed) when the client hangs up mid-way.
        background=BackgroundTask(handle.close),
        media_type="application/zip",
        headers={
            **PRIVATE,
            "Content-Disposition": 'attachment; filename="badgeworks-export.zip"',
            "Content-Length": str(size),
        },
    )
