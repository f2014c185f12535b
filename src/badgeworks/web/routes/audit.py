"""``/api/v1/issuers/{slug}/audit``: who did what, when."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from badgeworks.services.infra import audit
from badgeworks.services.infra.models import AuditEventPublic
from badgeworks.web.deps import PrincipalDep, SessionDep
from badgeworks.web.pagination import send_page

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/issuers/{slug}/audit", response_model=list[AuditEventPublic])
def list_audit(
    slug: str,
    request: Request,
    response: Response,
    session: SessionDep,
    who: PrincipalDep,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEventPublic]:
    """The issuer's audit log, newest first."""
    issuer = who.issuer_for(slug)
    page = audit.page_of_events(session, issuer.id or 0, limit=limit, offset=offset)
    events = send_page(request, response, page)
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
