"""Verifiable Presentations: make them, sign them, and verify them with what they carry.

A learner hands a verifier a presentation: their credentials wrapped in one document,
signed with the holder's key (``proofPurpose`` ``authentication``) over the verifier's
``challenge`` and ``domain`` so it cannot be replayed elsewhere (VC Data Model 2.0 §4.13
"Verifiable Presentations", VC Data Integrity "Proof Purposes").

``verify_presentation`` never raises. Its result follows the W3C CCG VC API
``/presentations/verify`` response as the reference implementation (digitalbazaar/vc)
shapes it: ``verified``, ``presentationResult`` (the presentation's own checks, or
``None`` when it carries no proof), and ``credentialResults`` (one ``verify()`` report per
credential, in order). ``checks`` lists the presentation-level checks, signed or not,
in our report shape.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from ..contexts import VC1_CONTEXT, VC2_CONTEXT
from ..crypto.ed25519 import Ed25519KeyPair
from ..cryptosuites import DEFAULT_CRYPTOSUITE
from ..enveloped import is_jose_envelope
from ..errors import CredentialError
from ..loader import DocumentLoader
from ..proof import add_proof, verify_proofs
from ..structure import is_url
from ..values import as_list, types_of
from ..vc_jwt import KeyResolver, is_compact_jws
from .credential import verify, verify_jwt
from .enveloped import verify_enveloped
from .report import Check, Outcome, Report, internal_error, proof_detail
from .status import StatusResolver, now_utc

PRESENTATION_TYPE = "VerifiablePresentation"
ENVELOPED_CREDENTIAL = "EnvelopedVerifiableCredential"
#: More than any portfolio shares at once; bounds the work one request can cause.
MAX_CREDENTIALS = 100
#: ``data:`` URL prefixes of an enveloped VC-JWT (VC-JOSE-COSE §3.1.1 and the older form).
_JWT_DATA_PREFIXES = ("data:application/vc+jwt,", "data:application/jwt,")


# --------------------------------------------------------------------------- making


def create_presentation(
    credentials: list[dict[str, Any]] | list[Any],
    *,
    holder: str | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """An unsigned VC 2.0 presentation of ``credentials`` (objects, or VC-JWT strings).

    A VC-JWT string is wrapped as an ``EnvelopedVerifiableCredential`` (VC-JOSE-COSE
    §3.1.1), since VC 2.0 puts only credential objects in ``verifiableCredential``.
    Raises ``CredentialError`` (``credential.invalid``) for anything else.
    """
    items: list[Any] = []
    for credential in credentials:
        if isinstance(credential, dict):
            items.append(credential)
        elif is_compact_jws(credential):
            items.append(
                {
                    "@context": VC2_CONTEXT,
                    "id": _JWT_DATA_PREFIXES[0] + credential.strip(),
                    "type": ENVELOPED_CREDENTIAL,
                }
            )
        else:
            raise CredentialError("a presented credential must be a JSON object or a VC-JWT string")
    vp: dict[str, Any] = {"@context": [VC2_CONTEXT]}
    if id is not None:
        vp["id"] = id
    vp["type"] = [PRESENTATION_TYPE]
    if holder is not None:
        vp["holder"] = holder
    if items:
        vp["verifiableCredential"] = items
    return vp


def sign_presentation(
    presentation: dict[str, Any],
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    *,
    now: datetime,
    challenge: str | None = None,
    domain: str | None = None,
    cryptosuite: str = DEFAULT_CRYPTOSUITE,
) -> dict[str, Any]:
    """A copy of ``presentation`` with the holder's ``authentication`` proof added
    (``cryptosuite``: ``eddsa-rdfc-2022``, the default, or ``eddsa-jcs-2022``).

    Raises as ``add_proof`` does, and ``CredentialError`` (``credential.invalid``) when the
    presentation names a ``holder`` other than the key's controller (a verifier would
    refuse it).
    """
    holder = _holder_id(presentation.get("holder"))
    if holder is not None and holder != key.controller:
        raise CredentialError(
            f"the presentation's holder is {holder!r:.200}, but the key belongs to "
            f"{key.controller!r:.200}"
        )
    return add_proof(
        presentation,
        key,
        loader,
        created=now,
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
        cryptosuite=cryptosuite,
    )


# --------------------------------------------------------------------------- verifying


def _holder_id(holder: Any) -> str | None:
    if isinstance(holder, str):
        return holder
    if isinstance(holder, Mapping) and isinstance(holder.get("id"), str):
        return str(holder["id"])
    return None


def _structure(vp: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []

    def fail(code: str, message: str) -> None:
        checks.append(Check("presentation", "fail", code, message))

    contexts = as_list(vp.get("@context"))
    if not contexts or contexts[0] not in (VC2_CONTEXT, VC1_CONTEXT):
        fail(
            "presentation.context",
            f"The presentation's first '@context' must be {VC2_CONTEXT!r} or {VC1_CONTEXT!r}.",
        )
    if PRESENTATION_TYPE not in types_of(vp):
        fail(
            "presentation.type",
            f"The presentation's 'type' does not include {PRESENTATION_TYPE!r}.",
        )
    if "id" in vp and not is_url(vp["id"]):
        fail("presentation.id", f"The presentation's 'id' {vp['id']!r:.100} is not a URL.")
    if "holder" in vp:
        holder = _holder_id(vp["holder"])
        if holder is None or not is_url(holder):
            fail(
                "presentation.holder",
                f"The presentation's 'holder' {vp['holder']!r:.100} is not a URL.",
            )
    if not checks:
        checks.append(
            Check("presentation", "pass", "presentation.ok", "The presentation is well formed.")
        )
    return checks


def _credential_items(vp: dict[str, Any]) -> tuple[list[Any], list[Check]]:
    items = as_list(vp.get("verifiableCredential"))
    if not items:
        return [], [
            Check(
                "presentation",
                "warning",
                "presentation.no_credentials",
                "The presentation carries no credentials.",
            )
        ]
    if len(items) > MAX_CREDENTIALS:
        return [], [
            Check(
                "presentation",
                "fail",
                "presentation.too_many_credentials",
                f"The presentation carries {len(items)} credentials; we check at most "
                f"{MAX_CREDENTIALS}.",
            )
        ]
    return items, []


def _proof_checks(
    vp: dict[str, Any],
    loader: DocumentLoader,
    now: datetime,
    challenge: str | None,
    domain: str | None,
) -> tuple[list[Check], dict[str, Any] | None]:
    """The presentation's proof and holder checks, and its ``presentationResult``."""
    if "proof" not in vp:
        if challenge is not None or domain is not None:
            check = Check(
                "proof",
                "fail",
                "presentation.proof_required",
                "A signed presentation was requested (with a challenge), but this one is not "
                "signed, so nothing shows that the holder made it for this request.",
            )
        else:
            check = Check(
                "proof",
                "warning",
                "presentation.unsigned",
                "The presentation is not signed: the credentials inside can still be checked, "
                "but nothing shows who handed them over.",
            )
        return [check], None

    results = verify_proofs(
        vp, loader, proof_purpose="authentication", challenge=challenge, domain=domain, now=now
    )
    checks: list[Check] = []
    for r in results:
        if r.verified:
            outcome: Outcome = "pass"
            message = "The holder's signature on the presentation is intact."
        else:
            outcome = "fail"
            message = f"The holder's signature on the presentation did not verify: {r.message}"
        checks.append(Check("proof", outcome, r.code, message, proof_detail(r.proof)))
    holder = _holder_id(vp.get("holder"))
    for r in (r for r in results if r.verified):
        if holder is None:
            checks.append(
                Check(
                    "holder",
                    "warning",
                    "presentation.holder_missing",
                    "The presentation does not name its holder; it was signed by a key "
                    f"belonging to {r.controller or 'an unknown controller'}.",
                    {"controller": r.controller},
                )
            )
        elif r.controller == holder:
            checks.append(
                Check(
                    "holder",
                    "pass",
                    "presentation.holder_match",
                    f"The presentation was signed by its holder ({holder:.200}).",
                    {"controller": r.controller},
                )
            )
        else:
            checks.append(
                Check(
                    "holder",
                    "fail",
                    "presentation.holder_mismatch",
                    f"The presentation says its holder is {holder:.200}, but it was signed with "
                    f"a key that belongs to {r.controller or 'someone else'}.",
                    {"controller": r.controller, "holder": holder},
                )
            )
    result = Report([c for c in checks if c.check in ("proof", "holder")]).as_dict()
    return checks, result


def enveloped_jwt(item: Any) -> str | None:
    """The VC-JWT an ``EnvelopedVerifiableCredential`` carries in its ``data:`` URL ``id``
    (VC-JOSE-COSE §3.1.1); None for anything else."""
    if isinstance(item, Mapping) and ENVELOPED_CREDENTIAL in types_of(item):
        ref = item.get("id")
        if isinstance(ref, str):
            for prefix in _JWT_DATA_PREFIXES:
                if ref.startswith(prefix):
                    return unquote(ref[len(prefix) :])
    return None


def _jwt_token(item: Any) -> str | None:
    """The VC-JWT a ``verifiableCredential`` entry carries, if it carries one ("" for an
    enveloped credential we cannot read)."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and ENVELOPED_CREDENTIAL in types_of(item):
        return enveloped_jwt(item) or ""
    return None


def _verify_jwt_credential(
    token: str,
    *,
    loader: DocumentLoader,
    key_resolver: KeyResolver,
    now: datetime,
    status_resolver: StatusResolver | None,
    schemas: Mapping[str, Any] | None,
    known_issuers: Collection[str],
) -> dict[str, Any]:
    credential, checks = verify_jwt(
        token,
        loader=loader,
        key_resolver=key_resolver,
        now=now,
        status_resolver=status_resolver,
        schemas=schemas,
        known_issuers=known_issuers,
    )
    cid = credential.get("id") if credential is not None else None
    return {
        **Report(checks).as_dict(),
        "credentialId": cid if isinstance(cid, str) else None,
        "format": "jwt",
    }


def _verify_credential(item: Any, index: int, **options: Any) -> dict[str, Any]:
    if is_jose_envelope(item):
        # VC-JOSE-COSE §3.1.2: an EnvelopedVerifiableCredential of application/vc+jwt.
        credential, checks = verify_enveloped(item, **options)
        cid = credential.get("id") if credential is not None else None
        return {
            **Report(checks).as_dict(),
            "credentialId": cid if isinstance(cid, str) else None,
            "format": "jose",
        }
    token = _jwt_token(item)
    if token is not None:
        if not token:
            return {
                **Report(
                    [
                        Check(
                            "structure",
                            "fail",
                            "presentation.credential_malformed",
                            f"Credential {index + 1} is an enveloped credential we cannot read "
                            "(its 'id' is not a data: URL holding a VC-JWT).",
                        )
                    ]
                ).as_dict(),
                "credentialId": None,
                "format": "jwt",
            }
        return _verify_jwt_credential(token, **options)
    if not isinstance(item, dict):
        return {
            **Report(
                [
                    Check(
                        "structure",
                        "fail",
                        "presentation.credential_malformed",
                        f"Credential {index + 1} is neither a credential object nor a VC-JWT.",
                    )
                ]
            ).as_dict(),
            "credentialId": None,
            "format": "json",
        }
    options.pop("key_resolver")
    report = verify(item, **options)
    cid = item.get("id")
    return {
        **report.as_dict(),
        "credentialId": cid if isinstance(cid, str) else None,
        "format": "json",
    }


def verify_presentation(
    vp: Any,
    *,
    loader: DocumentLoader,
    now: datetime,
    challenge: str | None = None,
    domain: str | None = None,
    status_resolver: StatusResolver | None = None,
    schemas: Mapping[str, Any] | None = None,
    known_issuers: Collection[str] = (),
    key_resolver: KeyResolver | None = None,
    check_credentials: bool = True,
) -> dict[str, Any]:
    """Verify a presentation and every credential in it; never raises.

    Returns ``{"verified", "presentationResult", "credentialResults", "checks"}``:
    ``verified`` is true iff no presentation check failed and every credential verified.
    A signed presentation's proofs must be ``authentication`` proofs by its ``holder``
    (and carry ``challenge``/``domain`` when given). An unsigned presentation only warns
    (``presentation.unsigned``), unless a ``challenge`` or ``domain`` was asked for
    (``presentation.proof_required``). Each credential is checked with ``verify()``; a
    VC-JWT (a string, or an ``EnvelopedVerifiableCredential``) with ``verify_vc_jwt``,
    looking its key up with ``key_resolver`` (default: ``loader.load``).
    ``check_credentials=False`` checks only the presentation itself (``credentialResults``
    is then empty), for a caller that verifies each credential its own way.
    """
    if not isinstance(vp, dict):
        kind = {list: "a list", str: "a string", type(None): "null"}.get(
            type(vp), type(vp).__name__
        )
        check = Check(
            "presentation",
            "fail",
            "presentation.not_object",
            f"This is not a presentation: a presentation is a JSON object, and this is {kind}.",
        )
        return {
            "verified": False,
            "presentationResult": None,
            "credentialResults": [],
            "checks": [check.as_dict()],
        }
    checks: list[Check] = []
    presentation_result: dict[str, Any] | None = None
    credential_results: list[dict[str, Any]] = []
    try:
        now = now_utc(now)
        checks.extend(_structure(vp))
        items, item_checks = _credential_items(vp)
        checks.extend(item_checks)
        proof_checks, presentation_result = _proof_checks(vp, loader, now, challenge, domain)
        checks.extend(proof_checks)
    except Exception as exc:  # never raise: a crash is one failed check
        checks.append(internal_error("presentation", exc))
        items = []
    resolver: Callable[[str], Any] = key_resolver or loader.load
    for index, item in enumerate(items if check_credentials else []):
        try:
            credential_results.append(
                _verify_credential(
                    item,
                    index,
                    loader=loader,
                    key_resolver=resolver,
                    now=now,
                    status_resolver=status_resolver,
                    schemas=schemas,
                    known_issuers=known_issuers,
                )
            )
        except Exception as exc:
            credential_results.append(
                {
                    **Report([internal_error("credential", exc)]).as_dict(),
                    "credentialId": None,
                    "format": "json",
                }
            )
    verified = not any(c.outcome in ("fail", "indeterminate") for c in checks) and all(
        r["verified"] for r in credential_results
    )
    return {
        "verified": verified,
        "presentationResult": presentation_result,
        "credentialResults": credential_results,
        "checks": [c.as_dict() for c in checks],
    }
