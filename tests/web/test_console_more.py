"""More of the program console: an achievement's default validity in the form, the HTML
413 page for oversized form posts, revoking a mentor's review invitation from the project
page, and the trust registry shown read-only in settings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.core import credential as ob
from badgeworks.db.models import AchievementVersion, AuditEvent, Deliverable
from tests.endorsements.conftest import HTML, invite, open_form, review_path
from tests.web.conftest import NOW, IssuerHandle, draft_project
from tests.web.console_helpers import add_staff, csrf_of, fast_scrypt, sign_in

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


# ----------------------------------------------------------------------------- validity


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


# ----------------------------------------------------------------------------- 413 pages


def _deliverables(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(list(session.exec(select(Deliverable))))


def _chunked(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_oversized_console_upload_gets_an_html_page_in_the_page_language(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    path = f"/console/acme/projects/{ids['project']}/deliverables"
    big = b"x" * (app.state.settings.max_upload_bytes + 128 * 1024)
    r = client.post(
        path,
        data={"csrf_token": csrf, "name": "Report"},
        files={"file": ("report.txt", big, "text/plain")},
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert "<h1>What you sent is too large</h1>" in r.text
    assert "64 KB" in r.text and "Nothing was saved." in r.text
    assert '<html lang="en">' in r.text and 'href="/console/"' in r.text
    assert "input.too_large" in r.text

    r = client.post(
        path,
        data={"csrf_token": csrf, "name": "Report"},
        files={"file": ("report.txt", big, "text/plain")},
        headers={"Accept-Language": "es-ES,es;q=0.9"},
    )
    assert r.status_code == 413 and '<html lang="es">' in r.text
    assert "No se guardó nada." in r.text and "Volver a la consola" in r.text

    # A big urlencoded form (no Content-Length: the body streams in chunks) too.
    body = ("csrf_token=" + csrf + "&description=" + "y" * 200_000).encode()
    r = client.post(
        "/console/acme/achievements/new?lang=es",
        content=_chunked(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and "text/html" in r.headers["content-type"]
    assert "supera el límite de 64 KB" in r.text
    assert _deliverables(app) == 0
    assert len(client.get("/api/v1/issuers/acme/achievements", headers=acme.auth).json()) == 1


def test_oversized_api_bodies_keep_the_json_error_shape(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    big = b"x" * (app.state.settings.max_upload_bytes + 128 * 1024)
    for headers in ({}, HTML):
        r = client.post(
            f"/api/v1/projects/{ids['project']}/deliverables",
            data={"name": "Report"},
            files={"file": ("report.txt", big, "text/plain")},
            headers={**acme.auth, **headers},
        )
        assert r.status_code == 413 and r.headers["content-type"] == "application/json"
        assert r.json()["code"] == "input.too_large"
    # Outside /api/ and /console, the Accept header decides.
    path = "/review/" + "A" * 43 + "/upload"
    r = client.post(path, files={"file": ("e.json", big, "application/json")})
    assert r.status_code == 413 and r.json()["code"] == "input.too_large"
    r = client.post(path, files={"file": ("e.json", big, "application/json")}, headers=HTML)
    assert r.status_code == 413 and "text/html" in r.headers["content-type"]
    assert "Nothing was saved." in r.text and 'href="/console/"' not in r.text
    assert _deliverables(app) == 0


# ----------------------------------------------------------------------------- invitations


def _invites(client: TestClient, who: IssuerHandle, project: int) -> list[dict[str, object]]:
    r = client.get(f"/api/v1/projects/{project}/reviews", headers=who.auth)
    assert r.status_code == 200, r.text
    rows: list[dict[str, object]] = r.json()
    return rows


def test_issuer_revokes_a_pending_invitation_after_confirming(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    created = invite(client, acme, ids["project"])
    link = review_path(created)
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    project_path = f"/console/acme/projects/{ids['project']}"
    revoke_path = f"{project_path}/reviews/{created['id']}/revoke"
    page = client.get(project_path)
    assert f'href="{revoke_path}"' in page.text

    confirm = client.get(revoke_path)
    assert confirm.status_code == 200 and "Grace Hopper" in confirm.text
    assert "stops working at once" in confirm.text and f'action="{revoke_path}"' in confirm.text
    assert (
        _invites(client, acme, ids["project"])[0]["status"] == "pending"
    )  # asking changes nothing

    r = client.post(revoke_path, data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert _invites(client, acme, ids["project"])[0]["status"] == "pending"

    r = client.post(revoke_path, data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"{project_path}?done=review_revoked"
    page = client.get(r.headers["location"])
    assert "its link no longer works" in page.text and "Invitation revoked" in page.text
    assert f'href="{revoke_path}"' not in page.text
    assert _invites(client, acme, ids["project"])[0]["status"] == "revoked"
    assert client.get(link, headers=HTML).status_code == 410
    with app.state.session_factory() as session:
        events = list(session.exec(select(AuditEvent).where(AuditEvent.action == "review.revoke")))
    assert [(e.actor, e.detail) for e in events] == [
        ("staff:issuer@acme.example", {"invite": created["id"]})
    ]
    # Not pending any more: no confirmation page, and the project page offers nothing.
    assert client.get(revoke_path).status_code == 409


def test_a_used_invitation_cannot_be_revoked(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    created = invite(client, acme, ids["project"])
    link = review_path(created)
    r = client.post(link, data={"nonce": open_form(client, link), "comment": "Good work."})
    assert r.status_code == 201, r.text
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    revoke_path = f"/console/acme/projects/{ids['project']}/reviews/{created['id']}/revoke"
    assert (
        f'href="{revoke_path}"' not in client.get(f"/console/acme/projects/{ids['project']}").text
    )
    assert client.get(revoke_path).status_code == 409
    r = client.post(revoke_path, data={"csrf_token": csrf})
    assert r.status_code == 409 and "review.already_used" in r.text
    assert "text/html" in r.headers["content-type"]
    assert _invites(client, acme, ids["project"])[0]["status"] == "used"


def test_viewer_cannot_revoke_an_invitation(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    created = invite(client, acme, ids["project"])
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    csrf = sign_in(client, "viewer@acme.example")
    project_path = f"/console/acme/projects/{ids['project']}"
    revoke_path = f"{project_path}/reviews/{created['id']}/revoke"
    page = client.get(project_path)
    assert page.status_code == 200 and "Waiting for the mentor" in page.text
    assert revoke_path not in page.text
    assert client.get(revoke_path).status_code == 403
    r = client.post(revoke_path, data={"csrf_token": csrf})
    assert r.status_code == 403 and "<h1>" in r.text
    assert _invites(client, acme, ids["project"])[0]["status"] == "pending"


def test_another_programs_invitation_is_a_404(
    app: FastAPI, client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    foreign = draft_project(client, globex)
    theirs = invite(client, globex, foreign["project"])
    own = draft_project(client, acme)
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    for path in (
        f"/console/acme/projects/{foreign['project']}/reviews/{theirs['id']}/revoke",
        f"/console/globex/projects/{foreign['project']}/reviews/{theirs['id']}/revoke",
        # Our own project, their invitation's id.
        f"/console/acme/projects/{own['project']}/reviews/{theirs['id']}/revoke",
    ):
        assert client.get(path).status_code == 404, path
        r = client.post(path, data={"csrf_token": csrf})
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], path
    assert _invites(client, globex, foreign["project"])[0]["status"] == "pending"


# ----------------------------------------------------------------------------- trust registry


def _use_registry(app: FastAPI, path: Path | None) -> None:
    ctx = app.state.ctx
    ctx.settings = ctx.settings.model_copy(update={"verify_trust_registry": path})


def test_settings_show_the_trust_registry_read_only(
    app: FastAPI, client: TestClient, acme: IssuerHandle, tmp_path: Path
) -> None:
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    sign_in(client, "viewer@acme.example")
    r = client.get("/console/acme/settings")
    assert r.status_code == 200 and "No trust registry is configured" in r.text
    assert 'id="trust-registry"' not in r.text

    registry = tmp_path / "trust.json"
    registry.write_text(
        json.dumps(
            {
                "issuers": [
                    {"id": "did:web:uni.example", "name": "Example University"},
                    {
                        "id": "https://bootcamp.example/issuer",
                        "name": "<script>alert(1)</script> Bootcamp",
                        "url": "https://bootcamp.example",
                        "note": "vetted 2025",
                    },
                ]
            }
        ),
        "utf-8",
    )
    _use_registry(app, registry)
    r = client.get("/console/acme/settings")
    assert r.status_code == 200
    table = r.text[r.text.index('id="trust-registry"') :]
    table = table[: table.index("</table>")]
    assert "did:web:uni.example" in table and "Example University" in table
    assert "https://bootcamp.example/issuer" in table and "https://bootcamp.example" in table
    assert "&lt;script&gt;" in table and "<script>" not in table
    assert "these 2 issuers" in r.text
    # Read-only: no form posts anything about the registry.
    assert not re.search(r'action="[^"]*trust', r.text)
    es = client.get("/console/acme/settings?lang=es")
    assert "estos 2 emisores" in es.text


def test_an_unusable_trust_registry_is_reported_without_its_path(
    app: FastAPI, client: TestClient, acme: IssuerHandle, tmp_path: Path
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    sign_in(client, "owner@acme.example")
    for content in ("{not json", json.dumps({"issuers": [{"name": "no id"}]}), None):
        registry = tmp_path / "secret-dir" / "trust.json"
        registry.parent.mkdir(exist_ok=True)
        if content is None:
            registry.unlink(missing_ok=True)
        else:
            registry.write_text(content, "utf-8")
        _use_registry(app, registry)
        r = client.get("/console/acme/settings")
        assert r.status_code == 200, r.text
        assert "its file cannot be used" in r.text and "config.trust_registry" in r.text
        assert "secret-dir" not in r.text
        # The rest of the page still works.
        assert csrf_of(r.text)
