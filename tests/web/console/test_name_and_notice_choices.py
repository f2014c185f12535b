"""The console's choices about the candidate: Settings says whether credentials name the
candidate (owner only; the API sees the same setting), and the issue page's "Email …
their credential" box decides whether the candidate is told. Both databases."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.infra import outbox
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle, draft_project

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _issue(client: TestClient, csrf: str, project: int, *, notify: bool) -> dict[str, object]:
    path = f"/console/acme/projects/{project}/issue"
    (box,) = Page(client.get(path).text).all("input", id="notify-candidate")
    assert "checked" in box and box["name"] == "notify_candidate"
    form = {"csrf_token": csrf} | ({"notify_candidate": "true"} if notify else {})
    r = client.post(path, data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    credential_id = r.headers["location"].split("/credentials/")[1].split("?")[0]
    document: dict[str, object] = client.get(f"/credentials/{credential_id}.json").json()
    return document


def _outbox_count(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(outbox.list_messages(session))


def test_settings_choose_hashes_only_and_the_issue_page_chooses_the_email(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    (box,) = Page(client.get("/console/acme/settings").text).all("input", id="name-in-credentials")
    assert "checked" in box

    # Ticked issue box: the candidate is told; the credential names them.
    named = _issue(client, csrf, draft_project(client, acme)["project"], notify=True)
    assert "Ada Lovelace" in json.dumps(named["credentialSubject"])
    assert _outbox_count(app) == 1

    # Settings: hashes only (the box unticked sends nothing).
    r = client.post("/console/acme/settings/names", data={"csrf_token": csrf})
    assert r.status_code == 200, r.text
    assert "keep what they say" in r.text
    (box,) = Page(r.text).all("input", id="name-in-credentials")
    assert "checked" not in box
    api = client.get("/api/v1/issuers/acme", headers=acme.auth).json()
    assert api["name_in_credentials"] is False

    # Unticked issue box: nobody is told; the credential carries the hash only.
    hashed = _issue(client, csrf, draft_project(client, acme)["project"], notify=False)
    assert "Ada Lovelace" not in json.dumps(hashed["credentialSubject"])
    assert _outbox_count(app) == 1


def test_only_an_owner_changes_the_name_choice(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    page = Page(client.get("/console/acme/settings").text)
    assert page.all("input", id="name-in-credentials") == []
    assert "Yes, beside the hashed email" in page.text
    r = client.post("/console/acme/settings/names", data={"csrf_token": csrf})
    assert r.status_code == 403, r.text
    assert client.get("/api/v1/issuers/acme", headers=acme.auth).json()["name_in_credentials"]
