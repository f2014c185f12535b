"""Mentor and host endorsements over the API, and their public documents.

- ``/api/v1/projects/{id}/reviews``: invite an endorser, list and revoke invites (token);
- ``/api/v1/credentials/{id}/endorsements``: every endorsement of a credential (public);
- ``/api/v1/endorsements/{id}/withdraw``: the program withdraws an endorsement (token);
- ``/api/v1/endorsements/{id}/withdrawal-links``: a single-use link for the endorser to
  withdraw it themselves (token);
- ``/endorsements/{uuid}``: a hosted endorsement (exact JSON, or a page);
- ``/mentors/{id}/did.json`` and ``/hosts/{id}/did.json``: endorsers' did:web documents.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from badgeworks.services.endorsements import mentors
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.endorsements.markdown import render as render_markdown
from badgeworks.services.endorsements.workflow import ReviewCreate, WithdrawRequest
from badgeworks.web.deps import ContextDep, Id, NoBody, PrincipalDep, SessionDep
from badgeworks.web.negotiation import hosted
from badgeworks.web.pages import render
from badgeworks.web.routes.public import did_response

router = APIRouter(tags=["endorsements"])


@router.post("/api/v1/projects/{project_id}/reviews", status_code=201)
def invite_reviewer(
    project_id: Id, data: ReviewCreate, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> dict[str, Any]:
    """Invite a mentor (or the host organisation) to review and endorse a project.

    Returns the invite with its single-use ``review_url`` (shown only now; it is also
    mailed through the outbox when an email is given).
    """
    row, _, link = endorsements.invite(session, ctx, who.issuer, project_id, data, actor=who.actor)
    return endorsements.invite_public(session, ctx, row, link)


@router.get("/api/v1/projects/{project_id}/reviews")
def list_reviews(
    project_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> list[dict[str, Any]]:
    """The project's review invites and their state (links are not shown again)."""
    rows = endorsements.list_invites(session, who.issuer, project_id)
    return [endorsements.invite_public(session, ctx, r) for r in rows]


@router.delete("/api/v1/projects/{project_id}/reviews/{invite_id}")
def revoke_review(
    project_id: Id, invite_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> dict[str, Any]:
    """Revoke a review link that has not been used yet."""
    row = endorsements.revoke_invite(
        session, ctx, who.issuer, project_id, invite_id, actor=who.actor
    )
    return endorsements.invite_public(session, ctx, row)


@router.post("/api/v1/endorsements/{endorsement_id}/withdraw")
def withdraw_endorsement(
    endorsement_id: str,
    data: WithdrawRequest,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> dict[str, Any]:
    """Withdraw an endorsement of one of the issuer's projects (the signed text stays)."""
    row = endorsements.withdraw(
        session, ctx, who.issuer, endorsement_id, reason=data.reason, actor=who.actor
    )
    return endorsements.endorsement_public(session, ctx, row)


@router.post(
    "/api/v1/endorsements/{endorsement_id}/withdrawal-links",
    status_code=201,
    dependencies=[NoBody],
)
def withdrawal_link(
    endorsement_id: str, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> dict[str, Any]:
    """A new single-use link with which the endorser can withdraw their endorsement
    (mailed through the outbox; ``review_url`` is shown only now)."""
    row, link = endorsements.withdrawal_link(
        session, ctx, who.issuer, endorsement_id, actor=who.actor
    )
    return endorsements.invite_public(session, ctx, row, link)


@router.get("/api/v1/credentials/{credential_id}/endorsements")
def credential_endorsements(
    credential_id: str, session: SessionDep, ctx: ContextDep
) -> list[dict[str, Any]]:
    """Every endorsement of a credential: embedded at issuance or made later (public)."""
    return endorsements.for_credential(session, ctx, credential_id)


@router.get(
    "/endorsements/{endorsement_id}",
    responses={
        200: {
            "content": {"application/vc+ld+json": {}, "application/json": {}, "text/html": {}},
            "description": "The exact signed endorsement (JSON) or a readable page (HTML).",
        }
    },
)
def hosted_endorsement(
    endorsement_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """An endorsement at its id URL: the exact signed bytes as JSON, or an HTML page."""
    answer = hosted(request, endorsement_id)
    row = endorsements.get_endorsement(session, answer.id)
    if not answer.is_page:
        return answer.signed(row.document)
    doc = json.loads(row.document)
    issuer = doc.get("issuer") if isinstance(doc.get("issuer"), dict) else {"id": doc.get("issuer")}
    subject = doc.get("credentialSubject") if isinstance(doc.get("credentialSubject"), dict) else {}
    comment = subject.get("endorsementComment")
    proofs = doc.get("proof")
    view = {
        "name": doc.get("name") or "Endorsement",
        "issuer": issuer,
        "subject_id": subject.get("id"),
        "valid_from": doc.get("validFrom"),
        "comment": comment,
        "proof": proofs if isinstance(proofs, list) else [proofs] if proofs else [],
    }
    return render(
        request,
        "mentor_endorsement.html",
        headers=answer.headers,
        e=view,
        comment_html=render_markdown(comment if isinstance(comment, str) else None),
        json_url=endorsements.endorsement_url(ctx, row.id) + ".json",
        withdrawn=row.withdrawn_at,
        signed=request.query_params.get("signed") == "1",
    )


@router.get("/mentors/{endorser_id}/did.json")
def mentor_did_document(endorser_id: str, session: SessionDep) -> JSONResponse:
    """A mentor's did:web DID document (for identities whose key the service holds)."""
    return did_response(
        mentors.did_document_for(mentors.get_endorser(session, "mentor", endorser_id))
    )


@router.get("/hosts/{endorser_id}/did.json")
def host_did_document(endorser_id: str, session: SessionDep) -> JSONResponse:
    """A host organisation's did:web DID document."""
    return did_response(
        mentors.did_document_for(mentors.get_endorser(session, "host", endorser_id))
    )
