"""``GET /status/{slug}/{purpose}/{n}``: an issuer's signed Bitstring Status List credential.

Public, served with an ``ETag`` (``If-None-Match`` gets 304) and a short
``Cache-Control``, so verifiers see a revocation within about a minute.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from fastapi import APIRouter, Request, Response

from badgeworks.services import status_lists
from badgeworks.web.deps import Id, SessionDep

router = APIRouter(tags=["status"])

MAX_AGE = 60


@router.get(
    "/status/{slug}/{purpose}/{number}",
    responses={200: {"content": {"application/vc+ld+json": {}}}, 304: {}},
)
def status_list(
    slug: str,
    purpose: Literal["revocation", "suspension"],
    number: Id,
    request: Request,
    session: SessionDep,
) -> Response:
    """The current signed ``BitstringStatusListCredential`` (the exact stored bytes)."""
    row = status_lists.get_list(session, slug, purpose, number)
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
