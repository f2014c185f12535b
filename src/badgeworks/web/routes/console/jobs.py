"""Console background jobs: the program's dead-lettered jobs (those whose last attempt
failed), each with its last error and a Retry button (docs/operations.md, "Jobs and
workers")."""

from __future__ import annotations

from fastapi import Request, Response

from badgeworks.services.infra import jobs
from badgeworks.web.deps import ContextDep, Id, SessionDep
from badgeworks.web.routes.console.common import (
    Csrf,
    ProgramDep,
    back_to,
    console_router,
    page,
)

router = console_router()

#: Job kinds that have a description of their own (``jobs.kind.<kind>`` in the catalogs).
DESCRIBED = frozenset({"bulk.resume", "outbox.deliver", "status.repair", "pdf.preview"})


@router.get("/{slug}/jobs")
def dead_jobs(request: Request, session: SessionDep, program: ProgramDep) -> Response:
    """The program's dead-lettered jobs, the most recent first."""
    return page(
        request,
        "console/jobs.html",
        program,
        section="jobs",
        jobs=jobs.dead_jobs(session, issuer_id=program.issuer_id),
        described=DESCRIBED,
    )


@router.post("/{slug}/jobs/{job_id}/retry", dependencies=[Csrf])
def retry_job(job_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep) -> Response:
    """Queue a dead job again with fresh attempts (issuer role)."""
    program.require("issuer")
    jobs.retry_for_program(
        session, job_id, issuer_id=program.issuer_id, actor=program.actor, now=ctx.clock()
    )
    return back_to(program, "/jobs", done="job_retried")
