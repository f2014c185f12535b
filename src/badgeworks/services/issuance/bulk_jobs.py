"""Bulk issuance jobs (console uploads and ``badgeworks issue-csv``): validate a whole CSV
first with ``bulk.check``, then issue its good rows while the job row records progress.

A job is ``validated`` → ``running`` → ``done`` (or ``failed``). A running job names its
worker (``host:pid:token``) and refreshes ``heartbeat_at`` as rows go (every
``SAVE_EVERY`` rows, and at least every ``BEAT_SECONDS``). A worker that
died — its heartbeat older than ``bulk_lease_seconds``, or its process gone from this host
— leaves the job ``interrupted`` (``reap``); ``resume`` takes it over and runs it again
from the start. Rows are idempotent (``bulk.issue_row``), so rows done before the crash
are reported, not issued again. A worker that finds the job taken over stops.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, update
from sqlmodel import Session, col, select

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.console import BulkJob
from badgeworks.db.engine import SessionFactory
from badgeworks.db.models import Issuer
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError
from badgeworks.services.infra import audit, jobs
from badgeworks.services.issuance import bulk
from badgeworks.services.issuance.models import BatchResult, BatchRowResult

log = logging.getLogger("badgeworks.bulk_jobs")

#: Leading characters a spreadsheet runs as a formula (refused on upload by ``bulk.check``,
#: escaped on export here).
FORMULA_START = bulk.FORMULA_START

#: Statuses a job can be resumed from.
RESUMABLE = ("interrupted", "failed")
#: Results are written to the job row every this many rows.
SAVE_EVERY = 20
#: Progress and the heartbeat are written at least this often (seconds), and with the
#: results every ``SAVE_EVERY`` rows: not after every row, as each write is a commit (an
#: fsync on SQLite) of its own. Far below any ``bulk_lease_seconds``.
BEAT_SECONDS = 1.0

# This process's worker name: a restarted process that gets the same pid differs in token.
_TOKEN = secrets.token_hex(4)


def worker_id() -> str:
    """``host:pid:token`` of this process."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{_TOKEN}"


def _alive(job: BulkJob, lease: float, now: datetime) -> bool:
    """Whether the worker of a running job may still be running it."""
    if job.heartbeat_at is None or now - job.heartbeat_at > timedelta(seconds=lease):
        return False
    host, _, rest = job.worker.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != socket.gethostname()[:120] or not pid_text.isdigit():
        return True  # another machine: only its heartbeat can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return token == _TOKEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def good_csv(checked: bulk.Checked) -> str:
    """The header and the rows that passed, as a job keeps them (``BulkJob.csv_text``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(checked.header)
    for row in checked.good:
        writer.writerow([checked.records[row.line].get(h, "") for h in checked.header])
    return out.getvalue()


def create_job(
    session: Session,
    issuer: Issuer,
    staff_id: int | None,
    filename: str,
    data: bytes,
    *,
    actor: str,
    source: str = "console",
    checked: bulk.Checked | None = None,
    now: datetime,
) -> BulkJob:
    """Validate an upload (unless ``checked`` already is) and keep it as a job waiting
    for someone to issue it."""
    checked = checked or bulk.check(session, issuer, data)
    job = BulkJob(
        issuer_id=issuer.id or 0,
        staff_id=staff_id,
        filename=filename[:300],
        status="validated",
        source=source,
        csv_text=good_csv(checked),
        line_map=[row.line for row in checked.good],
        total_rows=checked.total,
        good_rows=len(checked.good),
        problems=checked.problems,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    audit.commit(
        session,
        actor=actor,
        action="bulk.validate",
        issuer_id=issuer.id,
        target=f"bulk:{job.id}",
        detail={"rows": checked.total, "good": len(checked.good), "file": filename[:100]},
        now=now,
        refresh=[job],
    )
    return job


def get_job(session: Session, issuer: Issuer | None, job_id: int) -> BulkJob:
    """One of ``issuer``'s jobs (any issuer's for ``None``, the CLI); else not found."""
    job = session.get(BulkJob, job_id)
    if job is None or (issuer is not None and job.issuer_id != issuer.id):
        raise NotFoundError(f"there is no bulk job {job_id}", code="bulk.not_found")
    return job


def list_jobs(session: Session, issuer: Issuer | None, limit: int = 20) -> list[BulkJob]:
    """The latest jobs (of ``issuer``, or of every issuer), newest first."""
    stmt = select(BulkJob).order_by(col(BulkJob.id).desc()).limit(limit)
    if issuer is not None:
        stmt = stmt.where(BulkJob.issuer_id == issuer.id)
    return list(session.exec(stmt))


def _while_running(job_id: int | None, worker: str | None) -> Update:
    """An UPDATE of job ``job_id`` that changes it only while ``worker`` still runs it."""
    return update(BulkJob).where(
        col(BulkJob.id) == job_id,
        col(BulkJob.status) == "running",
        col(BulkJob.worker) == worker,
    )


def reap(
    session: Session, lease: float, *, issuer_id: int | None = None, now: datetime
) -> list[int]:
    """Mark running jobs whose worker died as ``interrupted``; returns their ids."""
    stmt = select(BulkJob).where(BulkJob.status == "running")
    if issuer_id is not None:
        stmt = stmt.where(BulkJob.issuer_id == issuer_id)
    dead = [(job.id, job.worker) for job in session.exec(stmt) if not _alive(job, lease, now)]
    marked = []
    for job_id, worker in dead:
        # Only if nobody took it over in the meantime.
        changed = session.execute(
            _while_running(job_id, worker).values(status="interrupted", updated_at=now)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            marked.append(job_id or 0)
    session.commit()
    if marked:
        log.warning("bulk jobs %s were interrupted (their worker stopped)", marked)
    session.expire_all()
    return marked


def _take(
    session: Session,
    job: BulkJob,
    from_status: tuple[str, ...],
    *,
    reissue: bool | None,
    notify: bool | None = None,
    now: datetime,
) -> bool:
    values: dict[str, Any] = {
        "status": "running",
        "worker": worker_id(),
        "heartbeat_at": now,
        "updated_at": now,
        "finished_at": None,
        "attempts": job.attempts + 1,
    }
    if reissue is not None:
        values["reissue_revoked"] = reissue
    if notify is not None:
        values["notify_candidates"] = notify
    # A conditional update, so two clicks (or two processes) cannot both take it.
    taken = session.execute(
        update(BulkJob)
        .where(col(BulkJob.id) == job.id, col(BulkJob.status).in_(from_status))
        .values(**values)
    )
    session.commit()
    session.refresh(job)
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def claim(
    session: Session,
    issuer: Issuer,
    job_id: int,
    *,
    reissue_revoked: bool = False,
    notify_candidates: bool = True,
    now: datetime,
) -> BulkJob:
    """Mark a validated job as running (by this process); ``ConflictError`` if started.

    ``notify_candidates`` is kept on the job, so whoever resumes it emails as chosen."""
    job = get_job(session, issuer, job_id)
    if job.status != "validated":
        raise ConflictError(f"bulk job {job_id} was already started", code="bulk.started")
    if job.good_rows == 0:
        raise ConflictError("no row passed validation; nothing to issue", code="bulk.empty")
    if not _take(
        session, job, ("validated",), reissue=reissue_revoked, notify=notify_candidates, now=now
    ):
        raise ConflictError(f"bulk job {job_id} was already started", code="bulk.started")
    return job


def close_empty(session: Session, job: BulkJob, *, now: datetime) -> None:
    """Mark a CLI job in which no row passed as done (there is nothing to issue or resume)."""
    if job.status == "validated" and job.good_rows == 0:
        job.status = "done"
        job.finished_at = job.updated_at = now
        session.add(job)
        session.commit()


def resume(
    session: Session,
    issuer: Issuer | None,
    job_id: int,
    *,
    lease: float,
    actor: str,
    now: datetime,
) -> BulkJob:
    """Take over an interrupted (or failed) job; ``ConflictError`` saying why not."""
    job = get_job(session, issuer, job_id)
    reap(session, lease, issuer_id=job.issuer_id, now=now)
    session.refresh(job)
    if job.status == "running":
        raise ConflictError(
            f"bulk job {job_id} is still running (its worker reported at "
            f"{job.heartbeat_at:%H:%M:%S} UTC); wait for it, or resume it once it is "
            "shown as interrupted",
            code="bulk.running",
        )
    if job.status == "validated":
        raise ConflictError(
            f"bulk job {job_id} was never started; issue it instead", code="bulk.not_started"
        )
    if job.status not in RESUMABLE:
        raise ConflictError(f"bulk job {job_id} is already finished", code="bulk.finished")
    if not _take(session, job, RESUMABLE, reissue=None, now=now):
        raise ConflictError(f"bulk job {job_id} was resumed just now", code="bulk.running")
    audit.commit(
        session,
        actor=actor,
        action="bulk.resume",
        issuer_id=job.issuer_id,
        target=f"bulk:{job.id}",
        detail={"attempt": job.attempts, "done_before": job.done},
        now=now,
    )
    return job


def _rows(job: BulkJob) -> list[bulk.BatchRow]:
    good, _ = bulk.parse(job.csv_text.encode("utf-8"))
    by_position = list(job.line_map)
    for i, row in enumerate(good):
        if i < len(by_position):
            row.line = by_position[i]
    return good


def _lists(results: list[BatchRowResult]) -> dict[str, Any]:
    return {
        "issued": [
            {"line": r.line, "id": r.credential_id, "url": r.credential_url}
            for r in results
            if r.outcome == "issued"
        ],
        "skipped": [
            {"line": r.line, "id": r.credential_id, "url": r.credential_url, "reason": r.reason}
            for r in results
            if r.outcome == "skipped"
        ],
        "rejected": [
            {"line": r.line, "errors": r.errors} for r in results if r.outcome == "refused"
        ],
    }


def run(
    factory: SessionFactory,
    ctx: ServiceContext,
    job_id: int,
    *,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Issue the rows of a job this process took (``claim``/``resume``), recording progress."""
    me = worker_id()
    with factory() as session:
        job = session.get(BulkJob, job_id)
        if job is None or job.status != "running" or job.worker != me:
            return
        issuer = session.get(Issuer, job.issuer_id)
        assert issuer is not None
        rows = _rows(job)
        reissue = job.reissue_revoked
        notify = job.notify_candidates
        results: list[BatchRowResult] = []
        last_beat = [time.monotonic()]

        def beat(done: int, result: BatchRowResult) -> bool:
            results.append(result)
            if progress is not None:
                progress(done, len(rows))
            if done % SAVE_EVERY and time.monotonic() - last_beat[0] < BEAT_SECONDS:
                return True
            last_beat[0] = time.monotonic()
            beat_at = ctx.clock()
            values: dict[str, Any] = {
                "done": done,
                "heartbeat_at": beat_at,
                "updated_at": beat_at,
            }
            if done % SAVE_EVERY == 0:
                values.update(_lists(results))
            with factory() as beat_session:
                mine = beat_session.execute(_while_running(job_id, me).values(**values))
                beat_session.commit()
            # Taken over (this worker was presumed dead): stop; the new worker finishes.
            return bool(mine.rowcount == 1)  # type: ignore[attr-defined]

        values: dict[str, Any]
        try:
            bulk.issue_rows(
                session,
                ctx,
                issuer,
                rows,
                actor=actor,
                job_id=job_id,
                reissue_revoked=reissue,
                each=beat,
                notify=notify,
            )
        except Exception as exc:
            session.rollback()
            if isinstance(exc, BadgeworksError):
                message = f"{exc.code}: {exc.message}"
            else:
                log.exception("bulk job %s failed", job_id)
                message = "internal error; it has been logged. Resume the job to try again"
            values = {"status": "failed", "rejected": [{"line": 0, "errors": [message]}]}
        else:
            if len(results) < len(rows):
                return  # another worker took the job over
            values = {"status": "done", "done": len(rows), **_lists(results)}
        now = ctx.clock()
        session.execute(
            update(BulkJob)
            .where(col(BulkJob.id) == job_id, col(BulkJob.worker) == me)
            .values(**values, finished_at=now, updated_at=now, heartbeat_at=now)
        )
        session.commit()


def start(
    factory: SessionFactory, ctx: ServiceContext, job_id: int, *, actor: str
) -> threading.Thread:
    """Run a job this process took in a background thread (the page polls the job row)."""
    thread = threading.Thread(
        target=run,
        args=(factory, ctx, job_id),
        kwargs={"actor": actor},
        daemon=True,
        name=f"bulk-job-{job_id}",
    )
    thread.start()
    return thread


#: Who resumes jobs automatically on start-up (``bulk_resume_on_start``).
RESUME_ACTOR = "service:bulk-resume"


def on_start(factory: SessionFactory, ctx: ServiceContext) -> list[int]:
    """At web-process start: mark jobs whose worker died; resume them if configured to.

    Returns the ids of the jobs now interrupted (or resumed).
    """
    settings = ctx.settings
    with factory() as session:
        reap(session, settings.bulk_lease_seconds, now=ctx.clock())
        waiting = [
            job.id or 0
            for job in session.exec(select(BulkJob).where(BulkJob.status == "interrupted"))
        ]
        if not settings.bulk_resume_on_start:
            return waiting
        if not settings.worker_in_process:
            # Dedicated workers run the jobs: each interrupted bulk job becomes one
            # queued resume (the key keeps several processes starting at once to one).
            for job_id in waiting:
                row = session.get(BulkJob, job_id)
                jobs.enqueue_once(
                    factory,
                    "bulk.resume",
                    {"job": job_id},
                    now=ctx.clock(),
                    dedupe_key=f"bulk.resume:{job_id}",
                    issuer_id=row.issuer_id if row is not None else None,
                )
            return waiting
        for job_id in waiting:
            try:
                resume(
                    session,
                    None,
                    job_id,
                    lease=settings.bulk_lease_seconds,
                    actor=RESUME_ACTOR,
                    now=ctx.clock(),
                )
            except BadgeworksError:
                continue
            start(factory, ctx, job_id, actor=RESUME_ACTOR)
    return waiting


def find_resumable(session: Session, issuer: Issuer, csv_text: str, source: str) -> BulkJob | None:
    """The latest interrupted job of ``issuer`` with exactly these rows (a re-run's file)."""
    return session.exec(
        select(BulkJob)
        .where(
            BulkJob.issuer_id == issuer.id,
            BulkJob.source == source,
            col(BulkJob.status).in_(RESUMABLE),
            BulkJob.csv_text == csv_text,
        )
        .order_by(col(BulkJob.id).desc())
    ).first()


def result_of(session: Session, ctx: ServiceContext, job: BulkJob) -> BatchResult:
    """A finished job in the shape of the batch API's answer."""
    rows: list[BatchRowResult] = []
    for p in job.problems:
        rows.append(BatchRowResult(line=p["line"], outcome="refused", errors=[p["message"]]))
    merged: dict[int, BatchRowResult] = {}
    for r in rows:
        if r.line in merged:
            merged[r.line].errors.extend(r.errors)
        else:
            merged[r.line] = r
    for i in job.issued:
        merged[i["line"]] = BatchRowResult(
            line=i["line"], outcome="issued", credential_id=i["id"], credential_url=i["url"]
        )
    for s in job.skipped:
        merged[s["line"]] = BatchRowResult(
            line=s["line"],
            outcome="skipped",
            reason=s["reason"],
            credential_id=s["id"],
            credential_url=s["url"],
        )
    for bad in job.rejected:
        merged[bad["line"]] = BatchRowResult(
            line=bad["line"], outcome="refused", errors=bad["errors"]
        )
    return bulk.answer(session, ctx, [merged[line] for line in sorted(merged)])


def escape_cell(value: str) -> str:
    """A cell made safe for spreadsheets: a leading formula character is quoted with ``'``."""
    return "'" + value if value.startswith(FORMULA_START) else value


def problems_csv(job: BulkJob) -> str:
    """The validation problems (and issuing failures) as a CSV, escaped against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "column", "problem"])
    for p in job.problems:
        writer.writerow([str(p["line"]), escape_cell(p["column"]), escape_cell(p["message"])])
    for r in job.rejected:
        for message in r["errors"]:
            writer.writerow([str(r["line"]), "", escape_cell(message)])
    return out.getvalue()
