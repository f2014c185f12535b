"""The console's Jobs page for workers' dead letters: staff see their own program's dead
jobs with the last error (English and Spanish), an issuer retries one (audited, once), a
viewer cannot, another program's jobs are neither shown nor retried, and a forged form
changes nothing. Both databases."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.jobs import DEAD, QUEUED, Job
from badgeworks.db.models import AuditEvent
from badgeworks.services.infra import jobs
from badgeworks.services.programs import issuers
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _dead_job(app: FastAPI, slug: str | None, kind: str, error: str) -> int:
    with app.state.session_factory() as session:
        issuer_id = issuers.get_issuer(session, slug).id if slug else None
        now = app.state.ctx.clock()
        job = jobs.enqueue(session, kind, {"job": 1}, now=now, issuer_id=issuer_id)
        job.state, job.attempts, job.finished_at, job.last_error = DEAD, 5, now, error
        session.add(job)
        session.commit()
        assert job.id is not None
        return job.id


def _state(app: FastAPI, job_id: int) -> str:
    with app.state.session_factory() as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row.state


def test_staff_see_and_retry_their_program_s_dead_jobs(
    app: FastAPI, client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    ours = _dead_job(app, "acme", "bulk.resume", "OperationalError: <script>alert(1)</script>")
    theirs = _dead_job(app, "globex", "bulk.resume", "globex's secret trouble")
    service = _dead_job(app, None, "outbox.deliver", "SMTP refused")
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    add_staff(app, "acme", "issuer@acme.example", "issuer")

    viewer_csrf = sign_in(client, "viewer@acme.example")
    page = client.get("/console/acme/jobs")
    assert page.status_code == 200
    text = Page(page.text).text
    assert "Jobs that stopped" in text and "Resume a bulk issuance" in text
    assert "<script>alert(1)</script>" not in page.text  # the error is escaped
    assert "OperationalError: <script>alert(1)</script>" in text
    assert "globex's secret trouble" not in text and "SMTP refused" not in text
    assert "An issuer of the program can retry it." in text
    refused = client.post(f"/console/acme/jobs/{ours}/retry", data={"csrf_token": viewer_csrf})
    assert refused.status_code == 403
    assert _state(app, ours) == DEAD
    spanish = Page(client.get("/console/acme/jobs?lang=es").text).text
    assert "Tareas detenidas" in spanish and "Reanudar una emisión masiva" in spanish

    client.cookies.clear()
    csrf = sign_in(client, "issuer@acme.example")
    # A forged form (no CSRF token) changes nothing.
    assert client.post(f"/console/acme/jobs/{ours}/retry").status_code == 403
    # Another program's job, and the service's own, cannot be retried from here, and
    # the answer is the same as for a job that does not exist (404).
    for other in (theirs, service):
        r = client.post(f"/console/acme/jobs/{other}/retry", data={"csrf_token": csrf})
        assert r.status_code == 404, r.text
        assert _state(app, other) == DEAD
    for hostile in ("0", "-1", "abc", "99999999999"):
        r = client.post(f"/console/acme/jobs/{hostile}/retry", data={"csrf_token": csrf})
        assert r.status_code in (404, 422), (hostile, r.status_code)
    r = client.post(f"/console/acme/jobs/{ours}/retry", data={"csrf_token": csrf})
    assert r.status_code == 200, r.text
    assert "The job is queued again" in Page(r.text).text
    assert "No job has stopped" in Page(r.text).text
    assert _state(app, ours) == QUEUED
    # Twice is refused: it is not dead any more.
    again = client.post(f"/console/acme/jobs/{ours}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409
    with app.state.session_factory() as session:
        events = list(session.exec(select(AuditEvent).where(AuditEvent.action == "job.retry")))
        assert [e.target for e in events] == [f"job:{ours}"]
