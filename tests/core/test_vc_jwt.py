"""VC-JWT (OB 3.0 "JSON Web Token Proof Format"): every algorithm and every failure code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.crypto import jose
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import KeyFormatError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.vc_jwt import verify_vc_jwt
from badgeworks.core.verification.credential import verify_jwt
from badgeworks.core.verification.report import Check
from tests.core.conftest import build_ob3_credential
from tests.did_key_badges import KEY, badge
from tests.signers import encode_jws, generate_jwk, jws_sign, jwt_claims, sign_vc_jwt

NOW = datetime(2027, 1, 1, tzinfo=UTC)
KID = "https://issuer.example.org/keys/1"
ISSUER = "https://issuer.example.org"


@pytest.fixture(scope="module")
def rsa_key() -> dict[str, Any]:
    return generate_jwk("RS256")


@pytest.fixture(scope="module")
def ec_key() -> dict[str, Any]:
    return generate_jwk("ES256")


@pytest.fixture(scope="module")
def ed_key() -> dict[str, Any]:
    return generate_jwk("EdDSA")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def credential(issuer: str = ISSUER) -> dict[str, Any]:
    cred = build_ob3_credential(issuer_id=issuer)
    cred["credentialSubject"]["id"] = "did:example:intern42"
    return cred


def token(
    alg: str,
    private: dict[str, Any],
    *,
    header: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    cred: dict[str, Any] | None = None,
) -> str:
    cred = cred if cred is not None else credential()
    if payload is None:
        payload = {**cred, **jwt_claims(cred)}
    head = header if header is not None else {"alg": alg, "typ": "JWT", "kid": KID}
    return encode_jws(head, payload, lambda data: jws_sign(alg, private, data))


def resolver_for(jwk: dict[str, Any] | None) -> Callable[[str], Any]:
    def resolve(kid: str) -> Any:
        if jwk is None or kid != KID:
            raise LookupError(kid)
        return {"id": KID, "type": "JsonWebKey", "controller": ISSUER, "publicKeyJwk": jwk}

    return resolve


def run(tok: str, jwk: dict[str, Any] | None, now: datetime = NOW) -> tuple[Any, list[Check]]:
    return verify_vc_jwt(tok, key_resolver=resolver_for(jwk), now=now)


def codes(checks: list[Check]) -> list[str]:
    return [c.code for c in checks]


def verified(checks: list[Check]) -> bool:
    return not any(c.outcome == "fail" for c in checks)


# --------------------------------------------------------------------------- success


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_each_algorithm_verifies_by_kid(
    alg: str, rsa_key: dict[str, Any], ec_key: dict[str, Any], ed_key: dict[str, Any]
) -> None:
    private = {"RS256": rsa_key, "ES256": ec_key, "EdDSA": ed_key}[alg]
    cred, checks = run(token(alg, private), jose.public_jwk(private))
    assert codes(checks) == ["jwt.verified"]
    assert cred is not None and cred["id"] == credential()["id"]


def test_resolver_may_return_a_bare_jwk(ec_key: dict[str, Any]) -> None:
    tok = token("ES256", ec_key)
    _, checks = verify_vc_jwt(tok, key_resolver=lambda kid: jose.public_jwk(ec_key), now=NOW)
    assert codes(checks) == ["jwt.verified"]


def test_embedded_jwk_verifies_with_a_warning(rsa_key: dict[str, Any]) -> None:
    header = {"alg": "RS256", "typ": "JWT", "jwk": jose.public_jwk(rsa_key)}
    cred, checks = run(token("RS256", rsa_key, header=header), None)
    assert verified(checks)
    assert codes(checks) == ["jwt.verified", "jwt.key_embedded"]
    assert cred is not None


def test_vc_claim_vc11_style(ed_key: dict[str, Any]) -> None:
    cred = credential()
    payload = {"vc": cred, **jwt_claims(cred)}
    out, checks = run(token("EdDSA", ed_key, payload=payload), jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.verified"]
    assert out == cred


def test_sign_vc_jwt_with_did_key_resolves_through_the_loader(loader: DocumentLoader) -> None:
    key = Ed25519KeyPair.generate()
    cred = build_ob3_credential(issuer_id=key.controller)
    tok = sign_vc_jwt(cred, key)
    out, checks = verify_vc_jwt(tok, key_resolver=loader.load, now=NOW)
    assert codes(checks) == ["jwt.verified"]
    assert out == cred
    header = json.loads(base64.urlsafe_b64decode(tok.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": key.id}


def test_controller_document_from_resolver(loader: DocumentLoader) -> None:
    key = Ed25519KeyPair.generate()
    tok = sign_vc_jwt(build_ob3_credential(issuer_id=key.controller), key)
    doc = loader.load(key.controller)  # the DID document, not the method
    _, checks = verify_vc_jwt(tok, key_resolver=lambda kid: doc, now=NOW)
    assert codes(checks) == ["jwt.verified"]


def test_key_of_someone_else_is_issuer_key_mismatch(loader: DocumentLoader) -> None:
    key = Ed25519KeyPair.generate()
    tok = sign_vc_jwt(build_ob3_credential(issuer_id=key.controller), key)
    other = Ed25519KeyPair.generate()
    forged = sign_vc_jwt(build_ob3_credential(issuer_id=key.controller), other)
    assert verified(verify_vc_jwt(tok, key_resolver=loader.load, now=NOW)[1])
    _, checks = verify_vc_jwt(forged, key_resolver=loader.load, now=NOW)
    assert "jwt.issuer_key_mismatch" in codes(checks)


# --------------------------------------------------------------------------- header failures


def test_alg_none_is_refused(ed_key: dict[str, Any]) -> None:
    cred = credential()
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64(json.dumps({**cred, **jwt_claims(cred)}).encode())
    for tok in (f"{head}.{body}.", f"{head}.{body}.AAAA"):
        out, checks = run(tok, jose.public_jwk(ed_key))
        assert out is None
        assert codes(checks)[0] in ("jwt.malformed", "jwt.alg_unsupported")
    out, checks = run(f"{head}.{body}.AAAA", jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.alg_unsupported"]


def test_alg_confusion_hs256_with_the_public_key_as_secret(rsa_key: dict[str, Any]) -> None:
    public = jose.public_jwk(rsa_key)
    secret = json.dumps(public).encode()
    cred = credential()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    body = b64(json.dumps({**cred, **jwt_claims(cred)}).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    out, checks = run(f"{head}.{body}.{b64(mac)}", public)
    assert out is None
    assert codes(checks) == ["jwt.alg_unsupported"]


def test_alg_swapped_between_asymmetric_algorithms(
    rsa_key: dict[str, Any], ec_key: dict[str, Any]
) -> None:
    # An ES256 header, but the key the kid names is RSA: the key cannot be used.
    tok = token("ES256", ec_key)
    _, checks = run(tok, jose.public_jwk(rsa_key))
    assert codes(checks) == ["jwt.key_unsupported"]
    # A JWK that declares its algorithm binds it.
    bound = {**jose.public_jwk(ec_key), "alg": "ES384"}
    _, checks = run(tok, bound)
    assert codes(checks) == ["jwt.key_unsupported"]


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k"])
def test_private_member_in_header_jwk(rsa_key: dict[str, Any], member: str) -> None:
    jwk = {**jose.public_jwk(rsa_key), member: rsa_key.get(member, "AAAA")}
    header = {"alg": "RS256", "jwk": jwk}
    _, checks = run(token("RS256", rsa_key, header=header), None)
    assert codes(checks) == ["jwt.private_key_in_header"]


@pytest.mark.parametrize("extra", [{"crit": ["exp"]}, {"cty": "vc"}, {"x5u": "https://x"}])
def test_other_headers_are_not_allowed(ed_key: dict[str, Any], extra: dict[str, Any]) -> None:
    header = {"alg": "EdDSA", "kid": KID, **extra}
    _, checks = run(token("EdDSA", ed_key, header=header), jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.header_not_allowed"]


def test_typ_must_be_jwt(ed_key: dict[str, Any]) -> None:
    header = {"alg": "EdDSA", "kid": KID, "typ": "vc+ld+json+jwt"}
    _, checks = run(token("EdDSA", ed_key, header=header), jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.header_invalid"]


def test_no_key_at_all(ed_key: dict[str, Any]) -> None:
    _, checks = run(token("EdDSA", ed_key, header={"alg": "EdDSA"}), None)
    assert codes(checks) == ["jwt.key_not_found"]


def test_kid_the_resolver_does_not_know(ed_key: dict[str, Any]) -> None:
    _, checks = run(token("EdDSA", ed_key), None)
    assert codes(checks) == ["jwt.key_not_found"]
    _, checks = verify_vc_jwt(token("EdDSA", ed_key), key_resolver=lambda k: {"x": 1}, now=NOW)
    assert codes(checks) == ["jwt.key_not_found"]


def test_weak_rsa_key_is_refused() -> None:
    weak = generate_jwk("RS256", rsa_bits=1024)
    _, checks = run(token("RS256", weak), jose.public_jwk(weak))
    assert codes(checks) == ["jwt.key_unsupported"]
    with pytest.raises(KeyFormatError) as exc:
        jose.jws_verify("RS256", jose.public_jwk(weak), b"x", b"y")
    assert exc.value.code == "key.too_weak"


def test_ec_point_not_on_curve(ec_key: dict[str, Any]) -> None:
    bad = {**jose.public_jwk(ec_key), "y": b64(b"\x01" * 32)}
    _, checks = run(token("ES256", ec_key), bad)
    assert codes(checks) == ["jwt.key_unsupported"]


# --------------------------------------------------------------------------- signature


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_tampered_payload_fails(
    alg: str, rsa_key: dict[str, Any], ec_key: dict[str, Any], ed_key: dict[str, Any]
) -> None:
    private = {"RS256": rsa_key, "ES256": ec_key, "EdDSA": ed_key}[alg]
    head, _, sig = token(alg, private).split(".")
    forged = credential()
    forged["name"] = "Forged"
    body = b64(json.dumps({**forged, **jwt_claims(forged)}).encode())
    out, checks = run(f"{head}.{body}.{sig}", jose.public_jwk(private))
    assert out is None
    assert codes(checks) == ["jwt.signature_invalid"]


def test_es256_der_signature_is_not_accepted(ec_key: dict[str, Any]) -> None:
    head, body, sig = token("ES256", ec_key).split(".")
    raw = base64.urlsafe_b64decode(sig + "==")
    r, s = raw[:32], raw[32:]
    der = b"\x30\x46\x02\x21\x00" + r + b"\x02\x21\x00" + s
    _, checks = run(f"{head}.{body}.{b64(der)}", jose.public_jwk(ec_key))
    assert codes(checks) == ["jwt.signature_invalid"]


def test_other_key_fails(ed_key: dict[str, Any]) -> None:
    other = generate_jwk("EdDSA")
    _, checks = run(token("EdDSA", ed_key), jose.public_jwk(other))
    assert codes(checks) == ["jwt.signature_invalid"]


# --------------------------------------------------------------------------- claims


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iss", "https://evil.example"),
        ("jti", "urn:uuid:other"),
        ("sub", "did:example:someone-else"),
        ("nbf", 1),
        ("exp", 4_000_000_000),
    ],
)
def test_claim_mismatch(ed_key: dict[str, Any], claim: str, value: Any) -> None:
    cred = credential()
    payload = {**cred, **jwt_claims(cred), claim: value}
    out, checks = run(token("EdDSA", ed_key, payload=payload), jose.public_jwk(ed_key))
    assert out is not None  # the signature holds; the content is not what it claims
    assert codes(checks) == ["jwt.claim_mismatch"]
    assert checks[0].detail == {"claim": claim}


@pytest.mark.parametrize("claim", ["iss", "nbf", "exp", "jti", "sub"])
def test_missing_claim(ed_key: dict[str, Any], claim: str) -> None:
    cred = credential()
    payload = {**cred, **jwt_claims(cred)}
    del payload[claim]
    _, checks = run(token("EdDSA", ed_key, payload=payload), jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.claim_mismatch"]


def test_not_yet_valid_and_expired(ed_key: dict[str, Any]) -> None:
    tok = token("EdDSA", ed_key)
    jwk = jose.public_jwk(ed_key)
    _, early = run(tok, jwk, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert codes(early) == ["jwt.not_yet_valid"]
    _, late = run(tok, jwk, now=datetime(2032, 1, 1, tzinfo=UTC))
    assert codes(late) == ["jwt.expired"]
    _, naive = run(tok, jwk, now=datetime(2027, 1, 1))
    assert codes(naive) == ["jwt.verified"]


def test_non_numeric_date_claim(ed_key: dict[str, Any]) -> None:
    cred = credential()
    payload = {**cred, **jwt_claims(cred), "nbf": "2026-10-01"}
    _, checks = run(token("EdDSA", ed_key, payload=payload), jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.malformed"]


# --------------------------------------------------------------------------- garbage


GARBAGE: list[Any] = [
    None,
    42,
    "",
    "abc",
    "a.b",
    "a.b.c.d",
    "...",
    "!!!.???.***",
    "e30.e30.e30",  # {} header: no alg
    b64(b"[1]") + ".e30.AAAA",
    b64(b'{"alg":"EdDSA","alg":"RS256"}') + ".e30.AAAA",
    b64(b"\xff\xfe") + ".e30.AAAA",
    b64(b'{"alg":"EdDSA","jwk":"x"}') + ".e30.AAAA",
    b64(b'{"alg":"EdDSA","kid":7}') + ".e30.AAAA",
    "A" * 5 + "." + "B" * 5 + "." + "C",
    "x" * (13 * 1024 * 1024),
]


@pytest.mark.parametrize("bad", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(bad: Any) -> None:
    out, checks = verify_vc_jwt(bad, key_resolver=lambda kid: 1 / 0, now=NOW)
    assert out is None
    assert len(checks) == 1 and checks[0].outcome == "fail"
    assert checks[0].code.startswith("jwt.")


def test_payload_that_is_not_an_object(ed_key: dict[str, Any]) -> None:
    head = b64(json.dumps({"alg": "EdDSA", "kid": KID}).encode())
    body = b64(b"[1,2]")
    sig = b64(jws_sign("EdDSA", ed_key, f"{head}.{body}".encode()))
    _, checks = run(f"{head}.{body}.{sig}", jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.malformed"]


def test_resolver_crash_is_key_not_found(ed_key: dict[str, Any]) -> None:
    _, checks = verify_vc_jwt(token("EdDSA", ed_key), key_resolver=lambda kid: 1 / 0, now=NOW)
    assert codes(checks) == ["jwt.key_not_found"]


def test_jwk_helpers(rsa_key: dict[str, Any]) -> None:
    public = jose.public_jwk(rsa_key)
    assert set(public) == {"kty", "n", "e"}
    assert not set(public) & jose.JWK_PRIVATE_MEMBERS
    with pytest.raises(KeyFormatError):
        jose.public_jwk({"kty": "oct", "k": "AAAA"})
    with pytest.raises(KeyFormatError):
        jws_sign("EdDSA", public, b"x")
    with pytest.raises(KeyFormatError):
        generate_jwk("HS256")


# --------------------------------------------------------------------------- no subject id


def _without_subject_id() -> dict[str, Any]:
    cred = build_ob3_credential(issuer_id=ISSUER)
    cred["credentialSubject"].pop("id", None)
    return cred


@pytest.mark.parametrize("style", ["payload", "vc claim"])
def test_a_subject_without_id_and_no_sub_claim_is_not_a_mismatch(
    ed_key: dict[str, Any], style: str
) -> None:
    """OB 3.0 §8.2 (JSON Web Token Proof Format): ``sub`` is the ``credentialSubject.id``;
    an AchievementSubject may name its recipient by ``identifier`` alone (OB 3.0
    AchievementSubject: ``id`` is optional), and then the token carries no ``sub``."""
    cred = _without_subject_id()
    claims = jwt_claims(cred)
    assert "sub" not in claims
    payload = {**cred, **claims} if style == "payload" else {"vc": cred, **claims}
    out, checks = run(token("EdDSA", ed_key, payload=payload), jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.verified"]
    assert out is not None and "id" not in out["credentialSubject"]


def test_a_subject_with_id_still_needs_its_sub_claim(ed_key: dict[str, Any]) -> None:
    """The same rule the other way: a subject with an ``id`` and no ``sub`` is a mismatch."""
    cred = credential()
    payload = {**cred, **jwt_claims(cred)}
    del payload["sub"]
    _, checks = run(token("EdDSA", ed_key, payload=payload), jose.public_jwk(ed_key))
    assert codes(checks) == ["jwt.claim_mismatch"]
    assert checks[0].detail == {"claim": "sub"}


def test_a_did_key_badge_without_subject_id_verifies_through_every_stage(
    loader: DocumentLoader,
) -> None:
    """OB 3.0 §8.2 and "Verification and Validation": an OB 3.0 VC-JWT whose subject is named
    by ``identifier`` only verifies end to end (proof, structure, validity)."""
    cred = badge()
    cred["credentialSubject"].pop("id", None)
    token_text = sign_vc_jwt(cred, KEY)
    out, checks = verify_jwt(token_text, loader=loader, now=NOW)
    assert out is not None
    assert [c.code for c in checks if c.outcome == "fail"] == []
    assert "jwt.verified" in codes(checks) and "structure.ok" in codes(checks)
