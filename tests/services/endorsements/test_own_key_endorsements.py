"""Bring-your-own-key endorsers: they sign outside the service and upload; we verify the
signature, that the signer is the invited DID and that it endorses the right thing."""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.issue import issue
from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.mentor_reviews import HTML, invite, open_form, review_path


def _signed(app: FastAPI, pair: Ed25519KeyPair, subject_id: str, comment: str) -> dict[str, Any]:
    unsigned = ob.endorsement_credential(
        id="urn:uuid:6f1e9a52-0d44-4f4a-9a51-3f0c2d6d1b7e",
        issuer=ob.profile(id=pair.controller or "", name="Margaret Hamilton"),
        valid_from=ob.xsd_datetime(NOW),
        subject_id=subject_id,
        name="Margaret Hamilton endorses this credential",
        endorsement_comment=comment,
    )
    return issue(unsigned, pair, app.state.ctx.loader, now=NOW)


def test_upload_good_wrong_issuer_wrong_subject_tampered(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    pair = Ed25519KeyPair.generate()
    ids = draft_project(client, acme)
    data = invite(client, acme, ids["project"], name="Margaret Hamilton", did=pair.controller)
    assert data["endorser"]["key_custody"] == "own"
    assert data["endorser"]["did_document_url"] is None
    path = review_path(data)
    page = client.get(path, headers=HTML)
    assert page.status_code == 200 and "EndorsementCredential" in page.text
    nonce = open_form(client, path)
    upload = path + "/upload"
    subject = data["subject_id"]

    stranger = Ed25519KeyPair.generate()
    other = draft_project(client, acme)
    other_subject = invite(client, acme, other["project"], email="x@example.org")["subject_id"]
    good = _signed(app, pair, subject, "Solid work.")
    tampered = copy.deepcopy(good)
    tampered["credentialSubject"]["endorsementComment"] = "Outstanding work."
    cases = [
        (_signed(app, stranger, subject, "Not mine."), "endorsement.wrong_issuer"),
        (_signed(app, pair, other_subject, "Other project."), "endorsement.wrong_subject"),
        (tampered, "endorsement.not_verified"),
        ({**good, "type": ["VerifiableCredential"]}, "endorsement.wrong_type"),
        ([good], "endorsement.malformed"),
    ]
    for document, code in cases:
        r = client.post(upload, data={"nonce": nonce, "endorsement": json.dumps(document)})
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
    for text, code in (("{not json", "input.not_json"), ("x" * 300_000, "input.too_large")):
        r = client.post(upload, data={"nonce": nonce, "endorsement": text})
        assert r.json()["code"] == code, r.text
    r = client.post(upload, data={"endorsement": json.dumps(good)})
    assert r.status_code == 400
    # Signing through the service is refused: the service holds no key for this DID.
    r = client.post(path, data={"nonce": nonce, "comment": "x"})
    assert r.status_code == 409 and r.json()["code"] == "review.own_key"

    # As a file upload (multipart), the genuine one is accepted and stored verbatim.
    r = client.post(
        upload,
        data={"nonce": nonce},
        files={"file": ("endorsement.json", json.dumps(good).encode(), "application/json")},
    )
    assert r.status_code == 201, r.text
    hosted = client.get(r.json()["json_url"].removeprefix("http://127.0.0.1:8000"))
    assert hosted.json() == good
    r = client.post(upload, data={"nonce": nonce, "endorsement": json.dumps(good)})
    assert r.status_code == 410

    issued = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth).json()
    (embedded,) = issued["credential"]["endorsement"]
    assert embedded["credentialSubject"] == good["credentialSubject"]
    assert embedded["proof"] == good["proof"] and isinstance(good["proof"], list)
