"""What the service verifies with: its loader, status lists, deliverable fetching and known issuers.

A ``ServiceContext`` holds one ``Verifier`` (built on first use by ``service_verifier``), so
the fetcher's short cache and connection pool serve every request of that context. The
CLI builds its own with ``standalone``. Nothing here runs a check: the entry point
(``services.verification.pipeline.verify``) turns a ``Verifier`` into the core's
``Capabilities`` for the reach it was asked for.

- The loader: the bundled contexts, the issuers we host (from the database, through
  ``ctx.loader``'s ``HostedDidResolver``), ``did:key`` offline, and other services'
  ``did:web`` documents and HTTPS keys through one shared ``Fetcher`` built from the
  settings (address checks, timeout, size cap; docs/fetching.md). Contexts are never
  fetched.
- Status lists: ours straight from the database (no network hop), kept in memory while
  the database's ``hosted_version`` stays the same (``services.verification.hosted``: a
  revocation shows at once), others through the same fetcher; each list version's proof
  is checked once.
- The hosted issuers: read once per ``hosted_version``, like our lists.
- Deliverables for the digest checks: our own blobs from the blob store, others through
  the same fetcher.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import literal, union_all
from sqlmodel import Session, select

from badgeworks.adapters.blobstore import Blobs, open_blob_store
from badgeworks.adapters.fetcher import FetchBudget, Fetcher
from badgeworks.adapters.remote import StatusListFetcher, remote_loader
from badgeworks.adapters.resources import default_loader, schema_documents
from badgeworks.core.errors import InputError, StatusError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.checks import DEFAULT_MAX_PROOFS, FetchBytes, KnownIssuer
from badgeworks.core.verification.status import RememberingResolver, StatusResolver
from badgeworks.db.endorsements import Endorser
from badgeworks.db.engine import SessionFactory, read_only_sessions
from badgeworks.db.models import Issuer
from badgeworks.services.infra import metrics
from badgeworks.services.infra.shared_cache import fetch_cache_for
from badgeworks.services.verification.hosted import cached
from badgeworks.services.verification.resolver import scoped
from badgeworks.settings import Settings

if TYPE_CHECKING:
    from badgeworks.services.context import ServiceContext

#: Our own blobs (deliverables) are named by their SHA-256 under ``<base>/blobs/``.
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Verifier:
    """Everything verification may use besides the document and the clock.

    ``offline_loader`` serves bundled contexts, ``did:key`` and the DIDs we host;
    ``loader`` adds ``did:web`` and HTTPS keys through ``fetcher`` (the same loader when
    there is no fetcher). ``hosted`` lists the issuers known without a trust registry;
    ``budget`` makes one request's ``FetchBudget`` (None: no per-request budget).
    """

    offline_loader: DocumentLoader
    loader: DocumentLoader
    status_resolver: StatusResolver | None
    fetch_bytes: FetchBytes | None
    schemas: Mapping[str, Any] | None
    hosted: Callable[[], dict[str, KnownIssuer]]
    fetcher: Fetcher | None = None
    budget: Callable[[], FetchBudget] | None = None
    max_deliverable_bytes: int = 25 * 1024 * 1024
    max_proofs: int = DEFAULT_MAX_PROOFS


def fetch_budget(settings: Settings) -> FetchBudget:
    """A new budget for one verification request (docs/fetching.md, "Budgets")."""
    return FetchBudget(
        max_fetches=settings.fetch_request_max_fetches,
        max_bytes=settings.fetch_request_max_bytes,
        seconds=settings.fetch_request_deadline,
    )


def remote_fetch_bytes(fetcher: Fetcher) -> FetchBytes:
    """Fetch a deliverable's bytes through ``fetcher`` (any media type)."""

    def fetch_bytes(url: str, max_bytes: int) -> bytes:
        return fetcher.fetch(url, accept="*/*", max_bytes=max_bytes).body

    return fetch_bytes


def blob_fetch_bytes(blobs: Blobs, base_url: str, fetcher: Fetcher) -> FetchBytes:
    """Fetch a deliverable: our own blobs from the blob store, others through ``fetcher``."""
    blob_prefix = base_url + "/blobs/"
    remote = remote_fetch_bytes(fetcher)

    def fetch_bytes(url: str, max_bytes: int) -> bytes:
        if url.startswith(blob_prefix):
            digest = url[len(blob_prefix) :]
            if _SHA256.match(digest) and blobs.exists(digest):
                if blobs.size(digest) > max_bytes:
                    raise InputError("the file is too large to check", code="fetch.too_large")
                with blobs.open(digest) as handle:
                    return handle.read()
        return remote(url, max_bytes)

    return fetch_bytes


def read_hosted_issuers(session: Session) -> dict[str, KnownIssuer]:
    """Every issuer this service hosts, by DID, read now through ``session``: the programs,
    and the mentors and host organisations whose did:web we host and whose key we hold
    (they issue endorsements; one with their own DID is not ours to vouch for)."""
    # One statement for both (a verification after a change reads this once).
    endorsers = select(
        Endorser.did, Endorser.name, Endorser.organization_url, literal(1).label("rank")
    ).where(Endorser.key_custody == "service")
    programs = select(Issuer.did, Issuer.name, Issuer.url, literal(2).label("rank"))
    rows = session.execute(union_all(endorsers, programs)).all()
    known: dict[str, KnownIssuer] = {}
    # A program's own name wins over anything else under the same DID.
    for did, name, url, _ in sorted(rows, key=lambda row: int(row[3])):
        known[did] = KnownIssuer(did, name, url, "hosted")
    return known


def hosted_issuers(session_factory: SessionFactory | None) -> Callable[[], dict[str, KnownIssuer]]:
    """The issuers this service hosts, with the names we hold for them.

    Read from the database once per ``hosted_version`` (``services.verification.hosted``)
    and shared: callers must not change the dict they get.
    """
    reader = scoped(read_only_sessions(session_factory)) if session_factory is not None else None

    def read() -> dict[str, KnownIssuer]:
        assert reader is not None
        # ``scoped``: inside ``resolver.reading_with`` this reads on the caller's connection.
        with reader() as session:
            return read_hosted_issuers(session)

    def hosted() -> dict[str, KnownIssuer]:
        if reader is None:
            return {}
        return cached("hosted-issuers", read)

    return hosted


def hosted_status_lists(ctx: ServiceContext) -> Callable[[str], dict[str, Any] | None]:
    """Our own status list credentials (``status_lists.local_document``), read from the
    database once per ``hosted_version``; each call gets its own copy."""
    from badgeworks.services.lifecycle.status_lists import local_document

    # Inside ``resolver.reading_with`` (a page holding a session) our own lists are read
    # on that session's connection, never on a second one from the pool.
    lists_ctx = (
        ctx
        if ctx.session_factory is None
        else replace(ctx, session_factory=scoped(read_only_sessions(ctx.session_factory)))
    )

    def read(url: str) -> str | None:
        document = local_document(lists_ctx, url)
        return None if document is None else json.dumps(document)

    def local(url: str) -> dict[str, Any] | None:
        if not isinstance(url, str) or not url.startswith(ctx.base_url + "/"):
            return None
        text = cached(("status-list", url), lambda: read(url))
        if text is None:
            return None
        document: dict[str, Any] = json.loads(text)
        return document

    return local


def service_verifier(ctx: ServiceContext) -> Verifier:
    """The verifier of a service context (``ServiceContext.verifier`` builds it once).

    Status lists, ours and others', have their proofs checked once per version of the
    list (``core.verification.status.RememberingResolver``).
    """
    settings = ctx.settings
    fetcher = Fetcher(
        allow_private=settings.fetch_allow_private,
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        observe=metrics.observe_fetch,
        shared=fetch_cache_for(
            settings.redis_url.get_secret_value() if settings.redis_url else None,
            max_bytes=settings.fetch_max_bytes,
        ),
    )
    lists = StatusListFetcher(fetcher, local=hosted_status_lists(ctx))
    return Verifier(
        offline_loader=ctx.loader,
        loader=remote_loader(ctx.loader, fetcher),
        status_resolver=RememberingResolver(lists),
        fetch_bytes=blob_fetch_bytes(ctx.blobs, ctx.base_url, fetcher),
        schemas=schema_documents(),
        hosted=hosted_issuers(ctx.session_factory),
        fetcher=fetcher,
        budget=lambda: fetch_budget(settings),
        max_deliverable_bytes=settings.verify_max_deliverable_bytes,
        max_proofs=settings.verify_max_proofs,
    )


@contextmanager
def standalone(
    settings: Settings | None,
    *,
    status_lists: Mapping[str, dict[str, Any]],
    known: Mapping[str, KnownIssuer],
) -> Iterator[ServiceContext]:
    """A context to verify with, without a service (the CLI): offline, or online with
    ``settings``; it has no database and no blobs of its own.

    Offline (``settings`` None): bundled contexts and ``did:key`` only, the given status
    list credentials (by id) and no deliverable fetching. Online: the same SSRF-safe
    ``Fetcher`` the service uses, built from ``settings`` (``fetch_allow_private``,
    timeout, size cap), for did:web documents, HTTPS keys, status lists the caller did
    not give, and deliverables. ``known`` is the whole registry of known issuers.
    """
    lists = dict(status_lists)
    registry = dict(known)

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
        yield _context(
            Settings.model_construct(),
            base,
            Verifier(
                offline_loader=base,
                loader=base,
                status_resolver=offline_status if lists else None,
                fetch_bytes=None,
                schemas=schema_documents(),
                hosted=lambda: dict(registry),
            ),
        )
        return
    with Fetcher(
        allow_private=settings.fetch_allow_private,
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
    ) as outbound:
        yield _context(
            settings,
            base,
            Verifier(
                offline_loader=base,
                loader=remote_loader(base, outbound),
                status_resolver=StatusListFetcher(outbound, local=given),
                fetch_bytes=remote_fetch_bytes(outbound),
                schemas=schema_documents(),
                hosted=lambda: dict(registry),
                fetcher=outbound,
                max_deliverable_bytes=settings.verify_max_deliverable_bytes,
            ),
        )


def _context(settings: Settings, loader: DocumentLoader, verifier: Verifier) -> ServiceContext:
    from badgeworks.services.context import ServiceContext

    ctx = ServiceContext(settings=settings, blobs=open_blob_store(settings), loader=loader)
    ctx.verifier = verifier
    return ctx
