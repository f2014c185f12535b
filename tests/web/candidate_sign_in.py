"""The candidate's sign-in at ``/me``, the way a browser does it: ask for a link, open it
from the outbox, confirm."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.outbox import OutboxMessage
from tests.html_page import csrf_of

EMAIL = "ada@example.org"


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


def request_link(client: TestClient, email: str = EMAIL) -> None:
    page = client.get("/me/sign-in")
    assert page.status_code == 200
    r = client.post("/me/sign-in", data={"email": email, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200, r.text


def sign_in(app: FastAPI, client: TestClient, email: str = EMAIL) -> None:
    request_link(client, email)
    link = last_link(app)
    page = client.get(link)
    assert page.status_code == 200, page.text
    r = client.post(link, data={"nonce": csrf_of(page.text, "nonce")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/me"
