"""The service's one verifier: credentials (JSON or VC-JWT) and presentations.

Every place the service verifies something uses these functions: the VC-API
(``POST /credentials/verify``, ``POST /presentations/verify``), the public verifier pages
and API, and internal checks. They wrap ``badgeworks.core.verify.verify`` and
``badgeworks.core.presentation.verify_presentation`` with the service's collaborators:

- ``verifier_loader(ctx)``: the bundled contexts, the issuers we host (from the database,
  through ``ctx.loader``'s ``HostedDidResolver``), ``did:key`` offline, and other
  services' ``did:web`` documents and HTTPS keys through one shared ``Fetcher`` built from
  the settings (address checks, timeout, size cap; docs/fetching.md). Contexts are never
  fetched.
- ``status_resolver(ctx)``: our own status lists straight from the database (no network
  hop, so a revocation shows at once), others through the same fetcher.

The fetcher, loader and resolver are built once per ``ServiceContext`` and shared, so the
fetcher's short cache and connection pool serve every request.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select

from badgeworks.adapters.fetcher import Fetcher
from badgeworks.adapters.remote import StatusListFetcher, remote_loader
from badgeworks.adapters.resources import schema_documents
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.presentation import verify_presentation as core_verify_presentation
from badgeworks.core.report import Check, Report
from badgeworks.core.status import StatusResolver
from badgeworks.core.vc_jwt import is_compact_jws, verify_vc_jwt
from badgeworks.core.verify import verify
from badgeworks.db.models import Issuer
from badgeworks.services.context import ServiceContext


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
        from badgeworks.services.status_lists import local_document

        def local(url: str) -> dict[str, Any] | None:
            return local_document(ctx, url)

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


def hosted_issuers(ctx: ServiceContext) -> set[str]:
    """The DIDs of the issuers this service hosts (a verifier's "known issuers")."""
    if ctx.session_factory is None:
        return set()
    with ctx.session_factory() as session:
        return set(session.exec(select(Issuer.did)).all())


def _jwt_report(
    ctx: ServiceContext,
    token: str,
    *,
    now: datetime,
    known_issuers: Collection[str],
    schemas: Mapping[str, Any],
) -> Report:
    loader = verifier_loader(ctx)
    credential, jwt_checks = verify_vc_jwt(token, key_resolver=loader.load, now=now)
    if credential is None:
        return Report(jwt_checks)
    report = verify(
        credential,
        loader=loader,
        now=now,
        status_resolver=status_resolver(ctx),
        schemas=schemas,
        known_issuers=known_issuers,
    )
    checks: list[Check] = list(jwt_checks)
    signed_inside = "proof" in credential
    for check in report.checks:
        # The JWT is this credential's proof; without an embedded Data Integrity proof,
        # verify()'s "not signed" findings are about a proof that was never meant to be.
        if not signed_inside and (check.check == "proof" or check.code == "issuer.not_checked"):
            continue
        checks.append(check)
    return Report(checks)


def verify_credential(
    ctx: ServiceContext,
    document: Any,
    *,
    now: datetime | None = None,
    known_issuers: Collection[str] = (),
    challenge: str | None = None,
    domain: str | None = None,
) -> Report:
    """Verify a credential object or a compact VC-JWT string; never raises.

    ``now`` defaults to the context's clock. ``challenge``/``domain`` are checked on the
    credential's proofs when given (VC-API verify options).
    """
    now = now or ctx.clock()
    schemas = schema_documents()
    try:
        if isinstance(document, str) and is_compact_jws(document):
            return _jwt_report(ctx, document, now=now, known_issuers=known_issuers, schemas=schemas)
        return verify(
            document,
            loader=verifier_loader(ctx),
            now=now,
            status_resolver=status_resolver(ctx),
            schemas=schemas,
            known_issuers=known_issuers,
            challenge=challenge,
            domain=domain,
        )
    except Exception as exc:  # never raise: building the verifier itself could fail
        return Report(
            [
                Check(
                    "internal",
                    "fail",
                    "internal.error",
                    "The credential could not be checked because of an internal error "
                    f"({type(exc).__name__}).",
                )
            ]
        )


def verify_presentation(
    ctx: ServiceContext,
    vp: Any,
    *,
    challenge: str | None,
    domain: str | None,
    now: datetime | None = None,
    known_issuers: Collection[str] = (),
) -> dict[str, Any]:
    """Verify a presentation and every credential in it; never raises.

    The result is ``core.presentation.verify_presentation``'s:
    ``{"verified", "presentationResult", "credentialResults", "checks"}``.
    """
    loader = verifier_loader(ctx)
    return core_verify_presentation(
        vp,
        loader=loader,
        now=now or ctx.clock(),
        challenge=challenge,
        domain=domain,
        status_resolver=status_resolver(ctx),
        schemas=schema_documents(),
        known_issuers=known_issuers,
        key_resolver=loader.load,
    )
