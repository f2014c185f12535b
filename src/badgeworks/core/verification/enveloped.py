"""Verify a credential secured with VC-JOSE-COSE: the envelope, then the credential inside.

``core.enveloped`` checks the JWS (VC-JOSE-COSE §3.1, §4); the credential it carries then
goes through ``credential.verify`` like any other (structure, schema, issuer, validity,
status, endorsements), exactly as ``credential.verify_jwt`` does for an OB 3.0 VC-JWT.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from ..enveloped import ENVELOPED_TYPE, KeyResolver, verify_envelope
from ..loader import DocumentLoader
from ..values import as_list, types_of
from .credential import verify
from .report import Check, Report
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


def verify_enveloped_presentation(
    document: Any,
    *,
    loader: DocumentLoader,
    now: datetime,
    key_resolver: KeyResolver | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    status_resolver: StatusResolver | None = None,
    schemas: Mapping[str, Any] | None = None,
    known_issuers: Collection[str] = (),
) -> dict[str, Any]:
    """Verify an ``EnvelopedVerifiablePresentation`` (VC-JOSE-COSE §3.1.2) and each
    enveloped credential in it; never raises. The result has ``verify_presentation``'s
    shape: ``{"verified", "presentationResult", "credentialResults", "checks"}``.
    """
    resolver = key_resolver or loader.load
    vp, checks = verify_envelope(
        document, kind="vp", key_resolver=resolver, now=now, challenge=challenge, domain=domain
    )
    results: list[dict[str, Any]] = []
    for item in as_list(vp.get("verifiableCredential")) if vp is not None else []:
        if not isinstance(item, Mapping) or ENVELOPED_TYPE["vc"] not in types_of(item):
            continue  # reported among the presentation's own checks
        credential, found = verify_enveloped(
            item,
            loader=loader,
            now=now,
            key_resolver=resolver,
            status_resolver=status_resolver,
            schemas=schemas,
            known_issuers=known_issuers,
        )
        cid = credential.get("id") if credential is not None else None
        results.append(
            {
                **Report(found).as_dict(),
                "credentialId": cid if isinstance(cid, str) else None,
                "format": "jose",
            }
        )
    own = Report(checks)
    return {
        "verified": own.verified and all(r["verified"] for r in results),
        "presentationResult": {**own.as_dict(), "signed": True},
        "credentialResults": results,
        "checks": [c.as_dict() for c in checks],
    }
