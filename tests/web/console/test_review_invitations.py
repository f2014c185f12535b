"""Revoking a mentor's review invitation from the console's project page: confirmed first,
only while pending, only by staff who may edit, only within the program."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.models import AuditEvent
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.issuer_app import IssuerHandle, draft_project
from tests.mentor_reviews import HTML, invite, open_form, review_path

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


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
