"""Requests whose route reads no body, or only reads:

- a POST that reads no body (completing a project, rotating a key, a withdrawal link) still
  refuses a malformed one, and completing then issues nothing (tests/web/test_bad_input.py
  checks the shape of every route's answer);
- ``GET /api/v1/candidates/{id}/portfolio`` writes nothing: portfolios are made with the
  candidate (and backfilled by migration 0011).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.portfolio import Portfolio
from tests.issuer_app import IssuerHandle, draft_project
from tests.web.test_bad_input import assert_shape, committed_writes

JSON = {"Content-Type": "application/json"}


def _post(
    client: TestClient,
    url: str,
    who: IssuerHandle,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> Any:
    return client.post(url, content=body, headers={**who.auth, **JSON, **(headers or {})})


def _credentials(client: TestClient, who: IssuerHandle) -> int:
    r = client.get(f"/api/v1/issuers/{who.slug}/credentials", headers=who.auth)
    assert r.status_code == 200, r.text
    return int(r.headers["X-Total-Count"])


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b'{"valid_until": ', {}, 400, "input.not_json"),
        (b"\xff\xfe{", {}, 400, "input.not_json"),
        (b"[1, 2]", {}, 422, "request.invalid"),
        (b'{"valid_until": "2030-01-01"}', {}, 422, "request.invalid"),
        (b'"complete"', {}, 422, "request.invalid"),
        (b"a,b\n1,2\n", {"Content-Type": "text/csv"}, 415, "input.unsupported_media_type"),
    ],
)
def test_completing_with_a_bad_body_issues_nothing(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    project = draft_project(client, acme)["project"]
    url = f"/api/v1/projects/{project}/complete"
    with committed_writes(app.state.engine) as writes:
        r = _post(client, url, acme, body, {"Idempotency-Key": "k-1", **headers})
    assert r.status_code == status, r.text
    assert_shape(r, body)
    assert r.json()["code"] == code
    assert writes == []
    assert _credentials(client, acme) == 0
    assert client.get(f"/api/v1/projects/{project}", headers=acme.auth).json()["status"] == "draft"
    # The key was not used up either: the same key with no body completes the project.
    r = client.post(url, headers={**acme.auth, "Idempotency-Key": "k-1"})
    assert r.status_code == 201, r.text
    assert _credentials(client, acme) == 1


@pytest.mark.parametrize("body", [b"", b"{}", b"null", b" {} \n"])
def test_completing_with_no_body_or_an_empty_object_still_works(
    client: TestClient, acme: IssuerHandle, body: bytes
) -> None:
    project = draft_project(client, acme)["project"]
    r = _post(client, f"/api/v1/projects/{project}/complete", acme, body)
    assert r.status_code == 201, r.text


def test_other_posts_that_read_no_body_refuse_a_malformed_one(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    keys_url = f"/api/v1/issuers/{acme.slug}/keys"
    did_doc = f"/issuers/{acme.slug}/did.json"
    methods_before = client.get(did_doc).json()["verificationMethod"]
    with committed_writes(app.state.engine) as writes:
        r = _post(client, keys_url, acme, b'{"algorithm": ')
        assert (r.status_code, r.json()["code"]) == (400, "input.not_json")
        r = _post(client, keys_url, acme, b'{"algorithm": "Ed25519"}')
        assert (r.status_code, r.json()["code"]) == (422, "request.invalid")
        r = _post(client, "/api/v1/endorsements/urn:x/withdrawal-links", acme, b"{oops")
        assert (r.status_code, r.json()["code"]) == (400, "input.not_json")
    assert writes == []
    assert client.get(did_doc).json()["verificationMethod"] == methods_before
    # Without a body, rotating works as before.
    assert client.post(keys_url, headers=acme.auth).status_code == 201
    assert len(client.get(did_doc).json()["verificationMethod"]) == len(methods_before) + 1


def _portfolio_rows(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(session.exec(select(Portfolio)).all())


def test_reading_portfolio_settings_writes_nothing(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    candidate = draft_project(client, acme)["candidate"]
    # The portfolio is made with the candidate, so its link is stable from the first read.
    assert _portfolio_rows(app) == 1
    url = f"/api/v1/candidates/{candidate}/portfolio"
    with committed_writes(app.state.engine) as writes:
        first = client.get(url, headers=acme.auth)
        second = client.get(url, headers=acme.auth)
    assert writes == [] and _portfolio_rows(app) == 1
    assert first.json() == second.json()
    body = first.json()
    # The defaults (docs/portfolio.md): unlisted, name shown, everything public.
    assert body["visibility"] == "unlisted" and body["show_name"] is True
    assert body["headline"] is None and body["candidate_id"] == candidate
    assert len(body["handle"]) == 16
    assert client.get(f"/p/{body['handle']}").status_code == 200  # the link works already

    r = client.patch(url, json={"headline": "Data analyst"}, headers=acme.auth)
    assert r.status_code == 200, r.text
    assert _portfolio_rows(app) == 1
    made = r.json()
    assert made["handle"] == body["handle"] and made["headline"] == "Data analyst"
    with committed_writes(app.state.engine) as writes:
        assert client.get(url, headers=acme.auth).json() == made
    assert writes == []
