"""Registered Data Integrity cryptosuites, looked up by name.

A cryptosuite is a small object exposing each step of vc-di-eddsa 1.0 "eddsa-rdfc-2022" (§3)
separately, so the known-answer tests can check every intermediate value: the canonical
document, the canonical proof configuration, the hash data, and the signature.

Registered: ``eddsa-rdfc-2022`` (sign and verify) and ``eddsa-2022`` (the name used by
drafts before 2023; verify only, same algorithm). The legacy ``Ed25519Signature2020``
proof type (no ``cryptosuite`` property) has the same hashing shape; it is available as
``ED25519_SIGNATURE_2020`` for verification only and is not a registered cryptosuite name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from .canonicalize import canonicalize
from .crypto.ed25519 import Ed25519KeyPair, ed25519_verify
from .errors import KeyFormatError, ProofError
from .loader import DocumentLoader
from .multibase import decode_base58btc, encode_base58btc


class Cryptosuite(Protocol):
    """What the proof layer needs from a cryptosuite."""

    # Read-only attributes, so frozen dataclasses satisfy the protocol.
    @property
    def name(self) -> str:
        """The registered name, e.g. ``eddsa-rdfc-2022``."""
        ...

    @property
    def can_sign(self) -> bool:
        """False for names we accept only when verifying."""
        ...

    def canonicalize_document(self, document: dict[str, Any], loader: DocumentLoader) -> str:
        """The unsecured document (without its ``proof``) as canonical N-Quads."""
        ...

    def canonicalize_proof_config(
        self, proof_config: dict[str, Any], loader: DocumentLoader
    ) -> str:
        """The proof options (with ``@context``, without ``proofValue``) as canonical N-Quads."""
        ...

    def hash_data(self, canonical_proof_config: str, canonical_document: str) -> bytes:
        """``sha256(proof config) || sha256(document)``: the 64 bytes that get signed."""
        ...

    def sign(self, hash_data: bytes, key: Ed25519KeyPair) -> str:
        """The ``proofValue`` (multibase base58btc) for ``hash_data``."""
        ...

    def verify(self, hash_data: bytes, proof_value: str, public_key: bytes) -> bool:
        """True when ``proof_value`` is a valid signature of ``hash_data`` by ``public_key``."""
        ...


@dataclass(frozen=True)
class Ed25519RdfcSuite:
    """Ed25519 over RDFC-1.0 canonical N-Quads hashed with SHA-256 (vc-di-eddsa 1.0,
    "eddsa-rdfc-2022").

    The same steps serve ``eddsa-rdfc-2022``, its old name ``eddsa-2022`` and the
    ``Ed25519Signature2020`` suite; only the name and whether we sign with it differ.
    """

    name: str
    can_sign: bool

    def canonicalize_document(self, document: dict[str, Any], loader: DocumentLoader) -> str:
        # vc-di-eddsa "Transformation (eddsa-rdfc-2022)": RDFC-1.0 over the unsecured document.
        return canonicalize(document, loader)

    def canonicalize_proof_config(
        self, proof_config: dict[str, Any], loader: DocumentLoader
    ) -> str:
        # vc-di-eddsa "Proof Configuration (eddsa-rdfc-2022)": the same canonicalization over the
        # proof options, which carry the document's @context.
        return canonicalize(proof_config, loader)

    def hash_data(self, canonical_proof_config: str, canonical_document: str) -> bytes:
        # vc-di-eddsa "Hashing (eddsa-rdfc-2022)": the proof configuration hash comes first.
        proof_hash = hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
        document_hash = hashlib.sha256(canonical_document.encode("utf-8")).digest()
        return proof_hash + document_hash

    def sign(self, hash_data: bytes, key: Ed25519KeyPair) -> str:
        # vc-di-eddsa "Proof Serialization (eddsa-rdfc-2022)": base58btc multibase of the signature.
        if not self.can_sign:
            raise ProofError(
                f"the cryptosuite {self.name!r} is supported for verification only",
                code="proof.unsupported_cryptosuite",
            )
        return encode_base58btc(key.sign(hash_data))

    def verify(self, hash_data: bytes, proof_value: str, public_key: bytes) -> bool:
        # vc-di-eddsa "Proof Verification (eddsa-rdfc-2022)".
        try:
            signature = decode_base58btc(proof_value)
        except KeyFormatError:
            return False
        return ed25519_verify(public_key, signature, hash_data)


EDDSA_RDFC_2022 = Ed25519RdfcSuite(name="eddsa-rdfc-2022", can_sign=True)
EDDSA_2022 = Ed25519RdfcSuite(name="eddsa-2022", can_sign=False)
ED25519_SIGNATURE_2020 = Ed25519RdfcSuite(name="Ed25519Signature2020", can_sign=False)

_REGISTRY: dict[str, Cryptosuite] = {
    EDDSA_RDFC_2022.name: EDDSA_RDFC_2022,
    EDDSA_2022.name: EDDSA_2022,
}


def get_cryptosuite(name: str) -> Cryptosuite:
    """The registered cryptosuite called ``name``; ``ProofError`` (unsupported) otherwise."""
    suite = _REGISTRY.get(name) if isinstance(name, str) else None
    if suite is None:
        known = ", ".join(repr(n) for n in _REGISTRY)
        raise ProofError(
            f"the cryptosuite {name!r:.80} is not supported (supported: {known})",
            code="proof.unsupported_cryptosuite",
            cryptosuite=name,
        )
    return suite
