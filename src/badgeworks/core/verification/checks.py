"""The checks that need more than the credential: known issuers, the recipient, deliverables.

``known issuers`` come from a trust registry (``parse_trust_registry``) and the issuers a
service hosts; ``recipient_check`` compares an email a verifier typed with the subject's
identifiers; ``deliverable_checks`` compares fetched files with their fingerprints; and
``count_proofs`` bounds the signature work one document may cause. ``document`` runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..credential import (
    check_digest_multibase,
    check_digest_sri,
    decode_digest_multibase,
    decode_digest_sri,
)
from ..document import parse_json_document
from ..encoding import b64url_decode
from ..errors import BadgeworksError, ConfigError
from ..identity import matches_identity
from ..values import as_list
from ..vc_jwt import REGISTERED_CLAIMS
from .report import Check

Json = dict[str, Any]

#: A did, URL or name longer than this is shown cut short.
_SHOW = 200
#: The most deliverables whose digests one verification fetches.
MAX_DELIVERABLES = 10
#: The largest deliverable fetched by default (``Settings.verify_max_deliverable_bytes``).
DEFAULT_MAX_DELIVERABLE_BYTES = 25 * 1024 * 1024
MAX_REGISTRY_ENTRIES = 10_000

#: The most proofs one credential may carry, counting those of its embedded endorsements
#: (``Settings.verify_max_proofs``): each costs a canonicalization and a signature check.
DEFAULT_MAX_PROOFS = 32

#: Fetch the bytes at a URL, at most ``max_bytes``; raises ``BadgeworksError`` on failure.
FetchBytes = Callable[[str, int], bytes]


# --------------------------------------------------------------------------- known issuers


@dataclass(frozen=True)
class KnownIssuer:
    """An issuer a verifier knows: hosted on the service, or listed in a trust registry."""

    id: str
    name: str | None = None
    url: str | None = None
    source: Literal["hosted", "registry"] = "registry"


def parse_trust_registry(data: Any) -> dict[str, KnownIssuer]:
    """Check a parsed trust registry document and return issuer id → entry.

    Format: ``{"issuers": [{"id": "did:web:example.edu", "name": "Example University",
    "url": "https://example.edu", "note": "…"}]}``; only ``id`` is required. Anything else
    raises ``ConfigError`` (``config.trust_registry``) saying what is wrong.
    """

    def bad(why: str) -> ConfigError:
        return ConfigError(why, code="config.trust_registry")

    issuers = data.get("issuers") if isinstance(data, dict) else None
    if not isinstance(issuers, list):
        raise bad("it must be a JSON object with an 'issuers' list")
    if len(issuers) > MAX_REGISTRY_ENTRIES:
        raise bad(f"it lists more than {MAX_REGISTRY_ENTRIES} issuers")
    out: dict[str, KnownIssuer] = {}
    for index, entry in enumerate(issuers):
        where = f"issuers[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise bad(f"{where} must be an object with a string 'id'")
        ident = entry["id"].strip()
        if not ident or len(ident) > 2000 or ":" not in ident:
            raise bad(f"{where}.id must be a DID or URL")
        for key in ("name", "url"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise bad(f"{where}.{key} must be a string")
        unknown = set(entry) - {"id", "name", "url", "note"}
        if unknown:
            raise bad(f"{where} has unknown key(s) {sorted(unknown)}")
        out[ident] = KnownIssuer(ident, entry.get("name"), entry.get("url"), "registry")
    return out


def named_issuer(check: Check, issuer: str, known: KnownIssuer) -> Check:
    """``issuer.known`` with the registry's name for the issuer, not the one it claims."""
    where = (
        "it is hosted on this service"
        if known.source == "hosted"
        else "it is listed in this service's trust registry"
    )
    name = f" as {known.name!r:.120}" if known.name else ""
    return Check(
        check.check,
        check.outcome,
        check.code,
        f"The issuer {issuer:.{_SHOW}} is known to us{name}: {where}.",
        {**check.detail, "registry": known.source, "registryName": known.name},
    )


# --------------------------------------------------------------------------- recipient


def _subjects(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(credential.get("credentialSubject")) if isinstance(s, Mapping)]


def recipient_check(credential: Mapping[str, Any] | None, email: str) -> Check:
    """OB 3.0 "Verify the Recipient Using an Identifier", for an email a verifier typed.

    The address is compared as typed and lower-cased (we lower-case when we issue; others
    may not), with salted SHA-256 or MD5 hashes or a plain value. The check never
    contains the address.
    """
    if credential is None:
        return Check(
            "recipient",
            "skipped",
            "recipient.not_checked",
            "The credential could not be read, so the email address was not checked.",
        )
    identities = [
        ident
        for subject in _subjects(credential)
        for ident in as_list(subject.get("identifier"))
        if isinstance(ident, Mapping) and ident.get("identityType") == "emailAddress"
    ]
    if not identities:
        return Check(
            "recipient",
            "warning",
            "recipient.not_checkable",
            "The credential names its recipient without an email address, so the email "
            "address you entered could not be compared.",
        )
    candidates = {email, email.lower()}
    if any(matches_identity(ident, c, "emailAddress") for ident in identities for c in candidates):
        return Check(
            "recipient",
            "pass",
            "recipient.match",
            "The email address you entered matches the recipient of this credential.",
        )
    return Check(
        "recipient",
        "fail",
        "recipient.no_match",
        "The email address you entered does not match the recipient of this credential: "
        "it may have been issued to someone else, or to another address of theirs.",
    )


# --------------------------------------------------------------------------- deliverables


def fingerprinted(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        r
        for r in as_list(credential.get("relatedResource"))
        if isinstance(r, Mapping) and ("digestMultibase" in r or "digestSRI" in r)
    ]


#: The digest properties of a related resource (VC Data Model 2.0 §5.3: "Each object
#: associated with relatedResource MUST contain at least a digestSRI or a digestMultibase
#: value"): how to read each, and how to compare it with the bytes fetched.
_DIGESTS = (
    ("digestMultibase", decode_digest_multibase, check_digest_multibase),
    ("digestSRI", decode_digest_sri, check_digest_sri),
)


def _unreadable_digest(resource: Mapping[str, Any]) -> str | None:
    """Why a digest of ``resource`` cannot be read (the first one), or None."""
    for key, decode, _ in _DIGESTS:
        if key in resource:
            try:
                decode(resource[key])
            except BadgeworksError as exc:
                return exc.message
    return None


def deliverable_checks(
    credential: Mapping[str, Any], fetch_bytes: FetchBytes, *, max_bytes: int
) -> list[Check]:
    """One ``deliverable`` check per ``relatedResource`` with a ``digestMultibase`` or a
    ``digestSRI``.

    The file at the resource's ``id`` is fetched (``fetch_bytes``) and compared with every
    digest the resource gives (both, when it gives both).
    A file that cannot be fetched is a warning (the credential itself is intact); a file
    whose digest differs is a failure: it is not the file that was assessed.
    """
    # A relatedResource often has no name; its Evidence entry (same id) usually does.
    names = {
        e.get("id"): e.get("name")
        for e in as_list(credential.get("evidence"))
        if isinstance(e, Mapping) and isinstance(e.get("name"), str)
    }
    checks: list[Check] = []
    for index, resource in enumerate(fingerprinted(credential)):
        url = resource.get("id")
        name = resource.get("name") if isinstance(resource.get("name"), str) else None
        name = name or (names.get(url) if isinstance(url, str) else None)
        shown = f"{name or url!s:.{_SHOW}}"
        detail = {"id": url, **{k: resource[k] for k, _, _ in _DIGESTS if k in resource}}
        if index >= MAX_DELIVERABLES:
            checks.append(
                Check(
                    "deliverable",
                    "skipped",
                    "deliverable.too_many",
                    f"The credential lists more than {MAX_DELIVERABLES} files; the others, "
                    f"such as {shown}, were not checked.",
                    detail,
                )
            )
            break
        digests = [(k, check) for k, _, check in _DIGESTS if k in resource]
        unreadable = _unreadable_digest(resource)
        if unreadable is not None:
            checks.append(
                Check(
                    "deliverable",
                    "fail",
                    "deliverable.malformed",
                    f"The fingerprint given for {shown} cannot be read: {unreadable}.",
                    detail,
                )
            )
            continue
        if not isinstance(url, str):
            checks.append(
                Check(
                    "deliverable",
                    "fail",
                    "deliverable.malformed",
                    "A deliverable has a fingerprint but no address to fetch it from.",
                    detail,
                )
            )
            continue
        try:
            data = fetch_bytes(url, max_bytes)
        except BadgeworksError as exc:
            checks.append(
                Check(
                    "deliverable",
                    "warning",
                    "deliverable.unavailable",
                    f"We couldn't fetch the deliverable {shown} to compare its fingerprint "
                    f"({exc.message[:_SHOW]}).",
                    {**detail, "reason": exc.code},
                )
            )
            continue
        if all(check(resource[k], data) for k, check in digests):
            checks.append(
                Check(
                    "deliverable",
                    "pass",
                    "deliverable.match",
                    f"The deliverable {shown} is the file that was assessed: its fingerprint "
                    "matches the one in the credential.",
                    detail,
                )
            )
        else:
            checks.append(
                Check(
                    "deliverable",
                    "fail",
                    "deliverable.mismatch",
                    f"The file now at {url:.{_SHOW}} is not the one that was assessed: its "
                    "fingerprint differs from the one in the credential.",
                    detail,
                )
            )
    return checks


# --------------------------------------------------------------------------- VC-JWT


def jws_credential(token: str) -> Json | None:
    """The credential inside a compact JWS, unverified (for display and the recipient check)."""
    try:
        raw = b64url_decode(token.split(".")[1])
        payload = parse_json_document(raw)
    except (BadgeworksError, ValueError, IndexError):
        return None
    if not isinstance(payload, dict):
        return None
    inner = payload.get("vc", payload)
    if not isinstance(inner, dict):
        return None
    return {k: v for k, v in inner.items() if inner is not payload or k not in REGISTERED_CLAIMS}


# --------------------------------------------------------------------------- proof count


def count_proofs(document: Any, *, stop_after: int) -> int:
    """How many proofs ``document`` carries anywhere (embedded endorsements included).

    Counting stops once past ``stop_after``, so a hostile document costs no more than
    the walk up to that point.
    """
    count = 0
    stack = [document]
    while stack and count <= stop_after:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "proof":
                    count += len(value) if isinstance(value, list) else 1
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return count


def too_many_proofs(count: int, limit: int, what: str = "credential") -> Check:
    """The failed check for a document with more than ``limit`` proofs."""
    return Check(
        "proof",
        "fail",
        "proof.too_many",
        f"The {what} carries more than {limit} signatures (its endorsements' included), "
        f"more than this verifier checks in one go ({count} or more), so it was not "
        "verified. Send it with fewer signatures or endorsements.",
        {"limit": limit},
    )
