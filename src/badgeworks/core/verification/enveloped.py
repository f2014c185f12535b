"""Verify a credential secured with VC-JOSE-COSE: the envelope, then the credential inside.

``core.enveloped`` checks the JWS (VC-JOSE-COSE §3.1, §4); the credential it carries then
goes through ``credential.verify`` like any other (structure, schema, issuer, validity,
status, endorsements), exactly as ``credential.verify_jwt`` does for an OB 3.0 VC-JWT.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from ..enveloped import KeyResolver, verify_envelope
from ..loader import DocumentLoader
from .credential import verify
from .report import Check
from .status import StatusResolver


def verify_enveloped(
    document: Any,
    *,
    loader: DocumentLoader,
    now: datetime,
    key_resolver: KeyResolver | None = None,
    status_resolver: StatusResolver | None = None,
    schemas: Mapping[str, Any] | None = None,
    known_issuers: Collection[str] = (),
) -> tuple[dict[str, Any] | None, list[Check]]:
    """Verify an ``EnvelopedVerifiableCredential`` (object, ``data:`` URL or bare JWS) and
    the credential inside; never raises. Returns the credential (None if unreadable or
    its signature did not verify) and the checks; ``key_resolver`` defaults to ``loader.load``.
    """
    credential, checks = verify_envelope(
        document, kind="vc", key_resolver=key_resolver or loader.load, now=now
    )
    if credential is None:
        return None, list(checks)
    report = verify(
        credential,
        loader=loader,
        now=now,
        status_resolver=status_resolver,
        schemas=schemas,
        known_issuers=known_issuers,
    )
    found = list(checks)
    signed_inside = "proof" in credential
    for check in report.checks:
        # The JWS is this credential's proof: without an embedded Data Integrity proof,
        # verify()'s "not signed" findings are about a proof that was never meant to be.
        if not signed_inside and (check.check == "proof" or check.code == "issuer.not_checked"):
            continue
        found.append(check)
    return credential, found
