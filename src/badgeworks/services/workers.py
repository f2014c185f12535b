"""The kinds of background job a worker runs, and the worker each command starts.

Every handler is idempotent, because a job whose worker died mid-run runs again:

- ``outbox.deliver``: deliver pending outbox messages (each message is claimed before it
  is sent, so a second run sends nothing twice; docs/outbox.md).
- ``bulk.resume`` (``{"job": id}``): take over an interrupted bulk issuance job and issue
  its remaining rows (each row is claimed once in ``bulk_row``, so a re-run finds the
  credentials already issued).
- ``status.repair``: re-derive the status lists from the rows and re-sign those that
  drifted (a list that agrees with its rows is left alone).
- ``pdf.preview`` (``{"sha256": digest}``): picture an uploaded PDF's first page once,
  queued with the upload (a preview already made is read, not made again).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from badgeworks.core.errors import BadgeworksError, ConfigError
from badgeworks.db.console import BulkJob
from badgeworks.services.context import ServiceContext
from badgeworks.services.infra import jobs
from badgeworks.services.infra.jobs import Handler, JobRun, SessionFactory
from badgeworks.settings import Settings

_SHA256 = re.compile(r"[0-9a-f]{64}")

#: Who the audit trail names for work a job worker does.
WORKER_ACTOR = "service:worker"


class JobPayloadError(BadgeworksError):
    """A job's payload does not say what the handler needs."""

    code = "job.payload_invalid"


def _outbox_deliver(factory: SessionFactory, ctx: ServiceContext) -> Handler:
    def handle(payload: dict[str, Any], run: JobRun) -> None:
        from badgeworks.services.infra import outbox

        sender = outbox.configured_sender(ctx.settings)
        if sender is None:
            raise ConfigError(
                "no mail sender is configured (BADGEWORKS_SMTP_HOST or BADGEWORKS_MAIL_CONSOLE)",
                code="outbox.not_configured",
            )
        with factory() as session:
            outbox.send_pending(session, ctx, sender, stop=run.stop)

    return handle


def _bulk_resume(factory: SessionFactory, ctx: ServiceContext) -> Handler:
    def handle(payload: dict[str, Any], run: JobRun) -> None:
        from badgeworks.services.issuance import bulk_jobs

        job_id = payload.get("job")
        if not isinstance(job_id, int) or isinstance(job_id, bool) or job_id < 1:
            raise JobPayloadError(f"bulk.resume needs a job id, got {job_id!r}")
        settings = ctx.settings
        with factory() as session:
            job = session.get(BulkJob, job_id)
            if job is None or job.status not in bulk_jobs.RESUMABLE:
                return  # finished (or gone) meanwhile: nothing is left to do
            bulk_jobs.resume(
                session,
                None,
                job_id,
                lease=settings.bulk_lease_seconds,
                actor=WORKER_ACTOR,
                now=ctx.clock(),
            )
        bulk_jobs.run(factory, ctx, job_id, actor=WORKER_ACTOR)

    return handle


def _status_repair(factory: SessionFactory, ctx: ServiceContext) -> Handler:
    def handle(payload: dict[str, Any], run: JobRun) -> None:
        from badgeworks.services.lifecycle import status_lists

        with factory() as session:
            status_lists.repair(session, ctx)

    return handle


def _pdf_preview(factory: SessionFactory, ctx: ServiceContext) -> Handler:
    def handle(payload: dict[str, Any], run: JobRun) -> None:
        from badgeworks.services.errors import NotFoundError
        from badgeworks.services.portfolio import files

        sha256 = payload.get("sha256")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise JobPayloadError(f"pdf.preview needs a SHA-256 digest, got {sha256!r:.80}")
        with factory() as session:
            try:
                files.pdf_preview(session, ctx, sha256)
            except NotFoundError:
                # Removed meanwhile, or a PDF that cannot be pictured (kept as such): the
                # page says so; there is nothing to retry.
                return

    return handle


#: Each job kind and how its handler is built for a process.
KINDS: dict[str, Callable[[SessionFactory, ServiceContext], Handler]] = {
    "outbox.deliver": _outbox_deliver,
    "bulk.resume": _bulk_resume,
    "status.repair": _status_repair,
    "pdf.preview": _pdf_preview,
}


def handlers(factory: SessionFactory, ctx: ServiceContext) -> dict[str, Handler]:
    """Every job kind's handler, bound to this process's sessions and context."""
    return {kind: build(factory, ctx) for kind, build in KINDS.items()}


def worker(
    factory: SessionFactory,
    ctx: ServiceContext,
    *,
    extra: dict[str, Handler] | None = None,
    name: str | None = None,
    clock: Callable[[], datetime] | None = None,
    dedicated: bool = False,
) -> jobs.Worker:
    """A job worker for this process (not started) running every kind, plus ``extra``.

    A ``dedicated`` worker (``badgeworks worker``) also keeps the periodic jobs queued:
    outbox delivery every ``outbox_interval_seconds`` when a sender is configured, which
    the web process then leaves to the workers."""
    return jobs.Worker(
        ctx.settings,
        factory,
        {**handlers(factory, ctx), **(extra or {})},
        clock=clock or ctx.clock,
        name=name,
        every=periodic(ctx.settings) if dedicated else None,
    )


def periodic(settings: Settings) -> dict[str, float]:
    """The kinds dedicated workers run periodically, with their intervals (seconds)."""
    from badgeworks.services.infra import outbox

    every: dict[str, float] = {}
    if settings.outbox_interval_seconds > 0 and outbox.configured_sender(settings) is not None:
        every["outbox.deliver"] = settings.outbox_interval_seconds
    return every
