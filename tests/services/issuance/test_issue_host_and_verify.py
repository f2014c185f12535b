"""End to end through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.credential import check_digest_multibase
from badgeworks.core.verification.credential import verify
from tests.issuer_app import NOW, IssuerHandle, draft_project

REPORT = b"%PDF-1.4\n% a tiny report\n"


def test_issue_host_verify_and_fetch_evidence(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    r = client.post(
        f"/api/v1/projects/{ids['project']}/deliverables",
        files={"file": ("report.pdf", REPORT, "application/pdf")},
        data={"name": "Final report", "genre": "report", "description": "Findings"},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(REPORT).hexdigest()

    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    issued = r.json()
    url = issued["url"]
    assert url.startswith("http://127.0.0.1:8000/credentials/")
    path = url.removeprefix("http://127.0.0.1:8000")

    # The hosted JSON is the exact stored text, byte for byte.
    hosted = client.get(path, headers={"Accept": "application/vc+ld+json"})
    assert hosted.status_code == 200
    assert hosted.headers["content-type"].startswith("application/vc+ld+json")
    with app.state.session_factory() as session:
        from badgeworks.db.models import Credential

        row = session.get(Credential, issued["id"])
        assert row is not None
        assert hosted.content == row.document.encode("utf-8")
    plain = client.get(path, headers={"Accept": "application/json"})
    assert plain.headers["content-type"].startswith("application/json")
    assert plain.content == hosted.content

    credential = json.loads(hosted.content)
    assert credential["id"] == url
    assert credential["issuer"]["id"] == "did:web:127.0.0.1%3A8000:issuers:acme"
    subject = credential["credentialSubject"]
    assert subject["role"] == "Intern"
    assert subject["source"]["name"] == "Northwind Traders"
    assert "ada@example.org" not in hosted.text  # only the salted hash
    assert subject["identifier"][0]["identityHash"].startswith("sha256$")

    report = verify(credential, loader=app.state.ctx.loader, now=NOW)
    assert report.verified, report.as_dict()

    # The evidence URL serves bytes whose digest matches the credential's digestMultibase.
    (related,) = credential["relatedResource"]
    (evidence,) = credential["evidence"]
    assert evidence["id"] == related["id"]
    assert evidence["genre"] == "report"
    blob = client.get(related["id"].removeprefix("http://127.0.0.1:8000"))
    assert blob.status_code == 200
    assert blob.content == REPORT
    assert check_digest_multibase(related["digestMultibase"], blob.content)

    # A browser gets a readable page.
    page = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Data Analysis Micro-internship" in page.text
    assert "Northwind Traders" in page.text

    # The DID document is served at the did:web path.
    did = client.get("/issuers/acme/did.json")
    assert did.status_code == 200
    assert did.json()["id"] == credential["issuer"]["id"]

    # The issued achievement version is public.
    ach = client.get(
        credential["credentialSubject"]["achievement"]["id"].removeprefix("http://127.0.0.1:8000")
    )
    assert ach.status_code == 200

    # Audit records the issuance.
    events = client.get("/api/v1/issuers/acme/audit", headers=acme.auth).json()
    assert "credential.issue" in {e["action"] for e in events}


def test_key_rotation_keeps_old_credentials_verifying(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    first = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth).json()
    r = client.post("/api/v1/issuers/acme/keys", headers=acme.auth)
    assert r.status_code == 201, r.text
    assert r.json()["id"].endswith("#key-2")
    ids2 = draft_project(client, acme)
    second = client.post(f"/api/v1/projects/{ids2['project']}/complete", headers=acme.auth).json()
    assert second["credential"]["proof"][0]["verificationMethod"].endswith("#key-2")
    for issued in (first, second):
        report = verify(issued["credential"], loader=app.state.ctx.loader, now=NOW)
        assert report.verified, report.as_dict()
    doc = client.get("/issuers/acme/did.json").json()
    assert len(doc["verificationMethod"]) == 2


def test_did_key_issuer(app: FastAPI, client: TestClient) -> None:
    from tests.issuer_app import make_issuer

    who = make_issuer(app, "keyed", did_method="key")
    ids = draft_project(client, who)
    issued = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth).json()
    assert issued["credential"]["issuer"]["id"].startswith("did:key:")
    assert verify(issued["credential"], loader=app.state.ctx.loader, now=NOW).verified


def test_revocation_is_recorded_without_touching_the_credential(
    client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    issued = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth).json()
    path = issued["url"].removeprefix("http://127.0.0.1:8000")
    before = client.get(path, headers={"Accept": "application/json"}).content
    r = client.post(
        f"/api/v1/credentials/{issued['id']}/revoke", json={"reason": "error"}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"]
    assert client.get(path, headers={"Accept": "application/json"}).content == before
    assert "revoked" in client.get(path, headers={"Accept": "text/html"}).text


def test_batch_endpoint_issues_good_rows_and_reports_bad_ones(
    client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    csv = (
        "achievement_id,candidate_name,candidate_email,project_title,host_name\n"
        f"{ids['achievement']},Ada,ada@example.org,Project A,Host\n"
        f"{ids['achievement']},Bob,not-an-email,Project B,Host\n"
        "999,Cy,cy@example.org,Project C,Host\n"
    )
    r = client.post(
        "/api/v1/issuers/acme/batches",
        content=csv.encode(),
        headers={**acme.auth, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["issued"]) == 1
    assert [x["line"] for x in body["rejected"]] == [3, 4]
    r = client.post(
        "/api/v1/issuers/acme/batches",
        content=b"name\nx\n",
        headers={**acme.auth, "Content-Type": "text/csv"},
    )
    assert r.status_code == 400 and r.json()["code"] == "csv.header"
