"""What a credential proves on its own: ``verify()`` never raises, it returns a report.

The checks run in a fixed order, each under its own ``check`` name:

1. ``structure``: VC Data Model 2.0 / 1.1 and OB 3.0 MUST-level rules;
2. ``schema``: the JSON Schemas the credential names (OB 3.0 "Verification" step 1);
3. ``proof``: every Data Integrity proof (step 2);
4. ``issuer``: at least one verified proof was made with a key the issuer controls ("Key
   provenance"; other proofs of a set or chain may be by co-signers or witnesses), and
   whether the issuer is one the caller knows;
5. ``validity``: ``validFrom``/``validUntil`` (or VC 1.1 dates) against ``now`` (step 4);
6. ``status``: the Bitstring Status List entries (step 4);
7. ``endorsement``: each embedded EndorsementCredential, verified the same way (step 6).

What fails and what warns (docs/verification.md): a credential is not verified when it
is not authentic (signature, issuer binding) or not currently valid (revoked, suspended,
expired, not yet valid) or cannot be read. One that is authentic and valid but not fully
conformant is verified with warnings. An embedded endorsement is judged on its own: one
that fails is reported as failed, but it is the endorsement that does not count, not the
credential (its outcome is a warning on the credential's report).

Once its signatures have failed (none held), the document was changed after it was
signed (or forged), so what it says about its issuer, its dates and its status means
nothing: those stages
report ``skipped`` ``*.not_checked`` (with ``detail.because`` = ``proof.failed``) rather
than a reassuring "passed" next to the red verdict.

A stage that crashes becomes one ``internal.error`` check (``report.internal_error``);
the other stages still run. Messages are written for a non-specialist reader.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..credential import issuer_id, parse_xsd_datetime
from ..errors import BadgeworksError
from ..loader import DocumentLoader
from ..proof import ProofResult, verify_proofs
from ..schema import schema_problems
from ..structure import credential_findings, vc_version
from ..values import as_list
from ..vc_jwt import KeyResolver, verify_vc_jwt
from .report import (
    UNAVAILABLE_CODES,
    Check,
    Outcome,
    Report,
    could_not_check,
    internal_error,
    proof_detail,
)
from .status import StatusResolver, check_status, now_utc

#: Endorsements may carry endorsements; we follow at most this many levels.
MAX_ENDORSEMENT_DEPTH = 2


@dataclass
class _Context:
    """What every stage needs: the document, the options, and the proof results."""

    document: dict[str, Any]
    loader: DocumentLoader
    now: datetime
    status_resolver: StatusResolver | None
    schemas: Mapping[str, Any] | None
    known_issuers: Collection[str]
    proof_purpose: str
    challenge: str | None
    domain: str | None
    depth: int
    proof_results: list[ProofResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.now = now_utc(self.now)

    @property
    def issuer(self) -> str | None:
        return issuer_id(self.document)

    @property
    def signature_failed(self) -> bool:
        """True when no signature held and at least one was checked and did not (not merely
        could not be checked). One that held (a co-signer's, say) still vouches for the
        text as its signer signed it, so the issuer binding and dates are checked then."""
        results = self.proof_results
        return not any(r.verified for r in results) and any(
            r.code not in UNAVAILABLE_CODES for r in results
        )

    @property
    def issuer_name(self) -> str:
        """How messages name the issuer: the Profile's ``name`` if any, else its id."""
        issuer = self.document.get("issuer")
        if isinstance(issuer, Mapping) and isinstance(issuer.get("name"), str):
            return str(issuer["name"])[:120]
        return (self.issuer or "its issuer")[:200]


def _structure(ctx: _Context) -> list[Check]:
    problems, notes = credential_findings(ctx.document)
    if problems:
        return [
            Check("structure", "fail", p.code, f"The credential is malformed: {p.message}")
            for p in problems
        ] + [_conformance_note(n) for n in notes]
    version = vc_version(ctx.document)
    return [
        Check(
            "structure",
            "pass",
            "structure.ok",
            f"The credential is well formed (Verifiable Credentials Data Model {version}).",
        )
    ] + [_conformance_note(n) for n in notes]


def _conformance_note(note: BadgeworksError) -> Check:
    """A finding that leaves the credential authentic and readable: a warning."""
    return Check(
        "structure",
        "warning",
        note.code,
        f"The credential does not fully follow the standard, though this does not make it "
        f"any less genuine: {note.message}",
        {"path": note.details["path"]} if note.details.get("path") else {},
    )


def _schema(ctx: _Context) -> list[Check]:
    declared = ctx.document.get("credentialSchema")
    if not declared:
        return [
            Check(
                "schema",
                "pass",
                "schema.none",
                "The credential names no JSON Schema, so there was none to check against.",
            )
        ]
    if ctx.schemas is None:
        return [
            Check(
                "schema",
                "skipped",
                "schema.not_checked",
                "The credential names a JSON Schema, but no schemas were supplied to check it.",
            )
        ]
    problems = schema_problems(ctx.document, ctx.schemas, remember=True)
    if not problems:
        return [
            Check(
                "schema",
                "pass",
                "schema.ok",
                "The credential matches the JSON Schema it names.",
            )
        ]
    checks = []
    for p in problems:
        if p.code == "schema.unknown":
            checks.append(Check("schema", "warning", p.code, p.message))
        elif p.code == "schema.invalid":
            # A credential that breaks its JSON Schema is not fully conformant, but that
            # says nothing about who issued it or whether it still holds (OB 3.0 B.1.13,
            # for one, lets an image be "just the id string", which the schema refuses).
            # What a reader could misread is refused by the structure checks instead.
            checks.append(
                Check(
                    "schema",
                    "warning",
                    p.code,
                    f"The credential does not match the JSON Schema it names, though this "
                    f"does not make it any less genuine: {p.message}",
                )
            )
        else:
            checks.append(
                Check("schema", "fail", p.code, f"The credential breaks its schema: {p.message}")
            )
    return checks


def _proof(ctx: _Context) -> list[Check]:
    if "proof" not in ctx.document:
        return [
            Check(
                "proof",
                "fail",
                "proof.missing",
                "The credential is not signed, so nothing shows who issued it or that it is "
                "unchanged.",
            )
        ]
    ctx.proof_results = verify_proofs(
        ctx.document,
        ctx.loader,
        proof_purpose=ctx.proof_purpose,
        challenge=ctx.challenge,
        domain=ctx.domain,
        now=ctx.now,
    )
    if not ctx.proof_results:
        return [
            Check(
                "proof",
                "fail",
                "proof.missing",
                "The credential carries no usable signature.",
            )
        ]
    checks = []
    for r in ctx.proof_results:
        outcome: Outcome
        detail: dict[str, Any] = dict(proof_detail(r.proof))
        if r.verified:
            outcome = "pass"
            by_issuer = r.controller is not None and r.controller == ctx.issuer
            # Who signed, as data, so a page can say it in the reader's language.
            detail["signer"] = r.controller or ""
            detail["signer_is_issuer"] = by_issuer
            if by_issuer:
                message = (
                    f"The signature is intact: nobody has changed this credential since "
                    f"{ctx.issuer_name} signed it."
                )
            else:
                # VC Data Integrity "Verify Proof Sets and Chains": each proof of a
                # set is verified on its own, and may be by another signer (a witness or
                # co-signer); the message names who actually signed, not the issuer.
                message = (
                    f"The signature by {r.controller or 'an unnamed signer':.200} (key "
                    f"{_method_id(r):.200}) is intact: nobody has changed this credential "
                    "since they signed it."
                )
        elif r.code in UNAVAILABLE_CODES:
            # We could not fetch the key: that says nothing about the credential.
            outcome = "indeterminate"
            message = (
                "The signature could not be checked right now (the signing key could not "
                f"be retrieved), so this credential could not be verified; try again "
                f"later: {r.message}"
            )
        else:
            outcome = "fail"
            message = (
                f"The signature check failed, so this credential may have been altered "
                f"or forged: {r.message}"
            )
        checks.append(Check("proof", outcome, r.code, message, detail))
    return checks


def _method_id(result: ProofResult) -> str:
    vm = result.verification_method
    if isinstance(vm, Mapping) and isinstance(vm.get("id"), str):
        return str(vm["id"])
    proof = result.proof
    if isinstance(proof, Mapping) and isinstance(proof.get("verificationMethod"), str):
        return str(proof["verificationMethod"])
    return "unnamed"


#: ``detail`` of a check not run because a signature failed: the machine-readable why.
SIGNATURE_FAILED = {"because": "proof.failed"}


def _not_checked(area: str, what: str) -> Check:
    """``area``'s check, not run because a signature failed; ``what`` says what the
    credential's own word on it is worth now."""
    return Check(
        area,
        "skipped",
        f"{area}.not_checked",
        f"Not checked: the signature failed, so {what}",
        dict(SIGNATURE_FAILED),
    )


def _issuer(ctx: _Context) -> list[Check]:
    issuer = ctx.issuer
    checks: list[Check] = []
    if issuer is not None and ctx.signature_failed:
        return [
            _not_checked(
                "issuer",
                "the issuer this credential names may not be the one who made it; whether "
                "we know that issuer says nothing here.",
            )
        ]
    if issuer is None:
        return [
            Check(
                "issuer",
                "fail",
                "issuer.missing",
                "The credential does not say who issued it.",
            )
        ]
    verified = [r for r in ctx.proof_results if r.verified]
    if not verified:
        checks.append(
            Check(
                "issuer",
                "skipped",
                "issuer.not_checked",
                "No signature verified, so we could not check that the issuer signed it.",
            )
        )
    # The issuer binding holds when at least one verified proof is by a key the issuer
    # controls; verified proofs by other keys are then co-signatures, named as such. When
    # none is, every verified proof is reported as a mismatch.
    by_issuer = any(r.controller == issuer for r in verified)
    for r in verified:
        if by_issuer and r.controller != issuer:
            checks.append(
                Check(
                    "issuer",
                    "pass",
                    "issuer.cosigned",
                    f"A further signature is by {r.controller or 'an unnamed signer':.200} "
                    f"(key {_method_id(r):.200}), who is not the issuer; the issuer signed "
                    "too, so it adds to the issuer's signature.",
                    {"controller": r.controller, "issuer": issuer},
                )
            )
        elif r.controller == issuer:
            checks.append(
                Check(
                    "issuer",
                    "pass",
                    "issuer.key_match",
                    f"The signing key belongs to the issuer ({issuer:.200}).",
                    {"controller": r.controller},
                )
            )
        else:
            checks.append(
                Check(
                    "issuer",
                    "fail",
                    "issuer.key_mismatch",
                    f"The credential says it was issued by {issuer:.200}, but it was signed "
                    f"with a key that belongs to {r.controller or 'someone else'}, and none "
                    "of its signatures is by the issuer.",
                    {"controller": r.controller, "issuer": issuer},
                )
            )
    if issuer in ctx.known_issuers:
        checks.append(
            Check(
                "issuer",
                "pass",
                "issuer.known",
                f"{ctx.issuer_name} ({issuer:.200}) is in our registry of known issuers.",
            )
        )
    else:
        checks.append(
            Check(
                "issuer",
                "warning",
                "issuer.unknown",
                f"The issuer {issuer:.200} is not in our registry of known issuers: the "
                "signature proves who signed it, not that the name it gives is true.",
            )
        )
    return checks


def _validity(ctx: _Context) -> list[Check]:
    if ctx.signature_failed:
        return [_not_checked("validity", "the dates this credential gives may have been changed.")]
    doc = ctx.document
    # VC 1.1 names the same dates issuanceDate and expirationDate.
    start_name = "validFrom" if "validFrom" in doc else "issuanceDate"
    end_name = "validUntil" if "validUntil" in doc else "expirationDate"
    try:
        # A date without a time zone reads as UTC (``parse_xsd_datetime``).
        start = parse_xsd_datetime(doc[start_name]) if start_name in doc else None
        end = parse_xsd_datetime(doc[end_name]) if end_name in doc else None
    except BadgeworksError as exc:
        return [
            Check(
                "validity",
                "fail",
                "validity.malformed",
                f"The credential's validity dates cannot be read: {exc}",
            )
        ]
    detail = {k: doc[k] for k in (start_name, end_name) if k in doc}
    if start is not None and ctx.now < start:
        return [
            Check(
                "validity",
                "fail",
                "validity.not_yet_valid",
                f"This credential is not valid yet: it becomes valid on {start:%d %B %Y}.",
                detail,
            )
        ]
    if end is not None and ctx.now > end:
        return [
            Check(
                "validity",
                "fail",
                "validity.expired",
                f"This credential expired on {end:%d %B %Y}.",
                detail,
            )
        ]
    since = f" since {start:%d %B %Y}" if start else ""
    until = f" until {end:%d %B %Y}" if end else "; it does not expire"
    return [Check("validity", "pass", "validity.ok", f"Valid{since}{until}.", detail)]


def _status(ctx: _Context) -> list[Check]:
    if ctx.signature_failed:
        return [
            _not_checked(
                "status",
                "the revocation entry this credential names may have been changed; whether "
                "it is revoked was not looked up.",
            )
        ]
    return check_status(ctx.document, ctx.status_resolver, ctx.loader, now=ctx.now)


def _endorsements(ctx: _Context) -> Iterator[tuple[str, Any, Any]]:
    """(where, endorsed object's id, endorsement) for every embedded endorsement."""
    doc = ctx.document
    yield from (("the credential", doc.get("id"), e) for e in as_list(doc.get("endorsement")))
    for subject in as_list(doc.get("credentialSubject")):
        ach = subject.get("achievement") if isinstance(subject, Mapping) else None
        if isinstance(ach, Mapping):
            for e in as_list(ach.get("endorsement")):
                yield ("the achievement", ach.get("id"), e)
    issuer = doc.get("issuer")
    if isinstance(issuer, Mapping):
        for e in as_list(issuer.get("endorsement")):
            yield ("the issuer", issuer.get("id"), e)


def _endorsement(ctx: _Context) -> list[Check]:
    checks: list[Check] = []
    if ctx.document.get("endorsementJwt"):
        checks.append(
            Check(
                "endorsement",
                "warning",
                "endorsement.jwt_unsupported",
                "The credential carries endorsements in JWT form, which we can't check yet.",
            )
        )
    for where, endorsed_id, endorsement in _endorsements(ctx):
        checks.append(_one_endorsement(ctx, where, endorsed_id, endorsement))
    return checks


def _one_endorsement(ctx: _Context, where: str, endorsed_id: Any, endorsement: Any) -> Check:
    if not isinstance(endorsement, dict):
        return Check(
            "endorsement",
            "warning",
            "endorsement.malformed",
            f"An endorsement of {where} is not a credential object.",
        )
    endorser = issuer_id(endorsement) or "an unnamed endorser"
    issuer = endorsement.get("issuer")
    if isinstance(issuer, Mapping) and isinstance(issuer.get("name"), str):
        endorser = f"{issuer['name']:.120}"
    if ctx.depth >= MAX_ENDORSEMENT_DEPTH:
        return Check(
            "endorsement",
            "skipped",
            "endorsement.too_deep",
            f"The endorsement of {where} by {endorser} sits too deep inside other "
            "endorsements; it was not checked.",
        )
    sub = verify(
        endorsement,
        loader=ctx.loader,
        now=ctx.now,
        status_resolver=ctx.status_resolver,
        schemas=ctx.schemas,
        known_issuers=ctx.known_issuers,
        _depth=ctx.depth + 1,
    )
    detail = {"endorser": issuer_id(endorsement), "endorses": where, "report": sub.as_dict()}
    subject = endorsement.get("credentialSubject")
    subject_id = subject.get("id") if isinstance(subject, Mapping) else None
    outcome: Outcome
    failed = {c.code for c in sub.failures()}
    if not sub.verified and failed == {"validity.expired"}:
        # Genuine, but past its validUntil: the endorser's word had a time limit. Like a
        # withdrawal, that is about the endorsement, not the credential it is attached to.
        outcome, code = "warning", "endorsement.expired"
        message = (
            f"The endorsement of {where} by {endorser} has expired: it was signed by "
            f"{endorser}, but it was valid only for a limited time, so it no longer counts. "
            "This does not affect the credential itself."
        )
    elif not sub.verified and failed and failed <= {"status.revoked", "validity.expired"}:
        # Genuine, but its endorser has since revoked it (a withdrawn endorsement). That
        # is the endorser's word about their endorsement, not about this credential, so
        # it is a warning: the credential stands, this endorsement no longer counts.
        outcome, code = "warning", "endorsement.withdrawn"
        message = (
            f"The endorsement of {where} by {endorser} was withdrawn: it was signed by "
            f"{endorser}, but has since been revoked, so it no longer counts. This does not "
            "affect the credential itself."
        )
    elif not sub.verified and not sub.failures():
        first = sub.unchecked()[0].message
        outcome, code = "indeterminate", "endorsement.unchecked"
        message = (
            f"The endorsement of {where} by {endorser} could not be checked right now: {first}"
        )
    elif not sub.verified:
        # The endorsement failed (a broken signature, say): it does not count, and the
        # report says so plainly, but it is the endorser's document that failed, not the
        # credential, whose own proof covers it as it is. A warning on the credential.
        first = sub.failures()[0].message
        outcome, code = "warning", "endorsement.failed"
        message = (
            f"The endorsement of {where} by {endorser} did not verify, so it does not count "
            f"(the credential itself is not affected): {first}"
        )
    elif endorsed_id is not None and subject_id != endorsed_id:
        outcome, code = "warning", "endorsement.wrong_subject"
        message = (
            f"The endorsement by {endorser} is genuine, but it endorses {subject_id!r:.200}, "
            f"not {where} it is attached to."
        )
    else:
        notes = " (with warnings: see details)" if sub.warnings() else ""
        outcome, code = "pass", "endorsement.ok"
        message = f"The endorsement of {where} by {endorser} is genuine{notes}."
    return Check("endorsement", outcome, code, message, detail)


_STAGES: tuple[tuple[str, Callable[[_Context], list[Check]]], ...] = (
    ("structure", _structure),
    ("schema", _schema),
    ("proof", _proof),
    ("issuer", _issuer),
    ("validity", _validity),
    ("status", _status),
    ("endorsement", _endorsement),
)


def _not_a_credential(document: Any) -> Report:
    kind = {list: "a list", str: "a string", type(None): "null"}.get(
        type(document), type(document).__name__
    )
    return Report(
        [
            Check(
                "structure",
                "fail",
                "structure.not_object",
                f"This is not a credential: a credential is a JSON object, and this is {kind}.",
            )
        ]
    )


def verify(
    document: Any,
    *,
    loader: DocumentLoader,
    now: datetime,
    status_resolver: StatusResolver | None = None,
    schemas: Mapping[str, Any] | None = None,
    known_issuers: Collection[str] = (),
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    _depth: int = 0,
) -> Report:
    """Verify a credential; never raises. ``report.verified`` is true iff no check failed."""
    if not isinstance(document, dict):
        return _not_a_credential(document)
    checks: list[Check] = []
    try:
        ctx = _Context(
            document,
            loader,
            now,
            status_resolver,
            schemas,
            known_issuers,
            proof_purpose,
            challenge,
            domain,
            _depth,
        )
    except Exception as exc:  # a bad ``now`` or similar caller error: still report
        return Report([internal_error("setup", exc)])
    for name, stage in _STAGES:
        try:
            checks.extend(stage(ctx))
        except Exception as exc:  # verify() never raises: a crash is one check
            checks.append(internal_error(name, exc))
    return Report(could_not_check(c) for c in checks)


def verify_jwt(
    token: str,
    *,
    loader: DocumentLoader,
    now: datetime,
    key_resolver: KeyResolver | None = None,
    status_resolver: StatusResolver | None = None,
    schemas: Mapping[str, Any] | None = None,
    known_issuers: Collection[str] = (),
) -> tuple[dict[str, Any] | None, list[Check]]:
    """Verify a compact VC-JWT: its JWS (``core.vc_jwt``), then the credential inside with
    ``verify``; never raises. Returns the credential (None if unreadable) and the checks.

    ``key_resolver`` looks the JWS key up (default: ``loader.load``).
    """
    credential, checks = verify_vc_jwt(token, key_resolver=key_resolver or loader.load, now=now)
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
        # The JWT is this credential's proof; without an embedded Data Integrity proof,
        # verify()'s "not signed" findings are about a proof that was never meant to be.
        if not signed_inside and (check.check == "proof" or check.code == "issuer.not_checked"):
            continue
        found.append(check)
    return credential, found
