"""Verifiable Presentations: holder binding, challenge and domain, and the credentials inside."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import CredentialError
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.presentation import (
    create_presentation,
    sign_presentation,
    verify_presentation,
)
from tests.core.conftest import build_ob3_credential
from tests.signers import sign_vc_jwt

ISSUED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
CHALLENGE = "c0ffee-1234"
DOMAIN = "verifier.example.org"


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


@pytest.fixture(scope="module")
def holder_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


def unsigned_credential(key: Ed25519KeyPair) -> dict[str, Any]:
    cred = build_ob3_credential(issuer_id=key.controller)
    # No status list is reachable from a pure test; the status stage has its own tests.
    del cred["credentialStatus"]
    return cred


@pytest.fixture(scope="module")
def credential(issuer_key: Ed25519KeyPair, loader: DocumentLoader) -> dict[str, Any]:
    return issue(unsigned_credential(issuer_key), issuer_key, loader, now=ISSUED)


@pytest.fixture(scope="module")
def signed_vp(
    credential: dict[str, Any], holder_key: Ed25519KeyPair, loader: DocumentLoader
) -> dict[str, Any]:
    vp = create_presentation([credential], holder=holder_key.controller, id="urn:uuid:vp-1")
    return sign_presentation(vp, holder_key, loader, now=NOW, challenge=CHALLENGE, domain=DOMAIN)


def run(vp: Any, loader: DocumentLoader, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("challenge", CHALLENGE)
    kwargs.setdefault("domain", DOMAIN)
    return verify_presentation(vp, loader=loader, now=NOW, **kwargs)


def codes(result: dict[str, Any]) -> list[str]:
    return [c["code"] for c in result["checks"]]


def test_signed_presentation_verifies(signed_vp: dict[str, Any], loader: DocumentLoader) -> None:
    result = run(signed_vp, loader)
    assert result["verified"] is True
    assert codes(result) == ["presentation.ok", "proof.verified", "presentation.holder_match"]
    assert result["presentationResult"]["verified"] is True
    [cred] = result["credentialResults"]
    assert cred["verified"] is True
    assert cred["format"] == "json"
    assert cred["credentialId"] == "urn:uuid:0c9a1c1e-5d1b-4f55-8a57-3a3e1b9c2f10"
    assert signed_vp["proof"]["proofPurpose"] == "authentication"


def test_created_shape(credential: dict[str, Any]) -> None:
    vp = create_presentation([credential], holder="did:example:h", id="urn:uuid:1")
    assert vp == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:1",
        "type": ["VerifiablePresentation"],
        "holder": "did:example:h",
        "verifiableCredential": [credential],
    }
    with pytest.raises(CredentialError):
        create_presentation([42])


def test_wrong_challenge(signed_vp: dict[str, Any], loader: DocumentLoader) -> None:
    result = run(signed_vp, loader, challenge="another")
    assert result["verified"] is False
    assert "proof.challenge_mismatch" in codes(result)
    assert result["presentationResult"]["verified"] is False


def test_wrong_domain(signed_vp: dict[str, Any], loader: DocumentLoader) -> None:
    result = run(signed_vp, loader, domain="evil.example")
    assert result["verified"] is False
    assert "proof.domain_mismatch" in codes(result)


def test_holder_mismatch(
    credential: dict[str, Any], holder_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    other = Ed25519KeyPair.generate()
    vp = create_presentation([credential], holder=other.controller)
    with pytest.raises(CredentialError):
        sign_presentation(vp, holder_key, loader, now=NOW, challenge=CHALLENGE)
    # Forge it anyway: sign without a holder, then claim one.
    forged = sign_presentation(
        create_presentation([credential]), holder_key, loader, now=NOW, challenge=CHALLENGE
    )
    forged["holder"] = other.controller
    result = run(forged, loader, domain=None)
    assert result["verified"] is False
    # Adding the holder also breaks the signature; sign a consistent one to see the binding.
    assert "proof.signature_invalid" in codes(result)


def test_holder_mismatch_with_a_valid_signature(
    credential: dict[str, Any], holder_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    from badgeworks.core.proof import add_proof

    other = Ed25519KeyPair.generate()
    vp = create_presentation([credential], holder=other.controller)
    signed = add_proof(
        vp, holder_key, loader, created=NOW, proof_purpose="authentication", challenge=CHALLENGE
    )
    result = run(signed, loader, domain=None)
    assert result["verified"] is False
    assert "proof.verified" in codes(result)
    assert "presentation.holder_mismatch" in codes(result)


def test_missing_holder_warns(
    credential: dict[str, Any], holder_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    vp = sign_presentation(
        create_presentation([credential]), holder_key, loader, now=NOW, challenge=CHALLENGE
    )
    result = run(vp, loader, domain=None)
    assert result["verified"] is True
    assert "presentation.holder_missing" in codes(result)


def test_tampered_inner_credential(signed_vp: dict[str, Any], loader: DocumentLoader) -> None:
    vp = copy.deepcopy(signed_vp)
    vp["verifiableCredential"][0]["name"] = "Forged Badge"
    result = run(vp, loader)
    assert result["verified"] is False
    # The holder's signature covers the credential, and so does the issuer's.
    assert "proof.signature_invalid" in codes(result)
    inner = [c["code"] for c in result["credentialResults"][0]["checks"]]
    assert "proof.signature_invalid" in inner


def test_tampered_credential_in_an_unsigned_presentation(
    credential: dict[str, Any], loader: DocumentLoader
) -> None:
    forged = copy.deepcopy(credential)
    forged["credentialSubject"]["role"] = "Lead Engineer"
    result = verify_presentation(create_presentation([forged]), loader=loader, now=NOW)
    assert result["verified"] is False
    assert result["credentialResults"][0]["verified"] is False


def test_presentation_checks_only_leave_credentials_to_the_caller(
    credential: dict[str, Any], loader: DocumentLoader
) -> None:
    """``check_credentials=False``: the presentation's own checks, no credential results
    (the service verifies each credential through its own pipeline instead)."""
    forged = copy.deepcopy(credential)
    forged["credentialSubject"]["role"] = "Lead Engineer"
    vp = create_presentation([forged])
    only = verify_presentation(vp, loader=loader, now=NOW, check_credentials=False)
    assert only["credentialResults"] == []
    assert only["verified"] is True  # unsigned is only a warning; the forgery is not looked at
    assert "presentation.unsigned" in [c["code"] for c in only["checks"]]
    full = verify_presentation(vp, loader=loader, now=NOW)
    assert full["checks"] == only["checks"] and full["verified"] is False


def test_unsigned_presentation_warns(credential: dict[str, Any], loader: DocumentLoader) -> None:
    vp = create_presentation([credential], holder="did:example:someone")
    result = verify_presentation(vp, loader=loader, now=NOW)
    assert result["verified"] is True
    assert result["presentationResult"] is None
    assert codes(result) == ["presentation.ok", "presentation.unsigned"]


@pytest.mark.parametrize("options", [{"challenge": "x"}, {"domain": "d"}])
def test_unsigned_presentation_refused_when_a_challenge_was_asked(
    credential: dict[str, Any], loader: DocumentLoader, options: dict[str, str]
) -> None:
    result = verify_presentation(
        create_presentation([credential]),
        loader=loader,
        now=NOW,
        **options,  # type: ignore[arg-type]
    )
    assert result["verified"] is False
    assert "presentation.proof_required" in codes(result)


def test_vc_jwt_inside(
    issuer_key: Ed25519KeyPair, holder_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    token = sign_vc_jwt(unsigned_credential(issuer_key), issuer_key)
    vp = create_presentation([token], holder=holder_key.controller)
    assert vp["verifiableCredential"][0]["type"] == "EnvelopedVerifiableCredential"
    signed = sign_presentation(vp, holder_key, loader, now=NOW, challenge=CHALLENGE)
    result = run(signed, loader, domain=None)
    assert result["verified"] is True, result
    [cred] = result["credentialResults"]
    assert cred["format"] == "jwt"
    inner = [c["code"] for c in cred["checks"]]
    assert inner[0] == "jwt.verified"
    assert "structure.ok" in inner and "proof.missing" not in inner

    # A bare JWT string (VC 1.1 style) is read too; a forged one fails.
    head, body, sig = token.split(".")
    bare = {
        **create_presentation([]),
        "verifiableCredential": [token, f"{head}.{body}.{sig[:-4]}AAAA"],
    }
    result = verify_presentation(bare, loader=loader, now=NOW)
    assert [r["verified"] for r in result["credentialResults"]] == [True, False]
    assert result["verified"] is False


def test_structure_problems(loader: DocumentLoader) -> None:
    vp = {
        "@context": ["https://example.org/ctx"],
        "type": ["Presentation"],
        "id": "not a url",
        "holder": 7,
        "verifiableCredential": [42, {"type": "EnvelopedVerifiableCredential", "id": "x"}],
    }
    result = verify_presentation(vp, loader=loader, now=NOW)
    assert result["verified"] is False
    assert {
        "presentation.context",
        "presentation.type",
        "presentation.id",
        "presentation.holder",
    } <= set(codes(result))
    inner = [r["checks"][0]["code"] for r in result["credentialResults"]]
    assert inner == ["presentation.credential_malformed", "presentation.credential_malformed"]


def test_empty_presentation_warns(loader: DocumentLoader) -> None:
    result = verify_presentation(create_presentation([]), loader=loader, now=NOW)
    assert result["verified"] is True
    assert "presentation.no_credentials" in codes(result)


def test_too_many_credentials(loader: DocumentLoader) -> None:
    vp = {**create_presentation([]), "verifiableCredential": [{}] * 101}
    result = verify_presentation(vp, loader=loader, now=NOW)
    assert "presentation.too_many_credentials" in codes(result)
    assert result["credentialResults"] == []


GARBAGE: list[Any] = [
    None,
    "a string",
    [1, 2],
    42,
    {},
    {"@context": None, "type": None, "proof": "x"},
    {"@context": [{"@vocab": 1}], "type": "VerifiablePresentation", "proof": {"type": 1}},
    {"type": "VerifiablePresentation", "verifiableCredential": "not.a.jwt"},
    {"type": "VerifiablePresentation", "verifiableCredential": [None, [], "", {"proof": []}]},
    {"type": "VerifiablePresentation", "holder": {"id": 3}, "proof": [None, {}, []]},
]


@pytest.mark.parametrize("bad", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(bad: Any, loader: DocumentLoader) -> None:
    result = verify_presentation(bad, loader=loader, now=NOW, challenge="x", domain="y")
    assert result["verified"] is False
    assert set(result) == {"verified", "presentationResult", "credentialResults", "checks"}
    assert all(c["outcome"] in ("pass", "fail", "warning", "skipped") for c in result["checks"])
