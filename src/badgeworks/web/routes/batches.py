"""``/api/v1/issuers/{slug}/batches``: issue a cohort from a CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from badgeworks.services import bulk
from badgeworks.services.errors import UnsupportedMediaError
from badgeworks.services.schemas import BatchResult
from badgeworks.web.deps import ContextDep, PrincipalDep, SessionDep

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
                    "example": "achievement_id,candidate_name,candidate_email,project_title,"
                    "host_name\n1,Ada Lovelace,ada@example.org,Churn analysis,Northwind\n",
                }
            },
        }
    },
)
async def create_batch(
    slug: str, request: Request, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> BatchResult:
    """Issue one credential per good CSV row (``Content-Type: text/csv``); bad rows are
    listed with their line numbers and nothing is issued for them."""
    issuer = who.issuer_for(slug)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise UnsupportedMediaError(
            "send the CSV as the request body with Content-Type: text/csv",
            code="input.unsupported_media_type",
        )
    data = await request.body()
    return await run_in_threadpool(bulk.issue_batch, session, ctx, issuer, data, actor=who.actor)
