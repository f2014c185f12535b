"""Revoke, suspend, unsuspend, re-issue and expire, through the API, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.status import decode_list, get_status
from badgeworks.core.verification.credential import verify
from badgeworks.services.verification import pipeline as verification
from tests.issuer_app import NOW, IssuerHandle
from tests.plain_credentials import ctx_of, issue_plain, issue_project, path_of, row_id


def _codes(report: dict[str, object]) -> list[str]:
    return [c["code"] for c in report["checks"]]  # type: ignore[attr-defined]


def _bit(client: TestClient, entry: dict[str, str]) -> int:
    listed = client.get(path_of(entry["statusListCredential"])).json()
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    return get_status(bits, int(entry["statusListIndex"]))


def test_revoke_and_suspend_show_in_verify_and_unsuspend_clears(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    vc = issue_plain(client, acme)
    cid = row_id(vc)
    revocation, suspension = vc["credentialStatus"]
    assert (revocation["statusPurpose"], suspension["statusPurpose"]) == (
        "revocation",
        "suspension",
    )
    ctx = ctx_of(app)
    assert verification.verify(ctx, vc).report.verified
    ok = client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert ok.status_code == 200, ok.text

    r = client.post(
        f"/api/v1/credentials/{cid}/suspend", json={"reason": "audit"}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended"
    assert _bit(client, suspension) == 1
    report = verification.verify(ctx, vc).report
    assert "status.suspended" in [c.code for c in report.checks] and not report.verified
    bad = client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert bad.status_code == 422 and "status.suspended" in _codes(bad.json())

    r = client.post(
        f"/api/v1/credentials/{cid}/unsuspend", json={"reason": "ok"}, headers=acme.auth
    )
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert _bit(client, suspension) == 0
    assert verification.verify(ctx, vc).report.verified

    r = client.post(
        f"/api/v1/credentials/{cid}/revoke", json={"reason": "fraud"}, headers=acme.auth
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert _bit(client, revocation) == 1
    bad = client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert bad.status_code == 422 and "status.revoked" in _codes(bad.json())
    page = client.get(f"/credentials/{cid}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "fraud" in page.text

    # Audit: every change is recorded with who and why.
    events = client.get(f"/api/v1/issuers/{acme.slug}/audit", headers=acme.auth).json()
    actions = [e["action"] for e in events]
    for action in ("credential.suspend", "credential.unsuspend", "credential.revoke"):
        assert action in actions


def test_clear_4xx_for_repeats_unknown_foreign_and_revoked(
    client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    vc = issue_plain(client, acme)
    cid = row_id(vc)
    base = f"/api/v1/credentials/{cid}"
    r = client.post(f"{base}/unsuspend", json={}, headers=acme.auth)
    assert (r.status_code, r.json()["code"]) == (409, "status.not_suspended")
    assert client.post(f"{base}/suspend", json={}, headers=acme.auth).status_code == 200
    r = client.post(f"{base}/suspend", json={}, headers=acme.auth)
    assert (r.status_code, r.json()["code"]) == (409, "status.already_suspended")
    # Another issuer's token cannot see it: 404, as for an unknown credential.
    for action in ("revoke", "suspend", "unsuspend", "reissue", "expire"):
        r = client.post(f"{base}/{action}", json={}, headers=globex.auth)
        assert (r.status_code, r.json()["code"]) == (404, "credential.not_found"), action
    unknown = "/api/v1/credentials/00000000-0000-4000-8000-000000000000"
    assert client.post(f"{unknown}/revoke", json={}, headers=acme.auth).status_code == 404
    assert (
        client.post("/api/v1/credentials/nope/revoke", json={}, headers=acme.auth).status_code
        == 404
    )
    assert client.post(f"{base}/revoke", json={"reason": "x"}, headers=acme.auth).status_code == 200
    r = client.post(f"{base}/revoke", json={}, headers=acme.auth)
    assert (r.status_code, r.json()["code"]) == (409, "status.already_revoked")
    r = client.post(f"{base}/unsuspend", json={}, headers=acme.auth)
    assert (r.status_code, r.json()["code"]) == (409, "status.revoked")
    r = client.post(f"{base}/reissue", json={}, headers=acme.auth)
    assert (r.status_code, r.json()["code"]) == (409, "status.revoked")
    # No token: 401; bad bodies: 422.
    assert client.post(f"{base}/suspend", json={}).status_code == 401
    r = client.post(f"{base}/suspend", json={"reason": "x" * 501}, headers=acme.auth)
    assert r.status_code == 422
    r = client.post(f"{base}/suspend", json={"why": 1}, headers=acme.auth)
    assert r.status_code == 422


def test_project_credential_reissue_links_old_to_new(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    issued = issue_project(client, acme)
    old = issued["credential"]
    entry = old["credentialStatus"]
    # Open Badges 3.0 allows one credentialStatus: the revocation entry.
    assert isinstance(entry, dict) and entry["statusPurpose"] == "revocation"
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusListIndex"].isdigit()
    r = client.post(f"/api/v1/credentials/{issued['id']}/suspend", json={}, headers=acme.auth)
    assert (r.status_code, r.json()["code"]) == (409, "status.suspension_unsupported")

    r = client.post(
        f"/api/v1/credentials/{issued['id']}/reissue",
        json={"reason": "Name corrected"},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["id"] != issued["id"]
    assert new["replaces"]["status"] == "superseded"
    assert new["replaces"]["superseded_by"] == new["url"]
    assert new["credential"]["validFrom"] == old["validFrom"]
    ctx = ctx_of(app)
    assert verification.verify(ctx, new["credential"]).report.verified
    report = verification.verify(ctx, old).report
    assert "status.revoked" in [c.code for c in report.checks]

    page = client.get(path_of(issued["url"]), headers={"Accept": "text/html"})
    assert 'data-status="superseded"' in page.text and new["url"] in page.text
    assert "Name corrected" in page.text
    new_page = client.get(path_of(new["url"]), headers={"Accept": "text/html"})
    assert issued["url"] in new_page.text
    status = client.get(f"/api/v1/credentials/{issued['id']}/status", headers=acme.auth).json()
    assert [h["action"] for h in status["history"]] == ["reissue"]

    # The replacement can be re-issued again; the superseded one cannot.
    r = client.post(f"/api/v1/credentials/{issued['id']}/reissue", json={}, headers=acme.auth)
    assert r.status_code == 409


def test_expire_reissues_with_valid_until(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    vc = issue_plain(client, acme, validFrom="2025-01-01T00:00:00Z")
    at = NOW + timedelta(days=30)
    r = client.post(
        f"/api/v1/credentials/{row_id(vc)}/expire",
        json={"reason": "Programme ended", "at": at.isoformat()},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    new = r.json()["credential"]
    assert new["validUntil"] == "2025-07-01T12:00:00Z"
    ctx = ctx_of(app)
    assert verification.verify(ctx, new).report.verified
    later = verification.verify(ctx, new, now=at + timedelta(seconds=1)).report
    assert "validity.expired" in [c.code for c in later.checks]
    r = client.post(
        f"/api/v1/credentials/{row_id(new)}/expire",
        json={"at": "2024-01-01T00:00:00Z"},
        headers=acme.auth,
    )
    assert (r.status_code, r.json()["code"]) == (422, "credential.validity_order")


def test_achievement_default_validity_sets_valid_until(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    from sqlmodel import select

    from badgeworks.db.models import AchievementVersion
    from tests.issuer_app import draft_project

    ids = draft_project(client, acme)
    with app.state.session_factory() as session:
        version = session.exec(
            select(AchievementVersion).where(
                AchievementVersion.achievement_id == ids["achievement"]
            )
        ).one()
        version.default_validity_days = 730
        session.add(version)
        session.commit()
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    credential = r.json()["credential"]
    assert credential["validUntil"] == "2027-06-01T12:00:00Z"
    report = verify(credential, loader=app.state.ctx.loader, now=NOW)
    assert report.verified, report.as_dict()


def test_served_list_is_signed_cached_and_decodes(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    vc = issue_plain(client, acme)
    entry = vc["credentialStatus"][0]
    r = client.get(path_of(entry["statusListCredential"]))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vc+ld+json")
    assert "max-age=60" in r.headers["cache-control"]
    etag = r.headers["etag"]
    listed = r.json()
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert listed["issuer"] == vc["issuer"]
    assert listed["credentialSubject"]["statusPurpose"] == "revocation"
    assert len(decode_list(listed["credentialSubject"]["encodedList"])) * 8 >= 131_072
    assert verify(listed, loader=app.state.ctx.loader, now=NOW).verified
    again = client.get(path_of(entry["statusListCredential"]), headers={"If-None-Match": etag})
    assert again.status_code == 304
    client.post(f"/api/v1/credentials/{row_id(vc)}/revoke", json={}, headers=acme.auth)
    changed = client.get(path_of(entry["statusListCredential"]), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert verify(changed.json(), loader=app.state.ctx.loader, now=NOW).verified
    for bad in (
        "/status/acme/revocation/2",
        "/status/acme/other/1",
        "/status/zz/revocation/1",
        "/status/acme/revocation/0",
        "/status/acme/revocation/99999999999999",
    ):
        assert client.get(bad).status_code in (404, 422), bad
    assert json.loads(changed.content)["id"] == entry["statusListCredential"]
