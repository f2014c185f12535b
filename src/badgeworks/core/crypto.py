"""Ed25519 key pairs, signing and verification: the only module that imports ``cryptography``.

Everything above this module handles keys as raw bytes or Multikey strings, so swapping
the crypto library touches one file. Signing raises (a key without a secret cannot sign);
``ed25519_verify`` returns a bool, because its callers turn a bad signature into a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import did_key, multikey
from .errors import KeyFormatError

_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw


def _public_from_seed(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(_RAW, _RAW_PUBLIC)


@dataclass(frozen=True)
class Ed25519KeyPair:
    """An Ed25519 key with its verification method id and controller.

    ``secret_seed`` is ``None`` for a verify-only key. It is left out of ``repr`` so a
    key never ends up in a log line by accident.
    """

    public_key: bytes
    secret_seed: bytes | None = field(repr=False)
    controller: str
    id: str
    # The cryptography private-key object, built once: deriving it per signature would
    # redo the seed expansion every time.
    _private: Ed25519PrivateKey | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise KeyFormatError("an Ed25519 public key is 32 bytes", code="key.invalid")
        if not isinstance(self.controller, str) or not self.controller:
            raise KeyFormatError("the key's controller must be a non-empty string")
        if not isinstance(self.id, str) or not self.id:
            raise KeyFormatError("the key's id must be a non-empty string")
        if self.secret_seed is None:
            return
        if not isinstance(self.secret_seed, bytes) or len(self.secret_seed) != 32:
            raise KeyFormatError("an Ed25519 secret key seed is 32 bytes", code="key.invalid")
        private = Ed25519PrivateKey.from_private_bytes(self.secret_seed)
        if _public_from_seed(private) != self.public_key:
            raise KeyFormatError(
                "the secret key does not belong to the public key "
                f"{multikey.encode_public_key(self.public_key)!r}",
                code="key.mismatch",
            )
        object.__setattr__(self, "_private", private)

    @classmethod
    def generate(
        cls, *, controller: str | None = None, key_id: str | None = None
    ) -> Ed25519KeyPair:
        """A new random key; by default its controller and id are its own ``did:key``."""
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return cls._build(_public_from_seed(private), seed, controller, key_id)

    @classmethod
    def from_multibase(
        cls,
        public_key_multibase: str,
        secret_key_multibase: str | None = None,
        *,
        controller: str | None = None,
        key_id: str | None = None,
    ) -> Ed25519KeyPair:
        """Build a key from Multikey strings (``z6Mk…`` public, ``z3u2…`` secret).

        Raises ``KeyFormatError`` (code ``key.mismatch``) if the secret does not belong
        to the public key.
        """
        public = multikey.decode_public_key(public_key_multibase)
        seed = None
        if secret_key_multibase is not None:
            seed = multikey.decode_secret_key(secret_key_multibase)
        return cls._build(public, seed, controller, key_id)

    @classmethod
    def _build(
        cls, public: bytes, seed: bytes | None, controller: str | None, key_id: str | None
    ) -> Ed25519KeyPair:
        # A did:key controller names its one key as did:key:z…#z…; any other controller
        # (did:web, an HTTPS URL) gets the same Multikey fragment convention.
        public_multibase = multikey.encode_public_key(public)
        if controller is None:
            controller = did_key.did_key_from_public_multibase(public_multibase)
        if key_id is None:
            key_id = f"{controller}#{public_multibase}"
        return cls(public_key=public, secret_seed=seed, controller=controller, id=key_id)

    @property
    def public_key_multibase(self) -> str:
        """The ``publicKeyMultibase`` value (``z6Mk…``)."""
        return multikey.encode_public_key(self.public_key)

    @property
    def secret_key_multibase(self) -> str:
        """The ``secretKeyMultibase`` value (``z3u2…``); ``KeyFormatError`` if verify-only."""
        if self.secret_seed is None:
            raise KeyFormatError(
                f"the key {self.id!r} has no secret part", code="key.no_secret", key_id=self.id
            )
        return multikey.encode_secret_key(self.secret_seed)

    @property
    def can_sign(self) -> bool:
        """True when the key has its secret part."""
        return self._private is not None

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        if self._private is None:
            raise KeyFormatError(
                f"the key {self.id!r} has no secret part, so it cannot sign",
                code="key.no_secret",
                key_id=self.id,
            )
        return self._private.sign(data)


@lru_cache(maxsize=256)
def _public_key_object(public_key: bytes) -> Ed25519PublicKey:
    # A verifier sees the same few issuer keys again and again; building the key object
    # is a noticeable share of a verification, so keep the recent ones.
    return Ed25519PublicKey.from_public_bytes(public_key)


def ed25519_verify(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``data``; never raises."""
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        return False
    if not isinstance(signature, bytes) or len(signature) != 64:
        return False
    try:
        _public_key_object(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- JWS (JWK keys)
#
# RS256, ES256 and EdDSA over JSON Web Keys (RFC 7515 §5, RFC 7518 §3.3 and §3.4,
# RFC 8037), for the Open Badges 3.0 "JSON Web Token Proof Format". ``vc_jwt`` parses the
# token; this section only turns a JWK into a key and checks or makes one signature.
# Verifying returns a bool for a bad signature and raises ``KeyFormatError`` for a key
# that cannot be used with the algorithm, so the caller can tell the two apart.
#
# The imports sit here, not at the top, so this section can be read (and moved) as one.

import base64  # noqa: E402
import re  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from typing import Any  # noqa: E402

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import (  # noqa: E402
    decode_dss_signature,
    encode_dss_signature,
)

_B64URL = re.compile(r"[A-Za-z0-9_-]*")

#: The JWS algorithms badgeworks accepts (OB 3.0 requires at least RS256).
JWS_ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})

#: RFC 7518 §3.3: an RSA key used with RS256 MUST be 2048 bits or larger.
MIN_RSA_BITS = 2048
#: An upper bound, so a hostile key cannot make one verification arbitrarily slow.
MAX_RSA_BITS = 8192

#: The JWK members that hold secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
JWK_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

_JWK_PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}


def _b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_decode(value: Any, member: str) -> bytes:
    if not isinstance(value, str) or not _B64URL.fullmatch(value) or len(value) % 4 == 1:
        raise KeyFormatError(
            f"the JWK member {member!r} is not base64url text", code="key.invalid", member=member
        )
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _uint_bytes(n: int, size: int | None = None) -> bytes:
    return n.to_bytes(size or max(1, (n.bit_length() + 7) // 8), "big")


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
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64u_encode(public_key)}


def _check_jwk_alg(alg: str, jwk: Mapping[str, Any]) -> None:
    # RFC 7517 §4.4: a JWK that names its algorithm may only be used with that algorithm.
    if "alg" in jwk and jwk["alg"] != alg:
        raise KeyFormatError(
            f"the JWK is for {jwk['alg']!r:.40}, but the token says {alg!r}",
            code="key.unsupported",
        )


def _rsa_public_numbers(jwk: Mapping[str, Any]) -> rsa.RSAPublicNumbers:
    n = int.from_bytes(_b64u_decode(jwk.get("n"), "n"), "big")
    e = int.from_bytes(_b64u_decode(jwk.get("e"), "e"), "big")
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
    x, y = _b64u_decode(jwk.get("x"), "x"), _b64u_decode(jwk.get("y"), "y")
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
    x = _b64u_decode(jwk.get("x"), "x")
    if len(x) != 32:
        raise KeyFormatError("an Ed25519 JWK has a 32-byte 'x'", code="key.invalid")
    return x


_ALG_KTY = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}


def _jwk_for(alg: str, jwk: Mapping[str, Any]) -> None:
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
    _check_jwk_alg(alg, jwk)


def jws_verify(alg: str, jwk: Mapping[str, Any], signing_input: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid ``alg`` signature of ``signing_input`` by ``jwk``.

    ``alg`` is ``RS256`` (RSASSA-PKCS1-v1_5 SHA-256, 2048 to 8192 bits), ``ES256`` (P-256
    SHA-256, the signature as raw 64-byte R||S per RFC 7518 §3.4) or ``EdDSA`` (Ed25519,
    RFC 8037). Raises ``KeyFormatError`` (``key.unsupported``, ``key.invalid``,
    ``key.too_weak``) if the key cannot be used with ``alg``; a wrong signature is ``False``.
    """
    _jwk_for(alg, jwk)
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


def generate_jwk(alg: str, *, rsa_bits: int = MIN_RSA_BITS) -> dict[str, Any]:
    """A new random private JWK for ``alg`` (``RS256``, ``ES256``, ``EdDSA``).

    For tests and interoperability fixtures: badgeworks itself signs credentials with
    Ed25519 Data Integrity proofs. The result holds the secret members; ``public_jwk``
    strips them.
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
        return {"kty": "RSA", **{k: _b64u_encode(_uint_bytes(v)) for k, v in members.items()}}
    if alg == "ES256":
        ec_private = ec.generate_private_key(ec.SECP256R1())
        ec_numbers = ec_private.private_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64u_encode(_uint_bytes(ec_numbers.public_numbers.x, 32)),
            "y": _b64u_encode(_uint_bytes(ec_numbers.public_numbers.y, 32)),
            "d": _b64u_encode(_uint_bytes(ec_numbers.private_value, 32)),
        }
    if alg == "EdDSA":
        ed_private = Ed25519PrivateKey.generate()
        seed = ed_private.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return {**ed25519_public_jwk(_public_from_seed(ed_private)), "d": _b64u_encode(seed)}
    raise KeyFormatError(f"the JWS algorithm {alg!r:.40} is not supported", code="key.unsupported")


def jws_sign(alg: str, private_jwk: Mapping[str, Any], signing_input: bytes) -> bytes:
    """The ``alg`` signature of ``signing_input`` with a private JWK (ES256: raw R||S)."""
    _jwk_for(alg, private_jwk)
    if "d" not in private_jwk:
        raise KeyFormatError(
            "the JWK has no private part ('d'), so it cannot sign", code="key.no_secret"
        )
    d = _b64u_decode(private_jwk["d"], "d")
    if alg == "EdDSA":
        _ed25519_raw(private_jwk)
        return Ed25519PrivateKey.from_private_bytes(d).sign(signing_input)
    if alg == "ES256":
        _p256_public(private_jwk)
        ec_key = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
        r, s = decode_dss_signature(ec_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return _uint_bytes(r, 32) + _uint_bytes(s, 32)
    # No size floor here: tests sign with weak keys to check that verifying refuses them.
    public = _rsa_public_numbers(private_jwk)

    def num(name: str) -> int:
        return int.from_bytes(_b64u_decode(private_jwk.get(name), name), "big")

    private = rsa.RSAPrivateNumbers(
        num("p"), num("q"), int.from_bytes(d, "big"), num("dp"), num("dq"), num("qi"), public
    ).private_key()
    return private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


# --- Secret-key primitives (keys encrypted at rest) ------------------------------------------
from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt  # noqa: E402


def scrypt_key(secret: bytes, salt: bytes, *, n: int, r: int, p: int, length: int = 32) -> bytes:
    """Derive ``length`` bytes from ``secret`` with scrypt (RFC 7914)."""
    return Scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(secret)


def aes_gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-GCM encryption: ciphertext followed by the 16-byte tag."""
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aes_gcm_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """AES-GCM decryption; ``None`` when the tag does not verify (wrong key or tampering)."""
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        return None
