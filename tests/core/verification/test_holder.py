"""Holder binding in the pure core: JWT presentations (signature by the kid's did:key or
did:jwk, nonce, audience, times, iss and holder) and the request binding of a Data
Integrity presentation, with no database and no network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.verification.holder import (
    HolderRefusal,
    JwtPresentation,
    bound_to_subject,
    ldp_request_binding,
    verify_jwt_presentation,
)
from tests.wallet_holders import did_jwk_holder, did_key_holder, jwt_vp

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
AUD = "redirect_uri:https://verifier.example/oid4vp/responses/r1"
NONCE = "n-0123456789"


def _verify(token: str, **kw: Any) -> JwtPresentation | HolderRefusal:
    return verify_jwt_presentation(
        token,
        nonce=kw.get("nonce", NONCE),
        audience=kw.get("audience", AUD),
        now=NOW,
        max_chars=kw.get("max_chars", 100_000),
    )


@pytest.mark.parametrize("make", [did_key_holder, did_jwk_holder], ids=["did-key", "did-jwk"])
def test_a_jwt_presentation_names_its_holder(make: Any) -> None:
    holder = make()
    token = jwt_vp(holder, "eyJ.x.y", nonce=NONCE, audience=AUD, iat=int(NOW.timestamp()))
    found = _verify(token)
    assert isinstance(found, JwtPresentation), found
    assert found.holder == holder.did
    assert found.presentation["verifiableCredential"] == ["eyJ.x.y"]


@pytest.mark.parametrize(
    ("claims", "header", "code"),
    [
        ({"nonce": "other"}, None, "holder.nonce_mismatch"),
        ({"aud": ["https://a.example", "https://b.example"]}, None, "holder.audience_mismatch"),
        ({"exp": int(NOW.timestamp()) - 1}, None, "holder.expired"),
        ({"iat": int(NOW.timestamp()) + 3600}, None, "holder.expired"),
        ({"iss": "did:key:z6MkSomeoneElse"}, None, "holder.signature"),
        (
            {"vp": {"type": ["VerifiablePresentation"], "holder": "did:x:y"}},
            None,
            "holder.signature",
        ),
        ({"vp": ["not", "an", "object"]}, None, "holder.malformed"),
        ({"iat": "yesterday"}, None, "holder.malformed"),
        ({}, {"typ": "vc+ld+json"}, "holder.malformed"),
        ({}, {"alg": "RS256"}, "holder.format"),
        ({}, {"x5c": ["MII"]}, "holder.malformed"),
        (
            {},
            {"kid": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#other"},
            "holder.signature",
        ),
    ],
)
def test_a_jwt_presentation_is_refused(
    claims: dict[str, Any], header: dict[str, Any] | None, code: str
) -> None:
    holder = did_key_holder()
    head = {"alg": holder.alg, "typ": "JWT", "kid": holder.kid, **(header or {})}
    extra = {k: v for k, v in claims.items() if k not in ("nonce", "aud", "iat")}
    token = jwt_vp(
        holder,
        "eyJ.x.y",
        nonce=claims.get("nonce", NONCE),
        audience=claims.get("aud", AUD),
        iat=claims.get("iat", int(NOW.timestamp())),
        header=head,
        **extra,
    )
    found = _verify(token)
    assert isinstance(found, HolderRefusal) and found.code == code, found


def test_unreadable_and_oversized_tokens_are_refused() -> None:
    for token, code in (
        ("", "holder.malformed"),
        ("a.b", "holder.malformed"),
        ("a..c", "holder.malformed"),
        ("!!.??.**", "holder.malformed"),
        ("é.é.é", "holder.malformed"),
    ):
        found = _verify(token)
        assert isinstance(found, HolderRefusal) and found.code == code, (token, found)
    found = _verify("a" * 200, max_chars=100)
    assert isinstance(found, HolderRefusal) and found.code == "holder.too_large"
    assert isinstance(
        verify_jwt_presentation(None, nonce="n", audience="a", now=NOW, max_chars=10), HolderRefusal
    )


def test_the_request_binding_of_a_data_integrity_presentation() -> None:
    def vp(**proof: Any) -> dict[str, Any]:
        return {
            "type": ["VerifiablePresentation"],
            "proof": {"challenge": NONCE, "domain": AUD, **proof},
        }

    assert ldp_request_binding(vp(), nonce=NONCE, audience=AUD) is None
    assert ldp_request_binding(vp(domain=[AUD, "x"]), nonce=NONCE, audience=AUD) is None
    cases = [
        (vp(challenge="old"), "holder.nonce_mismatch"),
        (vp(challenge=None), "holder.nonce_mismatch"),
        (vp(domain="https://elsewhere.example"), "holder.audience_mismatch"),
        ({"type": ["VerifiablePresentation"]}, "holder.unsigned"),
        ({"type": ["VerifiablePresentation"], "proof": ["x"]}, "holder.malformed"),
        ({"type": ["VerifiableCredential"], "proof": {}}, "holder.malformed"),
    ]
    for presentation, code in cases:
        found = ldp_request_binding(presentation, nonce=NONCE, audience=AUD)
        assert found is not None and found.code == code, (presentation, found)


def test_the_signer_must_be_the_credentials_subject() -> None:
    credential = {"credentialSubject": {"id": "did:key:z6MkAda"}}
    assert bound_to_subject("did:key:z6MkAda", credential) is None
    for holder, subject in (
        ("did:key:z6MkEve", credential),
        (None, credential),
        ("did:key:z6MkAda", {"credentialSubject": {"name": "Ada"}}),
    ):
        found = bound_to_subject(holder, subject)
        assert found is not None and found.code == "holder.subject_mismatch"
