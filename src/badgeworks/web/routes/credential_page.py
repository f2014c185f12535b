"""The HTML face of a credential's ``id`` URL (``GET /credentials/{id}`` for browsers).

``routes/public.py`` owns the URL and its content negotiation (the JSON branch returns
the stored bytes); for ``text/html`` it calls ``credential_page`` here. The page shows
the credential read from its stored JSON, with live checks (proof, revocation, dates,
deliverable digests), downloads, QR codes and sharing links.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from badgeworks.db.models import Credential
from badgeworks.services.context import ServiceContext
from badgeworks.services.portfolio import pages as portfolio
from badgeworks.services.portfolio import sharing
from badgeworks.services.portfolio.page_memo import Freshness
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import page_language, render


def credential_meta(t: Translator, c: dict[str, Any], lang: str) -> list[sharing.MetaTag]:
    """Open Graph / Twitter card tags for a credential page."""
    holder = c["candidate_name"]
    title = (
        t("portfolio.og_title_named", name=holder, achievement=c["name"]) if holder else c["name"]
    )
    return sharing.open_graph(
        title=title,
        description=t("portfolio.og_description", issuer=c["issuer"]["name"]),
        url=c["url"],
        image=c["og_image"],
        image_alt=c["image_alt"],
        locale=lang,
    )


def credential_page(
    request: Request,
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> tuple[HTMLResponse, Freshness]:
    """Render the credential page; ``extra`` passes other features' data (e.g. status).

    Also returns how long what the page shows holds (``services/portfolio/page_memo.py``).
    """
    lang = page_language(request)
    # ``?original=1``: the signed achievement text even if there is an edition in ``lang``.
    original = request.query_params.get("original") == "1"
    data = portfolio.credential_page_data(session, ctx, row, lang=lang, original=original)
    out = {**(headers or {}), "Vary": "Accept, Accept-Language, Cookie"}
    if data["noindex"]:
        out["X-Robots-Tag"] = "noindex"
    page = render(
        request,
        "credential.html",
        headers=out,
        meta=credential_meta(Translator(lang), data["c"], lang),
        **data,
        **extra,
    )
    return page, data["freshness"]
