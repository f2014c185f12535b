"""Portfolio pages (``/p/{handle}``), their QR codes and photo, and the API to set them up.

The issuer sets the portfolio up on the candidate's behalf with the issuer's token
(``GET``/``PATCH /api/v1/candidates/{id}/portfolio``, ``PUT``/``DELETE …/portfolio/photo``);
candidates do the same at ``/me``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from badgeworks.services.context import ServiceContext
from badgeworks.services.portfolio import pages, portrait, presentation, sharing, store
from badgeworks.services.portfolio.models import PortfolioPublic, PortfolioUpdate
from badgeworks.services.portfolio.page_memo import Freshness
from badgeworks.services.programs import candidates
from badgeworks.services.verification.pipeline import MAX_PRESENTED_CREDENTIALS
from badgeworks.web.body import read_upload
from badgeworks.web.deps import ContextDep, Id, PrincipalDep, SessionDep, in_own_session
from badgeworks.web.i18n import Translator
from badgeworks.web.page_memo import memoized
from badgeworks.web.pages import page_language, render
from badgeworks.web.routes.downloads import Scale, add_qr_routes, qr_response

router = APIRouter(tags=["portfolio"])

# Anything longer cannot be a handle; refuse it before touching the database.
Handle = Annotated[str, Path(max_length=200)]


@router.get("/p/{handle}", response_class=HTMLResponse, include_in_schema=False)
async def portfolio_page(handle: Handle, request: Request, ctx: ContextDep) -> Response:
    """A candidate's portfolio: the credentials and work they choose to show.

    An anonymous view is answered from the kept finished page while nothing it shows has
    changed (``web/page_memo.py``). The page is read in one worker-thread call, which
    opens and closes its own session (a ``SessionDep`` and a plain ``def`` would cost
    three hand-offs between the event loop and the threads per request).
    """
    return await run_in_threadpool(
        in_own_session,
        request,
        lambda session: memoized(
            request, session, ctx, lambda: _portfolio_page(handle, request, session, ctx)
        ),
    )


def _portfolio_page(
    handle: str, request: Request, session: SessionDep, ctx: ServiceContext
) -> tuple[Response, Freshness]:
    row = store.find_by_handle(session, handle)
    lang = page_language(request)
    data = pages.portfolio_page_data(session, ctx, row, lang=lang)
    t = Translator(lang)
    p = data["portfolio"]
    first = data["cards"][0] if data["cards"] else None
    title = (
        t("portfolio.og_portfolio_title", name=p["name"])
        if p["name"]
        else t("portfolio.og_portfolio_title_anonymous")
    )
    # The candidate's photo previews the link when the page shows it; else the first badge.
    photo = p["photo"]
    meta = sharing.open_graph(
        title=title,
        description=p["headline"]
        or t.plural("portfolio.og_portfolio_description", len(data["cards"])),
        url=p["url"],
        image=photo["url"] if photo else first["og_image"] if first else None,
        image_alt=photo["alt"] if photo else first["image_alt"] if first else None,
        locale=lang,
    )
    headers = {"Cache-Control": "no-cache"}
    if data["noindex"]:
        headers["X-Robots-Tag"] = "noindex"
    page = render(request, "portfolio.html", headers=headers, meta=meta, page_title=title, **data)
    return page, data["freshness"]


@router.get("/p/{handle}/photo", response_class=Response, include_in_schema=False)
def portfolio_photo(handle: Handle, session: SessionDep, ctx: ContextDep) -> Response:
    """The candidate's photo (a JPEG without metadata), only while the page shows it.

    A hidden portfolio, a portfolio that does not show the name (the photo is a personal
    detail too) and one without a photo all answer 404. Never cached without asking again,
    so a removed photo disappears at once.
    """
    row = store.find_by_handle(session, handle)
    data, media_type = portrait.served_photo(ctx, row)
    headers = {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": f'inline; filename="{row.handle}.jpg"',
    }
    if row.visibility != "public":
        headers["X-Robots-Tag"] = "noindex"
    return Response(data, media_type=media_type, headers=headers)


def _portfolio_qr(kind: str) -> Callable[..., Response]:
    def portfolio_qr(
        handle: Handle, session: SessionDep, ctx: ContextDep, scale: Scale = None
    ) -> Response:
        """A QR code to the portfolio (``?scale=`` pixels per module, up to 40)."""
        row = store.find_by_handle(session, handle)
        url = store.portfolio_url(ctx, row)
        return qr_response(url, kind, scale, url, f"qr-{row.handle}")

    return portfolio_qr


add_qr_routes(router, "/p/{handle}", "portfolio_qr", _portfolio_qr, include_in_schema=False)


@router.get("/p/{handle}/presentation.json", response_class=Response, include_in_schema=False)
def portfolio_presentation(
    handle: Handle,
    session: SessionDep,
    credential: Annotated[
        list[Annotated[str, Query(max_length=64)]] | None,
        Query(max_length=MAX_PRESENTED_CREDENTIALS),
    ] = None,
) -> Response:
    """The portfolio's listed credentials as one unsigned Verifiable Presentation.

    ``?credential=<id>`` (repeatable) picks a subset of the listed credentials; an id the
    portfolio does not list is 404. The documents are the stored signed JSON, unchanged;
    ``holder`` is the candidate's DID when they have one. The public verifier accepts it.
    """
    row = store.find_by_handle(session, handle)
    vp = presentation.for_portfolio(session, row, credential)
    return Response(
        json.dumps(vp, ensure_ascii=False, indent=2),
        media_type="application/vp+ld+json",
        headers={
            "Content-Disposition": f'attachment; filename="portfolio-{row.handle}.json"',
            "Cache-Control": "no-cache",
            "X-Robots-Tag": "noindex",
        },
    )


@router.get("/api/v1/candidates/{candidate_id}/portfolio", response_model=PortfolioPublic)
def get_portfolio(
    candidate_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> PortfolioPublic:
    """The candidate's portfolio settings. A read writes nothing: until the first ``PATCH``
    makes the portfolio, these are the defaults, and the handle shown is not reserved."""
    candidate = candidates.get_candidate(session, who.issuer_id, candidate_id)
    row = store.get_or_create(session, candidate, create=False)
    return store.to_public(session, ctx, candidate, row)


@router.patch("/api/v1/candidates/{candidate_id}/portfolio", response_model=PortfolioPublic)
def update_portfolio(
    candidate_id: Id,
    data: PortfolioUpdate,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> PortfolioPublic:
    """Set the handle, the page's visibility, name, headline and profile links (``links``,
    up to 5 ``{label, url}``: https: or mailto:), and each item's visibility."""
    candidate = candidates.get_candidate(session, who.issuer_id, candidate_id)
    row = store.update(session, candidate, data, actor=who.actor, now=ctx.clock())
    return store.to_public(session, ctx, candidate, row)


@router.put("/api/v1/candidates/{candidate_id}/portfolio/photo", response_model=PortfolioPublic)
def set_portfolio_photo(
    candidate_id: Id,
    file: Annotated[UploadFile, File(description="A PNG, JPEG or WebP image.")],
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
    caption: Annotated[
        str, Form(max_length=portrait.PHOTO_CAPTION_MAX, description="Alt text (required).")
    ] = "",
) -> PortfolioPublic:
    """Set the candidate's photo with its required alt text (``caption``).

    The image is re-encoded (at most 512 × 512, JPEG, no metadata: no EXIF, GPS, ICC
    profile or text) before it is stored; shown only while the portfolio shows the name.
    """
    candidate = candidates.get_candidate(session, who.issuer_id, candidate_id)
    data = read_upload(file, portrait.photo_max_bytes(ctx))
    row = portrait.set_photo(session, ctx, candidate, data, caption, actor=who.actor)
    return store.to_public(session, ctx, candidate, row)


@router.delete("/api/v1/candidates/{candidate_id}/portfolio/photo", response_model=PortfolioPublic)
def delete_portfolio_photo(
    candidate_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> PortfolioPublic:
    """Remove the candidate's photo (and its file). Without a photo, nothing changes."""
    candidate = candidates.get_candidate(session, who.issuer_id, candidate_id)
    row = portrait.remove_photo(session, ctx, candidate, actor=who.actor)
    return store.to_public(session, ctx, candidate, row)
