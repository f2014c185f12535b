"""Signed Bitstring Status List credentials, public:

- ``GET /status/{slug}/{purpose}/{n}``: an issuer's list (its credentials' status);
- ``GET /mentors/{id}/status/{purpose}/{n}`` and ``GET /hosts/{id}/status/{purpose}/{n}``:
  an endorser's list (their endorsements' status), issued and signed by the endorser's
  did:web, next to its DID document;
- ``GET /credentials/{id}/status``: where one hosted credential stands (revoked, suspended,
  superseded, expired or active), with the public reason the issuer gave and when.

Each is served with an ``ETag`` (``If-None-Match`` gets 304) and a short
``Cache-Control``, so verifiers see a revocation or a withdrawal within about a minute.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from badgeworks.services.issuance import completion as issuance
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.lifecycle.status_lists import ListRow
from badgeworks.web.deps import ContextDep, Id, SessionDep

router = APIRouter(tags=["status"])

MAX_AGE = 60
Purpose = Literal["revocation", "suspension"]
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/vc+ld+json": {}}},
    304: {},
}


def _served(row: ListRow, request: Request) -> Response:
    """The exact stored bytes of a list, with its ETag (or 304 when the client has them)."""
    body = row.document.encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Access-Control-Allow-Origin": "*",
    }
    wanted = request.headers.get("if-none-match", "")
    if etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/vc+ld+json", headers=headers)


@router.get("/status/{slug}/{purpose}/{number}", responses=_RESPONSES)
def status_list(
    slug: str, purpose: Purpose, number: Id, request: Request, session: SessionDep
) -> Response:
    """An issuer's current signed ``BitstringStatusListCredential`` (the exact stored bytes)."""
    return _served(status_lists.get_list(session, slug, purpose, number), request)


@router.get("/mentors/{endorser_id}/status/{purpose}/{number}", responses=_RESPONSES)
def mentor_status_list(
    endorser_id: str, purpose: Purpose, number: Id, request: Request, session: SessionDep
) -> Response:
    """A mentor's current signed ``BitstringStatusListCredential``: their endorsements'
    status (a withdrawn endorsement has its bit set)."""
    row = status_lists.get_endorser_list(session, "mentor", endorser_id, purpose, number)
    return _served(row, request)


@router.get("/hosts/{endorser_id}/status/{purpose}/{number}", responses=_RESPONSES)
def host_status_list(
    endorser_id: str, purpose: Purpose, number: Id, request: Request, session: SessionDep
) -> Response:
    """A host organisation's current signed ``BitstringStatusListCredential``."""
    row = status_lists.get_endorser_list(session, "host", endorser_id, purpose, number)
    return _served(row, request)


#: What a credential's public status says; staff-only fields (who made the change, the
#: status list indexes) stay in ``GET /api/v1/credentials/{id}/status``.
_PUBLIC_STATE = (
    "id",
    "url",
    "status",
    "revoked",
    "revoked_at",
    "revocation_reason",
    "revocation_code",
    "suspended",
    "suspension_reason",
    "superseded_by",
    "replaces",
    "valid_until",
    "expired",
)


@router.get(
    "/credentials/{credential_id}/status",
    responses={200: {"content": {"application/json": {}}}},
)
def credential_public_status(
    credential_id: str, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    """Where a hosted credential stands now, for anyone: ``status`` (``active``,
    ``revoked``, ``suspended``, ``superseded`` or ``expired``), when it was revoked, and the
    reason the issuer gave for a revocation or suspension (reasons are public)."""
    row = issuance.get_credential(session, credential_id)
    state: dict[str, Any] = lifecycle.state(session, ctx, row).as_dict()
    return JSONResponse(
        {key: state[key] for key in _PUBLIC_STATE},
        headers={
            "Cache-Control": f"public, max-age={MAX_AGE}",
            "Access-Control-Allow-Origin": "*",
        },
    )
