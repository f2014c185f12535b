"""Fixtures for the candidate's own pages: an issued credential and a signed-in client."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.outbox import OutboxMessage
from tests.portfolio.conftest import Issued, issue_with_deliverables
from tests.web.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    IssuerHandle,
    acme,
    app,
    client,
    globex,
    settings,
)

EMAIL = "ada@example.org"


@pytest.fixture
def issued(app: FastAPI, client: TestClient, acme: IssuerHandle) -> Issued:  # noqa: F811
    return issue_with_deliverables(client, acme)


def csrf_of(html: str, name: str = "csrf_token") -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def last_link(application: FastAPI) -> str:
    """The magic link in the newest outbox message."""
    with application.state.session_factory() as session:
        row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())).first()
        assert row is not None
        match = re.search(r"http://127\.0\.0\.1:8000(/me/link/[A-Za-z0-9_-]+)", row.body_text)
        assert match, row.body_text
        return match.group(1)


def outbox_count(application: FastAPI) -> int:
    with application.state.session_factory() as session:
        return len(session.exec(select(OutboxMessage)).all())


def request_link(client: TestClient, email: str = EMAIL) -> None:  # noqa: F811
    page = client.get("/me/sign-in")
    assert page.status_code == 200
    r = client.post("/me/sign-in", data={"email": email, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200, r.text


def sign_in(app: FastAPI, client: TestClient, email: str = EMAIL) -> None:  # noqa: F811
    request_link(client, email)
    link = last_link(app)
    page = client.get(link)
    assert page.status_code == 200, page.text
    r = client.post(link, data={"nonce": csrf_of(page.text, "nonce")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/me"


@pytest.fixture
def known(client: TestClient, acme: IssuerHandle) -> int:  # noqa: F811
    """A candidate with ``EMAIL`` and nothing issued yet (cheaper than ``issued``)."""
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/candidates",
        json={"name": "Ada Lovelace", "emails": [EMAIL]},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    candidate_id: int = r.json()["id"]
    return candidate_id
