"""``/api/v1/issuers/{slug}/audit``: who did what, when."""

from __future__ import annotations

from fastapi import APIRouter

from badgeworks.services.infra import audit
from badgeworks.services.infra.models import AuditEventPublic
from badgeworks.web.deps import PageDep, PrincipalDep, SessionDep
from badgeworks.web.pagination import send_page

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/issuers/{slug}/audit", response_model=list[AuditEventPublic])
def list_audit(
    slug: str, paging: PageDep, session: SessionDep, who: PrincipalDep
) -> list[AuditEventPublic]:
    """The issuer's audit log, newest first."""
    issuer = who.issuer_for(slug)
    page = audit.page_of_events(session, issuer.id or 0, **paging.window)
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
        for e in send_page(paging, page)
    ]
