"""The whole mentor flow over HTTP, on SQLite and PostgreSQL: invite → email through a real
SMTP server → review page → sign → verify → issue the badge with the endorsement embedded
and the ratings as results → a later endorsement, hosted and listed."""

from __future__ import annotations

import copy
import json

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.adapters.resources import schema_documents
from badgeworks.core.verification.credential import verify
from badgeworks.services.infra import outbox
from badgeworks.services.programs.achievements import level_id, result_description_id
from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.mentor_reviews import HTML, LINK, invite, open_form, review_path
from tests.servers import Inbox

BASE = "http://127.0.0.1:8000"


def _send_outbox(app: FastAPI, port: int) -> None:
    settings = app.state.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    )
    sender = outbox.smtp_sender(settings)
    with app.state.session_factory() as session:
        result = outbox.send_pending(session, app.state.ctx, sender.send)
    assert result.sent == 1 and result.failed == 0


def _verify(app: FastAPI, document: dict) -> object:
    return verify(document, loader=app.state.ctx.loader, now=NOW, schemas=schema_documents())


def test_invite_review_sign_issue_and_endorse_later(
    app: FastAPI, client: TestClient, acme: IssuerHandle, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    ids = draft_project(client, acme)
    project = ids["project"]
    # The program leaves the rubric to the mentor.
    r = client.patch(f"/api/v1/projects/{project}", json={"results": []}, headers=acme.auth)
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/projects/{project}/deliverables",
        files={"file": ("report.pdf", b"%PDF-1.4 report", "application/pdf")},
        data={"name": "Final report", "genre": "report"},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text

    data = invite(client, acme, project, organization="Northwind Traders")
    assert data["status"] == "pending" and data["subject"] == "credential"
    assert data["endorser"]["did"].startswith("did:web:127.0.0.1%3A8000:mentors:")
    reserved = data["credential_id"]
    assert data["subject_id"] == f"{BASE}/credentials/{reserved}"

    # The link reaches the mentor through the outbox and a real SMTP server.
    _send_outbox(app, port)
    (mail,) = inbox.messages
    assert mail["To"] == "grace@example.org"
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(
        decode=True
    )
    assert LINK.search(text.decode()).group(0) == data["review_url"]  # type: ignore[union-attr]
    with app.state.session_factory() as session:
        (row,) = outbox.list_messages(session)
        assert row.status == "sent" and row.attempts == 1
        assert data["review_url"] not in row.body_text  # the secret is not kept once sent

    # The mentor's DID document is served where did:web says.
    did = data["endorser"]["did"]
    doc = client.get(data["endorser"]["did_document_url"].removeprefix(BASE))
    assert doc.status_code == 200 and doc.json()["id"] == did

    path = review_path(data)
    page = client.get(path, headers=HTML)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    for expected in ("Ada Lovelace", "Churn analysis", "Final report", "Exceeds expectations"):
        assert expected in page.text
    nonce = open_form(client, path)

    r = client.post(
        path,
        data={
            "nonce": nonce,
            "rating.quality": "exceeds",
            "comment": "Ada's **analysis** was excellent.",
            "skill": "0",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    hosted = r.headers["location"].split("?")[0]
    endorsement = client.get(hosted, headers={"Accept": "application/vc+ld+json"}).json()
    assert endorsement["issuer"]["id"] == did
    assert endorsement["issuer"]["name"] == "Grace Hopper"
    assert endorsement["issuer"]["description"] == "Lead analyst"
    assert endorsement["issuer"]["parentOrg"]["name"] == "Northwind Traders"
    assert endorsement["credentialSubject"]["id"] == data["subject_id"]
    assert "Data analysis" in endorsement["credentialSubject"]["endorsementComment"]
    report = _verify(app, endorsement)
    assert report.verified, report.as_dict()  # type: ignore[attr-defined]
    assert "Thank you" in client.get(r.headers["location"], headers=HTML).text

    # The link worked once.
    again = client.get(path, headers=HTML)
    assert again.status_code == 410 and "already used" in again.text
    assert client.post(path, data={"nonce": nonce}).status_code == 410

    # Completing the project embeds the endorsement and turns the rating into a Result.
    r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["id"] == reserved
    credential = issued["credential"]
    assert credential["endorsement"] == [endorsement]
    ach_url = credential["credentialSubject"]["achievement"]["id"]
    (result,) = credential["credentialSubject"]["result"]
    assert result["resultDescription"] == result_description_id(ach_url, "quality")
    assert result["achievedLevel"] == level_id(ach_url, "quality", "exceeds")
    report = _verify(app, credential)
    assert report.verified, report.as_dict()  # type: ignore[attr-defined]
    checks = [c for c in report.as_dict()["checks"] if c["check"] == "endorsement"]  # type: ignore[attr-defined]
    assert [c["outcome"] for c in checks] == ["pass"]
    assert "Grace Hopper" in checks[0]["message"]

    # A tampered embedded endorsement fails, and the report says which one. Tampering with
    # it changes the badge too, so the badge's own signature fails; the endorsement's
    # failure is reported on the endorsement (docs/verification.md, "What fails and what
    # warns").
    forged = copy.deepcopy(credential)
    forged["endorsement"][0]["credentialSubject"]["endorsementComment"] = "Hire someone else."
    bad = _verify(app, forged)
    assert not bad.verified  # type: ignore[attr-defined]
    found = bad.as_dict()["checks"]  # type: ignore[attr-defined]
    assert any(c["check"] == "proof" and c["outcome"] == "fail" for c in found)
    checks = [c for c in found if c["check"] == "endorsement"]
    assert (checks[0]["outcome"], checks[0]["code"]) == ("warning", "endorsement.failed")
    assert "Grace Hopper" in checks[0]["message"]

    # A later endorsement by the host company is hosted, listed and verifies on its own.
    host = invite(
        client,
        acme,
        project,
        kind="host",
        name="Northwind Traders",
        email="people@northwind.example",
        title="Host organisation of the internship",
        organization_url="https://northwind.example",
    )
    assert host["endorser"]["did"].startswith("did:web:127.0.0.1%3A8000:hosts:")
    assert host["subject_id"] == credential["id"]
    hpath = review_path(host)
    r = client.post(hpath, data={"nonce": open_form(client, hpath), "comment": "Great intern."})
    assert r.status_code == 201, r.text
    later = client.get(r.json()["json_url"].removeprefix(BASE)).json()
    assert later["issuer"]["id"] == host["endorser"]["did"]
    assert _verify(app, later).verified  # type: ignore[attr-defined]
    listing = client.get(f"/api/v1/credentials/{issued['id']}/endorsements")
    assert listing.status_code == 200
    assert [(e["endorser"]["kind"], e["embedded"]) for e in listing.json()] == [
        ("mentor", True),
        ("host", False),
    ]
    # The stored badge did not change.
    assert json.loads(client.get(issued["url"].removeprefix(BASE) + ".json").content) == credential
