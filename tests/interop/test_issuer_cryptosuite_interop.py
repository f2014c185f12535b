"""An issuer set to ``eddsa-jcs-2022``: what each of its signing paths produces verifies
with Digital Bazaar's ``vc`` and ``eddsa-jcs-2022-cryptosuite`` as well as with ours.

The paths are the service's own: a mentor's and a host's endorsement (signed by their
did:web keys with the program's cryptosuite), project completion with the endorsement
embedded, a bulk row, ``POST /credentials/issue`` and the issuer's status list
credential. The DID documents are read from where did:web says they are served and
handed to the harness's offline loader; a tampered copy of each fails there.
"""

from __future__ import annotations

import copy

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.interop.conftest import Harness
from tests.issuer_app import NOW, IssuerHandle
from tests.services.programs.test_issuer_cryptosuite import (
    JCS,
    Json,
    issue_everything,
    set_cryptosuite,
    suites,
    verified,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def _did_web_path(did: str) -> str:
    """The path a did:web DID's document is served at on our host (did:web §3.2.1)."""
    host_and_path = did.removeprefix("did:web:").split(":")
    assert host_and_path[0] == "127.0.0.1%3A8000", did
    return "/" + "/".join(host_and_path[1:]) + "/did.json"


def _issuer_of(document: Json) -> str:
    issuer = document["issuer"]
    return str(issuer["id"] if isinstance(issuer, dict) else issuer)


def test_every_path_of_a_jcs_issuer_verifies_with_digitalbazaar(
    app: FastAPI, client: TestClient, acme: IssuerHandle, harness: Harness
) -> None:
    assert set_cryptosuite(client, acme, JCS).status_code == 200
    documents = issue_everything(app, client, acme)
    dids = sorted({_issuer_of(d) for d in documents.values()})
    assert len(dids) == 3  # the program, the mentor and the host
    did_documents = [client.get(_did_web_path(did)).json() for did in dids]

    cases: dict[str, Json] = {}
    for name, document in documents.items():
        assert suites(document) == [JCS], name
        assert verified(client, document)["verified"], name
        cases[name] = document
        tampered = copy.deepcopy(document)
        tampered["validFrom"] = "2020-01-01T00:00:00Z"
        cases[f"{name}, tampered"] = tampered
    items = [
        {"verifiableCredential": d, "now": NOW.isoformat(), "didDocuments": did_documents}
        for d in cases.values()
    ]
    results = dict(zip(cases, harness.run("verify", items), strict=True))
    for name in documents:
        result = results[name]
        assert result["verified"], (name, result)
        assert result["proofs"] and all(p["verified"] for p in result["proofs"]), (name, result)
        broken = results[f"{name}, tampered"]
        assert not broken["verified"], name
        assert not any(p["verified"] for p in broken.get("proofs") or []), name
