"""Verify one document, a credential object or a compact VC-JWT, with given capabilities.

Every front end shows the report built here (through the service's entry point,
``services.verification.pipeline.verify``), so for the same input and the same
``Capabilities`` they show the same checks in the same order:

1. a VC-JWT's ``proof`` checks (``core.vc_jwt``), when the input is a compact JWS, or
   the JOSE envelope's (``core.enveloped``, VC-JOSE-COSE) for an
   ``EnvelopedVerifiableCredential``, its ``data:`` URL or a JWS with ``typ`` ``vc+jwt``;
2. ``credential.verify``'s checks (structure, schema, proof, issuer, validity, status,
   endorsement), the issuer naming the registry's name (``issuer.known``);
3. ``deliverable`` checks: each ``relatedResource`` ``digestMultibase`` compared with the
   bytes at its ``id`` (OB 3.0 / VC 2.0 "Integrity of Related Resources"), fetched by an
   injected ``FetchBytes``; without one they are ``deliverable.not_checked``;
4. the ``recipient`` check, when an email is given (OB 3.0 "Verify the Recipient Using an
   Identifier").

This module is pure: it fetches nothing, reads no file and no clock. The caller injects
the loader, the status resolver, the byte fetcher, the known issuers and ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..credential import issuer_id
from ..enveloped import envelope_kind, enveloped_payload
from ..loader import DocumentLoader
from ..vc_jwt import is_compact_jws
from .checks import (
    DEFAULT_MAX_DELIVERABLE_BYTES,
    DEFAULT_MAX_PROOFS,
    FetchBytes,
    KnownIssuer,
    count_proofs,
    deliverable_checks,
    fingerprinted,
    jws_credential,
    named_issuer,
    recipient_check,
    too_many_proofs,
)
from .credential import verify, verify_jwt
from .enveloped import verify_enveloped
from .report import Check, Report, could_not_check, internal_error
from .status import StatusResolver

Json = dict[str, Any]


@dataclass(frozen=True)
class Capabilities:
    """What a verifier may use besides the credential: everything else is offline.

    ``loader`` resolves contexts and keys (offline: bundled contexts and ``did:key``);
    ``status_resolver`` gives status list credentials (None: ``status.not_checked``);
    ``fetch_bytes`` fetches deliverables (None: ``deliverable.not_checked``); ``known``
    is the registry of known issuers (hosted ones and the trust registry's).
    """

    loader: DocumentLoader
    status_resolver: StatusResolver | None = None
    schemas: Mapping[str, Any] | None = None
    known: Mapping[str, KnownIssuer] = field(default_factory=dict)
    fetch_bytes: FetchBytes | None = None
    max_deliverable_bytes: int = DEFAULT_MAX_DELIVERABLE_BYTES
    max_proofs: int = DEFAULT_MAX_PROOFS
    #: False: the deliverable stage does not run at all (offline checks of a credential
    #: on its own, where a "not checked" note would only be noise).
    deliverables: bool = True


def _deliverables(
    credential: Mapping[str, Any], checks: list[Check], caps: Capabilities
) -> list[Check]:
    """The deliverable checks, or why there are none."""
    if not caps.deliverables or not fingerprinted(credential):
        return []
    proofs = [c.outcome for c in checks if c.check == "proof"]
    if "pass" not in proofs or "fail" in proofs:
        # Fetching what an unverified credential names would let anyone steer our fetches.
        return [
            Check(
                "deliverable",
                "skipped",
                "deliverable.not_checked",
                "The signature did not verify, so the deliverables' fingerprints were not checked.",
            )
        ]
    if caps.fetch_bytes is None:
        return [
            Check(
                "deliverable",
                "warning",
                "deliverable.not_checked",
                "The credential fingerprints its deliverables, but this verifier was not "
                "allowed to fetch them, so the files were not compared.",
            )
        ]
    return deliverable_checks(credential, caps.fetch_bytes, max_bytes=caps.max_deliverable_bytes)


@dataclass(frozen=True)
class Verification:
    """The report, and the credential as read (a VC-JWT's payload), for display."""

    report: Report
    credential: Json | None


def _core_checks(
    document: Any,
    caps: Capabilities,
    *,
    now: datetime,
    challenge: str | None,
    domain: str | None,
) -> list[Check]:
    options: dict[str, Any] = {
        "loader": caps.loader,
        "now": now,
        "status_resolver": caps.status_resolver,
        "schemas": caps.schemas,
        "known_issuers": set(caps.known),
    }
    if envelope_kind(document) == "vc":
        _, checks = verify_enveloped(document, **options)
        return checks
    if isinstance(document, str) and is_compact_jws(document):
        _, checks = verify_jwt(document, **options)
        return checks
    return list(verify(document, challenge=challenge, domain=domain, **options).checks)


def verify_document(
    document: Any,
    caps: Capabilities,
    *,
    now: datetime,
    email: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> Verification:
    """Verify a credential object or a compact VC-JWT string with ``caps``; never raises.

    ``email`` (already checked to look like an address) adds the recipient check;
    ``challenge``/``domain`` are required on the credential's Data Integrity proofs.
    """
    credential: Json | None
    if envelope_kind(document) == "vc":
        credential = enveloped_payload(document)
    elif isinstance(document, dict):
        credential = document
    elif isinstance(document, str) and is_compact_jws(document):
        credential = jws_credential(document)
    else:
        credential = None
    proofs = count_proofs(
        credential if credential is not None else document, stop_after=caps.max_proofs
    )
    if proofs > caps.max_proofs:
        # Refuse before any canonicalization: thousands of proofs cost seconds of CPU.
        return Verification(Report([too_many_proofs(proofs, caps.max_proofs)]), credential)
    try:
        checks = _core_checks(document, caps, now=now, challenge=challenge, domain=domain)
    except Exception as exc:  # never raise: a broken capability is one failed check
        checks = [internal_error("verification", exc)]
    issuer = issuer_id(credential) if credential is not None else None
    entry = caps.known.get(issuer) if issuer is not None else None
    if entry is not None and issuer is not None:
        checks = [named_issuer(c, issuer, entry) if c.code == "issuer.known" else c for c in checks]
    if credential is not None:
        try:
            checks.extend(_deliverables(credential, checks, caps))
        except Exception as exc:  # a fetcher that fails oddly must not hide the report
            checks.append(internal_error("deliverable", exc))
    if email is not None:
        checks.append(recipient_check(credential, email))
    return Verification(Report(could_not_check(c) for c in checks), credential)
