"""Staff accounts for the console: creating them, signing in, CSRF tokens from pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.accounts import staff
from badgeworks.services.programs import issuers
from tests.html_page import csrf_of

PASSWORD = "correct horse battery staple"


def add_staff(
    app: FastAPI, slug: str, email: str, role: str, password: str | None = PASSWORD
) -> None:
    """Create a staff member with ``password`` and ``role`` in issuer ``slug``."""
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, slug)
        staff.create_or_add_staff(
            session,
            issuer,
            email,
            role,
            password=password,
            actor="test",
            now=app.state.ctx.clock(),
        )


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/console/", follow_redirects=True)
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


@pytest.fixture
def fast_scrypt() -> Iterator[None]:
    """Cheap password hashes: production scrypt costs ~1 s per sign-in on a busy test box.

    Hashes record their own parameters, so checking them still runs the real code path.
    """
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10
    yield
    staff._SCRYPT_N = original
