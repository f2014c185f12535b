"""Registered Data Integrity cryptosuites, looked up by name.

A cryptosuite is a small object exposing each step of vc-di-eddsa 1.0 (§3.2
"eddsa-rdfc-2022", §3.3 "eddsa-jcs-2022") separately, so the known-answer tests can check
every intermediate value: the proof configuration, the canonical document, the canonical
proof configuration, the hash data, and the signature.

Registered: ``eddsa-rdfc-2022`` (sign and verify; the default), ``eddsa-jcs-2022`` (sign and
verify; JCS, RFC 8785, instead of RDFC-1.0) and ``eddsa-2022`` (the name used by drafts
before 2023; verify only, the rdfc algorithm). The legacy ``Ed25519Signature2020`` proof
type (no ``cryptosuite`` property) has the rdfc hashing shape; it is available as
``ED25519_SIGNATURE_2020`` for verification only and is not a registered cryptosuite name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from .canonicalize import canonicalize
from .crypto.ed25519 import Ed25519KeyPair, ed25519_verify
from .errors import KeyFormatError, ProofError
from .jcs import canonicalize_jcs
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

    def proof_options(self, options: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
        """The proof as it will be published, without ``proofValue``, for signing
        ``document`` with ``options``."""
        ...

    def proof_configuration(
        self, proof: dict[str, Any], document: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(proof configuration, document) as they are canonicalized for ``proof`` over
        ``document``. Raises ``ProofError`` when the two cannot belong together."""
        ...

    def canonicalize_document(self, document: dict[str, Any], loader: DocumentLoader) -> str:
        """The unsecured document (without its ``proof``) in canonical form."""
        ...

    def canonicalize_proof_config(
        self, proof_config: dict[str, Any], loader: DocumentLoader
    ) -> str:
        """The proof configuration (without ``proofValue``) in canonical form."""
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

    def proof_options(self, options: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
        # The published proof carries no @context of its own: it takes the document's.
        return dict(options)

    def proof_configuration(
        self, proof: dict[str, Any], document: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # vc-di-eddsa §3.2.5 "Proof Configuration (eddsa-rdfc-2022)": the proof options take
        # the document's @context (a proof's own @context, if any, is not what was signed).
        config = {k: v for k, v in proof.items() if k not in ("proofValue", "@context")}
        if "@context" in document:
            config["@context"] = document["@context"]
        return config, document

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


@dataclass(frozen=True)
class Ed25519JcsSuite(Ed25519RdfcSuite):
    """Ed25519 over JCS (RFC 8785) canonical JSON hashed with SHA-256 (vc-di-eddsa 1.0 §3.3,
    "eddsa-jcs-2022").

    It differs from the rdfc suite in three steps only: the published proof carries the
    document's ``@context`` (§3.3.1 step 2), both halves are canonicalized with JCS rather
    than RDFC-1.0 (§3.3.3, §3.3.5), and a verifier takes the proof's own ``@context`` as
    the document's, once it has checked that the document's begins with it (§3.3.2 step 4).
    No JSON-LD processing happens, so no context needs to be loaded.
    """

    def proof_options(self, options: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
        # §3.3.1 "Create Proof (eddsa-jcs-2022)" step 2: if the unsecured document has an
        # @context, the proof gets a copy of it, and keeps it once signed.
        proof = {k: v for k, v in options.items() if k != "@context"}
        if "@context" in document:
            proof["@context"] = document["@context"]
        return proof

    def proof_configuration(
        self, proof: dict[str, Any], document: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # §3.3.2 "Verify Proof (eddsa-jcs-2022)" steps 2 and 4: the proof options are the
        # proof less its proofValue; when they carry an @context, the document's @context
        # must start with the same values in the same order, and the document is then
        # read with the proof's @context (contexts appended after signing are not signed).
        config = {k: v for k, v in proof.items() if k != "proofValue"}
        if "@context" not in config or config["@context"] == document.get("@context"):
            return config, document
        signed = _context_list(config["@context"])
        present = _context_list(document.get("@context"))
        if present[: len(signed)] != signed:
            raise ProofError(
                "the document's '@context' does not start with the proof's '@context', "
                "so the proof was not made over this document",
                code="proof.context_mismatch",
            )
        return config, {**document, "@context": config["@context"]}

    def canonicalize_document(self, document: dict[str, Any], loader: DocumentLoader) -> str:
        # §3.3.3 "Transformation (eddsa-jcs-2022)": JCS over the unsecured document.
        return canonicalize_jcs(document)

    def canonicalize_proof_config(
        self, proof_config: dict[str, Any], loader: DocumentLoader
    ) -> str:
        # §3.3.5 "Proof Configuration (eddsa-jcs-2022)": JCS over the proof options.
        return canonicalize_jcs(proof_config)


def _context_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


EDDSA_RDFC_2022 = Ed25519RdfcSuite(name="eddsa-rdfc-2022", can_sign=True)
EDDSA_JCS_2022 = Ed25519JcsSuite(name="eddsa-jcs-2022", can_sign=True)
EDDSA_2022 = Ed25519RdfcSuite(name="eddsa-2022", can_sign=False)
ED25519_SIGNATURE_2020 = Ed25519RdfcSuite(name="Ed25519Signature2020", can_sign=False)

#: The cryptosuite a proof is made with when the caller names none.
DEFAULT_CRYPTOSUITE = EDDSA_RDFC_2022.name

_REGISTRY: dict[str, Cryptosuite] = {
    EDDSA_RDFC_2022.name: EDDSA_RDFC_2022,
    EDDSA_JCS_2022.name: EDDSA_JCS_2022,
    EDDSA_2022.name: EDDSA_2022,
}

#: The names a caller may sign with, in the order we document them.
SIGNING_CRYPTOSUITES: tuple[str, ...] = tuple(n for n, s in _REGISTRY.items() if s.can_sign)


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
