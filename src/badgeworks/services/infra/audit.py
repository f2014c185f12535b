"""The audit log: who did what, when. Append-only (a ``before_update`` guard enforces it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.db.models import AuditEvent
from badgeworks.services.infra import pagination
from badgeworks.services.infra.pagination import Page


class Event(TypedDict, total=False):
    """What an event says: who (``actor``) did what (``action``) to which ``target`` of which
    issuer, with ``detail``; ``now`` is the time the caller took from the context, so the
    event and the change it records carry the same time."""

    actor: Required[str]
    action: Required[str]
    issuer_id: int | None
    target: str
    detail: dict[str, Any] | None
    now: Required[datetime]


def record(session: Session, **event: Unpack[Event]) -> AuditEvent:
    """Add an event to the session; it is committed with the caller's unit of work."""
    row = AuditEvent(
        at=event["now"],
        issuer_id=event.get("issuer_id"),
        actor=event["actor"][:200],
        action=event["action"],
        target=event.get("target", "")[:300],
        detail=event.get("detail") or {},
    )
    session.add(row)
    return row


def commit(
    session: Session,
    *,
    refresh: Sequence[object] = (),
    conflict: Exception | None = None,
    before: Callable[[], object] | None = None,
    **event: Unpack[Event],
) -> None:
    """Record the event, commit the unit of work, then reload ``refresh``.

    ``before`` runs inside the unit of work once it is flushed, just before the commit;
    ``conflict`` is what a clash with a concurrent change (an ``IntegrityError``) raises,
    once the unit of work is rolled back.
    """
    record(session, **event)
    save(session, conflict=conflict, before=before)
    for row in refresh:
        session.refresh(row)


def save(
    session: Session,
    *,
    conflict: Exception | None = None,
    before: Callable[[], object] | None = None,
) -> None:
    """Commit the unit of work (``before`` and ``conflict`` as for ``commit``)."""
    try:
        if before is not None:
            session.flush()
            before()
        session.commit()
    except IntegrityError:
        if conflict is None:
            raise
        session.rollback()
        raise conflict from None


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
