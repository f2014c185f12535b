"""``badgeworks serve``'s app runs one job worker in its own process (so a plain ``make run``
needs nothing more), and none when dedicated workers run the jobs."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.db.jobs import DONE, Job
from badgeworks.services.infra import jobs
from badgeworks.settings import Settings
from badgeworks.web.app import create_app


def test_the_app_runs_queued_jobs_in_process(app: FastAPI) -> None:
    factory = app.state.session_factory
    with TestClient(app):
        assert app.state.job_worker is not None
        with factory() as session:
            job = jobs.enqueue(session, "status.repair", now=app.state.ctx.clock())
            session.commit()
        deadline = time.monotonic() + 20
        while True:
            with factory() as session:
                row = session.get(Job, job.id)
                assert row is not None
                if row.state == DONE:
                    break
            assert time.monotonic() < deadline, (row.state, row.claimed_by, row.last_error)
            time.sleep(0.05)
    assert not app.state.job_worker._thread.is_alive()  # stopped with the app


def test_no_in_process_worker_when_dedicated_workers_run(settings: Settings) -> None:
    application = create_app(settings.model_copy(update={"worker_in_process": False}))
    try:
        with TestClient(application):
            assert application.state.job_worker is None
    finally:
        application.state.engine.dispose()
