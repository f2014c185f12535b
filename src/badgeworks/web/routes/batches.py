"""``/api/v1/issuers/{slug}/batches``: issue a cohort from a CSV, each row once.

The file goes through the same checks as the console and ``issue-csv``. The answer has
one entry per row (``rows``): issued, skipped (issued before, or revoked) or refused. A
retry is safe two ways: rows issued before are skipped by their row key, and a retry with
the same ``Idempotency-Key`` gets the first answer back unchanged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from badgeworks.services.errors import UnsupportedMediaError
from badgeworks.services.infra import idempotency
from badgeworks.services.issuance import bulk
from badgeworks.services.issuance.models import BatchResult
from badgeworks.web.deps import ContextDep, PrincipalDep, SessionDep
from badgeworks.web.idempotent import replayed, still_running

router = APIRouter(prefix="/api/v1", tags=["batches"])


@router.post(
    "/issuers/{slug}/batches",
    response_model=BatchResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "external_id,achievement_id,candidate_name,candidate_email,"
                    "project_title,host_name\nS-0001,1,Ada Lovelace,ada@example.org,"
                    "Churn analysis,Northwind\n",
                }
            },
        }
    },
    responses={
        409: {
            "description": "A request with the same Idempotency-Key is still running "
            "(idempotency.in_progress, with Retry-After)."
        }
    },
)
async def create_batch(
    slug: str,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
    reissue_revoked: Annotated[
        bool,
        Query(description="Issue again rows whose earlier credential was revoked."),
    ] = False,
    notify_candidates: Annotated[
        bool,
        Query(
            description="Email each candidate whose row is issued (queued in the outbox "
            "with the row's credential, delivered by the outbox worker; false sends nothing)."
        ),
    ] = True,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Retrying with the same key returns the first answer unchanged.",
        ),
    ] = None,
) -> Response:
    """Issue one credential per good CSV row (``Content-Type: text/csv``), never twice for
    one row; ``rows`` says per row what happened (``issued``, ``skipped`` with a reason and
    the credential, or ``refused`` with what is wrong)."""
    issuer = who.issuer_for(slug)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise UnsupportedMediaError(
            "send the CSV as the request body with Content-Type: text/csv",
            code="input.unsupported_media_type",
        )
    data = await request.body()
    fingerprint = idempotency.fingerprint(
        "POST",
        f"{request.url.path}?reissue_revoked={reissue_revoked}"
        f"&notify_candidates={notify_candidates}",
        data,
    )

    def work() -> Response:
        # The key is claimed on this request's own session (see services/infra/idempotency.py).
        with idempotency.once(
            session, who.issuer_id, idempotency_key, fingerprint, clock=ctx.clock
        ) as slot:
            if slot.replay is not None:
                return replayed(slot.replay)
            result = bulk.issue_batch(
                session,
                ctx,
                issuer,
                data,
                actor=who.actor,
                reissue_revoked=reissue_revoked,
                notify=notify_candidates,
            )
            body = result.model_dump_json()
            slot.store(200, body)
        return Response(body, status_code=200, media_type="application/json")

    try:
        return await run_in_threadpool(work)
    except idempotency.InProgress as exc:
        return still_running(exc)
