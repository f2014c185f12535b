"""Fixtures for the pages and the API: a candidate known by email, nothing issued yet."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle
from tests.web.candidate_sign_in import EMAIL


@pytest.fixture
def known(client: TestClient, acme: IssuerHandle) -> int:
    """A candidate with ``EMAIL`` and nothing issued yet (cheaper than ``issued``)."""
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/candidates",
        json={"name": "Ada Lovelace", "emails": [EMAIL]},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    candidate_id: int = r.json()["id"]
    return candidate_id
