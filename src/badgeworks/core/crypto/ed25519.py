"""Ed25519 key pairs, signing and verification (RFC 8032), for Data Integrity proofs.

Everything above the crypto package handles keys as raw bytes or Multikey strings. Signing
raises (a key without a secret cannot sign); ``ed25519_verify`` returns a bool, because its
callers turn a bad signature into a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .. import did_key, multikey
from ..errors import KeyFormatError

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
