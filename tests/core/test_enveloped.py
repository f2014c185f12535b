"""VC-JOSE-COSE: enveloped credentials and presentations (application/vc+jwt, vp+jwt).

Each test names the section of "Securing Verifiable Credentials using JOSE and COSE"
(W3C Recommendation) or of VC Data Model 2.0 it checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.crypto.jose import jws_verify as jose_verify
from badgeworks.core.encoding import b64url_decode
from badgeworks.core.enveloped import (
    envelope_credential,
    envelope_kind,
    envelope_presentation,
    enveloped_payload,
    verify_envelope,
)
from badgeworks.core.errors import CredentialError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.document import Capabilities, verify_document
from badgeworks.core.verification.enveloped import (
    verify_enveloped,
    verify_enveloped_presentation,
)
from badgeworks.core.verification.report import Check
from tests.did_key_badges import KEY, badge
from tests.signers import encode_jws, generate_jwk, jws_sign

NOW = datetime(2026, 6, 1, tzinfo=UTC)
OTHER = Ed25519KeyPair.generate()


def example_credential(issuer: str = KEY.controller) -> dict[str, Any]:
    """VC-JOSE-COSE §3.1.1 Example 1's credential, issued by ``issuer``."""
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "http://university.example/credentials/3732",
        "type": ["VerifiableCredential", "ExampleDegreeCredential", "ExamplePersonCredential"],
        "issuer": issuer,
        "validFrom": "2010-01-01T19:23:24Z",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "degree": {"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"},
            "alumniOf": {"name": "Example University"},
        },
    }


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jws(header: dict[str, Any], payload: Any, key: Ed25519KeyPair = KEY) -> str:
    return encode_jws(header, payload, key.sign)


def header(**extra: Any) -> dict[str, Any]:
    return {"alg": "EdDSA", "kid": KEY.id, "typ": "vc+jwt", **extra}


def data_url(token: str, media: str = "application/vc+jwt") -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/credentials/v2",
        "type": "EnvelopedVerifiableCredential",
        "id": f"data:{media},{token}",
    }


def run(document: Any, loader: DocumentLoader, **kw: Any) -> tuple[Any, list[Check]]:
    return verify_envelope(document, key_resolver=loader.load, now=kw.pop("now", NOW), **kw)


def codes(checks: list[Check]) -> list[str]:
    return [c.code for c in checks if c.outcome == "fail"]


def test_issued_envelope_verifies_and_payload_is_the_credential(loader: DocumentLoader) -> None:
    """§3.1.1: "The unsecured verifiable credential is the unencoded JWS payload"; VC 2.0
    §4.13: the enveloped credential's id is a data: URL of application/vc+jwt."""
    credential = example_credential()
    enveloped = envelope_credential(credential, KEY, iat=NOW - timedelta(days=1))
    assert enveloped["type"] == "EnvelopedVerifiableCredential"
    assert enveloped["id"].startswith("data:application/vc+jwt,")
    token = enveloped["id"].split(",", 1)[1]
    head = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert head == {"alg": "EdDSA", "kid": KEY.id, "typ": "vc+jwt", "cty": "vc"}
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert "vc" not in payload and payload["iss"] == KEY.controller
    out, checks = run(enveloped, loader)
    assert codes(checks) == []
    assert checks[0].code == "jose.verified"
    assert checks[0].detail["securingMechanism"] == "VC-JOSE-COSE"
    assert checks[0].detail["mediaType"] == "application/vc+jwt"
    assert out == credential  # the JWT's own claims (iss, iat) are not credential properties


def test_bare_token_and_data_url_string_are_read_too(loader: DocumentLoader) -> None:
    """VC 2.0 §4.13 data: URL, and the bare compact JWS the VC-API may hand over."""
    url = envelope_credential(example_credential(), KEY)["id"]
    for form in (url, url.split(",", 1)[1]):
        out, checks = run(form, loader)
        assert codes(checks) == [] and out is not None
        assert envelope_kind(form) == "vc"


def test_es256_key_by_kid(loader: DocumentLoader) -> None:
    """§3.1.1 Example 1 uses ES256; §4.1.1: kid finds the key (here a JsonWebKey method)."""
    private = generate_jwk("ES256")
    public = {k: v for k, v in private.items() if k != "d"}
    did = "did:web:university.example"
    method = {"id": f"{did}#key-1", "type": "JsonWebKey", "controller": did, "publicKeyJwk": public}
    doc = {"id": did, "verificationMethod": [method], "assertionMethod": [f"{did}#key-1"]}
    token = encode_jws(
        {"alg": "ES256", "kid": f"{did}#key-1", "typ": "vc+jwt"},
        example_credential(did),
        lambda data: jws_sign("ES256", private, data),
    )
    docs = {did: doc, f"{did}#key-1": method}
    out, checks = verify_envelope(data_url(token), key_resolver=docs.__getitem__, now=NOW)
    assert codes(checks) == [] and out is not None


def test_key_found_by_iss_alone(loader: DocumentLoader) -> None:
    """§4.1.2: with no kid, iss names the controller whose one assertion key is used."""
    token = jws({"alg": "EdDSA", "typ": "vc+jwt"}, {**example_credential(), "iss": KEY.controller})
    _, checks = run(token, loader)
    assert codes(checks) == []
    _, checks = run(jws({"alg": "EdDSA", "typ": "vc+jwt"}, example_credential()), loader)
    assert codes(checks) == ["jose.key_not_found"]


def test_iss_must_match_the_issuer(loader: DocumentLoader) -> None:
    """§4.1.2: "iss value, if present, MUST match issuer value" (string or issuer.id)."""
    cred = example_credential()
    _, checks = run(jws(header(), {**cred, "iss": "did:example:someone-else"}), loader)
    assert "jose.iss_mismatch" in codes(checks)
    cred["issuer"] = {"id": KEY.controller, "name": "Example University"}
    _, checks = run(jws(header(), {**cred, "iss": KEY.controller}), loader)
    assert codes(checks) == []
    _, checks = run(jws(header(iss="did:example:x"), {**cred, "iss": KEY.controller}), loader)
    assert codes(checks) == ["jose.iss_mismatch"]


def test_kid_pointing_at_another_did_is_refused(loader: DocumentLoader) -> None:
    """§4.1.1 / §4.2: the key must be the issuer's; another DID's valid key proves nothing."""
    token = jws({"alg": "EdDSA", "kid": OTHER.id, "typ": "vc+jwt"}, example_credential(), OTHER)
    _, checks = run(token, loader)
    assert codes(checks) == ["jose.issuer_key_mismatch"]


def test_kid_must_be_absolute_without_iss(loader: DocumentLoader) -> None:
    """§4.1.1: when iss is absent, kid MUST be an absolute URL to a verification method."""
    fragment = "#" + KEY.id.split("#", 1)[1]
    _, checks = run(jws(header(kid=fragment), example_credential()), loader)
    assert codes(checks) == ["jose.kid_not_absolute"]
    token = jws(header(kid=fragment), {**example_credential(), "iss": KEY.controller})
    _, checks = run(token, loader)
    assert codes(checks) == []


def test_key_not_listed_for_assertion_is_refused() -> None:
    """§4.2 (Controlled Identifiers): the controller must list the key for assertions."""
    did = KEY.controller
    method = {"id": KEY.id, "type": "Multikey", "controller": did,
              "publicKeyMultibase": KEY.public_key_multibase}  # fmt: skip
    doc = {"id": did, "verificationMethod": [method], "authentication": [KEY.id]}
    docs = {did: doc, KEY.id: method}
    token = jws(header(), example_credential())
    _, checks = verify_envelope(token, key_resolver=docs.__getitem__, now=NOW)
    assert codes(checks) == ["jose.key_purpose"]


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "HS512"])
def test_alg_none_and_hmac_are_refused(loader: DocumentLoader, alg: str) -> None:
    """§1.1.2.1: claims without integrity protection MUST be ignored; an HMAC "signed" with
    the issuer's public key is the classic algorithm-confusion attack."""
    head = b64(json.dumps({"alg": alg, "kid": KEY.id, "typ": "vc+jwt"}).encode())
    body = b64(json.dumps(example_credential()).encode())
    secret = KEY.public_key_multibase.encode()
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    for signature in (b64(mac), "x"):
        _, checks = run(data_url(f"{head}.{body}.{signature}"), loader)
        assert codes(checks) == ["jose.alg_unsupported"]


@pytest.mark.parametrize("typ", ["JWT", "vp+jwt", "application/vc+sd-jwt", 7])
def test_wrong_typ_is_refused(loader: DocumentLoader, typ: Any) -> None:
    """§3.1.1: typ SHOULD be vc+jwt; a token typed as something else is not a credential."""
    _, checks = run(jws(header(typ=typ), example_credential()), loader)
    assert codes(checks) == ["jose.typ_invalid"]


def test_typ_forms_and_missing_typ(loader: DocumentLoader) -> None:
    """RFC 7515 §4.1.9 (cited by §3.1.1): 'application/' may be left out; no typ warns."""
    _, checks = run(jws(header(typ="application/VC+JWT"), example_credential()), loader)
    assert codes(checks) == []
    no_typ = {"alg": "EdDSA", "kid": KEY.id}
    _, checks = run(data_url(jws(no_typ, example_credential())), loader)
    assert codes(checks) == [] and "jose.typ_missing" in [c.code for c in checks]


@pytest.mark.parametrize(("cty", "ok"), [("vc", True), ("application/vc", True), ("vp", False),
                                         ("JWT", False)])  # fmt: skip
def test_cty(loader: DocumentLoader, cty: str, ok: bool) -> None:
    """§3.1.1: "When present, the cty header parameter SHOULD be vc"."""
    _, checks = run(jws(header(cty=cty), example_credential()), loader)
    assert codes(checks) == ([] if ok else ["jose.cty_invalid"])


@pytest.mark.parametrize("name", ["crit", "jwk", "jku", "x5c", "b64"])
def test_headers_that_change_the_key_or_reading_are_refused(
    loader: DocumentLoader, name: str
) -> None:
    """§3.1.3 says unknown members are ignored; these we understand and refuse (RFC 7515
    §4.1.11 crit, RFC 7797 b64, a key chosen by the token itself)."""
    _, checks = run(jws(header(**{name: ["exp"]}), example_credential()), loader)
    assert codes(checks) == ["jose.header_not_allowed"]


def test_unknown_header_parameters_are_ignored(loader: DocumentLoader) -> None:
    """§3.1.3: "If they are not understood, they MUST be ignored"."""
    _, checks = run(jws(header(x_note="hello"), example_credential()), loader)
    assert codes(checks) == []


@pytest.mark.parametrize("claim", ["vc", "vp"])
def test_vc_and_vp_claims_are_refused(loader: DocumentLoader, claim: str) -> None:
    """§1.1.2.1: "The JWT Claim Names vc and vp MUST NOT be present"."""
    _, checks = run(jws(header(), {**example_credential(), claim: {}}), loader)
    assert codes(checks) == ["jose.claim_not_allowed"]


def test_vc_1_1_payload_is_refused(loader: DocumentLoader) -> None:
    """§3: the payload conforms to VC Data Model 2.0."""
    cred = example_credential()
    cred["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    _, checks = run(jws(header(), cred), loader)
    assert codes(checks) == ["jose.not_vc2"]


def test_tampered_payload_fails_the_signature(loader: DocumentLoader) -> None:
    """§3.1.1: a conforming verifier MUST use RFC 7515 to verify."""
    token = jws(header(), example_credential())
    head, _, sig = token.split(".")
    forged = {**example_credential(), "validFrom": "2000-01-01T00:00:00Z"}
    body = b64(json.dumps(forged, separators=(",", ":")).encode())
    _, checks = run(f"{head}.{body}.{sig}", loader)
    assert codes(checks) == ["jose.signature_invalid"]


def test_expired_and_future_signatures(loader: DocumentLoader) -> None:
    """§3.1.3: iat and exp are the signature's issuance and expiry (RFC 7519 §4.1.4, 4.1.6),
    distinct from validFrom/validUntil; nbf (NOT RECOMMENDED) is still honoured."""
    when = int(NOW.timestamp())
    cases = {
        "jose.expired": {"exp": when - 1},
        "jose.not_yet_valid": {"nbf": when + 60},
        "jose.issued_in_future": {"iat": when + 60},
    }
    for code, claims in cases.items():
        _, checks = run(jws(header(), {**example_credential(), **claims}), loader)
        assert codes(checks) == [code]
    # An exp after validUntil, or an iat after validFrom, is no conflict (§3.1.3).
    cred = {**example_credential(), "validUntil": "2026-01-01T00:00:00Z"}
    token = jws(header(), {**cred, "iat": when - 10, "exp": when + 3600})
    _, checks = run(token, loader)
    assert codes(checks) == []


def test_hostile_shapes(loader: DocumentLoader) -> None:
    """Huge tokens, bad base64, duplicate keys: refused with a code, never a crash."""
    good = jws(header(), example_credential())
    head, body, sig = good.split(".")
    dup_payload = b64(b'{"issuer":"did:example:a","issuer":"did:example:b"}')
    cases = {
        "jose.too_large": "a" * (13 * 1024 * 1024),
        "jose.malformed": f"{head}.{body}",
    }
    for code, token in cases.items():
        _, checks = run(token, loader)
        assert codes(checks) == [code]
    for token in (f"{head}.{body}!.{sig}", f"{head}.{dup_payload}.{sig}", f"{head}.{body}.{sig}="):
        _, checks = run(data_url(token), loader)
        assert codes(checks) == ["jose.malformed"], token[-20:]
    big_header = b64(json.dumps({"alg": "EdDSA", "pad": "x" * 20000}).encode())
    _, checks = run(f"{big_header}.{body}.{sig}", loader)
    assert codes(checks) == ["jose.too_large"]


def test_not_a_data_url_or_another_media_type(loader: DocumentLoader) -> None:
    """VC 2.0 §4.13: the id is a data: URL of the securing mechanism's media type."""
    token = jws(header(), example_credential())
    env = data_url(token)
    env["id"] = "https://example.org/credential.jwt"
    _, checks = run(env, loader)
    assert codes(checks) == ["jose.not_data_url"]
    for media in ("application/vc+sd-jwt", "application/vp+jwt", "text/plain",
                  "application/vc+jwt;base64"):  # fmt: skip
        _, checks = run(data_url(token, media), loader)
        assert codes(checks) == ["jose.media_type"], media
    env = data_url(token)
    env["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    _, checks = run(env, loader)
    assert codes(checks) == ["jose.envelope_context"]


def test_unknown_key(loader: DocumentLoader) -> None:
    """§4.1.1: a kid nothing resolves is a missing key, not a crash."""
    token = jws(header(kid="did:web:nowhere.example#k"), example_credential())
    _, checks = run(token, loader)
    assert codes(checks) == ["jose.key_not_found"]


def test_issuing_refuses_another_issuers_key_and_claim_names() -> None:
    """§3.1.3: implementers SHOULD avoid conflicting values (iss vs issuer)."""
    with pytest.raises(CredentialError):
        envelope_credential(example_credential("did:example:else"), KEY)
    with pytest.raises(CredentialError):
        envelope_credential({**example_credential(), "exp": 1}, KEY)


def test_presentation_envelope(loader: DocumentLoader) -> None:
    """§3.1.2: typ vp+jwt, credentials inside MUST use EnvelopedVerifiableCredential; the
    holder's key is listed for authentication."""
    inner = envelope_credential(example_credential(), KEY)
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "holder": OTHER.controller,
        "verifiableCredential": [inner],
    }
    env = envelope_presentation(vp, OTHER)
    assert env["type"] == "EnvelopedVerifiablePresentation"
    assert envelope_kind(env) == "vp"
    out, checks = run(env, loader, kind="vp")
    assert codes(checks) == [] and out == vp
    # A credential envelope is not a presentation envelope.
    _, checks = run(inner, loader, kind="vp")
    assert codes(checks) == ["jose.not_enveloped"]
    assert enveloped_payload(env, "vp") == vp


def test_whole_verification_runs_the_credential_checks(loader: DocumentLoader) -> None:
    """VC 2.0 §4.13 / §4.9: the secured credential's validity period is still checked."""
    cred = example_credential()
    cred["validUntil"] = "2020-01-01T00:00:00Z"
    credential, checks = verify_enveloped(envelope_credential(cred, KEY), loader=loader, now=NOW)
    assert credential is not None
    assert checks[0].code == "jose.verified"
    assert any(c.check == "validity" and c.outcome == "fail" for c in checks)


def test_verify_document_routes_envelopes_and_vc_jwt_apart(loader: DocumentLoader) -> None:
    """VC 2.0 §4.13: an enveloped credential (object, data: URL, or typ vc+jwt) is
    verified as VC-JOSE-COSE; an OB 3.0 VC-JWT (typ JWT) stays with core.vc_jwt."""
    caps = Capabilities(loader=loader, deliverables=False)
    enveloped = envelope_credential(badge(), KEY)
    for form in (enveloped, enveloped["id"], enveloped["id"].split(",", 1)[1]):
        result = verify_document(form, caps, now=NOW)
        assert result.report.verified, [c.as_dict() for c in result.report.checks]
        assert result.report.checks[0].code == "jose.verified"
        assert result.credential is not None and result.credential["issuer"]["id"] == KEY.controller


def test_every_jose_code_is_documented() -> None:
    """docs/verification.md lists every code the envelope verifier reports."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    source = (root / "src" / "badgeworks" / "core" / "enveloped.py").read_text("utf-8")
    used = set(re.findall(r'"(jose\.[a-z_]+)"', source))
    docs = (root / "docs" / "verification.md").read_text("utf-8")
    assert len(used) > 20
    assert sorted(code for code in used if f"`{code}`" not in docs) == []


VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "vc-jose-cose"
SUITE_KEY = {"kty": "OKP", "crv": "Ed25519", "x": "NvUhsjZe7Mdv8Esoc60o3ma1U5j2tFUTDsOQd39xMnI"}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        # Test suite case 15, §1.1.2.1: vc and vp claims MUST NOT be present.
        ("credential-jose-vc-vp-claims.txt", "jose.claim_not_allowed"),
        # Case 13, §3.1.1: typ "bad+typ" is not vc+jwt.
        ("credential-jose-bad-media-type.txt", "jose.typ_invalid"),
        # Cases 6 and 12: their kid is a JWK thumbprint, not the absolute URL §4.1.1 asks
        # for without a matching iss, so no key is looked up at all.
        ("credential-jose-bad-signature.txt", "jose.kid_not_absolute"),
        ("credential-jose-minimal.txt", "jose.kid_not_absolute"),
    ],
)
def test_w3c_test_suite_inputs(loader: DocumentLoader, name: str, code: str) -> None:
    """The W3C VC-JOSE-COSE test suite's JOSE inputs (tests/vectors/PROVENANCE.md)."""
    token = (VECTORS / name).read_text("utf-8").strip()
    for form in (token, data_url(token)):
        out, checks = run(form, loader)
        assert out is None and codes(checks) == [code]


def test_w3c_test_suite_signatures_are_checked() -> None:
    """§3.1.1 (RFC 7515): with the suite's key served for an absolute kid, its good
    signature verifies and its bad one fails, exactly as signed upstream."""
    kid = "https://example.issuer/vc-jose-cose#key-1"
    method = {"id": kid, "type": "JsonWebKey", "controller": "https://example.issuer/vc-jose-cose",
              "publicKeyJwk": SUITE_KEY}  # fmt: skip
    doc = {"id": method["controller"], "verificationMethod": [method], "assertionMethod": [kid]}
    docs = {kid: method, method["controller"]: doc}
    for name, expected in (("credential-jose-vc-vp-claims.txt", True),
                           ("credential-jose-bad-signature.txt", False)):  # fmt: skip
        head, body, sig = (VECTORS / name).read_text("utf-8").strip().split(".")
        assert (
            jose_verify("EdDSA", SUITE_KEY, f"{head}.{body}".encode(), b64url_decode(sig))
            is expected
        )
    # The header names the key by an absolute kid: only the kid differs, so the signature
    # (over the original header) must now fail: the header is signed too.
    head, body, sig = (
        (VECTORS / "credential-jose-vc-vp-claims.txt").read_text("utf-8").strip().split(".")
    )
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    del header["cty"]
    forged = b64(json.dumps({**header, "kid": kid}).encode())
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    del payload["vc"], payload["vp"], payload["iat"]
    _, checks = verify_envelope(
        f"{forged}.{b64(json.dumps(payload).encode())}.{sig}",
        key_resolver=docs.__getitem__,
        now=NOW,
    )
    assert codes(checks) == ["jose.signature_invalid"]


def test_enveloped_presentation_with_challenge_and_its_credentials(loader: DocumentLoader) -> None:
    """§3.1.2: an application/vp+jwt presentation carries EnvelopedVerifiableCredentials,
    each verified on its own; a verifier's challenge/domain are bound as nonce/aud."""
    inner = envelope_credential(example_credential(), KEY)
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "holder": OTHER.controller,
        "verifiableCredential": [inner],
    }
    env = envelope_presentation(vp, OTHER, challenge="c-123", domain="verifier.example")
    options: dict[str, Any] = {"loader": loader, "now": NOW}
    result = verify_enveloped_presentation(
        env, challenge="c-123", domain="verifier.example", **options
    )
    assert result["verified"] is True, result
    assert result["checks"][0]["code"] == "jose.verified"
    assert result["credentialResults"][0]["checks"][0]["code"] == "jose.verified"
    assert result["credentialResults"][0]["format"] == "jose"
    # Replayed for another challenge or domain, or without binding at all: refused.
    for challenge, domain, code in (
        ("other", "verifier.example", "jose.challenge_mismatch"),
        ("c-123", "evil.example", "jose.domain_mismatch"),
    ):
        result = verify_enveloped_presentation(env, challenge=challenge, domain=domain, **options)
        assert [c["code"] for c in result["checks"] if c["outcome"] == "fail"] == [code]
    unbound = envelope_presentation(vp, OTHER)
    result = verify_enveloped_presentation(unbound, challenge="c-123", **options)
    assert result["verified"] is False
    # A credential in it that is not enveloped is refused (§3.1.2: MUST be secured).
    plain = {**vp, "verifiableCredential": [example_credential()]}
    result = verify_enveloped_presentation(envelope_presentation(plain, OTHER), **options)
    fails = [c["code"] for c in result["checks"] if c["outcome"] == "fail"]
    assert fails == ["jose.credential_not_enveloped"]
    # A tampered credential inside fails that credential, and so the whole presentation.
    head, body, sig = inner["id"].split(",", 1)[1].split(".")
    broken = {**inner, "id": f"data:application/vc+jwt,{head}.{body}.{sig[:-6]}AAAAAA"}
    tampered = {**vp, "verifiableCredential": [broken]}
    result = verify_enveloped_presentation(envelope_presentation(tampered, OTHER), **options)
    assert result["verified"] is False
    assert result["credentialResults"][0]["checks"][0]["code"] == "jose.signature_invalid"


def test_core_presentation_reads_enveloped_credentials(loader: DocumentLoader) -> None:
    """§3.1.2 in the core's verify_presentation: an enveloped credential is verified as
    VC-JOSE-COSE (format jose), not as an OB 3.0 VC-JWT."""
    from badgeworks.core.verification.presentation import verify_presentation

    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "verifiableCredential": [envelope_credential(example_credential(), KEY)],
    }
    result = verify_presentation(vp, loader=loader, now=NOW)
    assert result["credentialResults"][0]["format"] == "jose"
    assert result["credentialResults"][0]["checks"][0]["code"] == "jose.verified"
    assert result["verified"] is True
