"""VC-JOSE-COSE enveloped credentials through every way in: ``POST /api/v1/verify``, the
``/verify`` page and the VC-API's ``POST /credentials/verify`` (one SQLite app).

The credential is an ``EnvelopedVerifiableCredential`` (VC 2.0 §4.13) whose ``id`` is
``data:application/vc+jwt,<JWS>`` (VC-JOSE-COSE §3.1.1), signed by a did:key issuer.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.enveloped import envelope_credential, envelope_presentation
from tests.did_key_badges import KEY, badge
from tests.signers import encode_jws
from tests.verifier_app import NOW, codes


def enveloped(**overrides: Any) -> dict[str, Any]:
    return envelope_credential(badge(KEY, **overrides), KEY, iat=NOW)


def test_verify_api_reads_the_envelope_in_every_form(vclient: TestClient) -> None:
    """VC 2.0 §4.13: the object, its data: URL and the bare JWS give one report, which
    names the JOSE securing mechanism (VC-JOSE-COSE §3.1.1)."""
    env = enveloped()
    r = vclient.post("/api/v1/verify", json={"credential": env})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True
    first = body["checks"][0]
    assert first["code"] == "jose.verified"
    assert first["detail"]["securingMechanism"] == "VC-JOSE-COSE"
    assert codes(body)["validity.ok"] == "pass"
    assert body["credential"]["name"] == "Data Pipeline Micro-internship"
    token = env["id"].split(",", 1)[1]
    assert body["format"] == "jose"
    for payload in ({"jws": token}, {"credential": token}, {"credential": env["id"]}, env):
        again = vclient.post("/api/v1/verify", json=payload)
        assert again.status_code == 200, (payload if payload is env else "", again.text)
        assert again.json()["checks"] == body["checks"]


def test_tampered_or_expired_envelope_is_422_not_500(vclient: TestClient) -> None:
    """VC-JOSE-COSE §3.1.1 (RFC 7515 signature) and §3.1.3 (exp): a clear answer."""
    env = enveloped()
    head, body, sig = env["id"].split(",", 1)[1].split(".")
    forged = {**env, "id": f"data:application/vc+jwt,{head}.{body}.{sig[:-6]}AAAAAA"}
    r = vclient.post("/api/v1/verify", json={"credential": forged})
    assert r.status_code == 422, r.text
    assert codes(r.json(), "proof") == {"jose.signature_invalid": "fail"}
    # Pasted as text, a data: URL of another securing mechanism is a clear 400.
    pasted = vclient.post(
        "/api/v1/verify", json={"credential": env["id"].replace("vc+jwt", "vc+cose", 1)}
    )
    assert pasted.status_code == 400, pasted.text
    assert pasted.json()["code"] == "verify.media_type"
    assert "application/vc+cose" in pasted.json()["error"]
    wrong_media = {**env, "id": env["id"].replace("vc+jwt", "vc+sd-jwt", 1)}
    r = vclient.post("/api/v1/verify", json={"credential": wrong_media})
    assert r.status_code == 422, r.text
    assert codes(r.json(), "proof") == {"jose.media_type": "fail"}


def test_verifier_page_in_english_and_spanish(vclient: TestClient) -> None:
    """The page shows the JOSE proof to people, in both languages."""
    env = enveloped()
    for lang, word in (
        ("en", "It is secured with JOSE (VC-JOSE-COSE, application/vc+jwt)."),
        ("es", "Está protegida con JOSE (VC-JOSE-COSE, application/vc+jwt)."),
    ):
        page = vclient.post(f"/verify?lang={lang}", files={"credential": (None, env["id"])})
        assert page.status_code == 200, page.text[:500]
        assert 'data-code="jose.verified"' in page.text
        assert word in page.text


def test_vcapi_verify_accepts_an_enveloped_credential(vapp: FastAPI, vclient: TestClient) -> None:
    """VC-API ``POST /credentials/verify`` with ``{"verifiableCredential": {"@context": …,
    "type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,…"}}``."""
    r = vclient.post("/credentials/verify", json={"verifiableCredential": enveloped()})
    assert r.status_code == 200, r.text
    assert r.json()["checks"][0]["code"] == "jose.verified"
    env = enveloped()
    head, body, sig = env["id"].split(",", 1)[1].split(".")
    env["id"] = f"data:application/vc+jwt,{head}.{body}.{sig[:-6]}AAAAAA"
    r = vclient.post("/credentials/verify", json={"verifiableCredential": env})
    assert r.status_code == 422, r.text


def test_presentation_carrying_enveloped_credentials(vclient: TestClient) -> None:
    """VC-JOSE-COSE §3.1.2: credentials in a presentation use EnvelopedVerifiableCredential."""
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "verifiableCredential": [enveloped()],
    }
    r = vclient.post("/api/v1/verify", json={"credential": vp})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "presentation" and body["verified"] is True
    assert body["credentialResults"][0]["checks"][0]["code"] == "jose.verified"


def test_vcapi_enveloped_presentation(vclient: TestClient) -> None:
    """VC-JOSE-COSE §3.1.2 through ``POST /presentations/verify``: the holder's
    application/vp+jwt envelope (challenge and domain bound as nonce and aud), each
    enveloped credential in it through the one pipeline, reported as ``jose``."""
    holder = Ed25519KeyPair.generate()
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "holder": holder.controller,
        "verifiableCredential": [enveloped()],
    }
    env = envelope_presentation(vp, holder, challenge="c-9", domain="verifier.example")
    options = {"challenge": "c-9", "domain": "verifier.example"}
    r = vclient.post(
        "/presentations/verify", json={"verifiablePresentation": env, "options": options}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["checks"][0]["code"] == "jose.verified"
    assert body["credentialResults"][0]["format"] == "jose"
    assert body["credentialResults"][0]["checks"][0]["code"] == "jose.verified"
    # Replayed with another challenge: 422 naming the mismatch.
    options["challenge"] = "c-10"
    r = vclient.post(
        "/presentations/verify", json={"verifiablePresentation": env, "options": options}
    )
    assert r.status_code == 422, r.text
    assert "jose.challenge_mismatch" in {c["code"] for c in r.json()["checks"]}


def test_enveloped_credential_without_typ_in_a_presentation(vclient: TestClient) -> None:
    """VC 2.0 §4.13: the data: URL's media type says application/vc+jwt, so the entry is
    read as VC-JOSE-COSE even when its token carries no ``typ`` (a SHOULD, §3.1.1)."""
    credential = badge(KEY)
    token = encode_jws({"alg": "EdDSA", "kid": KEY.id}, credential, KEY.sign)
    item = {
        "@context": "https://www.w3.org/ns/credentials/v2",
        "type": "EnvelopedVerifiableCredential",
        "id": f"data:application/vc+jwt,{token}",
    }
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "verifiableCredential": [item],
    }
    r = vclient.post("/presentations/verify", json={"verifiablePresentation": vp})
    assert r.status_code == 200, r.text
    result = r.json()["credentialResults"][0]
    assert result["format"] == "jose"
    assert "jose.typ_missing" in {c["code"] for c in result["checks"]}


def test_public_verifier_reads_an_enveloped_presentation(vclient: TestClient) -> None:
    """VC-JOSE-COSE §3.1.2 on the public verifier: an EnvelopedVerifiablePresentation is
    a presentation; its holder's envelope and each credential in it are checked."""
    holder = Ed25519KeyPair.generate()
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "holder": holder.controller,
        "verifiableCredential": [enveloped()],
    }
    r = vclient.post("/api/v1/verify", json={"credential": envelope_presentation(vp, holder)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "presentation" and body["verified"] is True
    assert body["credentialResults"][0]["checks"][0]["code"] == "jose.verified"
    # Signed by someone who is not the holder: the presentation fails.
    mallory = Ed25519KeyPair.generate()
    forged = envelope_presentation({**vp, "holder": mallory.controller}, mallory)
    token = forged["id"].split(",", 1)[1]
    head, _, sig = token.split(".")
    original_body = envelope_presentation(vp, holder)["id"].split(",", 1)[1].split(".")[1]
    swapped = {**forged, "id": f"data:application/vp+jwt,{head}.{original_body}.{sig}"}
    r = vclient.post("/api/v1/verify", json={"credential": swapped})
    assert r.status_code == 422, r.text
    found = {c["code"] for c in r.json()["presentationResult"]["checks"]}
    assert "jose.signature_invalid" in found


def test_forged_envelopes_against_the_served_verifier(vclient: TestClient) -> None:
    """Attacks on the served API, each a clear 4xx/422 and never a 500: a credential that
    names KEY's issuer but is signed by another DID's key (§4.1.1/§4.2), ``alg: none``
    (§1.1.2.1), HS256 keyed with the issuer's public key, and a huge token."""
    mallory = Ed25519KeyPair.generate()
    credential = badge(KEY)
    forged = encode_jws(
        {"alg": "EdDSA", "kid": mallory.id, "typ": "vc+jwt"}, credential, mallory.sign
    )
    r = vclient.post("/api/v1/verify", json={"credential": f"data:application/vc+jwt,{forged}"})
    assert r.status_code == 422, r.text
    assert codes(r.json(), "proof") == {"jose.issuer_key_mismatch": "fail"}
    head = encode_jws({"alg": "none", "typ": "vc+jwt"}, credential, lambda _: b"").rsplit(".", 1)[0]
    r = vclient.post("/api/v1/verify", json={"credential": f"data:application/vc+jwt,{head}."})
    assert r.status_code == 422, r.text
    assert codes(r.json(), "proof") == {"jose.alg_unsupported": "fail"}
    hs = encode_jws(
        {"alg": "HS256", "kid": KEY.id, "typ": "vc+jwt"},
        credential,
        lambda data: hmac.new(KEY.public_key, data, hashlib.sha256).digest(),
    )
    r = vclient.post("/api/v1/verify", json={"credential": f"data:application/vc+jwt,{hs}"})
    assert r.status_code == 422, r.text
    assert codes(r.json(), "proof") == {"jose.alg_unsupported": "fail"}
    huge = "data:application/vc+jwt," + "A" * (2 * 1024 * 1024)
    r = vclient.post("/api/v1/verify", json={"credential": huge})
    assert 400 <= r.status_code < 500, r.status_code
