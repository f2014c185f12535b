"""The console's Jobs page in a real browser (Debian's Chromium), at 1280 px and 320 px,
in English and Spanish: it passes axe-core, never scrolls sideways with a long error, and
its Retry button queues the job again."""

from __future__ import annotations

import re
from typing import Any

import pytest

from badgeworks.db.jobs import DEAD, DONE, QUEUED, Job
from badgeworks.services.accounts import staff
from badgeworks.services.infra import jobs
from badgeworks.services.programs import issuers
from tests.browser_support import assert_accessible, assert_reflows, requires_chromium, served_app
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import NOW, make_issuer

pytestmark = requires_chromium

LONG_ERROR = (
    "OperationalError: could not connect to server at "
    "badgeworks-primary-database.internal.example.org:5432 " + "x" * 200
)


def test_staff_retry_a_dead_job_in_the_browser(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10
    try:
        with served_app(tmp_path_factory.mktemp("dead-jobs"), clock=lambda: NOW) as (base, app):
            acme = make_issuer(app, "acme")
            add_staff(app, "acme", "owner@acme.example", "owner")
            with app.state.session_factory() as session:
                issuer_id = issuers.get_issuer(session, acme.slug).id
                job = jobs.enqueue(session, "bulk.resume", {"job": 7}, now=NOW, issuer_id=issuer_id)
                job.state, job.attempts, job.finished_at = DEAD, 5, NOW
                job.last_error = LONG_ERROR
                session.add(job)
                session.commit()
                job_id = job.id
            for width in (1280, 320):
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                try:
                    page.goto(f"{base}/console/login")
                    page.get_by_label("Email address").fill("owner@acme.example")
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_url(re.compile(r"/console/acme/$"))
                    page.get_by_role("link", name="Jobs").click()
                    page.wait_for_url(re.compile(r"/console/acme/jobs$"))
                    assert page.get_by_role("heading", name="Jobs that stopped").is_visible()
                    assert_reflows(page)
                    assert_accessible(page)
                    page.goto(f"{base}/console/acme/jobs?lang=es")
                    assert page.get_by_role("heading", name="Tareas detenidas").is_visible()
                    assert_reflows(page)
                    assert_accessible(page)
                    page.goto(f"{base}/console/acme/jobs?lang=en")
                    if width == 320:
                        page.get_by_role("button", name="Retry").click()
                        page.wait_for_url(re.compile(r"/console/acme/jobs\?done=job_retried$"))
                        assert (
                            page.get_by_role("status")
                            .inner_text()
                            .startswith("The job is queued again")
                        )
                        assert_accessible(page)
                finally:
                    context.close()
            with app.state.session_factory() as session:
                row = session.get(Job, job_id)
                # Queued again, and perhaps already run by the app's own worker (the bulk
                # job it names is gone, so there is nothing left to resume).
                assert row is not None and row.state in (QUEUED, DONE) and row.attempts <= 1
    finally:
        staff._SCRYPT_N = original
