"""Serve the DID documents of the issuers (and endorsers) this service hosts, from the DB.

Our own verifier (and issuance self-checks) resolve our issuers' ``did:web`` DIDs through
this resolver instead of over HTTP: no network, no dependency on the service being
reachable at its public URL, and no way for a credential to make us fetch anything.

A request that already holds a database session (a portfolio or credential page) runs
its verification inside ``reading_with(session)``: the resolver then reads through that
session's connection instead of checking a second one out of the pool. A request never
waits for a second pooled connection while holding one, so a crowd of such requests
cannot deadlock the pool. A database that fails or times out is ``did.unavailable``
(the check could not run), never a failed signature. Within a verification the documents
are kept in memory while the database's ``hosted_version`` stays the same
(``services.verification.hosted``), so a key rotation shows at once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from badgeworks.adapters.did_web import did_web_id
from badgeworks.core.contexts import MULTIKEY_CONTEXT
from badgeworks.core.errors import DidError
from badgeworks.db.engine import SessionFactory, read_only_sessions
from badgeworks.db.models import Issuer
from badgeworks.settings import Settings

_borrowed: ContextVar[Session | None] = ContextVar("badgeworks_borrowed_session", default=None)


@contextmanager
def reading_with(session: Session) -> Iterator[None]:
    """Hosted look-ups in this block (same thread or task) read through ``session``."""
    token = _borrowed.set(session)
    try:
        yield
    finally:
        _borrowed.reset(token)


def held_session() -> Session | None:
    """The session ``reading_with`` lends to this block, or None."""
    return _borrowed.get()


def scoped(session_factory: SessionFactory) -> SessionFactory:
    """``session_factory``, or inside ``reading_with`` a session on the held connection.

    The borrowed session joins the holder's transaction (SQLAlchemy's default
    ``join_transaction_mode``): closing it neither commits, rolls back nor returns the
    connection, which stays the holder's.
    """

    def open_session() -> Session:
        held = _borrowed.get()
        if held is None:
            return session_factory()
        return Session(bind=held.connection(), expire_on_commit=False)

    return open_session


def document_or_method(document: dict[str, Any], url: str) -> dict[str, Any]:
    """What a hosted DID URL resolves to: the DID document itself, or the verification
    method its ``#fragment`` names (``did.not_found`` if the document has none)."""
    did, _, fragment = url.partition("#")
    if not fragment:
        return document
    for method in document.get("verificationMethod", []):
        if method.get("id") == url:
            return {"@context": MULTIKEY_CONTEXT, **method}
    raise DidError(
        f"the DID document of {did!r:.160} has no verification method {url!r:.200}",
        code="did.not_found",
    )


class HostedDidResolver:
    """A loader resolver: our issuers' DID (document) or DID URL (verification method)."""

    def __init__(self, session_factory: SessionFactory, settings: Settings) -> None:
        # Read-only look-ups: on PostgreSQL in autocommit (nothing to roll back after).
        session_factory = scoped(read_only_sessions(session_factory))
        self._session_factory = session_factory
        # Every hosted DID starts with this prefix; anything else is not ours.
        self._prefix = did_web_id(settings.base_url, "issuers", "x")[: -len("x")]
        # Mentors' and host organisations' DIDs (``:mentors:<id>``, ``:hosts:<id>``).
        from badgeworks.services.endorsements.mentors import HostedEndorserResolver

        self._endorsers = HostedEndorserResolver(session_factory, settings)

    def __call__(self, url: str) -> dict[str, Any] | None:
        try:
            return self._resolve(url)
        except (SQLAlchemyError, OSError) as exc:
            # The database (or its pool) failed us: the key could not be looked up, which
            # says nothing about the credential.
            raise DidError(
                f"the issuer's key could not be read from this service's database right now "
                f"({type(exc).__name__})",
                code="did.unavailable",
            ) from None

    def _resolve(self, url: str) -> dict[str, Any] | None:
        if not isinstance(url, str):
            return None
        if not url.startswith(self._prefix):
            return self._endorsers(url)
        did = url.partition("#")[0]
        slug = did[len(self._prefix) :]
        if not slug or ":" in slug:
            return None
        from badgeworks.services.verification.hosted import cached

        document = cached(("did", did), lambda: self._read(slug, did))
        if document is None:
            return None
        # A copy: the cached document is shared by every verification.
        return document_or_method(copy.deepcopy(document), url)

    def _read(self, slug: str, did: str) -> dict[str, Any] | None:
        from badgeworks.services.programs.issuers import did_document_for

        with self._session_factory() as session:
            issuer = session.exec(select(Issuer).where(Issuer.slug == slug)).first()
            if issuer is None or issuer.did != did:
                return None
            return did_document_for(session, issuer)
