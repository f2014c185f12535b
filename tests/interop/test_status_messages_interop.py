"""Revocation entries with reason codes (``statusSize`` 2, ``statusMessage``,
``statusReference``) against Digital Bazaar's stack, offline (interop/agreement.mjs).

What their ``@digitalbazaar/vc-bitstring-status-list`` 2.0.1 can and cannot do, pinned:
its JSON-LD processing and proofs accept our credential and our 2-bit list (the entry's
extra terms are defined by the VC 2.0 context), and its issuer-match and list checks
pass; but it reads one bit at ``statusListIndex`` whatever ``statusSize`` says, so it
does not read the 2-bit value we (and the specification) read at ``index × statusSize``.
docs/interop.md and docs/lifecycle.md say so to operators.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.status import decode_list, get_status
from badgeworks.services.verification import pipeline as verification
from tests.interop.conftest import HARNESS_TIMEOUT_S, INTEROP, REPO, Harness
from tests.issuer_app import NOW, make_issuer
from tests.plain_credentials import ctx_of, issue_plain, path_of, row_id

pytestmark = [
    pytest.mark.interop,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

IN_ERROR = "revoked: issued in error"


def _theirs(harness: Harness, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [harness.node, str(INTEROP / "agreement.mjs")],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=HARNESS_TIMEOUT_S,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(results) == len(items)
    return results


def test_digitalbazaar_accepts_the_entry_but_reads_one_bit_at_the_index(
    app: FastAPI, client: TestClient, harness: Harness
) -> None:
    keyed = make_issuer(app, "keyed", did_method="key")  # did:key: the loader resolves it
    r = client.put(
        "/api/v1/issuers/keyed/revocation-reasons",
        json={
            "reasons": [{"code": 2, "message": IN_ERROR}],
            "reference": "https://keyed.example/reasons",
        },
        headers=keyed.auth,
    )
    assert r.status_code == 200, r.text
    revoked, active = issue_plain(client, keyed), issue_plain(client, keyed)
    r = client.post(
        f"/api/v1/credentials/{row_id(revoked)}/revoke", json={"reason_code": 2}, headers=keyed.auth
    )
    assert r.status_code == 200, r.text

    documents: dict[str, Any] = {}
    for vc in (revoked, active):
        for entry in vc["credentialStatus"]:
            url = entry["statusListCredential"]
            documents[url] = client.get(path_of(url)).json()
    items = [
        {"credential": vc, "now": NOW.isoformat(), "documents": documents}
        for vc in (revoked, active)
    ]
    theirs = _theirs(harness, items)

    ctx = ctx_of(app)
    for vc, result in zip((revoked, active), theirs, strict=True):
        entry = vc["credentialStatus"][0]
        assert entry["statusSize"] == 2
        # Their stack verified the credential's proof, the lists' proofs and the issuers.
        assert result["librariesVerified"] is True, result
        assert result.get("error") is None, result
        bits = decode_list(
            documents[entry["statusListCredential"]]["credentialSubject"]["encodedList"]
        )
        index = int(entry["statusListIndex"])
        # They read the single bit at the index; we read the 2-bit value at index × 2.
        assert result["statuses"][0] is bool(get_status(bits, index, 1)), result
        ours = verification.verify(ctx, vc).report
        assert ours.verified is (vc is active)
    assert (
        get_status(
            bits_of(documents, revoked), int(revoked["credentialStatus"][0]["statusListIndex"]), 2
        )
        == 2
    )


def bits_of(documents: dict[str, Any], vc: dict[str, Any]) -> bytes:
    url = vc["credentialStatus"][0]["statusListCredential"]
    return decode_list(documents[url]["credentialSubject"]["encodedList"])
