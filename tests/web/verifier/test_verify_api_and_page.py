"""``POST /api/v1/verify`` and the ``/verify`` page on one shared SQLite app.

Our own credential (issued through the API), did:key credentials signed here, VC-JWTs,
baked images, the recipient check, deliverable digests, tampering and validity dates.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.baking import bake_png, bake_svg
from badgeworks.services.verification.public import TrustRegistry
from tests.did_key_badges import KEY, signed
from tests.signers import sign_vc_jwt
from tests.verifier_app import PNG_1X1, REPORT_PDF, Instance, codes

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10"/></svg>'
)


def test_our_own_credential_verifies_with_every_check(vclient: TestClient, ours: Instance) -> None:
    r = vclient.post(
        "/api/v1/verify", content=ours.text, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    found = codes(body)
    assert body["verified"] is True
    assert body["verdict"] in ("verified", "verified_with_warnings")
    assert found["proof.verified"] == "pass"
    assert found["issuer.key_match"] == "pass"
    assert found["issuer.known"] == "pass"
    assert found["deliverable.match"] == "pass"
    assert found["validity.ok"] == "pass"
    known = next(c for c in body["checks"] if c["code"] == "issuer.known")
    assert "hosted on this service" in known["message"]
    summary = body["credential"]
    assert summary["achievement"]["name"] == "Data Analysis Micro-internship"
    assert summary["issuer"]["id"] == ours.credential["issuer"]["id"]
    assert summary["skills"][0]["name"] == "Data analysis"
    assert summary["deliverables"][0]["name"] == "Final report"
    assert summary["recipient"]["organisation"] == "Northwind Traders"
    # The same report for every way in.
    for payload in ({"credential": ours.credential}, {"credential": ours.text}):
        again = vclient.post("/api/v1/verify", json=payload)
        assert again.status_code == 200
        assert again.json()["checks"] == body["checks"]
    upload = vclient.post(
        "/api/v1/verify", files={"file": ("badge.json", ours.text.encode(), "application/json")}
    )
    assert upload.status_code == 200
    assert upload.json()["checks"] == body["checks"]


def test_recipient_email_matches_without_echo(vclient: TestClient, ours: Instance) -> None:
    for email in ("ada@example.org", "  ADA@Example.org "):
        r = vclient.post("/api/v1/verify", json={"credential": ours.credential, "email": email})
        assert r.status_code == 200
        assert codes(r.json(), "recipient") == {"recipient.match": "pass"}
        assert "example.org" not in r.text.replace("northwind.example", "")
    r = vclient.post(
        "/api/v1/verify", json={"credential": ours.credential, "email": "mallory@evil.example"}
    )
    assert r.status_code == 422
    assert codes(r.json(), "recipient") == {"recipient.no_match": "fail"}
    assert "mallory" not in r.text
    r = vclient.post(
        "/api/v1/verify", json={"credential": ours.credential, "email": "not-an-email"}
    )
    assert r.status_code == 400
    assert r.json()["code"] == "verify.email_invalid"
    assert "not-an-email" not in r.text
    # The page: the address is never written back into the form or the result.
    page = vclient.post(
        "/verify", files={"credential": (None, ours.text), "email": (None, "ada@example.org")}
    )
    assert page.status_code == 200
    assert "ada@example.org" not in page.text
    assert 'data-code="recipient.match"' in page.text


def test_tampered_credential_fails_the_signature(vclient: TestClient, ours: Instance) -> None:
    forged = copy.deepcopy(ours.credential)
    forged["credentialSubject"]["achievement"]["name"] = "Chief Data Scientist"
    r = vclient.post("/api/v1/verify", json=forged)
    assert r.status_code == 422
    body = r.json()
    assert body["verdict"] == "not_verified"
    assert codes(body, "proof") == {"proof.signature_invalid": "fail"}
    assert codes(body, "deliverable") == {"deliverable.not_checked": "skipped"}
    page = vclient.post("/verify", files={"credential": (None, json.dumps(forged))})
    assert page.status_code == 422
    assert 'data-verdict="not_verified"' in page.text
    assert "Chief Data Scientist" in page.text  # shown, but under "treat as unconfirmed"
    assert "treat everything below as unconfirmed" in page.text


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_baked_badges(vclient: TestClient, ours: Instance, kind: str) -> None:
    if kind == "png":
        data, name, media = bake_png(PNG_1X1, ours.text), "badge.png", "image/png"
    else:
        data, name, media = bake_svg(SVG, ours.text).encode(), "badge.svg", "image/svg+xml"
    r = vclient.post("/api/v1/verify", files={"file": (name, data, media)})
    assert r.status_code == 200, r.text
    assert codes(r.json())["proof.verified"] == "pass"
    page = vclient.post("/verify", files={"file": (name, data, media)})
    assert page.status_code == 200
    assert f"Checked the file {name}." in page.text


def test_vc_jwt_from_another_issuer(vapp: FastAPI, vclient: TestClient) -> None:
    loader = vapp.state.ctx.loader
    unsigned = signed(loader)
    del unsigned["proof"]
    token = sign_vc_jwt(unsigned, KEY)
    r = vclient.post("/api/v1/verify", json={"jws": token})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "jwt"
    assert body["verdict"] == "verified_with_warnings"
    found = codes(body)
    assert found["jwt.verified"] == "pass"
    assert found["issuer.unknown"] == "warning"
    assert body["credential"]["name"] == "Data Pipeline Micro-internship"
    # Pasted as text, baked into a PNG, and with the recipient check.
    page = vclient.post(
        "/verify", files={"credential": (None, token), "email": (None, "ada@example.com")}
    )
    assert page.status_code == 200
    assert 'data-verdict="verified_with_warnings"' in page.text
    assert 'data-code="recipient.match"' in page.text
    baked = bake_png(PNG_1X1, token)
    r = vclient.post("/api/v1/verify", files={"file": ("b.png", baked, "image/png")})
    assert codes(r.json())["jwt.verified"] == "pass"
    # A token whose signature is cut short fails the signature check (422, not 500).
    r = vclient.post("/api/v1/verify", json={"jws": token[:-10]})
    assert r.status_code == 422
    assert codes(r.json(), "proof") == {"jwt.signature_invalid": "fail"}


def test_trust_registry_makes_an_issuer_known(
    vapp: FastAPI, vclient: TestClient, tmp_path: Path
) -> None:
    credential = signed(vapp.state.ctx.loader)
    r = vclient.post("/api/v1/verify", json=credential)
    assert codes(r.json())["issuer.unknown"] == "warning"
    registry_file = tmp_path / "trust.json"
    registry_file.write_text(
        json.dumps({"issuers": [{"id": KEY.controller, "name": "Northwind Institute (registry)"}]})
    )
    previous = getattr(vapp.state, "trust_registry", None)
    vapp.state.trust_registry = TrustRegistry(registry_file)
    try:
        r = vclient.post("/api/v1/verify", json=credential)
        assert r.status_code == 200
        body = r.json()
        assert body["verdict"] == "verified"
        known = next(c for c in body["checks"] if c["code"] == "issuer.known")
        assert "Northwind Institute (registry)" in known["message"]
        assert "trust registry" in known["message"]
        # A broken registry is an operator error (503), not a silent "unknown".
        registry_file.write_text('{"issuers": [{"name": "no id"}]}')
        r = vclient.post("/api/v1/verify", json=credential)
        assert r.status_code == 503
        assert r.json()["code"] == "config.trust_registry"
    finally:
        vapp.state.trust_registry = previous


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"valid_until": "2025-05-31T00:00:00Z"}, "validity.expired"),
        ({"valid_from": "2025-07-01T00:00:00Z"}, "validity.not_yet_valid"),
    ],
)
def test_expired_and_not_yet_valid(
    vapp: FastAPI, vclient: TestClient, overrides: dict[str, Any], code: str
) -> None:
    credential = signed(vapp.state.ctx.loader, **overrides)
    r = vclient.post("/api/v1/verify", json=credential)
    assert r.status_code == 422
    assert codes(r.json(), "validity") == {code: "fail"}
    assert codes(r.json(), "proof") == {"proof.verified": "pass"}


def test_deliverable_digests(vapp: FastAPI, vclient: TestClient, ours: Instance) -> None:
    base = "http://127.0.0.1:8000/blobs/"
    stored = ours.credential["relatedResource"][0]["id"]
    assert stored.startswith(base)
    replaced = base + vapp.state.ctx.blobs.put(b"a different file")
    resources = [
        ob.related_resource(
            id=replaced, name="Report, changed", digest_multibase=ob.digest_multibase(REPORT_PDF)
        ),
        ob.related_resource(
            id=base + "0" * 64, name="Missing file", digest_multibase=ob.digest_multibase(b"x")
        ),
        ob.related_resource(
            id=stored, name="Report", digest_multibase=ob.digest_multibase(REPORT_PDF)
        ),
    ]
    credential = signed(vapp.state.ctx.loader, related_resource=resources)
    r = vclient.post("/api/v1/verify", json=credential)
    assert r.status_code == 422
    outcomes = [
        (c["code"], c["outcome"]) for c in r.json()["checks"] if c["check"] == "deliverable"
    ]
    assert outcomes == [
        ("deliverable.mismatch", "fail"),
        # Not ours, so it goes to the fetcher, which refuses 127.0.0.1.
        ("deliverable.unavailable", "warning"),
        ("deliverable.match", "pass"),
    ]


def test_hostile_content_is_escaped_and_links_are_safe(vapp: FastAPI, vclient: TestClient) -> None:
    credential = signed(
        vapp.state.ctx.loader,
        name="<script>alert(1)</script>",
        evidence=[ob.evidence(id="javascript:alert(1)", name="<img src=x onerror=alert(1)>")],
    )
    page = vclient.post("/verify", files={"credential": (None, json.dumps(credential))})
    assert page.status_code in (200, 422)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert 'href="javascript:' not in page.text
    assert "<img src=x" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_page_renders_form_in_both_languages(vclient: TestClient) -> None:
    r = vclient.get("/verify")
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text
    assert '<label for="field-credential">' in r.text
    assert '<label for="field-email">' in r.text
    es = vclient.get("/verify?lang=es")
    assert "Verificar una credencial" in es.text
    assert '<html lang="es">' in es.text


def test_page_errors_are_tied_to_their_fields(vclient: TestClient, ours: Instance) -> None:
    r = vclient.post("/verify", files={"credential": (None, "")})
    assert r.status_code == 400
    assert 'id="credential-error"' in r.text
    assert 'aria-describedby="credential-hint credential-error" aria-invalid="true"' in r.text
    assert 'href="#field-credential"' in r.text
    r = vclient.post(
        "/verify",
        files={"credential": (None, ours.text), "url": (None, "https://example.org/c/1")},
    )
    assert r.status_code == 400
    assert 'id="credential-error"' in r.text and 'id="url-error"' in r.text
    r = vclient.post("/verify", files={"credential": (None, ours.text), "email": (None, "nope")})
    assert r.status_code == 400
    assert 'id="email-error"' in r.text
    r = vclient.post("/verify", files={"file": ("x.png", PNG_1X1, "image/png")})
    assert r.status_code == 400
    assert 'id="file-error"' in r.text
    assert "carries no Open Badges credential" in r.text
    # A plain urlencoded POST (no multipart) works too.
    r = vclient.post("/verify", data={"credential": ours.text})
    assert r.status_code == 200


def test_nothing_is_stored(vapp: FastAPI, vclient: TestClient, ours: Instance) -> None:
    from sqlmodel import func, select

    from badgeworks.db.models import Credential

    def count() -> int:
        with vapp.state.session_factory() as session:
            return int(session.exec(select(func.count()).select_from(Credential)).one())

    before = count()
    other = signed(vapp.state.ctx.loader)
    vclient.post("/api/v1/verify", json=other)
    vclient.post(
        "/verify", files={"file": ("b.png", bake_png(PNG_1X1, json.dumps(other)), "image/png")}
    )
    assert count() == before


def test_api_is_documented(vapp: FastAPI) -> None:
    operation = vapp.openapi()["paths"]["/api/v1/verify"]["post"]
    content = operation["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    assert "/verify" not in vapp.openapi()["paths"]


def test_upload_reads_no_more_than_the_cap(vclient: TestClient) -> None:
    big = io.BytesIO(b"{" + b" " * (300 * 1024) + b"}")
    r = vclient.post("/api/v1/verify", files={"file": ("big.json", big, "application/json")})
    assert r.status_code == 413
    assert r.json()["code"] == "input.too_large"


def test_our_credential_by_url_is_read_locally(vclient: TestClient, ours: Instance) -> None:
    # vapp's fetcher refuses 127.0.0.1 (its public URL here): our own credentials are
    # answered from the database, as a credential page's or QR code's link needs.
    url = ours.credential["id"]
    r = vclient.post("/api/v1/verify", json={"url": url})
    assert r.status_code == 200, r.text
    assert codes(r.json())["proof.verified"] == "pass"
    page = vclient.get("/verify", params={"url": url + ".json"})
    assert page.status_code == 200
    assert 'data-verdict="verified"' in page.text or "verified_with_warnings" in page.text
    missing = url.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    r = vclient.post("/api/v1/verify", json={"url": missing})
    assert r.status_code == 400
    assert r.json()["code"] == "verify.not_found"
