"""Console bulk issuance: upload a cohort CSV, see every row validated, then issue with a
progress page that survives a reload (it reads the job row; no JavaScript needed).

A job whose worker died (the web process was restarted or crashed) shows as interrupted
with a Resume button; resuming never issues a row twice (services/issuance/bulk.py)."""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Annotated

from fastapi import File, Form, Request, Response, UploadFile

from badgeworks.core.errors import BadgeworksError, InputError
from badgeworks.services.console import views as console
from badgeworks.services.field_problems import translated
from badgeworks.services.issuance import bulk, bulk_jobs
from badgeworks.services.programs import achievements
from badgeworks.web.deps import ContextDep, Id, SessionDep
from badgeworks.web.pages import page_language
from badgeworks.web.routes.console.common import (
    Csrf,
    Program,
    ProgramDep,
    back_to,
    console_router,
    page,
)

router = console_router()


def _upload_page(
    request: Request, session: SessionDep, program: Program, *, error: str = "", status: int = 200
) -> Response:
    # Jobs whose worker died are listed as interrupted, not "Issuing…".
    bulk_jobs.reap(
        session,
        request.app.state.settings.bulk_lease_seconds,
        issuer_id=program.issuer.id,
        now=request.app.state.ctx.clock(),
    )
    return page(
        request,
        "console/bulk.html",
        program,
        section="bulk",
        status_code=status,
        error=error,
        jobs=bulk_jobs.list_jobs(session, program.issuer),
        required=bulk.REQUIRED,
        optional=bulk.OPTIONAL,
        achievement_choices=_achievements(session, program),
    )


def _achievements(session: SessionDep, program: Program) -> list[tuple[int, str]]:
    """The program's achievements by id, with their current names."""
    return [
        (a.id or 0, achievements.current_version(session, a).name)
        for a in achievements.list_achievements(session, program.issuer, limit=500)
    ]


@router.get("/{slug}/bulk/template.csv")
def template_csv(session: SessionDep, program: ProgramDep) -> Response:
    """A CSV to fill in: every column of the format, and a row per achievement of the
    program with its ``achievement_id`` filled (the page lists which id is which)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = [*bulk.REQUIRED, *bulk.OPTIONAL]
    writer.writerow(columns)
    for ident, _name in _achievements(session, program):
        writer.writerow([str(ident), *[""] * (len(columns) - 1)])
    name = f"{program.issuer.slug}-bulk-template.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/{slug}/bulk")
def bulk_form(request: Request, session: SessionDep, program: ProgramDep) -> Response:
    """The upload form, the CSV format and the latest jobs."""
    return _upload_page(request, session, program)


@router.post("/{slug}/bulk", dependencies=[Csrf])
def upload(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Validate every row of the file; nothing is issued yet."""
    program.require("issuer")
    data = file.file.read(ctx.settings.max_upload_bytes + 1)
    if len(data) > ctx.settings.max_upload_bytes:
        return _upload_page(
            request, session, program, error="the file is larger than the upload limit", status=413
        )
    try:
        job = bulk_jobs.create_job(
            session,
            program.issuer,
            program.who.staff.id or 0,
            file.filename or "",
            data,
            actor=program.actor,
            now=ctx.clock(),
        )
    except (InputError, BadgeworksError) as exc:
        return _upload_page(request, session, program, error=exc.message, status=422)
    return back_to(program, f"/bulk/{job.id}")


@router.get("/{slug}/bulk/{job_id}")
def show_job(
    request: Request, job_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """The validation report, or the progress of issuing (refreshes itself while running)."""
    job = bulk_jobs.get_job(session, program.issuer, job_id)
    if job.status == "running":
        # A worker that died shows as interrupted (with Resume) instead of "Issuing…".
        bulk_jobs.reap(
            session, ctx.settings.bulk_lease_seconds, issuer_id=job.issuer_id, now=ctx.clock()
        )
        session.refresh(job)
    return page(
        request,
        "console/bulk_job.html",
        program,
        section="bulk",
        job=job,
        issued=console.named_rows(session, program.issuer, job.issued),
        skipped=console.named_rows(session, program.issuer, job.skipped),
        before=(
            console.issued_before(session, program.issuer, job) if job.status == "validated" else []
        ),
        refresh=2 if job.status == "running" else None,
        percent=int(100 * job.done / job.good_rows) if job.good_rows else 100,
        # A field's problem is stored in English; the table says it in the page's language.
        say=partial(translated, lang=page_language(request)),
    )


@router.get("/{slug}/bulk/{job_id}/problems.csv")
def problems_csv(job_id: Id, session: SessionDep, program: ProgramDep) -> Response:
    """The problems as a CSV (cells escaped so a spreadsheet never runs them)."""
    job = bulk_jobs.get_job(session, program.issuer, job_id)
    return Response(
        bulk_jobs.problems_csv(job),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="bulk-{job.id}-problems.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{slug}/bulk/{job_id}/issue", dependencies=[Csrf])
def issue_job(
    request: Request,
    job_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    reissue_revoked: Annotated[bool, Form()] = False,
    # A checkbox the page ticks: unticked, the browser sends nothing, so absent is no.
    notify_candidates: Annotated[bool, Form()] = False,
) -> Response:
    """Start issuing the rows that passed validation, in the background."""
    program.require("issuer")
    job = bulk_jobs.claim(
        session,
        program.issuer,
        job_id,
        reissue_revoked=reissue_revoked,
        notify_candidates=notify_candidates,
        now=ctx.clock(),
    )
    bulk_jobs.start(request.app.state.session_factory, ctx, job.id or 0, actor=program.actor)
    return back_to(program, f"/bulk/{job_id}")


@router.post("/{slug}/bulk/{job_id}/resume", dependencies=[Csrf])
def resume_job(
    request: Request, job_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Take over an interrupted job and finish it here (rows already issued are skipped)."""
    program.require("issuer")
    job = bulk_jobs.resume(
        session,
        program.issuer,
        job_id,
        lease=ctx.settings.bulk_lease_seconds,
        actor=program.actor,
        now=ctx.clock(),
    )
    bulk_jobs.start(request.app.state.session_factory, ctx, job.id or 0, actor=program.actor)
    return back_to(program, f"/bulk/{job_id}")
