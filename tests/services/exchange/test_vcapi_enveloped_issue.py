"""``POST /credentials/issue`` with ``options.securingMechanism`` ``application/vc+jwt``
answers with an ``EnvelopedVerifiableCredential`` (VC Data Model 2.0 §4.13, VC-JOSE-COSE
§3.1.1) that every verifier here reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import multikey
from badgeworks.core.crypto.jose import ed25519_public_jwk
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.plain_credentials import plain_credential

JOSE = {"securingMechanism": "application/vc+jwt"}
#: The DID of the issuer ``make_issuer(…, "enveloped")`` creates (did:web on the test host).
ISSUER_DID = "did:web:127.0.0.1%3A8000:issuers:enveloped"


@pytest.fixture(scope="module")
def eapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp: Path = tmp_path_factory.mktemp("vcapi-enveloped")
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'vcapi.db'}",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        verify_rate_per_minute=0,
        verify_rate_burst=0,
    )
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def http(eapp: FastAPI) -> TestClient:
    return TestClient(eapp, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def issuer(eapp: FastAPI) -> IssuerHandle:
    return make_issuer(eapp, "enveloped")


def _payload(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return value


def test_issue_answers_with_an_enveloped_credential(http: TestClient, issuer: IssuerHandle) -> None:
    """VC 2.0 §4.13: the answer's id is data:application/vc+jwt,<JWS>; VC-JOSE-COSE
    §3.1.1: its payload is the credential (here the one stored and hosted, with its Data
    Integrity proof), signed by the issuer's key (typ vc+jwt)."""
    r = http.post(
        "/credentials/issue",
        json={"credential": plain_credential(issuer=ISSUER_DID), "options": JOSE},
        headers=issuer.auth,
    )
    assert r.status_code == 201, r.text
    enveloped = r.json()["verifiableCredential"]
    assert enveloped["type"] == "EnvelopedVerifiableCredential"
    assert enveloped["@context"] == "https://www.w3.org/ns/credentials/v2"
    token = enveloped["id"].removeprefix("data:application/vc+jwt,")
    payload = _payload(token)
    assert "vc" not in payload and payload["iss"] == payload["issuer"]
    assert payload["proof"]  # the stored credential, proof included
    verified = http.post("/credentials/verify", json={"verifiableCredential": enveloped})
    assert verified.status_code == 200, verified.text
    checks = verified.json()["checks"]
    assert checks[0]["code"] == "jose.verified"
    assert checks[0]["detail"]["securingMechanism"] == "VC-JOSE-COSE"
    # The bare token, as the VC-API also passes it, and the public verifier.
    bare = http.post("/credentials/verify", json={"verifiableCredential": token})
    assert bare.status_code == 200, bare.text
    public = http.post("/api/v1/verify", json={"credential": enveloped})
    assert public.status_code == 200 and public.json()["verified"] is True


def test_without_the_option_the_answer_is_unchanged(http: TestClient, issuer: IssuerHandle) -> None:
    """Without options.securingMechanism the issuer answers as before (Data Integrity)."""
    r = http.post(
        "/credentials/issue",
        json={"credential": plain_credential(issuer=ISSUER_DID)},
        headers=issuer.auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["verifiableCredential"]["proof"]


@pytest.mark.parametrize(
    "value", ["application/vc+sd-jwt", "application/vc+cose", "vc+jwt", 1, {"a": 1}]
)
def test_other_securing_mechanisms_are_a_400(
    http: TestClient, issuer: IssuerHandle, value: Any
) -> None:
    """VC-API "Handling Unknown Options and Data": an option value the issuer cannot
    honour is an error, never ignored (and nothing is issued)."""
    r = http.post(
        "/credentials/issue",
        json={
            "credential": plain_credential(issuer=ISSUER_DID),
            "options": {"securingMechanism": value},
        },
        headers=issuer.auth,
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "vcapi.option_unsupported"


def test_issued_envelope_verifies_in_panva_jose(http: TestClient, issuer: IssuerHandle) -> None:
    """VC-JOSE-COSE §3.1.1 (RFC 7515), checked by an independent implementation: the
    service's own envelope verifies in panva's jose with the key of the issuer's hosted
    DID document (the one its kid names), typ vc+jwt required."""
    from tests.interop.test_vc_jose_cose_interop import run

    r = http.post(
        "/credentials/issue",
        json={"credential": plain_credential(issuer=ISSUER_DID), "options": JOSE},
        headers=issuer.auth,
    )
    assert r.status_code == 201, r.text
    token = r.json()["verifiableCredential"]["id"].removeprefix("data:application/vc+jwt,")
    kid = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]
    document = http.get("/issuers/enveloped/did.json").json()
    method = next(m for m in document["verificationMethod"] if m["id"] == kid)
    raw = multikey.decode_public_key(method["publicKeyMultibase"])
    public = {**ed25519_public_jwk(raw), "alg": "EdDSA"}
    (result,) = run(
        "verify", [{"token": token, "publicJwk": public, "typ": "vc+jwt", "algorithms": ["EdDSA"]}]
    )
    assert "error" not in result, result
    assert result["payload"]["issuer"] == ISSUER_DID
