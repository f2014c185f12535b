"""Idempotent completion and achievement versioning."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle, draft_project


def test_idempotency_key_replays_the_first_result(client: TestClient, acme: IssuerHandle) -> None:
    ids = draft_project(client, acme)
    path = f"/api/v1/projects/{ids['project']}/complete"
    headers = {**acme.auth, "Idempotency-Key": "retry-1"}
    first = client.post(path, headers=headers)
    second = client.post(path, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers.get("Idempotent-Replayed") == "true"
    creds = client.get("/api/v1/issuers/acme/credentials", headers=acme.auth).json()
    assert len(creds) == 1
    # Without the key, a retry is a conflict, never a second credential.
    third = client.post(path, headers=acme.auth)
    assert third.status_code == 409 and third.json()["code"] == "project.already_completed"
    # The same key for a different request is refused.
    other = draft_project(client, acme)
    r = client.post(f"/api/v1/projects/{other['project']}/complete", headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "idempotency.key_reused"


def test_editing_an_issued_achievement_creates_a_version(
    client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    ach = f"/api/v1/achievements/{ids['achievement']}"
    # Before issuance, edits change version 1 in place.
    r = client.patch(ach, json={"description": "Edited before issuing."}, headers=acme.auth)
    assert r.json()["version"] == 1
    issued = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth).json()
    r = client.patch(ach, json={"name": "Renamed"}, headers=acme.auth)
    assert r.status_code == 200
    assert r.json()["version"] == 2 and r.json()["name"] == "Renamed"
    versions = client.get(f"{ach}/versions", headers=acme.auth).json()
    assert [(v["version"], v["issued"]) for v in versions] == [(1, True), (2, False)]
    assert versions[0]["name"] == "Data Analysis Micro-internship"
    # The credential keeps the version it was issued with.
    assert issued["credential"]["credentialSubject"]["achievement"]["id"].endswith("/versions/1")
    path = issued["url"].removeprefix("http://127.0.0.1:8000")
    stored = client.get(path, headers={"Accept": "application/json"}).json()
    assert stored["credentialSubject"]["achievement"]["name"] == "Data Analysis Micro-internship"
    # Unissued version 2 is not public yet.
    assert client.get(f"/achievements/{ids['achievement']}/versions/2").status_code == 404
    # A new credential uses version 2.
    ids2 = draft_project(client, acme)
    r = client.patch(
        f"/api/v1/projects/{ids2['project']}",
        json={"achievement_id": ids["achievement"]},
        headers=acme.auth,
    )
    assert r.status_code == 200
    new = client.post(f"/api/v1/projects/{ids2['project']}/complete", headers=acme.auth).json()
    assert new["credential"]["credentialSubject"]["achievement"]["id"].endswith("/versions/2")
