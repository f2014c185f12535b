"""The portfolio page (``/p/{handle}``) and the credential page: what each shows.

The candidate chooses a handle (or keeps the unguessable default), whether the page is
``public`` (listed, indexable), ``unlisted`` (anyone with the link; ``noindex``) or
``hidden`` (404), whether their name shows, a headline, an optional photo (with its alt
text) and up to 5 profile links, and the visibility of each credential and deliverable.
The photo and the links are personal details, like the name: they show only while the
name does. A credential left off the portfolio still verifies at its own URL: its
page, JSON and downloads stay reachable for anyone the candidate gives the link to.

A portfolio never expires on a timer. Credentials may (``validUntil``), and the pages say
so about the credential, never about the link.

Until candidates have accounts, the candidate's issuer edits these choices on their
behalf through the API (``PATCH /api/v1/candidates/{id}/portfolio``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from badgeworks.db.models import Candidate, Credential, Issuer
from badgeworks.db.portfolio import Portfolio
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import NotFoundError
from badgeworks.services.portfolio import page_memo, photos, sharing
from badgeworks.services.portfolio.cards import credential_card, credential_cards
from badgeworks.services.portfolio.portrait import public_photo
from badgeworks.services.portfolio.store import (
    candidate_credentials,
    display_name,
    find_for_candidate,
    item_visibility,
    portfolio_url,
    stored_links,
)


def credential_page_data(
    session: Session, ctx: ServiceContext, row: Credential, *, lang: str, original: bool = False
) -> dict[str, Any]:
    """The credential page's data: the card, plus the portfolio link and indexing choice.

    ``original`` shows the signed achievement text even when the issuer has an edition in
    the visitor's language (the page's "see the original" link).
    """
    # A credential issued through the VC-API has no candidate row (and so no portfolio).
    cid = row.candidate_id
    candidate = session.get(Candidate, cid) if cid else None
    portfolio = find_for_candidate(session, cid) if cid else None
    choices = item_visibility(session, cid) if cid else {}
    name = display_name(portfolio, candidate) if candidate else None
    card = credential_card(
        session, ctx, row, lang=lang, choices=choices, candidate_name=name, original=original
    )
    item = choices.get(("credential", row.id), "public")
    listed = portfolio is not None and portfolio.visibility != "hidden" and item == "public"
    return {
        "c": card,
        "portfolio_url": portfolio_url(ctx, portfolio) if listed and portfolio else None,
        # Only a credential the candidate lists on a public portfolio may be indexed.
        "noindex": not (listed and portfolio is not None and portfolio.visibility == "public"),
        # How long the page holds (``page_memo``): the card's verdicts decide.
        "freshness": card["freshness"],
    }


def portfolio_page_data(
    session: Session, ctx: ServiceContext, portfolio: Portfolio, *, lang: str
) -> dict[str, Any]:
    """The portfolio page's data: who, and the credentials the candidate shows."""
    candidate = session.get(Candidate, portfolio.candidate_id)
    if candidate is None:  # pragma: no cover - the foreign key prevents it
        raise NotFoundError("there is no such portfolio", code="portfolio.not_found")
    issuer = session.get(Issuer, candidate.issuer_id)
    choices = item_visibility(session, portfolio.candidate_id)
    name = display_name(portfolio, candidate)
    # Every card's rows are read together (``page_rows``): the page costs the same
    # number of statements whatever the number of credentials it shows.
    listed = [
        row
        for row in candidate_credentials(session, portfolio.candidate_id)
        if choices.get(("credential", row.id), "public") == "public"
    ]
    # The page shows its own share links, not each card's (``shares=False``).
    cards = credential_cards(
        session, ctx, listed, lang=lang, choices=choices, candidate_name=name, shares=False
    )
    url = portfolio_url(ctx, portfolio)
    # The photo and the links are personal details, like the name: shown only with it.
    photo = None
    if portfolio.show_name:
        data = public_photo(ctx, portfolio)
        size = photos.dimensions(data) if data else None
        if size is not None:
            photo = {
                "url": f"{url}/photo",
                "alt": portfolio.photo_caption or "",
                "width": size[0],
                "height": size[1],
            }
    hosts = sorted({c["host"]["name"] for c in cards if c["host"] and c["host"]["name"]})
    programs = sorted({c["issuer"]["name"] for c in cards if c["issuer"]["name"]})
    skills = sorted({s["name"] for c in cards for s in c["skills"]}, key=str.lower)
    return {
        "portfolio": {
            "handle": portfolio.handle,
            "url": url,
            "name": name,
            "headline": portfolio.headline,
            "photo": photo,
            "links": stored_links(portfolio) if portfolio.show_name else [],
            "issuer_name": issuer.name if issuer else None,
            "qr_png": f"{url}/qr.png",
            "qr_svg": f"{url}/qr.svg",
            "qr_print": f"{url}/qr.png?scale=40",
            "shares": sharing.share_links(url, name or "Portfolio"),
            "hosts": hosts,
            "programs": programs,
            "skills": skills,
        },
        "cards": cards,
        "noindex": portfolio.visibility != "public",
        # How long the page holds (``page_memo``): every card's verdicts decide.
        "freshness": page_memo.join(c["freshness"] for c in cards),
    }
