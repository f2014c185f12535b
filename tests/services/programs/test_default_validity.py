"""An achievement's default validity through the API: set, versioned, applied at issuance,
and reported as expired by the verifier once ``validUntil`` has passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.services.verification import pipeline as verification
from tests.issuer_app import ACHIEVEMENT, NOW, IssuerHandle
from tests.plain_credentials import ctx_of, row_id


def _achievement(client: TestClient, who: IssuerHandle, **extra: Any) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/issuers/{who.slug}/achievements", json={**ACHIEVEMENT, **extra}, headers=who.auth
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _issue(client: TestClient, who: IssuerHandle, achievement_id: int) -> dict[str, Any]:
    """A candidate and project for ``achievement_id``, completed; the signed credential."""
    r = client.post(
        f"/api/v1/issuers/{who.slug}/candidates",
        json={"name": "Ada Lovelace", "emails": ["ada@example.org"]},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/issuers/{who.slug}/projects",
        json={
            "achievement_id": achievement_id,
            "candidate_id": r.json()["id"],
            "title": "Churn analysis",
            "host": {"name": "Northwind Traders"},
        },
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/projects/{r.json()['id']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    issued: dict[str, Any] = r.json()["credential"]
    return issued


def _codes(report: Any) -> list[str]:
    return [c.code for c in report.checks]


def test_credential_from_an_achievement_with_a_default_validity_expires_after_it(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    created = _achievement(client, acme, default_validity_days=730)
    assert created["default_validity_days"] == 730
    got = client.get(f"/api/v1/achievements/{created['id']}", headers=acme.auth).json()
    assert got["default_validity_days"] == 730

    vc = _issue(client, acme, created["id"])
    valid_from = ob.parse_xsd_datetime(vc["validFrom"])
    valid_until = ob.parse_xsd_datetime(vc["validUntil"])
    assert valid_from == NOW
    assert valid_until - valid_from == timedelta(days=730)
    assert vc["validUntil"] == "2027-06-01T12:00:00Z"

    ctx = ctx_of(app)
    assert verification.verify(ctx, vc, now=valid_until - timedelta(seconds=1)).report.verified
    late = verification.verify(ctx, vc, now=valid_until + timedelta(seconds=1)).report
    assert not late.verified and "validity.expired" in _codes(late)

    # The VC-API verify endpoint uses the service's clock: moved past validUntil, it says so.
    ok = client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert ok.status_code == 200, ok.text
    ctx.clock = lambda: valid_until + timedelta(days=1)
    expired = client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert expired.status_code in (400, 422), expired.text
    assert "validity.expired" in [c["code"] for c in expired.json()["checks"]]


def test_without_a_default_validity_credentials_do_not_expire(
    client: TestClient, acme: IssuerHandle
) -> None:
    created = _achievement(client, acme)
    assert created["default_validity_days"] is None
    vc = _issue(client, acme, created["id"])
    assert "validUntil" not in vc


def test_changing_the_validity_after_issuance_makes_a_new_version(
    client: TestClient, acme: IssuerHandle
) -> None:
    created = _achievement(client, acme, default_validity_days=365)
    path = f"/api/v1/achievements/{created['id']}"
    # Before any credential used it, an edit changes version 1 in place.
    r = client.patch(path, json={"default_validity_days": 730}, headers=acme.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["default_validity_days"]) == (1, 730)
    first = _issue(client, acme, created["id"])

    r = client.patch(path, json={"default_validity_days": 30}, headers=acme.auth)
    assert (r.json()["version"], r.json()["default_validity_days"]) == (2, 30)
    second = _issue(client, acme, created["id"])
    assert ob.parse_xsd_datetime(first["validUntil"]) - NOW == timedelta(days=730)
    assert ob.parse_xsd_datetime(second["validUntil"]) - NOW == timedelta(days=30)
    assert first["credentialSubject"]["achievement"]["id"].endswith("/versions/1")
    assert second["credentialSubject"]["achievement"]["id"].endswith("/versions/2")
    # A re-issue rebuilds from the current version: its validity, from the original date.
    r = client.post(
        f"/api/v1/credentials/{row_id(first)}/reissue",
        json={"reason": "Validity corrected"},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    replacement = r.json()["credential"]
    assert replacement["validFrom"] == first["validFrom"]
    assert ob.parse_xsd_datetime(replacement["validUntil"]) - NOW == timedelta(days=30)

    # Another edit after issuance keeps the validity in the copy; null then removes it.
    r = client.patch(path, json={"name": "Data Analysis (2026)"}, headers=acme.auth)
    assert (r.json()["version"], r.json()["default_validity_days"]) == (3, 30)
    r = client.patch(path, json={"default_validity_days": None}, headers=acme.auth)
    assert (r.json()["version"], r.json()["default_validity_days"]) == (3, None)
    assert "validUntil" not in _issue(client, acme, created["id"])

    versions = client.get(f"{path}/versions", headers=acme.auth).json()
    assert [v["default_validity_days"] for v in versions] == [730, 30, None]


@pytest.mark.parametrize("bad", [0, -1, 36501, 10**12, "730", 1.5, True, [730]])
def test_default_validity_must_be_a_positive_whole_number_of_days(
    client: TestClient, acme: IssuerHandle, bad: object
) -> None:
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/achievements",
        json={**ACHIEVEMENT, "default_validity_days": bad},
        headers=acme.auth,
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "request.invalid" and "default_validity_days" in body["error"]
    created = _achievement(client, acme, default_validity_days=36500)
    r = client.patch(
        f"/api/v1/achievements/{created['id']}",
        json={"default_validity_days": bad},
        headers=acme.auth,
    )
    assert r.status_code == 422, r.text
    got = client.get(f"/api/v1/achievements/{created['id']}", headers=acme.auth).json()
    assert got["default_validity_days"] == 36500
