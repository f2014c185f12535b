"""``/api/v1/issuers/{slug}/audit``: who did what, when."""

from __future__ import annotations

from fastapi import APIRouter

from badgeworks.services import audit
from badgeworks.services.schemas import AuditEventPublic
from badgeworks.web.deps import PrincipalDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/issuers/{slug}/audit", response_model=list[AuditEventPublic])
def list_audit(
    slug: str, session: SessionDep, who: PrincipalDep, limit: int = 100, offset: int = 0
) -> list[AuditEventPublic]:
    """The issuer's audit log, newest first."""
    issuer = who.issuer_for(slug)
    events = audit.list_events(
        session, issuer.id or 0, limit=max(1, min(limit, 500)), offset=max(0, offset)
    )
    return [
        AuditEventPublic(
            id=e.id or 0,
            at=e.at,
            issuer=slug,
            actor=e.actor,
            action=e.action,
            target=e.target,
            detail=dict(e.detail),
        )
        for e in events
    ]
