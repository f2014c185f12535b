"""Portfolio pages (``/p/{handle}``), their QR codes, and the API to set them up.

Candidates have no accounts yet, so their issuer sets the portfolio up on their behalf
with the issuer's token (``GET``/``PATCH /api/v1/candidates/{id}/portfolio``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from badgeworks.services import candidates, portfolio, sharing
from badgeworks.services.portfolio import PortfolioPublic, PortfolioUpdate
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


@router.get("/api/v1/candidates/{candidate_id}/portfolio", response_model=PortfolioPublic)
def get_portfolio(
    candidate_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> PortfolioPublic:
    """The candidate's portfolio settings (made with an unguessable handle on first use)."""
    candidate = candidates.get_candidate(session, who.issuer_id, candidate_id)
    row = portfolio.get_or_create(session, candidate)
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
