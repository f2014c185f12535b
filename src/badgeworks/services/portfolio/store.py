"""A candidate's portfolio row and their choices: handle, visibility, name, headline, links,
and the visibility of each credential and deliverable.

The candidate (or, on their behalf, their issuer through the API) changes these choices
with ``update``; every read that must not write uses ``get_or_create(create=False)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from badgeworks.db.models import Candidate, Credential, Deliverable, Project
from badgeworks.db.portfolio import Portfolio, PortfolioItem, default_handle
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError, ValidationFailed
from badgeworks.services.infra import audit
from badgeworks.services.portfolio.handles import HandleError, check_handle
from badgeworks.services.portfolio.links import MAX_LINKS, ProfileLink
from badgeworks.services.portfolio.models import PortfolioPublic, PortfolioUpdate


def portfolio_url(ctx: ServiceContext, portfolio: Portfolio) -> str:
    """The permanent URL of a portfolio."""
    return f"{ctx.base_url}/p/{portfolio.handle}"


def find_for_candidate(session: Session, candidate_id: int) -> Portfolio | None:
    """The candidate's portfolio row, if one was made."""
    return session.exec(select(Portfolio).where(Portfolio.candidate_id == candidate_id)).first()


def get_or_create(session: Session, candidate: Candidate, *, create: bool = True) -> Portfolio:
    """The candidate's portfolio (made with the candidate since migration 0011).

    Kept as "get or create" for safety: a row missing anyway is made with an unguessable
    handle. With ``create=False`` (a read, which must not write) such a row is returned
    unsaved, with the defaults.
    """
    existing = find_for_candidate(session, candidate.id or 0)
    if existing is not None:
        return existing
    if not create:
        return Portfolio(candidate_id=candidate.id or 0, handle=default_handle())
    for _ in range(5):
        row = Portfolio(candidate_id=candidate.id or 0, handle=default_handle())
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # Another request made it at the same moment (or, astronomically rarely, the
            # random handle is taken): take theirs, or try a new handle.
            session.rollback()
            existing = find_for_candidate(session, candidate.id or 0)
            if existing is not None:
                return existing
            continue
        session.refresh(row)
        return row
    raise ConflictError("could not allocate a portfolio handle; try again")  # pragma: no cover


def find_by_handle(session: Session, handle: str) -> Portfolio:
    """A visible portfolio by handle; unknown, malformed or hidden ones are all 404."""
    try:
        canonical = check_handle(handle)
    except HandleError:
        canonical = None
    row = (
        session.exec(select(Portfolio).where(Portfolio.handle == canonical)).first()
        if canonical
        else None
    )
    if row is None or row.visibility == "hidden":
        raise NotFoundError(f"there is no portfolio {handle!r:.60}", code="portfolio.not_found")
    return row


def item_visibility(session: Session, candidate_id: int) -> dict[tuple[str, str], str]:
    """Every explicit choice, keyed by ``(kind, ref)``; absent means ``public``."""
    stmt = select(PortfolioItem).where(PortfolioItem.candidate_id == candidate_id)
    return {(i.kind, i.ref): i.visibility for i in session.exec(stmt)}


def candidate_credentials(session: Session, candidate_id: int) -> list[Credential]:
    """The candidate's credentials, newest first."""
    stmt = (
        select(Credential)
        .where(Credential.candidate_id == candidate_id)
        .order_by(col(Credential.issued_at).desc(), col(Credential.id))
    )
    return list(session.exec(stmt))


def _candidate_deliverable_ids(session: Session, candidate_id: int) -> set[str]:
    stmt = (
        select(Deliverable.id)
        .join(Project, col(Project.id) == col(Deliverable.project_id))
        .where(Project.candidate_id == candidate_id)
    )
    return {str(i) for i in session.exec(stmt)}


def to_public(
    session: Session, ctx: ServiceContext, candidate: Candidate, row: Portfolio
) -> PortfolioPublic:
    """The API view: the page settings and every credential's and deliverable's visibility."""
    choices = item_visibility(session, candidate.id or 0)
    creds = {
        c.id: choices.get(("credential", c.id), "public")
        for c in candidate_credentials(session, candidate.id or 0)
    }
    delivs = {
        d: choices.get(("deliverable", d), "public")
        for d in sorted(_candidate_deliverable_ids(session, candidate.id or 0), key=int)
    }
    return PortfolioPublic(
        candidate_id=candidate.id or 0,
        handle=row.handle,
        url=portfolio_url(ctx, row),
        visibility=row.visibility,  # type: ignore[arg-type]
        show_name=row.show_name,
        headline=row.headline,
        photo_url=f"{portfolio_url(ctx, row)}/photo" if row.photo_sha256 else None,
        photo_caption=row.photo_caption if row.photo_sha256 else None,
        links=[ProfileLink.model_validate(link) for link in stored_links(row)],
        credentials=creds,  # type: ignore[arg-type]
        deliverables=delivs,  # type: ignore[arg-type]
    )


def update(
    session: Session, candidate: Candidate, data: PortfolioUpdate, *, actor: str, now: datetime
) -> Portfolio:
    """Apply the candidate's choices; all or nothing."""
    row = get_or_create(session, candidate)
    cid = candidate.id or 0
    changes = data.model_dump(exclude_unset=True)
    if data.handle is not None:
        handle = check_handle(data.handle)
        taken = session.exec(
            select(Portfolio.id).where(Portfolio.handle == handle, Portfolio.id != row.id)
        ).first()
        if taken is not None:
            raise ConflictError(
                f"the handle {handle!r} is taken; choose another", code="portfolio.handle_taken"
            )
        row.handle = handle
    if data.visibility is not None:
        row.visibility = data.visibility
    if data.show_name is not None:
        row.show_name = data.show_name
    if "headline" in changes:
        row.headline = data.headline or None
    if "links" in changes:
        row.links = [link.model_dump() for link in data.links or []] or None
    wanted = _chosen_items(
        "credential",
        data.credentials,
        lambda: {c.id for c in candidate_credentials(session, cid)},
    ) + _chosen_items(
        "deliverable", data.deliverables, lambda: _candidate_deliverable_ids(session, cid)
    )
    existing = {
        (i.kind, i.ref): i
        for i in session.exec(select(PortfolioItem).where(PortfolioItem.candidate_id == cid))
    }
    for kind, ref, vis in wanted:
        item = existing.get((kind, ref)) or PortfolioItem(candidate_id=cid, kind=kind, ref=ref)
        item.visibility = vis
        session.add(item)
    raced = ConflictError(
        "the handle was taken by another request at the same time; choose another",
        code="portfolio.handle_taken",
    )
    commit_change(
        session,
        candidate,
        row,
        "portfolio.update",
        actor=actor,
        now=now,
        detail={"fields": sorted(changes)},
        conflict=raced,
    )
    return row


def commit_change(
    session: Session,
    candidate: Candidate,
    row: Portfolio,
    action: str,
    *,
    actor: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    conflict: Exception | None = None,
) -> None:
    """Stamp the candidate's portfolio ``row`` as changed at ``now`` and commit it with the
    ``action`` event (``conflict`` as for ``audit.commit``)."""
    row.updated_at = now
    session.add(row)
    audit.commit(
        session,
        actor=actor,
        action=action,
        issuer_id=candidate.issuer_id,
        target=f"candidate:{candidate.id or 0}",
        detail=detail,
        now=now,
        refresh=[row],
        conflict=conflict,
    )


def _chosen_items(
    kind: str, chosen: Mapping[str, str] | None, own: Callable[[], set[str]]
) -> list[tuple[str, str, str]]:
    """``(kind, ref, visibility)`` of each ``chosen`` item; ``portfolio.unknown_item`` for
    one that is not among the candidate's ``own`` (read only when something is chosen)."""
    if not chosen:
        return []
    unknown = sorted(set(chosen) - own())
    if unknown:
        raise ValidationFailed(
            f"{kind}s: {unknown[0]!r:.60} is not one of this candidate's {kind}s",
            code="portfolio.unknown_item",
        )
    return [(kind, ref, visibility) for ref, visibility in chosen.items()]


def display_name(portfolio: Portfolio | None, candidate: Candidate) -> str | None:
    """The candidate's name if they show it (no portfolio row yet: shown, the default)."""
    if portfolio is not None and not portfolio.show_name:
        return None
    return candidate.name


def listed_credentials(session: Session, portfolio: Portfolio) -> list[Credential]:
    """The credentials the portfolio shows (the candidate's, newest first, not hidden)."""
    choices = item_visibility(session, portfolio.candidate_id)
    return [
        c
        for c in candidate_credentials(session, portfolio.candidate_id)
        if choices.get(("credential", c.id), "public") == "public"
    ]


def stored_links(row: Portfolio) -> list[dict[str, str]]:
    """The row's profile links, re-checked (a stored value that no longer passes is left out)."""
    out: list[dict[str, str]] = []
    for item in (row.links or [])[:MAX_LINKS]:
        try:
            link = ProfileLink.model_validate(item)
        except ValueError:
            continue
        out.append({"label": link.label, "url": link.url})
    return out
