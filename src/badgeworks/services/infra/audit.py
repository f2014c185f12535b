"""The audit log: who did what, when. Append-only (a ``before_update`` guard enforces it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.db.models import AuditEvent
from badgeworks.services.infra import pagination
from badgeworks.services.infra.pagination import Page


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    issuer_id: int | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime,
) -> AuditEvent:
    """Add an event to the session; it is committed with the caller's unit of work.

    ``now`` is the time the caller took from the context, so the event and the change it
    records carry the same time.
    """
    event = AuditEvent(
        at=now,
        issuer_id=issuer_id,
        actor=actor[:200],
        action=action,
        target=target[:300],
        detail=detail or {},
    )
    session.add(event)
    return event


def _listed(issuer_id: int) -> SelectOfScalar[AuditEvent]:
    """An issuer's events, newest first: the one query their list and its total read."""
    return (
        select(AuditEvent)
        .where(AuditEvent.issuer_id == issuer_id)
        .order_by(col(AuditEvent.id).desc())
    )


def list_events(
    session: Session, issuer_id: int, *, limit: int = 100, offset: int = 0
) -> list[AuditEvent]:
    """An issuer's events, newest first."""
    return list(session.exec(_listed(issuer_id).offset(offset).limit(limit)))


def page_of_events(
    session: Session, issuer_id: int, *, limit: int, offset: int
) -> Page[AuditEvent]:
    """One page of an issuer's events, newest first, and how many there are."""
    return pagination.page(session, _listed(issuer_id), limit=limit, offset=offset)
