"""VC-API ``POST /presentations/verify``: every credential inside gets the checks
``POST /credentials/verify`` gives it (the one pipeline), deliverable digests included,
in the VC-API's shape (``checks``, ``errors``, ``warnings``; docs/vc-api.md).
"""

from __future__ import annotations

import os
import stat
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.verification.presentation import create_presentation, sign_presentation
from badgeworks.services.verification.pipeline import MAX_PRESENTED_CREDENTIALS
from tests.did_key_badges import signed
from tests.issuer_app import NOW, IssuerHandle, issue_with_deliverables
from tests.verifier_app import REPORT_PDF, codes

BLOBS = "http://127.0.0.1:8000/blobs/"


def verify_vp(client: TestClient, vp: dict[str, Any], **options: str) -> Any:
    body: dict[str, Any] = {"verifiablePresentation": vp}
    if options:
        body["options"] = options
    return client.post("/presentations/verify", json=body)


def verify_vc(client: TestClient, vc: dict[str, Any]) -> Any:
    return client.post("/credentials/verify", json={"verifiableCredential": vc})


def tamper(app: FastAPI, url: str) -> None:
    """Change the bytes of one of our blobs in place (the digest in its name stays)."""
    path = app.state.ctx.blobs.path(url.removeprefix(BLOBS))
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    path.write_bytes(path.read_bytes() + b"\nchanged after issuing")


def fingerprinted(credential: dict[str, Any]) -> list[str]:
    return [r["id"] for r in credential["relatedResource"] if "digestMultibase" in r]


def test_credentials_in_a_presentation_get_the_digest_checks(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    credential = issue_with_deliverables(client, acme).credential
    r = verify_vp(client, create_presentation([credential]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "verified",
        "verdict",
        "presentationResult",
        "credentialResults",
        "checks",
        "errors",
        "warnings",
    }
    assert body["verified"] is True and body["errors"] == []
    assert body["verdict"] == "verified_with_warnings"
    assert [w["code"] for w in body["warnings"]] == ["presentation.unsigned"]
    [result] = body["credentialResults"]
    assert codes(result, "deliverable") == {"deliverable.match": "pass"}
    # Exactly what /credentials/verify says about the same credential.
    alone = verify_vc(client, credential).json()
    for key in ("verified", "checks", "errors", "warnings"):
        assert result[key] == alone[key], key
    assert result["credentialId"] == credential["id"] and result["format"] == "json"


def test_a_tampered_deliverable_fails_the_presentation(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    credential = issue_with_deliverables(client, acme).credential
    tamper(app, fingerprinted(credential)[0])
    holder = Ed25519KeyPair.generate()
    vp = create_presentation([credential], holder=holder.controller)
    vp = sign_presentation(vp, holder, app.state.ctx.loader, now=NOW, challenge="c-1", domain="x")
    r = verify_vp(client, vp, challenge="c-1", domain="x")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["verified"] is False
    # The presentation itself is fine: its proof verified; the credential is not.
    assert body["errors"] == [] and body["presentationResult"]["verified"] is True
    [result] = body["credentialResults"]
    assert result["verified"] is False
    assert "deliverable.mismatch" in [e["code"] for e in result["errors"]]
    assert codes(result, "deliverable") == {
        "deliverable.mismatch": "fail",
        "deliverable.match": "pass",
    }
    assert result["checks"] == verify_vc(client, credential).json()["checks"]


def test_a_substituted_deliverable_is_reported(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    # Another issuer's credential (did:key), fingerprinting a report that our blob store
    # holds different bytes for.
    ctx = app.state.ctx
    original = BLOBS + ctx.blobs.put(REPORT_PDF)
    substituted = BLOBS + ctx.blobs.put(b"%PDF-1.4\n% a different report\n")
    resources = [
        ob.related_resource(id=url, name=name, digest_multibase=ob.digest_multibase(REPORT_PDF))
        for url, name in ((original, "Report"), (substituted, "Report, swapped"))
    ]
    credential = signed(ctx.loader, related_resource=resources)
    ours = issue_with_deliverables(client, acme).credential
    r = verify_vp(client, create_presentation([ours, credential]))
    assert r.status_code == 422, r.text
    first, second = r.json()["credentialResults"]
    assert first["verified"] is True
    assert second["verified"] is False
    assert [e["code"] for e in second["errors"]] == ["deliverable.mismatch"]
    assert second["credentialId"] == credential["id"]
    assert second["checks"] == verify_vc(client, credential).json()["checks"]


def test_too_many_credentials_are_refused_before_any_work(
    client: TestClient, acme: IssuerHandle
) -> None:
    vp = create_presentation([{"not": "checked"}] * (MAX_PRESENTED_CREDENTIALS + 1))
    r = verify_vp(client, vp)
    assert r.status_code == 400
    assert r.json() == {
        "ok": False,
        "status": 400,
        "code": "vcapi.too_many_credentials",
        "error": r.json()["error"],
        "request_id": r.headers["X-Request-ID"],
    }
    assert str(MAX_PRESENTED_CREDENTIALS) in r.json()["error"]
