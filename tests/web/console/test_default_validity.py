"""An achievement's default validity in the console form: saved as a new version, kept
in the preview, and applied when a credential is issued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.core import credential as ob
from badgeworks.db.models import AchievementVersion
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.issuer_app import NOW, IssuerHandle

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


ACH_FORM = {
    "name": "Data Analysis",
    "description": "Completed a mentored data analysis project.",
    "criteria_narrative": "Delivered a cleaned dataset and a report.",
    "achievement_type": "Fieldwork",
    "in_language": "en",
    "tags": "data",
    "alignments": "",
    "rubric": "quality | Quality of work | meets=Meets expectations; exceeds=Exceeds",
}


def _versions(app: FastAPI, achievement_id: int) -> list[AchievementVersion]:
    with app.state.session_factory() as session:
        stmt = select(AchievementVersion).where(AchievementVersion.achievement_id == achievement_id)
        return sorted(session.exec(stmt), key=lambda v: v.version)


def test_achievement_form_sets_the_default_validity_and_issuing_applies_it(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    form = client.get("/console/acme/achievements/new")
    assert 'name="default_validity_days"' in form.text and 'min="1"' in form.text

    # Values that are not a whole number of days from 1 to 36500 are refused; nothing saved.
    for bad in ("0", "-5", "36501", "two years", "1.5", "²"):
        r = client.post(
            "/console/acme/achievements/new",
            data={**ACH_FORM, "default_validity_days": bad, "action": "save", "csrf_token": csrf},
        )
        assert r.status_code == 422, bad
        assert "default_validity_days" in r.text, bad
    assert client.get("/api/v1/issuers/acme/achievements", headers=acme.auth).json() == []

    r = client.post(
        "/console/acme/achievements/new",
        data={**ACH_FORM, "default_validity_days": " 730 ", "action": "save", "csrf_token": csrf},
    )
    assert r.status_code == 200, r.text
    achievement_id = int(r.url.path.rsplit("/", 1)[-1])
    assert 'value="730"' in r.text and "valid for 730 days" in r.text
    assert [v.default_validity_days for v in _versions(app, achievement_id)] == [730]
    es = client.get(f"/console/acme/achievements/{achievement_id}?lang=es")
    assert "Validez predeterminada (días)" in es.text and "730 días" in es.text
    client.get("/console/acme/?lang=en")  # back to English for the checks below

    # Issue from it (through the API), then change the validity in the console: a new
    # version, and the credential already issued keeps its dates.
    r = client.post(
        "/api/v1/issuers/acme/candidates",
        json={"name": "Ada Lovelace", "emails": ["ada@example.org"]},
        headers=acme.auth,
    )
    r = client.post(
        "/api/v1/issuers/acme/projects",
        json={
            "achievement_id": achievement_id,
            "candidate_id": r.json()["id"],
            "title": "Churn analysis",
            "host": {"name": "Northwind"},
        },
        headers=acme.auth,
    )
    r = client.post(f"/api/v1/projects/{r.json()['id']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    vc = r.json()["credential"]
    assert ob.parse_xsd_datetime(vc["validFrom"]) == NOW
    assert ob.parse_xsd_datetime(vc["validUntil"]) == NOW + timedelta(days=730)

    r = client.post(
        f"/console/acme/achievements/{achievement_id}",
        data={**ACH_FORM, "default_validity_days": "", "action": "save", "csrf_token": csrf},
    )
    assert r.status_code == 200 and "do not expire" in r.text
    assert [v.default_validity_days for v in _versions(app, achievement_id)] == [730, None]


def test_achievement_preview_keeps_the_typed_validity(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    r = client.post(
        "/console/acme/achievements/new",
        data={**ACH_FORM, "default_validity_days": "365", "action": "preview", "csrf_token": csrf},
    )
    assert r.status_code == 200 and 'value="365"' in r.text
    assert client.get("/api/v1/issuers/acme/achievements", headers=acme.auth).json() == []
