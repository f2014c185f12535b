"""Serve the DID documents of the issuers (and endorsers) this service hosts, from the DB.

Our own verifier (and issuance self-checks) resolve our issuers' ``did:web`` DIDs through
this resolver instead of over HTTP: no network, no dependency on the service being
reachable at its public URL, and no way for a credential to make us fetch anything.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from badgeworks.adapters.did_web import MULTIKEY_CONTEXT, did_web_id
from badgeworks.core.errors import DidError
from badgeworks.db.engine import SessionFactory
from badgeworks.db.models import Issuer
from badgeworks.settings import Settings


class HostedDidResolver:
    """A loader resolver: our issuers' DID (document) or DID URL (verification method)."""

    def __init__(self, session_factory: SessionFactory, settings: Settings) -> None:
        self._session_factory = session_factory
        # Every hosted DID starts with this prefix; anything else is not ours.
        self._prefix = did_web_id(settings.base_url, "issuers", "x")[: -len("x")]
        # Mentors' and host organisations' DIDs (``:mentors:<id>``, ``:hosts:<id>``).
        from badgeworks.services.mentors import HostedEndorserResolver

        self._endorsers = HostedEndorserResolver(session_factory, settings)

    def __call__(self, url: str) -> dict[str, Any] | None:
        if not isinstance(url, str):
            return None
        if not url.startswith(self._prefix):
            return self._endorsers(url)
        did, _, fragment = url.partition("#")
        slug = did[len(self._prefix) :]
        if not slug or ":" in slug:
            return None
        from badgeworks.services.issuers import did_document_for

        with self._session_factory() as session:
            issuer = session.exec(select(Issuer).where(Issuer.slug == slug)).first()
            if issuer is None or issuer.did != did:
                return None
            document = did_document_for(session, issuer)
        if not fragment:
            return document
        for method in document.get("verificationMethod", []):
            if method.get("id") == url:
                return {"@context": MULTIKEY_CONTEXT, **method}
        raise DidError(
            f"the DID document of {did!r:.160} has no verification method {url!r:.200}",
            code="did.not_found",
        )
