"""Console bulk: the program's CSV template (every column, a row per achievement with its
id), achievement ids shown in the console, issued rows named (not bare UUIDs), and a file
uploaded again says which rows were issued before and issues nothing twice."""

from __future__ import annotations

import csv
import io
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.models import Credential
from badgeworks.services.issuance import bulk
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle, draft_project

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _credentials(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(session.exec(select(Credential)).all())


def _upload(client: TestClient, csrf: str, body: str) -> tuple[str, str]:
    r = client.post(
        "/console/acme/bulk",
        data={"csrf_token": csrf},
        files={"file": ("cohort.csv", body.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text[:500]
    return r.url.path, r.text


def _issue(client: TestClient, csrf: str, job_url: str) -> str:
    r = client.post(f"{job_url}/issue", data={"csrf_token": csrf})
    assert r.status_code == 200
    for _ in range(200):
        page = client.get(job_url).text
        if "Finished" in page:
            return page
        time.sleep(0.05)
    raise AssertionError(page)


def test_template_lists_the_programs_achievements_and_uploads_once_filled(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    page = client.get("/console/acme/bulk")
    assert 'href="/console/acme/bulk/template.csv"' in page.text
    assert f"<code>{ids['achievement']}</code>" in page.text  # which id is which
    r = client.get("/console/acme/bulk/template.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [*bulk.REQUIRED, *bulk.OPTIONAL]
    assert [row[0] for row in rows[1:]] == [str(ids["achievement"])]
    # Filled in, the template is a file the bulk page takes as it is.
    filled = dict(zip(rows[0], rows[1], strict=True)) | {
        "candidate_name": "Bo Good",
        "candidate_email": "bo@example.org",
        "project_title": "P1",
        "host_name": "Host",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=rows[0])
    writer.writeheader()
    writer.writerow(filled)
    _, text = _upload(client, csrf, out.getvalue())
    assert "1 rows: 1 ready, 0 with problems" in text or "1 ready" in text
    # The achievements page shows each id too.
    listed = client.get("/console/acme/achievements").text
    assert f"<code>{ids['achievement']}</code>" in listed and "achievement_id" in listed


def test_a_file_uploaded_again_shows_rows_issued_before_and_issues_nothing_twice(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    a = ids["achievement"]
    header = ",".join(bulk.REQUIRED) + "\n"
    first = header + f"{a},Bo Good,bo@example.org,P1,Host\n{a},Ed Good,ed@example.org,P2,Host\n"
    job_url, text = _upload(client, csrf, first)
    assert "Issued before" not in text
    before = _credentials(app)
    done = _issue(client, csrf, job_url)
    assert _credentials(app) == before + 2
    issued = Page(done[done.index("<h2>Issued</h2>") :]).text
    assert "Bo Good — Data Analysis Micro-internship" in issued
    assert "Ed Good — Data Analysis Micro-internship" in issued
    with app.state.session_factory() as session:
        for cred in session.exec(select(Credential)):
            assert cred.id not in issued  # names, not bare ids

    # The same rows again, plus a new one: the page names the two issued before.
    again = first + f"{a},Cy New,cy@example.org,P3,Host\n"
    job_url, text = _upload(client, csrf, again)
    section = Page(
        text[
            text.index('id="issued-before"') : text.index("</ul>", text.index('id="issued-before"'))
        ]
    ).text
    assert "Line 2" in section and "Bo Good — Data Analysis Micro-internship" in section
    assert "Line 3" in section and "Ed Good" in section and "Cy New" not in section
    assert "2 of them were issued before and are skipped" in text
    # In Spanish too.
    spanish = client.get(f"{job_url}?lang=es").text
    client.get(f"{job_url}?lang=en")  # the choice is kept in a cookie: back to English
    assert "Emitidas antes" in spanish and "nada se emite dos veces" in spanish
    done = _issue(client, csrf, job_url)
    assert _credentials(app) == before + 3  # only Cy New was issued
    skipped = Page(done[done.index("<h2>Skipped</h2>") :]).text
    assert "Bo Good — Data Analysis Micro-internship" in skipped and "already issued" in skipped


def test_template_of_another_program_is_not_found(
    app: FastAPI, client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    sign_in(client, "owner@acme.example")
    assert client.get("/console/globex/bulk/template.csv").status_code == 404
