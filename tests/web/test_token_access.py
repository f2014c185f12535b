"""A token for issuer A never sees drafts of, issues for or revokes anything of issuer B."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle, draft_project


def test_cross_issuer_access_is_denied(
    client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    ids = draft_project(client, globex)
    issued = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=globex.auth)
    assert issued.status_code == 201
    cred_id = issued.json()["id"]
    draft = draft_project(client, globex)

    attempts = [
        ("GET", f"/api/v1/projects/{draft['project']}", None),
        ("PATCH", f"/api/v1/projects/{draft['project']}", {"title": "stolen"}),
        ("POST", f"/api/v1/projects/{draft['project']}/complete", None),
        (
            "POST",
            f"/api/v1/projects/{draft['project']}/links",
            {"name": "x", "url": "https://x.example"},
        ),
        ("GET", f"/api/v1/candidates/{draft['candidate']}", None),
        ("PATCH", f"/api/v1/candidates/{draft['candidate']}", {"name": "x"}),
        ("GET", f"/api/v1/achievements/{draft['achievement']}", None),
        ("PATCH", f"/api/v1/achievements/{draft['achievement']}", {"name": "x"}),
        ("POST", f"/api/v1/credentials/{cred_id}/revoke", {"reason": "x"}),
        ("GET", "/api/v1/issuers/globex/projects", None),
        ("GET", "/api/v1/issuers/globex/candidates", None),
        ("GET", "/api/v1/issuers/globex/credentials", None),
        ("GET", "/api/v1/issuers/globex/audit", None),
        ("GET", "/api/v1/issuers/globex/tokens", None),
        ("POST", "/api/v1/issuers/globex/tokens", {"label": "x"}),
        ("POST", "/api/v1/issuers/globex/keys", None),
        ("PATCH", "/api/v1/issuers/globex", {"name": "x"}),
        (
            "POST",
            "/api/v1/issuers/globex/projects",
            {
                "achievement_id": draft["achievement"],
                "candidate_id": draft["candidate"],
                "title": "x",
                "host": {"name": "x"},
            },
        ),
    ]
    for method, path, body in attempts:
        r = client.request(method, path, json=body, headers=acme.auth)
        assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
        assert r.json()["ok"] is False

    # Nothing changed for globex: the draft is still a draft and the credential not revoked.
    project = client.get(f"/api/v1/projects/{draft['project']}", headers=globex.auth).json()
    assert project["status"] == "draft" and project["title"] == "Churn analysis"
    creds = client.get("/api/v1/issuers/globex/credentials", headers=globex.auth).json()
    assert [c["revoked_at"] for c in creds] == [None]

    # acme's own project cannot point at globex's candidate or achievement either.
    r = client.post(
        "/api/v1/issuers/acme/projects",
        json={
            "achievement_id": draft["achievement"],
            "candidate_id": draft["candidate"],
            "title": "x",
            "host": {"name": "x"},
        },
        headers=acme.auth,
    )
    assert r.status_code == 404


def test_missing_wrong_and_revoked_tokens(client: TestClient, acme: IssuerHandle) -> None:
    path = "/api/v1/issuers/acme/candidates"
    assert client.get(path).status_code == 401
    assert client.get(path).json()["code"] == "auth.missing_token"
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(path, headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get(path, headers=acme.auth).status_code == 200
    tokens = client.get("/api/v1/issuers/acme/tokens", headers=acme.auth).json()
    r = client.delete(f"/api/v1/issuers/acme/tokens/{tokens[0]['id']}", headers=acme.auth)
    assert r.status_code == 200
    r = client.get(path, headers=acme.auth)
    assert r.status_code == 401 and r.json()["code"] == "auth.invalid_token"


def test_issuer_creation_needs_admin_token(client: TestClient) -> None:
    body = {"slug": "initech", "name": "Initech"}
    assert client.post("/api/v1/issuers", json=body).status_code == 401
    r = client.post(
        "/api/v1/issuers",
        json=body,
        headers={"Authorization": "Bearer admin-test-token-0123456789-abcdefghij"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["did"] == "did:web:127.0.0.1%3A8000:issuers:initech"
    assert "encrypted" not in r.text and "secret" not in r.text.lower()
