"""VC-JOSE-COSE against panva's jose (npm, interop/jose.mjs): both directions.

Our envelopes verify in jose with ``typ`` ``vc+jwt`` required; jose's tokens verify here;
jose's unsecured and HMAC tokens are refused here. Node.js missing is a loud skip;
``interop/node_modules/jose`` missing is a failure (``make test`` installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.crypto.jose import ed25519_public_jwk
from badgeworks.core.encoding import b64url_encode
from badgeworks.core.enveloped import envelope_credential, envelope_presentation, verify_envelope
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.document import Capabilities, verify_document
from tests.did_key_badges import badge
from tests.interop.conftest import HARNESS_TIMEOUT_S, INTEROP, NODE_MODULES, REPO
from tests.signers import generate_jwk

NOW = datetime.now(UTC).replace(microsecond=0)
KEY = Ed25519KeyPair.generate()
JOSE = INTEROP / "jose.mjs"


def run(command: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            "!!! Node.js not found: VC-JOSE-COSE interop with jose NOT tested "
            "(install Node.js 20+ and run `make test`)"
        )
    if not (NODE_MODULES / "jose").is_dir():
        pytest.fail(f"{NODE_MODULES / 'jose'} is missing: run `make interop-deps`")
    proc = subprocess.run(
        [node, str(JOSE), command],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=HARNESS_TIMEOUT_S,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert isinstance(results, list) and len(results) == len(items)
    return results


def private_jwk(key: Ed25519KeyPair) -> dict[str, Any]:
    assert key.secret_seed is not None
    return {**ed25519_public_jwk(key.public_key), "d": b64url_encode(key.secret_seed)}


def example_credential(issuer: str = KEY.controller) -> dict[str, Any]:
    """VC-JOSE-COSE §3.1.1 Example 1's credential (VC 2.0 context only), from ``issuer``."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "http://university.example/credentials/3732",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2010-01-01T19:23:24Z",
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21"},
    }


def token_of(enveloped: dict[str, Any]) -> str:
    return str(enveloped["id"]).split(",", 1)[1]


def fails(checks: list[Any]) -> list[str]:
    return [c.code for c in checks if c.outcome == "fail"]


def test_our_envelopes_verify_in_jose() -> None:
    """§3.1.1 / §3.1.2: our credential (vc+jwt) and presentation (vp+jwt) tokens are plain
    RFC 7515 JWS that jose verifies, payload = the credential, typ checked by jose."""
    credential = badge(KEY)
    vc = envelope_credential(credential, KEY, iat=NOW)
    vp = envelope_presentation(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": "VerifiablePresentation",
            "holder": KEY.controller,
            "verifiableCredential": [vc],
        },
        KEY,
    )
    public = {**ed25519_public_jwk(KEY.public_key), "alg": "EdDSA"}
    results = run(
        "verify",
        [
            {"token": token_of(vc), "publicJwk": public, "typ": "vc+jwt", "algorithms": ["EdDSA"]},
            {"token": token_of(vp), "publicJwk": public, "typ": "vp+jwt", "algorithms": ["EdDSA"]},
            # jose's own typ check refuses our credential token as a presentation.
            {"token": token_of(vc), "publicJwk": public, "typ": "vp+jwt", "algorithms": ["EdDSA"]},
        ],
    )
    assert "error" not in results[0], results[0]
    assert results[0]["payload"] == {
        **credential,
        "iss": KEY.controller,
        "iat": int(NOW.timestamp()),
    }
    assert results[0]["protectedHeader"] == {
        "alg": "EdDSA",
        "kid": KEY.id,
        "typ": "vc+jwt",
        "cty": "vc",
    }
    assert "error" not in results[1] and results[1]["payload"]["verifiableCredential"] == [vc]
    assert results[2]["code"] == "ERR_JWT_CLAIM_VALIDATION_FAILED"


def test_jose_refuses_a_tampered_envelope() -> None:
    """RFC 7515 §5.2, the other way round: a changed payload fails in jose too."""
    token = token_of(envelope_credential(example_credential(), KEY))
    head, _, sig = token.split(".")
    forged = b64url_encode(json.dumps({**example_credential(), "issuer": "did:x:y"}).encode())
    public = {**ed25519_public_jwk(KEY.public_key), "alg": "EdDSA"}
    (result,) = run(
        "verify",
        [
            {
                "token": f"{head}.{forged}.{sig}",
                "publicJwk": public,
                "typ": "vc+jwt",
                "algorithms": ["EdDSA"],
            }
        ],
    )
    assert result["code"] == "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"


def test_jose_tokens_verify_here(loader: DocumentLoader) -> None:
    """§3.1.1: a JWS made by another implementation (EdDSA by did:key kid, ES256 by a
    did:web JsonWebKey) verifies here, through the whole credential pipeline."""
    when = int(NOW.timestamp())
    payload = {**example_credential(), "iss": KEY.controller, "iat": when, "exp": when + 600}
    header = {"alg": "EdDSA", "kid": KEY.id, "typ": "vc+jwt", "cty": "vc"}
    es_private = generate_jwk("ES256")
    did = "did:web:university.example"
    es_payload = {**example_credential(did), "iss": did}
    (ed, es) = run(
        "sign",
        [
            {"payload": payload, "privateJwk": private_jwk(KEY), "header": header},
            {
                "payload": es_payload,
                "privateJwk": es_private,
                "header": {"alg": "ES256", "kid": f"{did}#key-1", "typ": "vc+jwt"},
            },
        ],
    )
    caps = Capabilities(loader=loader, deliverables=False)
    for form in (ed["token"], f"data:application/vc+jwt,{ed['token']}"):
        result = verify_document(form, caps, now=NOW)
        assert result.report.verified, [c.as_dict() for c in result.report.checks]
        assert result.report.checks[0].detail["securingMechanism"] == "VC-JOSE-COSE"

    method: dict[str, Any] = {
        "id": f"{did}#key-1",
        "type": "JsonWebKey",
        "controller": did,
        "publicKeyJwk": {k: v for k, v in es_private.items() if k != "d"},
    }
    docs: dict[str, Any] = {
        did: {"id": did, "verificationMethod": [method], "assertionMethod": [method["id"]]}
    }
    docs[method["id"]] = method
    out, checks = verify_envelope(es["token"], key_resolver=docs.__getitem__, now=NOW)
    assert fails(checks) == [] and out == example_credential(did)


def test_jose_unsecured_and_hmac_tokens_are_refused_here(loader: DocumentLoader) -> None:
    """§1.1.2.1: tokens without integrity protection (alg none) MUST be ignored; an HS256
    token keyed with the issuer's public key is refused before any key is used."""
    payload = {**example_credential(), "iss": KEY.controller}
    header = {"kid": KEY.id, "typ": "vc+jwt"}
    (unsecured,) = run("unsecured", [{"payload": payload, "header": header}])
    secret = KEY.public_key_multibase
    (hs,) = run("hmac", [{"payload": payload, "header": header, "secret": secret}])
    for token in (unsecured["token"], hs["token"]):
        _, checks = verify_envelope(
            f"data:application/vc+jwt,{token}", key_resolver=loader.load, now=NOW
        )
        assert fails(checks) == ["jose.alg_unsupported"], token[:40]


def test_jose_expired_token_is_refused_here(loader: DocumentLoader) -> None:
    """§3.1.3: exp is the signature's expiry (RFC 7519 §4.1.4)."""
    when = int((NOW - timedelta(hours=2)).timestamp())
    payload = {**example_credential(), "iat": when, "exp": when + 60}
    header = {"alg": "EdDSA", "kid": KEY.id, "typ": "vc+jwt"}
    (signed,) = run(
        "sign", [{"payload": payload, "privateJwk": private_jwk(KEY), "header": header}]
    )
    _, checks = verify_envelope(signed["token"], key_resolver=loader.load, now=NOW)
    assert fails(checks) == ["jose.expired"]
