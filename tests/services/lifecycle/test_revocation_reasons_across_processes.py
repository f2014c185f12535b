"""Simultaneous revocations with different reason codes, sent to two server processes at
once, all land in the one 2-bit list with their own codes: none overwrites another's
value. SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.status import decode_list, get_status
from badgeworks.services.lifecycle import status_lists
from badgeworks.settings import Settings
from tests.issuer_app import IssuerHandle
from tests.plain_credentials import path_of, row_id
from tests.servers import serve
from tests.services.lifecycle.test_status_lists_under_attack import (
    Call,
    Servers,
    _at_once,
    _server_process,
    servers,
)

__all__ = ["servers"]  # the module-scoped fixture of the server processes

CODES = [2, 3, 1, 3, 2, 2, 3, 1, 2, 3]


def _revoke(base: str, who: IssuerHandle, credential_id: str, code: int) -> Call:
    return lambda http: http.post(
        f"{base}/api/v1/credentials/{credential_id}/revoke",
        json={"reason_code": code},
        headers=who.auth,
    )


def test_simultaneous_coded_revocations_from_two_processes_keep_every_code(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings, servers: Servers
) -> None:
    r = client.put(
        f"/api/v1/issuers/{acme.slug}/revocation-reasons",
        json={
            "reasons": [
                {"code": 2, "message": "revoked: issued in error"},
                {"code": 3, "message": "revoked: misconduct"},
            ]
        },
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    issued = []
    for _ in CODES:
        done = client.post(
            "/credentials/issue",
            json={
                "credential": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential"],
                    "issuer": acme.did,
                    "credentialSubject": {"id": "did:example:alice"},
                }
            },
            headers=acme.auth,
        )
        assert done.status_code == 201, done.text
        issued.append(done.json()["verifiableCredential"])
    entries = [vc["credentialStatus"][0] for vc in issued]
    assert len({e["statusListCredential"] for e in entries}) == 1
    with serve(app) as here, _server_process(servers, settings) as there:
        results = _at_once(
            [
                _revoke(here if n % 2 else there, acme, row_id(vc), code)
                for n, (vc, code) in enumerate(zip(issued, CODES, strict=True))
            ]
        )
        assert [getattr(r, "status_code", r) for r in results] == [200] * len(CODES)
        served = httpx.get(here + path_of(entries[0]["statusListCredential"]), timeout=30).json()
    bits = decode_list(served["credentialSubject"]["encodedList"])
    assert [get_status(bits, int(e["statusListIndex"]), 2) for e in entries] == CODES
    with app.state.session_factory() as session:
        assert status_lists.check(session) == []
