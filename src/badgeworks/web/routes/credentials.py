"""``/api/v1/.../credentials``: listing and revocation (hosted copies are in ``public``)."""

from __future__ import annotations

from fastapi import APIRouter

from badgeworks.services.issuance import completion as issuance
from badgeworks.services.issuance.models import CredentialSummary
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.lifecycle.models import RevokeRequest
from badgeworks.web.deps import ContextDep, PageDep, PrincipalDep, SessionDep
from badgeworks.web.pagination import send_page

router = APIRouter(prefix="/api/v1", tags=["credentials"])


@router.get("/issuers/{slug}/credentials", response_model=list[CredentialSummary])
def list_credentials(
    slug: str, paging: PageDep, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> list[CredentialSummary]:
    """The issuer's credentials, newest first."""
    issuer = who.issuer_for(slug)
    page = issuance.page_of_credentials(session, issuer, **paging.window)
    return [issuance.summary(session, ctx, issuer, r) for r in send_page(paging, page)]


@router.post("/credentials/{credential_id}/revoke", response_model=CredentialSummary)
def revoke_credential(
    credential_id: str,
    data: RevokeRequest,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> CredentialSummary:
    """Revoke a credential of the token's issuer: its revocation bit is set and the status
    list re-signed (the stored JSON is untouched). Revoking twice is ``409``.
    ``reason_code`` writes one of the issuer's revocation reason codes instead of 1."""
    lifecycle.revoke(
        session,
        ctx,
        who.issuer,
        credential_id,
        reason=data.reason,
        actor=who.actor,
        reason_code=data.reason_code,
    )
    row = issuance.get_credential(session, credential_id)
    return issuance.summary(session, ctx, who.issuer, row)
