"""The job queue's gauges: jobs by state, and how long the job due longest ago has waited,
read from the database at each scrape (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from badgeworks.services.infra import jobs
from tests.issuer_app import NOW
from tests.web.test_observability import scrape


def test_queued_jobs_and_their_wait_are_reported(app: FastAPI) -> None:
    with app.state.session_factory() as session:
        jobs.enqueue(session, "status.repair", now=NOW - timedelta(minutes=5))
        jobs.enqueue(session, "status.repair", now=NOW, delay=timedelta(hours=1))
        session.commit()
    samples = scrape(app)
    assert samples['badgeworks_jobs{state="queued"}'] == 2
    assert samples['badgeworks_jobs{state="running"}'] == 0
    # The job due 5 minutes ago has waited 300 s; the one due in an hour is not waiting.
    assert samples["badgeworks_job_oldest_due_age_seconds"] == 300
