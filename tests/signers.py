"""Signers the tests use to make inputs the product only ever verifies.

badgeworks issues credentials with Ed25519 Data Integrity proofs only. The verifier also
reads VC-JWTs (OB 3.0 §8.2 "JSON Web Token Proof Format") signed with RS256, ES256 or EdDSA,
so the tests need to make such tokens, including with keys the verifier must refuse.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from badgeworks.core.credential import issuer_id, parse_xsd_datetime
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.crypto.jose import JWS_ALGORITHMS, MIN_RSA_BITS, ed25519_public_jwk
from badgeworks.core.encoding import b64url_decode, b64url_encode
from badgeworks.core.errors import InputError, KeyFormatError
from badgeworks.core.vc_jwt import REGISTERED_CLAIMS

_ALG_KTY = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}


def _uint_bytes(n: int, size: int | None = None) -> bytes:
    return n.to_bytes(size or max(1, (n.bit_length() + 7) // 8), "big")


def _unsupported(alg: str) -> KeyFormatError:
    return KeyFormatError(f"the JWS algorithm {alg!r:.40} is not supported", code="key.unsupported")


def generate_jwk(alg: str, *, rsa_bits: int = MIN_RSA_BITS) -> dict[str, Any]:
    """A new random private JWK for ``alg`` (``RS256``, ``ES256``, ``EdDSA``).

    The result holds the secret members; ``jose.public_jwk`` strips them. ``rsa_bits`` below
    2048 makes a key the verifier must refuse.
    """
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        numbers = private.private_numbers()
        pub = numbers.public_numbers
        members = {
            "n": pub.n,
            "e": pub.e,
            "d": numbers.d,
            "p": numbers.p,
            "q": numbers.q,
            "dp": numbers.dmp1,
            "dq": numbers.dmq1,
            "qi": numbers.iqmp,
        }
        return {"kty": "RSA", **{k: b64url_encode(_uint_bytes(v)) for k, v in members.items()}}
    if alg == "ES256":
        ec_numbers = ec.generate_private_key(ec.SECP256R1()).private_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(_uint_bytes(ec_numbers.public_numbers.x, 32)),
            "y": b64url_encode(_uint_bytes(ec_numbers.public_numbers.y, 32)),
            "d": b64url_encode(_uint_bytes(ec_numbers.private_value, 32)),
        }
    if alg == "EdDSA":
        ed_private = Ed25519PrivateKey.generate()
        raw = serialization.Encoding.Raw
        seed = ed_private.private_bytes(
            raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        public = ed_private.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        return {**ed25519_public_jwk(public), "d": b64url_encode(seed)}
    raise _unsupported(alg)


def jws_sign(alg: str, private_jwk: Mapping[str, Any], signing_input: bytes) -> bytes:
    """The ``alg`` signature of ``signing_input`` with a private JWK (ES256: raw R||S).

    No key-size floor: the tests sign with weak keys to check that verifying refuses them.
    """
    if alg not in JWS_ALGORITHMS:
        raise _unsupported(alg)
    if private_jwk.get("kty") != _ALG_KTY[alg]:
        raise KeyFormatError(
            f"{alg} needs a JWK with 'kty' {_ALG_KTY[alg]!r}", code="key.unsupported"
        )
    if "d" not in private_jwk:
        raise KeyFormatError(
            "the JWK has no private part ('d'), so it cannot sign", code="key.no_secret"
        )

    def num(name: str) -> int:
        return int.from_bytes(b64url_decode(private_jwk[name]), "big")

    if alg == "EdDSA":
        return Ed25519PrivateKey.from_private_bytes(b64url_decode(private_jwk["d"])).sign(
            signing_input
        )
    if alg == "ES256":
        ec_key = ec.derive_private_key(num("d"), ec.SECP256R1())
        r, s = decode_dss_signature(ec_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return _uint_bytes(r, 32) + _uint_bytes(s, 32)
    public = rsa.RSAPublicNumbers(num("e"), num("n"))
    private = rsa.RSAPrivateNumbers(
        num("p"), num("q"), num("d"), num("dp"), num("dq"), num("qi"), public
    ).private_key()
    return private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def jwt_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The registered claims OB 3.0 §8.2 derives from a credential (iss, jti, sub, nbf, exp)."""
    claims: dict[str, Any] = {}
    issuer = issuer_id(credential)
    if issuer is not None:
        claims["iss"] = issuer
    if isinstance(credential.get("id"), str):
        claims["jti"] = credential["id"]
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        claims["sub"] = subject["id"]
    for claim, names in (
        ("nbf", ("validFrom", "issuanceDate")),
        ("exp", ("validUntil", "expirationDate")),
    ):
        for name in names:
            if name in credential:
                claims[claim] = int(parse_xsd_datetime(credential[name]).timestamp())
                break
    return claims


def encode_jws(
    header: Mapping[str, Any], payload: Mapping[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    """A compact JWS of ``payload`` (compact JSON, UTF-8) signed by ``sign``."""

    def part(value: Mapping[str, Any]) -> str:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return b64url_encode(text.encode("utf-8"))

    signing_input = f"{part(header)}.{part(payload)}"
    return f"{signing_input}.{b64url_encode(sign(signing_input.encode('ascii')))}"


def sign_vc_jwt(credential: dict[str, Any], key: Ed25519KeyPair, *, kid: str | None = None) -> str:
    """An EdDSA VC-JWT of ``credential`` (the payload is the credential plus its claims).

    ``kid`` defaults to the key's verification method id. The credential must not carry
    the claim names itself, and a Data Integrity ``proof`` is kept (OB 3.0 allows one,
    made before the JWT).
    """
    clash = sorted(set(credential) & (REGISTERED_CLAIMS | {"vc"}))
    if clash:
        raise InputError(
            f"the credential already has the JWT claim(s) {', '.join(clash)}",
            code="input.invalid",
        )
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid or key.id}
    return encode_jws(header, {**credential, **jwt_claims(credential)}, key.sign)
