"""The console's bulk job: "Email each candidate their credential" is ticked by default;
ticked, each issued row queues its candidate's message in the outbox (sent after the
run); unticked, none. The choice is kept on the job. Both databases."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.console import BulkJob
from badgeworks.services.infra import outbox
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle, draft_project

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]
CSV_HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name\n"


def _run(client: TestClient, csrf: str, body: str, *, notify: bool | None) -> str:
    r = client.post(
        "/console/acme/bulk",
        data={"csrf_token": csrf},
        files={"file": ("cohort.csv", body.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    job_url = r.url.path
    (box,) = Page(r.text).all("input", id="notify-candidates")
    assert "checked" in box and box["name"] == "notify_candidates"
    form = {"csrf_token": csrf} | ({"notify_candidates": "true"} if notify else {})
    assert client.post(f"{job_url}/issue", data=form).status_code == 200
    for _ in range(300):
        page = client.get(job_url).text
        if "Finished" in page:
            return job_url
        time.sleep(0.1)
    raise AssertionError("the bulk job did not finish")


def test_the_bulk_job_emails_the_candidates_only_when_ticked(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    a = draft_project(client, acme)["achievement"]
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    _run(
        client,
        csrf,
        CSV_HEADER + f"{a},Bo Good,bo@example.org,P1,Host\n{a},Ed Good,ed@example.org,P2,Host\n",
        notify=True,
    )
    with app.state.session_factory() as session:
        sent_to = sorted(m.to for m in outbox.list_messages(session))
    assert sent_to == ["bo@example.org", "ed@example.org"]

    _run(client, csrf, CSV_HEADER + f"{a},Cy Quiet,cy@example.org,P3,Host\n", notify=False)
    with app.state.session_factory() as session:
        assert len(outbox.list_messages(session)) == 2
        jobs = session.exec(select(BulkJob).order_by(col(BulkJob.id))).all()
        assert [j.notify_candidates for j in jobs] == [True, False]
