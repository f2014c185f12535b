"""The service's one verifier: credentials (JSON or VC-JWT) and presentations.

Every place the service verifies something uses these functions: the VC-API
(``POST /credentials/verify``, ``POST /presentations/verify``), the public verifier pages
and API, and internal checks. ``verify`` runs the one pipeline,
``badgeworks.core.checks.verify_credential`` (which the CLI runs too, with
``standalone`` capabilities), and ``verify_presentation`` wraps
``badgeworks.core.presentation.verify_presentation``, with the service's collaborators:

- ``verifier_loader(ctx)``: the bundled contexts, the issuers we host (from the database,
  through ``ctx.loader``'s ``HostedDidResolver``), ``did:key`` offline, and other
  services' ``did:web`` documents and HTTPS keys through one shared ``Fetcher`` built from
  the settings (address checks, timeout, size cap; docs/fetching.md). Contexts are never
  fetched.
- ``status_resolver(ctx)``: our own status lists straight from the database (no network
  hop, so a revocation shows at once), others through the same fetcher.
- ``make_fetch_bytes(ctx, fetcher)``: deliverables for the digest checks, our own blobs
  from the blob store, others through the same fetcher.

The fetcher, loader and resolver are built once per ``ServiceContext`` and shared, so the
fetcher's short cache and connection pool serve every request. What one request may fetch
is bounded per request instead: ``verify`` and ``verify_presented`` open one
``FetchBudget`` (``fetch_budget``: count, bytes, deadline) that every fetch they cause
shares, and the report names the checks it stopped (docs/fetching.md, "Budgets").
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from sqlmodel import select

from badgeworks.adapters.fetcher import FetchBudget, Fetcher, request_budget
from badgeworks.adapters.remote import StatusListFetcher, budget_skipped, remote_loader
from badgeworks.adapters.resources import default_loader, schema_documents
from badgeworks.core.checks import (
    Capabilities,
    FetchBytes,
    KnownIssuer,
    Verification,
    count_proofs,
    too_many_proofs,
)
from badgeworks.core.checks import verify_credential as verify_with
from badgeworks.core.errors import InputError, StatusError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.presentation import verify_presentation as core_verify_presentation
from badgeworks.core.report import Check, Report
from badgeworks.core.status import StatusResolver
from badgeworks.db.models import Issuer
from badgeworks.services.context import ServiceContext
from badgeworks.services.verification.resolver import scoped
from badgeworks.settings import Settings


@dataclass(frozen=True)
class _Verifier:
    fetcher: Fetcher
    loader: DocumentLoader
    status: StatusListFetcher


_verifiers: dict[int, tuple[weakref.ref[ServiceContext], _Verifier]] = {}
_lock = threading.Lock()


def _forget(key: int, fetcher: Fetcher) -> None:
    with _lock:
        _verifiers.pop(key, None)
    fetcher.close()


def _verifier(ctx: ServiceContext) -> _Verifier:
    key = id(ctx)
    with _lock:
        found = _verifiers.get(key)
        if found is not None and found[0]() is ctx:
            return found[1]
        settings = ctx.settings
        fetcher = Fetcher(
            allow_private=settings.fetch_allow_private,
            timeout=settings.fetch_timeout,
            max_bytes=settings.fetch_max_bytes,
        )
        from badgeworks.services.lifecycle.status_lists import local_document

        # Inside ``resolver.reading_with`` (a page holding a session) our own lists are
        # read on that session's connection, never on a second one from the pool.
        lists_ctx = (
            ctx
            if ctx.session_factory is None
            else replace(ctx, session_factory=scoped(ctx.session_factory))
        )

        def local(url: str) -> dict[str, Any] | None:
            return local_document(lists_ctx, url)

        built = _Verifier(
            fetcher=fetcher,
            loader=remote_loader(ctx.loader, fetcher),
            status=StatusListFetcher(fetcher, local=local),
        )
        _verifiers[key] = (weakref.ref(ctx), built)
        weakref.finalize(ctx, _forget, key, fetcher)
        return built


def verifier_loader(ctx: ServiceContext) -> DocumentLoader:
    """The loader the service verifies with (shared per context; see the module doc)."""
    return _verifier(ctx).loader


def status_resolver(ctx: ServiceContext) -> StatusResolver:
    """Status lists: ours from the database, others through the shared fetcher."""
    return _verifier(ctx).status


def fetcher(ctx: ServiceContext) -> Fetcher:
    """The one outbound fetcher of this context (for a credential given by URL, say)."""
    return _verifier(ctx).fetcher


#: Our own blobs (deliverables) are named by their SHA-256 under ``<base>/blobs/``.
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def remote_fetch_bytes(fetcher: Fetcher) -> FetchBytes:
    """Fetch a deliverable's bytes through ``fetcher`` (any media type)."""

    def fetch_bytes(url: str, max_bytes: int) -> bytes:
        return fetcher.fetch(url, accept="*/*", max_bytes=max_bytes).body

    return fetch_bytes


def make_fetch_bytes(ctx: ServiceContext, fetcher: Fetcher) -> FetchBytes:
    """Fetch a deliverable: our own blobs from the blob store, others through ``fetcher``."""
    blob_prefix = ctx.base_url + "/blobs/"
    remote = remote_fetch_bytes(fetcher)

    def fetch_bytes(url: str, max_bytes: int) -> bytes:
        if url.startswith(blob_prefix):
            digest = url[len(blob_prefix) :]
            if _SHA256.match(digest) and ctx.blobs.exists(digest):
                if ctx.blobs.size(digest) > max_bytes:
                    raise InputError("the file is too large to check", code="fetch.too_large")
                with ctx.blobs.open(digest) as handle:
                    return handle.read()
        return remote(url, max_bytes)

    return fetch_bytes


def hosted_known(ctx: ServiceContext) -> dict[str, KnownIssuer]:
    """The issuers this service hosts, with the names we hold for them."""
    if ctx.session_factory is None:
        return {}
    # ``scoped``: inside ``resolver.reading_with`` this reads on the caller's connection.
    with scoped(ctx.session_factory)() as session:
        rows = session.exec(select(Issuer.did, Issuer.name, Issuer.url)).all()
    return {did: KnownIssuer(did, name, url, "hosted") for did, name, url in rows}


def capabilities(ctx: ServiceContext, known: Mapping[str, KnownIssuer]) -> Capabilities:
    """The service's capabilities: its loader, status lists, blobs and fetcher (shared)."""
    return Capabilities(
        loader=verifier_loader(ctx),
        status_resolver=status_resolver(ctx),
        schemas=schema_documents(),
        known=known,
        fetch_bytes=make_fetch_bytes(ctx, fetcher(ctx)),
        max_deliverable_bytes=ctx.settings.verify_max_deliverable_bytes,
        max_proofs=ctx.settings.verify_max_proofs,
    )


def verify(
    ctx: ServiceContext,
    document: Any,
    *,
    known: Mapping[str, KnownIssuer] | None = None,
    email: str | None = None,
    now: datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> Verification:
    """The one pipeline (``core.checks.verify_credential``) with the service's capabilities.

    ``known`` defaults to the issuers this service hosts; the public verifier and the
    VC-API pass those plus the trust registry's (``services.verifier.known_issuers``).
    Never raises.
    """
    try:
        caps = capabilities(ctx, hosted_known(ctx) if known is None else known)
    except Exception as exc:  # never raise: building the verifier itself could fail
        # Reading the hosted issuers failed (the database): nothing was checked, so the
        # credential could not be verified right now; that is not a failed check.
        report = Report(
            [
                Check(
                    "internal",
                    "indeterminate",
                    "internal.unavailable",
                    "The credential could not be checked right now, because this service "
                    f"could not read its own records ({type(exc).__name__}); try again later.",
                )
            ]
        )
        return Verification(report, document if isinstance(document, dict) else None)
    with request_budget(lambda: fetch_budget(ctx.settings)) as budget:
        result = verify_with(
            document, caps, now=now or ctx.clock(), email=email, challenge=challenge, domain=domain
        )
    return replace(result, report=budget_skipped(result.report, budget))


def fetch_budget(settings: Settings) -> FetchBudget:
    """A new budget for one verification request (docs/fetching.md, "Budgets")."""
    return FetchBudget(
        max_fetches=settings.fetch_request_max_fetches,
        max_bytes=settings.fetch_request_max_bytes,
        seconds=settings.fetch_request_deadline,
    )


def verify_credential(
    ctx: ServiceContext,
    document: Any,
    *,
    now: datetime | None = None,
    known: Mapping[str, KnownIssuer] | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> Report:
    """``verify(…).report``: a credential object or a compact VC-JWT string; never raises."""
    return verify(ctx, document, known=known, now=now, challenge=challenge, domain=domain).report


@contextmanager
def standalone(
    settings: Settings | None,
    *,
    status_lists: Mapping[str, dict[str, Any]],
    known: Mapping[str, KnownIssuer],
) -> Iterator[Capabilities]:
    """Capabilities without a service (the CLI): offline, or online with ``settings``.

    Offline (``settings`` None): bundled contexts and ``did:key`` only, the given status
    list credentials (by id) and no deliverable fetching. Online: the same SSRF-safe
    ``Fetcher`` the service uses, built from ``settings`` (``fetch_allow_private``,
    timeout, size cap), for did:web documents, HTTPS keys, status lists the caller did
    not give, and deliverables.
    """
    lists = dict(status_lists)

    def given(url: str) -> dict[str, Any] | None:
        return lists.get(url)

    def offline_status(url: str) -> dict[str, Any]:
        found = given(url)
        if found is None:
            # Offline, a list the caller did not supply is "not checked", not a failure.
            raise StatusError(
                f"no status list was given with the id {url}", code="status.not_checked"
            )
        return found

    base = default_loader()
    if settings is None:
        yield Capabilities(
            loader=base,
            status_resolver=offline_status if lists else None,
            schemas=schema_documents(),
            known=known,
        )
        return
    with Fetcher(
        allow_private=settings.fetch_allow_private,
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
    ) as outbound:
        yield Capabilities(
            loader=remote_loader(base, outbound),
            status_resolver=StatusListFetcher(outbound, local=given),
            schemas=schema_documents(),
            known=known,
            fetch_bytes=remote_fetch_bytes(outbound),
            max_deliverable_bytes=settings.verify_max_deliverable_bytes,
        )


#: The most credentials the public verifier checks in one presentation (each runs the
#: whole pipeline, so this bounds the work one request can cause).
MAX_PRESENTED_CREDENTIALS = 50
#: The most proofs one presentation may carry in all (the holder's and every credential's,
#: endorsements included): about 0.3 s of signature checks.
MAX_PRESENTATION_PROOFS = 200
_ENVELOPED = "EnvelopedVerifiableCredential"
_JWT_DATA_PREFIXES = ("data:application/vc+jwt,", "data:application/jwt,")


def presented_credentials(vp: Mapping[str, Any]) -> list[Any]:
    """The entries of a presentation's ``verifiableCredential`` (a list, maybe empty)."""
    items = vp.get("verifiableCredential")
    if items is None:
        return []
    return list(items) if isinstance(items, list) else [items]


def _presented_document(item: Any) -> Any:
    """What the pipeline verifies for one entry: the object, or an enveloped VC-JWT."""
    if isinstance(item, Mapping):
        types = item.get("type")
        types = types if isinstance(types, list) else [types]
        ref = item.get("id")
        if _ENVELOPED in types and isinstance(ref, str):
            for prefix in _JWT_DATA_PREFIXES:
                if ref.startswith(prefix):
                    return unquote(ref[len(prefix) :])
    return item


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
    when = now or ctx.clock()
    try:
        known = hosted_known(ctx) if known is None else known
    except Exception:  # the per-credential pipeline reports the internal error itself
        known = {}
    # Every proof costs a canonicalization and a signature check: refuse a pile of them
    # (the holder's and all credentials' together) before any is checked.
    limit = min(ctx.settings.verify_max_proofs * MAX_PRESENTED_CREDENTIALS, MAX_PRESENTATION_PROOFS)
    total = count_proofs(vp, stop_after=limit)
    if total > limit:
        return PresentationVerification(
            Report([too_many_proofs(total, limit, "presentation")]), "proof" in vp, [], []
        )
    # One fetch budget for the whole presentation: its credentials share it.
    with request_budget(lambda: fetch_budget(ctx.settings)) as budget:
        # The presentation's own checks only: each credential goes through ``verify``
        # below (checking them here too would verify every credential twice).
        result = core_verify_presentation(
            vp,
            loader=verifier_loader(ctx),
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
