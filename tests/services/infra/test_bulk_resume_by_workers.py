"""With dedicated workers (``BADGEWORKS_WORKER_IN_PROCESS=false``) and automatic resume on,
a web process starting up queues one ``bulk.resume`` job per interrupted bulk job (once,
however many processes start), for the job's program; a worker then finishes the bulk
job and every row issues once. Both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socket import gethostname

from sqlmodel import select

from badgeworks.db.console import BulkJob
from badgeworks.db.jobs import DONE, Job
from badgeworks.services import workers
from badgeworks.services.issuance import bulk_jobs
from badgeworks.services.programs import issuers
from badgeworks.web.app import create_app
from tests.services.issuance.test_bulk_under_faults import (
    _per_email,
    _prepare,
    _settings,
    cohort,
)


def test_start_up_queues_interrupted_bulk_jobs_for_the_workers(
    database_url: str, tmp_path: Path
) -> None:
    settings = _settings(database_url, tmp_path, bulk_resume_on_start=True, worker_in_process=False)
    _, achievement = _prepare(settings)
    app = create_app(settings, clock=lambda: datetime.now(UTC))
    factory = app.state.session_factory
    ctx = app.state.ctx
    try:
        with factory() as session:
            issuer = issuers.get_issuer(session, "acme")
            now = ctx.clock()
            job = bulk_jobs.create_job(
                session,
                issuer,
                None,
                "cohort.csv",
                cohort(achievement, 3).encode(),
                actor="t",
                now=now,
            )
            # A worker on this host whose process is gone: interrupted at once.
            job.status, job.worker = "running", f"{gethostname()}:999999999:cc"
            job.heartbeat_at = now - timedelta(seconds=1)
            session.add(job)
            session.commit()
            bulk_id = job.id
        # Two processes starting: one queued resume, for the bulk job's program.
        assert bulk_jobs.on_start(factory, ctx) == [bulk_id]
        assert bulk_jobs.on_start(factory, ctx) == [bulk_id]
        with factory() as session:
            queued = list(session.exec(select(Job)))
            assert [(j.kind, j.issuer_id) for j in queued] == [("bulk.resume", issuer.id)]
            assert session.get(BulkJob, bulk_id).status == "interrupted"
        worker = workers.worker(factory, ctx)
        assert worker.run_once()
        with factory() as session:
            assert session.get(Job, queued[0].id).state == DONE
            assert session.get(BulkJob, bulk_id).status == "done"
    finally:
        app.state.engine.dispose()
    assert _per_email(database_url) == Counter({f"p{i}@example.org": 1 for i in range(3)})
