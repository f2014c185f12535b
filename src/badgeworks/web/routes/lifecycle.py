"""``/api/v1/credentials/{id}/…``: suspend, unsuspend, re-issue, expire, and the status.

Revocation is ``POST /api/v1/credentials/{id}/revoke`` in ``routes/credentials.py`` (it
predates this module and keeps its response); it goes through the same service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import StringConstraints

from badgeworks.db.models import Credential
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.issuance.models import IssuedCredential
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.models import Strict
from badgeworks.web.deps import ContextDep, PrincipalDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])

Reason = Annotated[str, StringConstraints(max_length=500)]


class StatusChangeRequest(Strict):
    """Why: public, shown on the credential's page and recorded in the audit log."""

    reason: Reason = ""


class ReissueRequest(StatusChangeRequest):
    valid_until: datetime | None = None


class ExpireRequest(StatusChangeRequest):
    at: datetime | None = None


class Reissued(IssuedCredential):
    replaces: dict[str, Any]


@router.get("/credentials/{credential_id}/status")
def credential_status(
    credential_id: str, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> dict[str, Any]:
    """Where a credential stands (revoked, suspended, superseded, expired) and its history."""
    row = lifecycle.own_credential(session, who.issuer, credential_id)
    state = lifecycle.state(session, ctx, row).as_dict()
    state["history"] = [
        {
            "action": c.action,
            "reason": c.reason,
            "actor": c.actor,
            "at": c.at.isoformat(),
            "replaced_by": lifecycle.credential_url(ctx, c.replaced_by) if c.replaced_by else None,
        }
        for c in lifecycle.history(session, row.id)
    ]
    return state


def _status_change(change: Callable[..., Credential]) -> Callable[..., dict[str, Any]]:
    """The endpoint of a status change that keeps the credential: it answers with the
    credential's new state."""

    def status_change(
        credential_id: str,
        data: StatusChangeRequest,
        session: SessionDep,
        ctx: ContextDep,
        who: PrincipalDep,
    ) -> dict[str, Any]:
        row = change(session, ctx, who.issuer, credential_id, reason=data.reason, actor=who.actor)
        return lifecycle.state(session, ctx, row).as_dict()

    return status_change


#: ``POST /api/v1/credentials/{id}/<action>``: the status change it makes, and what it does.
STATUS_CHANGES = (
    (
        "suspend",
        lifecycle.suspend,
        "Suspend a credential: its suspension bit is set and the list re-signed.",
    ),
    ("unsuspend", lifecycle.unsuspend, "Lift a suspension."),
)

for _action, _change, _description in STATUS_CHANGES:
    router.add_api_route(
        f"/credentials/{{credential_id}}/{_action}",
        _status_change(_change),
        methods=["POST"],
        name=_action,
        description=_description,
    )


def _reissued(session: Any, ctx: Any, who: Any, old_id: str, new: Any) -> Reissued:
    old = lifecycle.own_credential(session, who.issuer, old_id)
    out = issuance.issued(ctx, new)
    return Reissued(**out.model_dump(), replaces=lifecycle.state(session, ctx, old).as_dict())


@router.post("/credentials/{credential_id}/reissue", status_code=201, response_model=Reissued)
def reissue(
    credential_id: str,
    data: ReissueRequest,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> Reissued:
    """Sign a replacement (rebuilt from the project's current data) and revoke the old
    one as ``superseded``; its page links to the replacement."""
    new = lifecycle.reissue(
        session,
        ctx,
        who.issuer,
        credential_id,
        reason=data.reason,
        actor=who.actor,
        valid_until=data.valid_until,
    )
    return _reissued(session, ctx, who, credential_id, new)


@router.post("/credentials/{credential_id}/expire", status_code=201, response_model=Reissued)
def expire(
    credential_id: str,
    data: ExpireRequest,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> Reissued:
    """End a credential's validity at ``at`` (default now): a re-issue with ``validUntil``."""
    new = lifecycle.expire(
        session, ctx, who.issuer, credential_id, reason=data.reason, actor=who.actor, at=data.at
    )
    return _reissued(session, ctx, who, credential_id, new)
