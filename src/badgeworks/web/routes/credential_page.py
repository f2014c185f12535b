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

#: The card states in which the issuer has withdrawn a credential: every preview and share
#: link says so.
WITHDRAWN = ("revoked", "suspended")


def _withdrawn(c: dict[str, Any]) -> str | None:
    state: str = c["status"].state
    return state if state in WITHDRAWN else None


def credential_meta(t: Translator, c: dict[str, Any], lang: str) -> list[sharing.MetaTag]:
    """Open Graph / Twitter card tags for a credential page; a revoked or suspended
    credential's preview says so in its title and description."""
    holder = c["candidate_name"]
    title = (
        t("portfolio.og_title_named", name=holder, achievement=c["name"]) if holder else c["name"]
    )
    description = t("portfolio.og_description", issuer=c["issuer"]["name"])
    withdrawn = _withdrawn(c)
    if withdrawn:
        title = t(f"standing.title_{withdrawn}", title=title)
        description = t(f"standing.og_description_{withdrawn}", issuer=c["issuer"]["name"])
    return sharing.open_graph(
        title=title,
        description=description,
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
    t = Translator(lang)
    withdrawn = _withdrawn(data["c"])
    if withdrawn and "shares" in data["c"]:
        # Shared links carry the status in their text, and a withdrawn credential is not
        # offered for a LinkedIn profile's certifications.
        c = dict(data["c"])
        title = t(f"standing.title_{withdrawn}", title=f"{c['name']} — {c['issuer']['name']}")
        c["shares"] = sharing.share_links(c["url"], title)
        c["linkedin"] = None
        data = {**data, "c": c}
    out = {**(headers or {}), "Vary": "Accept, Accept-Language, Cookie"}
    if data["noindex"]:
        out["X-Robots-Tag"] = "noindex"
    page = render(
        request,
        "credential.html",
        headers=out,
        meta=credential_meta(t, data["c"], lang),
        **data,
        **extra,
    )
    return page, data["freshness"]
