"""POST /credentials/verify reads what we host as POST /api/v1/verify does: one
``hosted_version`` read per request, the hosted issuers kept while it stays the same, and
a change shows in the very next verification."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from badgeworks.web.app import create_app
from tests.issuer_app import NOW
from tests.verifier_app import Instance, issue_through_api, verifier_settings


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(verifier_settings(tmp_path, database_url), clock=lambda: NOW)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def issued(app: FastAPI) -> Instance:
    return issue_through_api(app, TestClient(app, raise_server_exceptions=False))


def counting(engine: sqlalchemy.Engine) -> Callable[[], list[str]]:
    """The statements ``engine`` runs from now on."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return lambda: list(seen)


def vc_verify(app: FastAPI, credential: dict[str, Any]) -> dict[str, Any]:
    r = TestClient(app, raise_server_exceptions=False).post(
        "/credentials/verify", json={"verifiableCredential": credential}
    )
    assert r.status_code in (200, 422), r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_hosted_credential_is_verified_with_one_statement(app: FastAPI, issued: Instance) -> None:
    assert vc_verify(app, issued.credential)["verified"] is True
    statements = counting(app.state.engine)
    assert vc_verify(app, issued.credential)["verified"] is True
    # The hosted_version read; the known issuers, the DID document and the list are kept.
    assert len(statements()) == 1, statements()
    assert "service_meta" in statements()[0]


def test_a_presentation_of_a_hosted_credential_is_verified_with_one_statement(
    app: FastAPI, issued: Instance
) -> None:
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [issued.credential],
    }
    client = TestClient(app, raise_server_exceptions=False)
    body = {"verifiablePresentation": vp}
    assert client.post("/presentations/verify", json=body).status_code == 200
    statements = counting(app.state.engine)
    r = client.post("/presentations/verify", json=body)
    assert r.status_code == 200, r.text
    assert len(statements()) == 1, statements()


def test_a_renamed_issuer_shows_in_the_next_verification(app: FastAPI, issued: Instance) -> None:
    assert vc_verify(app, issued.credential)["verified"] is True
    r = issued.client.patch(
        f"/api/v1/issuers/{issued.issuer.slug}",
        json={"name": "Renamed Issuer"},
        headers=issued.issuer.auth,
    )
    assert r.status_code == 200, r.text
    statements = counting(app.state.engine)
    assert vc_verify(app, issued.credential)["verified"] is True
    # The counter moved: what we host is read again (not kept from before the change).
    assert len(statements()) > 1
