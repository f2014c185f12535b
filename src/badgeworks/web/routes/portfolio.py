"""Portfolio pages (``/p/{handle}``), their QR codes, and the API to set them up.

Candidates have no accounts yet, so their issuer sets the portfolio up on their behalf
with the issuer's token (``GET``/``PATCH /api/v1/candidates/{id}/portfolio``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from badgeworks.core.presentation import create_presentation
from badgeworks.db.models import Candidate
from badgeworks.services import candidates, portfolio, sharing
from badgeworks.services.errors import NotFoundError
from badgeworks.services.portfolio import PortfolioPublic, PortfolioUpdate
from badgeworks.services.verification import MAX_PRESENTED_CREDENTIALS
from badgeworks.web.deps import ContextDep, Id, PrincipalDep, SessionDep
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import page_language, render
from badgeworks.web.routes.downloads import Scale, qr_response

router = APIRouter(tags=["portfolio"])

# Anything longer cannot be a handle; refuse it before touching the database.
Handle = Annotated[str, Path(max_length=200)]


@router.get("/p/{handle}", response_class=HTMLResponse, include_in_schema=False)
def portfolio_page(
    handle: Handle, request: Request, session: SessionDep, ctx: ContextDep
) -> HTMLResponse:
    """A candidate's portfolio: the credentials and work they choose to show."""
    row = portfolio.find_by_handle(session, handle)
    lang = page_language(request)
    data = portfolio.portfolio_page_data(session, ctx, row, lang=lang)
    t = Translator(lang)
    p = data["portfolio"]
    first = data["cards"][0] if data["cards"] else None
    title = (
        t("portfolio.og_portfolio_title", name=p["name"])
        if p["name"]
        else t("portfolio.og_portfolio_title_anonymous")
    )
    meta = sharing.open_graph(
        title=title,
        description=p["headline"]
        or t("portfolio.og_portfolio_description", count=len(data["cards"])),
        url=p["url"],
        image=first["og_image"] if first else None,
        image_alt=first["image_alt"] if first else None,
        locale=lang,
    )
    headers = {"Cache-Control": "no-cache"}
    if data["noindex"]:
        headers["X-Robots-Tag"] = "noindex"
    return render(request, "portfolio.html", headers=headers, meta=meta, page_title=title, **data)


@router.get("/p/{handle}/qr.png", response_class=Response, include_in_schema=False)
def portfolio_qr_png(
    handle: Handle, session: SessionDep, ctx: ContextDep, scale: Scale = None
) -> Response:
    """A QR code to the portfolio, PNG (``?scale=`` pixels per module, up to 40)."""
    row = portfolio.find_by_handle(session, handle)
    url = portfolio.portfolio_url(ctx, row)
    return qr_response(url, "png", scale, url, f"qr-{row.handle}")


@router.get("/p/{handle}/qr.svg", response_class=Response, include_in_schema=False)
def portfolio_qr_svg(
    handle: Handle, session: SessionDep, ctx: ContextDep, scale: Scale = None
) -> Response:
    """A QR code to the portfolio, SVG."""
    row = portfolio.find_by_handle(session, handle)
    url = portfolio.portfolio_url(ctx, row)
    return qr_response(url, "svg", scale, url, f"qr-{row.handle}")


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
    row = portfolio.find_by_handle(session, handle)
    choices = portfolio.item_visibility(session, row.candidate_id)
    listed = [
        c
        for c in portfolio.candidate_credentials(session, row.candidate_id)
        if choices.get(("credential", c.id), "public") == "public"
    ]
    if credential:
        by_id = {c.id: c for c in listed}
        missing = [i for i in credential if i not in by_id]
        if missing:
            raise NotFoundError(
                f"this portfolio shows no credential {missing[0]!r:.80}",
                code="credential.not_found",
            )
        listed = [by_id[i] for i in dict.fromkeys(credential)]
    documents: list[Any] = [json.loads(c.document) for c in listed]
    candidate = session.get(Candidate, row.candidate_id)
    vp = create_presentation(documents, holder=candidate.did if candidate else None)
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
    row = portfolio.get_or_create(session, candidate, create=False)
    return portfolio.to_public(session, ctx, candidate, row)


@router.patch("/api/v1/candidates/{candidate_id}/portfolio", response_model=PortfolioPublic)
def update_portfolio(
    candidate_id: Id,
    data: PortfolioUpdate,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> PortfolioPublic:
    """Set the handle, the page's visibility, name and headline, and each item's visibility."""
    candidate = candidates.get_candidate(session, who.issuer_id, candidate_id)
    row = portfolio.update(session, candidate, data, actor=who.actor)
    return portfolio.to_public(session, ctx, candidate, row)
