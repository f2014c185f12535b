"""Mentor endorsements verify with Digital Bazaar's implementation.

The service signs an EndorsementCredential with the key it holds for a mentor's did:web;
the badge that embeds it is signed with the issuer's did:web key. Digital Bazaar's
``verifyCredential`` checks both (issuer = the key's controller, its assertionMethod in
the DID document), with the DID documents read from where did:web says they are
(``/mentors/<id>/did.json``, ``/issuers/<slug>/did.json``) and handed to the harness's
offline loader. Every case goes to one Node process.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.interop.conftest import Harness
from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.mentor_reviews import invite, open_form, review_path

pytestmark = [
    pytest.mark.interop,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

BASE = "http://127.0.0.1:8000"
VC = {"Accept": "application/vc+ld+json"}
Json = dict[str, Any]


def _did_web_path(did: str) -> str:
    """The path a did:web DID's document is served at on our host (did:web §3.2.1)."""
    host_and_path = did.removeprefix("did:web:").split(":")
    assert host_and_path[0] == "127.0.0.1%3A8000", did
    return "/" + "/".join(host_and_path[1:]) + "/did.json"


def test_mentor_endorsement_and_badge_verify_with_digitalbazaar(
    client: TestClient,
    acme: IssuerHandle,
    harness: Harness,
) -> None:
    ids = draft_project(client, acme)
    data = invite(client, acme, ids["project"], organization="Northwind Traders")
    mentor_did = data["endorser"]["did"]
    assert mentor_did.startswith("did:web:127.0.0.1%3A8000:mentors:")
    path = review_path(data)
    r = client.post(
        path,
        data={"nonce": open_form(client, path), "comment": "Ada's analysis was *excellent*."},
    )
    assert r.status_code == 201, r.text
    endorsement = client.get(r.json()["url"].removeprefix(BASE), headers=VC).json()
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    badge = r.json()["credential"]
    (embedded,) = badge["endorsement"]
    assert embedded["id"] == endorsement["id"]

    # The DID documents, from where did:web says they are served.
    mentor_doc = client.get(_did_web_path(mentor_did))
    assert mentor_doc.status_code == 200
    assert (
        mentor_doc.json()
        == client.get(data["endorser"]["did_document_url"].removeprefix(BASE)).json()
    )
    issuer_doc = client.get(_did_web_path(badge["issuer"]["id"]))
    assert issuer_doc.status_code == 200
    dids = [mentor_doc.json(), issuer_doc.json()]

    # The endorsement's issuer is the mentor, and the signing key is the mentor's.
    assert endorsement["issuer"]["id"] == mentor_did
    (proof,) = endorsement["proof"]
    (method,) = [m for m in dids[0]["verificationMethod"] if m["id"] == proof["verificationMethod"]]
    assert method["controller"] == mentor_did

    tampered = copy.deepcopy(endorsement)
    tampered["credentialSubject"]["endorsementComment"] = "Hire someone else."
    tampered_badge = copy.deepcopy(badge)
    tampered_badge["endorsement"][0]["credentialSubject"]["endorsementComment"] = "No."
    impostor = copy.deepcopy(endorsement)  # claims the program signed the mentor's words
    impostor["issuer"]["id"] = badge["issuer"]["id"]

    def request(document: Json, extra: list[Json] | None = dids) -> Json:
        item: Json = {"verifiableCredential": document, "now": NOW.isoformat()}
        if extra is not None:
            item["didDocuments"] = extra
        return item

    cases = {
        "endorsement": request(endorsement),
        "badge": request(badge),
        "embedded copy": request(embedded),
        "endorsement without the DID document": request(endorsement, None),
        "tampered endorsement": request(tampered),
        "badge with a tampered endorsement": request(tampered_badge),
        "endorsement with another issuer": request(impostor),
    }
    calls = harness.calls
    results = dict(zip(cases, harness.run("verify", list(cases.values())), strict=True))
    assert harness.calls == calls + 1  # one Node process for every case

    for name in ("endorsement", "badge", "embedded copy"):
        assert results[name]["verified"], (name, results[name])
        assert all(p["verified"] for p in results[name]["proofs"]), (name, results[name])
    missing = results["endorsement without the DID document"]
    assert not missing["verified"] and "refusing to load" in (missing.get("error") or "")
    for name in (
        "tampered endorsement",
        "badge with a tampered endorsement",
        "endorsement with another issuer",
    ):
        assert not results[name]["verified"], (name, results[name])
    # Each change breaks the signature itself, not only a policy check.
    assert not any(p["verified"] for p in results["tampered endorsement"]["proofs"])
    assert not any(p["verified"] for p in results["badge with a tampered endorsement"]["proofs"])
    assert not any(p["verified"] for p in results["endorsement with another issuer"]["proofs"])
