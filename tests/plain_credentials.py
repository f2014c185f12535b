"""Credentials issued through the API for the status tests: a plain VC 2.0 credential
through the VC-API's ``POST /credentials/issue`` or a completed project; ids from URLs."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle, draft_project

VC2 = "https://www.w3.org/ns/credentials/v2"


#: ``plain_credential()`` without an issuer: a credential the VC-API refuses (400).
NO_ISSUER: Any = object()


def plain_credential(issuer: Any = NO_ISSUER, **extra: Any) -> dict[str, Any]:
    """A minimal VC 2.0 credential for ``POST /credentials/issue``, naming ``issuer`` (the
    token's issuer DID: the VC-API refuses a credential without one; any other value, such
    as ``None``, is sent as it is)."""
    credential: dict[str, Any] = {
        "@context": [VC2],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:alice", "name": "Alice"},
        **extra,
    }
    if issuer is not NO_ISSUER:
        credential["issuer"] = issuer
    return credential


def issue_plain(http: TestClient, who: IssuerHandle, **extra: Any) -> dict[str, Any]:
    r = http.post(
        "/credentials/issue",
        json={"credential": plain_credential(who.did, **extra)},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    vc: dict[str, Any] = r.json()["verifiableCredential"]
    return vc


def issue_project(http: TestClient, who: IssuerHandle) -> dict[str, Any]:
    ids = draft_project(http, who)
    r = http.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    issued: dict[str, Any] = r.json()
    return issued


def row_id(vc: dict[str, Any]) -> str:
    return str(vc["id"]).rsplit("/", 1)[-1]


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def ctx_of(application: FastAPI) -> Any:
    return application.state.ctx
