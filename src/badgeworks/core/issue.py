"""The single issuing entry point: check the credential, then sign it.

Issuing raises (docs/architecture.md, "Conventions the service follows"): a credential that
breaks a VC 2.0 / OB 3.0 MUST, fails its JSON Schema, or would be signed by a key its issuer
does not control is refused before any signature exists. Strict JSON-LD errors
(``jsonld.dropped_term``, ``jsonld.relative_iri``) come from canonicalization inside
``add_proof`` and propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .credential import issuer_id
from .crypto.ed25519 import Ed25519KeyPair
from .errors import CredentialError
from .loader import DocumentLoader
from .proof import add_proof
from .schema import schema_problems
from .structure import check_credential, credential_kind


def issue(
    credential: dict[str, Any],
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    *,
    now: datetime,
    schemas: Mapping[str, Any] | None = None,
    cryptosuite: str = "eddsa-rdfc-2022",
    proof_id: str | None = None,
    allow_existing_proof: bool = False,
    previous_proof: str | list[str] | None = None,
) -> dict[str, Any]:
    """Validate ``credential`` and return a signed copy (the input is not mutated).

    1. Refuse a credential that already has a ``proof`` unless ``allow_existing_proof``
       (adding a proof to a proof set or, with ``previous_proof``, a proof chain):
       ``credential.already_signed``.
    2. ``check_credential``: the first structural problem is raised.
    3. ``key.controller`` must equal the issuer's id, because verifiers bind the
       verification method's controller to ``issuer.id`` (OB 3.0 "Key provenance"):
       ``credential.issuer_key_mismatch``.
    4. If ``schemas`` is given, the first ``schema_problems`` entry is raised, including
       ``schema.unknown`` (we do not issue against a schema we cannot check).
    5. ``add_proof`` with ``proofPurpose`` ``assertionMethod`` and ``created`` = ``now``.
    6. An Open Badges credential (achievement or endorsement) gets its ``proof`` as an array.
    """
    if not isinstance(credential, dict):
        check_credential(credential)  # raises credential.not_object
    if "proof" in credential and not allow_existing_proof:
        raise CredentialError(
            "the credential already has a proof; pass allow_existing_proof=True to add another one",
            code="credential.already_signed",
        )
    check_credential(credential)
    issuer = issuer_id(credential)
    if key.controller != issuer:
        raise CredentialError(
            f"the signing key {key.id!r:.200} is controlled by {key.controller!r:.200}, "
            f"not by the issuer {issuer!r:.200}; verifiers would reject the proof",
            code="credential.issuer_key_mismatch",
            controller=key.controller,
            issuer=issuer,
        )
    if schemas is not None:
        problems = schema_problems(credential, schemas)
        if problems:
            raise problems[0]
    options: dict[str, Any] = {
        "created": now,
        "cryptosuite": cryptosuite,
        "proof_purpose": "assertionMethod",
        "proof_id": proof_id,
    }
    if previous_proof is not None:
        options["previous_proof"] = previous_proof
    signed = add_proof(credential, key, loader, **options)
    if credential_kind(signed) != "vc" and isinstance(signed.get("proof"), dict):
        # One published version of the OB 3.0 AchievementCredential JSON Schema (bundled
        # in schemas/) accepts ``proof`` only as an array, the later one an object or an
        # array: an array satisfies both, as consumers run them. A one-element proof set
        # is the same signature (VC Data Integrity, "Proof Sets").
        signed["proof"] = [signed["proof"]]
    return signed
