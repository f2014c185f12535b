"""JWS signatures over JSON Web Keys: RS256, ES256 and EdDSA.

RFC 7515 §5, RFC 7518 §3.3 and §3.4 and RFC 8037, for the Open Badges 3.0 "JSON Web Token
Proof Format". ``vc_jwt`` parses the token; this module only turns a JWK into a key and
checks one signature. Verifying returns a bool for a bad signature and raises
``KeyFormatError`` for a key that cannot be used with the algorithm, so the caller can tell
the two apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..encoding import b64url_decode, b64url_encode
from ..errors import KeyFormatError
from .ed25519 import ed25519_verify

#: The JWS algorithms badgeworks accepts (OB 3.0 requires at least RS256).
JWS_ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})

#: RFC 7518 §3.3: an RSA key used with RS256 MUST be 2048 bits or larger.
MIN_RSA_BITS = 2048
#: An upper bound, so a hostile key cannot make one verification arbitrarily slow.
MAX_RSA_BITS = 8192

#: The JWK members that hold secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
JWK_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

_JWK_PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}

_ALG_KTY = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}


def _member_bytes(value: Any, member: str) -> bytes:
    try:
        return b64url_decode(value)
    except ValueError:
        raise KeyFormatError(
            f"the JWK member {member!r} is not base64url text", code="key.invalid", member=member
        ) from None


def public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """Only the public members of a JWK (``kty`` plus, per type, ``n e`` / ``crv x y`` / ``crv x``).

    Raises ``KeyFormatError`` (``key.unsupported``) for a key type other than RSA, EC, OKP.
    """
    kty = jwk.get("kty") if isinstance(jwk, Mapping) else None
    if kty not in _JWK_PUBLIC_MEMBERS:
        raise KeyFormatError(
            f"JWK 'kty' {kty!r:.40} is not supported (supported: 'RSA', 'EC', 'OKP')",
            code="key.unsupported",
        )
    out: dict[str, Any] = {"kty": kty}
    for name in _JWK_PUBLIC_MEMBERS[str(kty)]:
        if name not in jwk:
            raise KeyFormatError(f"the {kty} JWK has no {name!r}", code="key.invalid")
        out[name] = jwk[name]
    return out


def ed25519_public_jwk(public_key: bytes) -> dict[str, Any]:
    """The OKP JWK (RFC 8037) of a raw 32-byte Ed25519 public key."""
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise KeyFormatError("an Ed25519 public key is 32 bytes", code="key.invalid")
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key)}


def _check_jwk_for(alg: str, jwk: Mapping[str, Any]) -> None:
    if alg not in JWS_ALGORITHMS:
        raise KeyFormatError(
            f"the JWS algorithm {alg!r:.40} is not supported", code="key.unsupported"
        )
    if not isinstance(jwk, Mapping) or jwk.get("kty") != _ALG_KTY[alg]:
        kty = jwk.get("kty") if isinstance(jwk, Mapping) else None
        raise KeyFormatError(
            f"{alg} needs a JWK with 'kty' {_ALG_KTY[alg]!r}, not {kty!r:.40}",
            code="key.unsupported",
        )
    # RFC 7517 §4.4: a JWK that names its algorithm may only be used with that algorithm.
    if "alg" in jwk and jwk["alg"] != alg:
        raise KeyFormatError(
            f"the JWK is for {jwk['alg']!r:.40}, but the token says {alg!r}",
            code="key.unsupported",
        )


def _rsa_public_numbers(jwk: Mapping[str, Any]) -> rsa.RSAPublicNumbers:
    n = int.from_bytes(_member_bytes(jwk.get("n"), "n"), "big")
    e = int.from_bytes(_member_bytes(jwk.get("e"), "e"), "big")
    return rsa.RSAPublicNumbers(e, n)


def _rsa_public(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    numbers = _rsa_public_numbers(jwk)
    n, e = numbers.n, numbers.e
    if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
        raise KeyFormatError(
            f"the RSA key has {n.bit_length()} bits; RS256 needs {MIN_RSA_BITS} to "
            f"{MAX_RSA_BITS} bits",
            code="key.too_weak" if n.bit_length() < MIN_RSA_BITS else "key.unsupported",
        )
    if e < 3 or e % 2 == 0 or e.bit_length() > 64:
        raise KeyFormatError("the RSA key's public exponent 'e' is not usable", code="key.invalid")
    try:
        return numbers.public_key()
    except ValueError as exc:
        raise KeyFormatError(f"the RSA key is not usable: {exc}", code="key.invalid") from None


def _p256_public(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    if jwk.get("crv") != "P-256":
        raise KeyFormatError(
            f"ES256 needs a P-256 key, not {jwk.get('crv')!r:.40}", code="key.unsupported"
        )
    x, y = _member_bytes(jwk.get("x"), "x"), _member_bytes(jwk.get("y"), "y")
    if len(x) != 32 or len(y) != 32:
        raise KeyFormatError("a P-256 JWK has 32-byte 'x' and 'y'", code="key.invalid")
    try:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        )
        return numbers.public_key()
    except ValueError:
        raise KeyFormatError("the P-256 point is not on the curve", code="key.invalid") from None


def _ed25519_raw(jwk: Mapping[str, Any]) -> bytes:
    if jwk.get("crv") != "Ed25519":
        raise KeyFormatError(
            f"EdDSA needs an Ed25519 key, not {jwk.get('crv')!r:.40}", code="key.unsupported"
        )
    x = _member_bytes(jwk.get("x"), "x")
    if len(x) != 32:
        raise KeyFormatError("an Ed25519 JWK has a 32-byte 'x'", code="key.invalid")
    return x


def jws_verify(alg: str, jwk: Mapping[str, Any], signing_input: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid ``alg`` signature of ``signing_input`` by ``jwk``.

    ``alg`` is ``RS256`` (RSASSA-PKCS1-v1_5 SHA-256, 2048 to 8192 bits), ``ES256`` (P-256
    SHA-256, the signature as raw 64-byte R||S per RFC 7518 §3.4) or ``EdDSA`` (Ed25519,
    RFC 8037). Raises ``KeyFormatError`` (``key.unsupported``, ``key.invalid``,
    ``key.too_weak``) if the key cannot be used with ``alg``; a wrong signature is ``False``.
    """
    _check_jwk_for(alg, jwk)
    if not isinstance(signature, bytes):
        return False
    if alg == "EdDSA":
        return ed25519_verify(_ed25519_raw(jwk), signature, signing_input)
    try:
        if alg == "RS256":
            _rsa_public(jwk).verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            return True
        public = _p256_public(jwk)
        if len(signature) != 64:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        public.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False
