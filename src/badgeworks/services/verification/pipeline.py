"""The entry point of verification: every credential and presentation the service or the CLI
verifies goes through ``verify`` (or ``verify_presented``, which runs ``verify`` for each
credential it carries).

Callers: the public verifier (``services.verification.public``), the VC-API
(``POST /credentials/verify``, ``POST /presentations/verify``), ``badgeworks verify``,
endorsement uploads and the portfolio pages. ``verify`` turns the context's ``Verifier``
(``services.verification.capabilities``) into the core's ``Capabilities`` for the reach
asked for and runs ``core.verification.document.verify_document``; the core package holds
every check.

What one request may fetch is bounded per request: ``verify`` and ``verify_presented``
open one ``FetchBudget`` (count, bytes, deadline) that every fetch they cause shares, and
the report names the checks it stopped (docs/fetching.md, "Budgets").

Other layers take the report types from here (``Report``, ``Check``, ``KnownIssuer``…),
never from ``badgeworks.core.verification``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from badgeworks.adapters.fetcher import request_budget
from badgeworks.adapters.remote import budget_skipped
from badgeworks.core.enveloped import envelope_kind, is_jose_envelope, verify_envelope
from badgeworks.core.values import as_list
from badgeworks.core.verification.checks import KnownIssuer, count_proofs, too_many_proofs
from badgeworks.core.verification.document import Capabilities, Verification, verify_document
from badgeworks.core.verification.presentation import (
    create_presentation,
    enveloped_jwt,
    sign_presentation,
)
from badgeworks.core.verification.presentation import (
    verify_presentation as core_verify_presentation,
)
from badgeworks.core.verification.report import VERDICT_TEXT, Check, Report, verdict
from badgeworks.services.context import ServiceContext
from badgeworks.services.infra import metrics
from badgeworks.services.verification import submitted, withdrawals
from badgeworks.services.verification.capabilities import Verifier, fetch_budget
from badgeworks.services.verification.hosted import hosted_view

__all__ = [
    "MAX_PRESENTED_CREDENTIALS",
    "VERDICT_TEXT",
    "Check",
    "KnownIssuer",
    "PresentationVerification",
    "Reach",
    "Report",
    "Verification",
    "create_presentation",
    "presented_credentials",
    "sign_presentation",
    "unavailable_report",
    "verdict",
    "verify",
    "verify_presented",
]

#: How far a verification reaches beyond the document:
#:
#: - ``network`` (the default): everything the service can check: keys and DID documents
#:   fetched through the shared fetcher, status lists, deliverable digests, the JSON
#:   Schemas, and the hosted issuers as known issuers unless ``known`` is given;
#: - ``keys``: keys and DID documents as for ``network``, and the JSON Schemas, but no
#:   status lists and no deliverables (an endorsement a mentor uploads);
#: - ``offline``: nothing is fetched: bundled contexts, ``did:key`` and the DIDs we host
#:   only; no status lists, schemas, deliverables or known issuers (the portfolio's
#:   own credentials, exactly what the core's ``verify`` says of them).
Reach = Literal["network", "keys", "offline"]


def unavailable_report(exc: Exception) -> Report:
    """The report when the service could not even start checking (its database failed)."""
    return Report(
        [
            Check(
                "internal",
                "indeterminate",
                "internal.unavailable",
                "The credential could not be checked right now, because this service could "
                f"not read its own records ({type(exc).__name__}); try again later.",
            )
        ]
    )


def _capabilities(
    verifier: Verifier, reach: Reach, known: Mapping[str, KnownIssuer] | None
) -> Capabilities:
    if reach == "offline":
        return Capabilities(
            loader=verifier.offline_loader,
            known=known or {},
            deliverables=False,
            max_proofs=verifier.max_proofs,
        )
    if reach == "keys":
        return Capabilities(
            loader=verifier.loader,
            schemas=verifier.schemas,
            known=known or {},
            deliverables=False,
            max_proofs=verifier.max_proofs,
        )
    return Capabilities(
        loader=verifier.loader,
        status_resolver=verifier.status_resolver,
        schemas=verifier.schemas,
        known=verifier.hosted() if known is None else known,
        fetch_bytes=verifier.fetch_bytes,
        max_deliverable_bytes=verifier.max_deliverable_bytes,
        max_proofs=verifier.max_proofs,
    )


def verify(
    ctx: ServiceContext,
    document: Any,
    *,
    reach: Reach = "network",
    known: Mapping[str, KnownIssuer] | None = None,
    email: str | None = None,
    now: datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> Verification:
    """Verify a credential object or a compact VC-JWT string; never raises.

    ``reach`` says what may be used besides the document (see ``Reach``). ``known``
    defaults to the issuers this service hosts; the public verifier and the VC-API pass
    those plus the trust registry's (``public.known_issuers``). ``email`` (already checked
    with ``public.check_email``) adds the recipient check; ``challenge``/``domain`` are
    required on the credential's Data Integrity proofs. ``now`` defaults to the context's
    clock.

    What this service hosts (issuers, their DID documents, our status lists) is read
    once per ``hosted_version`` of the database (``services.verification.hosted``).
    """
    with hosted_view(ctx.session_factory if reach != "offline" else None) as view:
        when = now or ctx.clock()
        # The same text, read at the same hosted_version, with the same options and on the
        # same side of every date: the report kept from before (services/verification/
        # submitted.py says when one is kept).
        memo = submitted.attempt(
            ctx,
            view,
            document,
            reach=reach,
            known=known,
            email=email,
            now=when,
            challenge=challenge,
            domain=domain,
            verifier_of=ctx.get_verifier,
        )
        if memo is not None and memo.found is not None:
            metrics.count_verification(memo.found.report.verdict)
            return memo.found
        result, reached_network = _verify(
            ctx,
            document,
            reach=reach,
            known=known,
            email=email,
            now=when,
            challenge=challenge,
            domain=domain,
        )
        if memo is not None:
            memo.keep(result, reached_network=reached_network)
        metrics.count_verification(result.report.verdict)
        return result


def _verify(
    ctx: ServiceContext,
    document: Any,
    *,
    reach: Reach,
    known: Mapping[str, KnownIssuer] | None,
    email: str | None,
    now: datetime,
    challenge: str | None,
    domain: str | None,
) -> tuple[Verification, bool]:
    """The verification, and whether it may have reached the network (anything fetched,
    or refused for want of budget, or no budget to tell)."""
    try:
        caps = _capabilities(ctx.get_verifier(), reach, known)
    except Exception as exc:  # never raise: building the verifier itself could fail
        # Reading the hosted issuers failed (the database): nothing was checked, so the
        # credential could not be verified right now; that is not a failed check.
        report = unavailable_report(exc)
        return Verification(report, document if isinstance(document, dict) else None), True
    make_budget = ctx.get_verifier().budget
    if reach == "offline" or make_budget is None:
        # Nothing is fetched offline, and the CLI sets no per-request budget.
        result = verify_document(
            document, caps, now=now, email=email, challenge=challenge, domain=domain
        )
        return withdrawals.with_reasons(ctx, result), reach != "offline"
    with request_budget(make_budget) as budget:
        result = verify_document(
            document, caps, now=now, email=email, challenge=challenge, domain=domain
        )
    reached = bool(budget.fetches or budget.received or budget.refused or budget.exhausted)
    # A revoked or suspended credential we host says why (the reason staff gave).
    result = withdrawals.with_reasons(ctx, result)
    return replace(result, report=budget_skipped(result.report, budget)), reached


#: The most credentials the public verifier checks in one presentation (each runs the
#: whole pipeline, so this bounds the work one request can cause).
MAX_PRESENTED_CREDENTIALS = 50
#: The most proofs one presentation may carry in all (the holder's and every credential's,
#: endorsements included): about 0.3 s of signature checks.
MAX_PRESENTATION_PROOFS = 200


def presented_credentials(vp: Mapping[str, Any]) -> list[Any]:
    """The entries of a presentation's ``verifiableCredential`` (a list, maybe empty)."""
    return as_list(vp.get("verifiableCredential"))


def _presented_document(item: Any) -> Any:
    """What the pipeline verifies for one entry: the object, or an enveloped VC-JWT.

    A VC-JOSE-COSE entry (``data:application/vc+jwt,…``) stays the object: the pipeline
    verifies it as an envelope (``core.enveloped``), whatever its token's ``typ`` says.
    """
    if is_jose_envelope(item):
        return item
    token = enveloped_jwt(item)
    return item if token is None else token


@dataclass(frozen=True)
class PresentationVerification:
    """A presentation's own checks and each credential's ``Verification``, in order."""

    report: Report
    signed: bool
    credentials: list[Verification]
    #: What each credential was checked as: the object, or the VC-JWT it envelops.
    documents: list[Any]

    @property
    def verified(self) -> bool:
        """True iff no presentation check failed and every credential verified."""
        return self.report.verified and all(c.report.verified for c in self.credentials)


def verify_presented(
    ctx: ServiceContext,
    vp: dict[str, Any],
    *,
    known: Mapping[str, KnownIssuer] | None = None,
    email: str | None = None,
    now: datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> PresentationVerification:
    """A presentation for the public verifier and the VC-API; never raises.

    The presentation's own checks (structure, the holder's proof, with ``challenge`` and
    ``domain`` when given; unsigned is a warning) come from the core's
    ``verify_presentation`` with the verifier's loader; each credential is then
    checked with ``verify`` — the one pipeline single credentials go through (named
    issuers, deliverable digests, the recipient check). The caller caps the number of
    credentials (``MAX_PRESENTED_CREDENTIALS``).
    """
    with hosted_view(ctx.session_factory):
        return _verify_presented(
            ctx, vp, known=known, email=email, now=now, challenge=challenge, domain=domain
        )


def _verify_presented(
    ctx: ServiceContext,
    vp: dict[str, Any],
    *,
    known: Mapping[str, KnownIssuer] | None,
    email: str | None,
    now: datetime | None,
    challenge: str | None,
    domain: str | None,
) -> PresentationVerification:
    when = now or ctx.clock()
    try:
        known = ctx.get_verifier().hosted() if known is None else known
    except Exception:  # the per-credential pipeline reports the internal error itself
        known = {}
    # Every proof costs a canonicalization and a signature check: refuse a pile of them
    # (the holder's and all credentials' together) before any is checked.
    verifier = ctx.get_verifier()
    limit = min(verifier.max_proofs * MAX_PRESENTED_CREDENTIALS, MAX_PRESENTATION_PROOFS)
    total = count_proofs(vp, stop_after=limit)
    if total > limit:
        return PresentationVerification(
            Report([too_many_proofs(total, limit, "presentation")]), "proof" in vp, [], []
        )
    if envelope_kind(vp) == "vp":
        return _verify_enveloped_presentation(ctx, vp, known, email, when, challenge, domain)
    # One fetch budget for the whole presentation: its credentials share it.
    with request_budget(verifier.budget or (lambda: fetch_budget(ctx.settings))) as budget:
        # The presentation's own checks only: each credential goes through ``verify``
        # below (checking them here too would verify every credential twice).
        result = core_verify_presentation(
            vp,
            loader=verifier.loader,
            now=when,
            challenge=challenge,
            domain=domain,
            check_credentials=False,
        )
        checks = [
            Check(c["check"], c["outcome"], c["code"], c["message"], dict(c.get("detail") or {}))
            for c in result["checks"]
        ]
        documents = [_presented_document(item) for item in presented_credentials(vp)]
        credentials = [verify(ctx, doc, known=known, email=email, now=when) for doc in documents]
    report = budget_skipped(Report(checks), budget)
    return PresentationVerification(report, "proof" in vp, credentials, documents)


def _verify_enveloped_presentation(
    ctx: ServiceContext,
    vp: dict[str, Any],
    known: Mapping[str, KnownIssuer],
    email: str | None,
    when: datetime,
    challenge: str | None,
    domain: str | None,
) -> PresentationVerification:
    """An ``EnvelopedVerifiablePresentation`` (VC-JOSE-COSE §3.1.2): the holder's JWS
    (``challenge``/``domain`` as ``nonce``/``aud``), then each enveloped credential in it
    through ``verify``, the one pipeline."""
    verifier = ctx.get_verifier()
    with request_budget(verifier.budget or (lambda: fetch_budget(ctx.settings))) as budget:
        inner, checks = verify_envelope(
            vp,
            kind="vp",
            key_resolver=verifier.loader.load,
            now=when,
            challenge=challenge,
            domain=domain,
        )
        items = presented_credentials(inner) if inner is not None else []
        if len(items) > MAX_PRESENTED_CREDENTIALS:
            checks.append(
                Check(
                    "presentation",
                    "fail",
                    "presentation.too_many_credentials",
                    f"The presentation carries {len(items)} credentials; at most "
                    f"{MAX_PRESENTED_CREDENTIALS} are verified in one request.",
                )
            )
            items = []
        documents = [_presented_document(item) for item in items]
        credentials = [verify(ctx, doc, known=known, email=email, now=when) for doc in documents]
    report = budget_skipped(Report(checks), budget)
    return PresentationVerification(report, True, credentials, documents)
