"""Endorsers: mentors and host organisations, each with a signing identity of their own.

An endorser either gets a ``did:web`` under this service
(``did:web:<host>:mentors:<id>``, or ``:hosts:<id>`` for a host organisation, served at
``/mentors/<id>/did.json``) with an Ed25519 key the service holds for them, encrypted at
rest like issuers' keys; or brings a ``did:key``/``did:web`` of their own, signs outside
the service and uploads the signed endorsement. Either way the endorsement's ``issuer``
is the endorser's Profile, never the program's: the signature is the endorser's word.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import Field
from sqlmodel import Session, col, select

from badgeworks.adapters.did_web import check_did_web, did_document, did_web_id
from badgeworks.adapters.keystore import decrypt_seed_with, encrypt_seed
from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import ConfigError, DidError
from badgeworks.db.endorsements import Endorser
from badgeworks.db.engine import SessionFactory
from badgeworks.db.models import Issuer
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import NotFoundError
from badgeworks.services.models import Did, Email, HttpUrl, Name, Strict
from badgeworks.services.verification.resolver import document_or_method
from badgeworks.settings import Settings

Kind = Literal["mentor", "host"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

#: The path segment under which each kind of endorser's DID document is served.
PATHS: dict[str, str] = {"mentor": "mentors", "host": "hosts"}


class EndorserIn(Strict):
    """Who is invited: a mentor (person) or a host organisation."""

    kind: Kind = "mentor"
    name: Name
    email: Email | None = None
    title: Name | None = Field(default=None, description="The mentor's job title.")
    organization: Name | None = Field(default=None, description="Their organisation.")
    organization_url: HttpUrl | None = None
    did: Did | None = Field(
        default=None,
        description="The endorser's own did:key or did:web, if they sign outside the "
        "service (they then upload the signed endorsement). Omit it to have the service "
        "hold a key for them under its own did:web.",
    )


def endorser_did(base_url: str, kind: str, endorser_id: str) -> str:
    """The did:web this service gives an endorser."""
    return did_web_id(base_url, PATHS[kind], endorser_id)


def did_document_url(ctx: ServiceContext, endorser: Endorser) -> str | None:
    """Where the endorser's DID document is served, for service-held identities."""
    if endorser.key_custody != "service":
        return None
    return f"{ctx.base_url}/{PATHS[endorser.kind]}/{endorser.id}/did.json"


def _check_own_did(did: str) -> None:
    if not (did.startswith("did:key:z6Mk") or did.startswith("did:web:")):
        raise DidError(
            f"did {did!r:.120} is not a did:key (Ed25519) or did:web; the endorser signs "
            "with it, so verifiers must be able to resolve it",
            code="endorser.did_unsupported",
        )
    if did.startswith("did:web:"):
        # A path segment decoding to "/" or ".." would point verifiers elsewhere on the host.
        check_did_web(did)


def find_or_create(
    session: Session, ctx: ServiceContext, issuer: Issuer, data: EndorserIn
) -> Endorser:
    """The issuer's endorser with this kind and email (and DID choice), or a new one.

    Re-inviting the same mentor keeps their DID, so all their endorsements are signed by
    one identity. Name, title and organisation are refreshed from the latest invite.
    The caller commits.
    """
    if data.did:
        _check_own_did(data.did)
    existing = None
    if data.email:
        stmt = select(Endorser).where(
            Endorser.issuer_id == issuer.id,
            Endorser.kind == data.kind,
            Endorser.email == data.email,
        )
        for row in session.exec(stmt.order_by(col(Endorser.created_at))):
            if (data.did is None and row.key_custody == "service") or row.did == data.did:
                existing = row
                break
    if existing is not None:
        existing.name = data.name
        existing.title = data.title
        existing.organization = data.organization
        existing.organization_url = data.organization_url
        session.add(existing)
        return existing
    endorser_id = str(uuid.uuid4())
    row = Endorser(
        id=endorser_id,
        issuer_id=issuer.id or 0,
        kind=data.kind,
        name=data.name,
        email=data.email,
        title=data.title,
        organization=data.organization,
        organization_url=data.organization_url,
        created_at=ctx.clock(),
        did=data.did or "",
    )
    if data.did:
        row.key_custody = "own"
    else:
        did = endorser_did(ctx.base_url, data.kind, endorser_id)
        pair = Ed25519KeyPair.generate(controller=did, key_id=f"{did}#key-1")
        assert pair.secret_seed is not None
        row.key_custody = "service"
        row.did = did
        row.vm_id = pair.id
        row.public_key_multibase = pair.public_key_multibase
        row.encrypted_secret = encrypt_seed(pair.secret_seed, ctx.key_secret)
    session.add(row)
    return row


def get_endorser(session: Session, kind: str, endorser_id: str) -> Endorser:
    """A service-held endorser identity by kind and id (public: DID documents)."""
    row = session.get(Endorser, endorser_id) if _UUID.match(endorser_id) else None
    if row is None or row.kind != kind or row.key_custody != "service":
        raise NotFoundError(
            f"there is no {kind} {endorser_id!r:.60} with a DID hosted here",
            code="endorser.not_found",
        )
    return row


def did_document_for(endorser: Endorser) -> dict[str, Any]:
    """The endorser's DID document (service-held identities only)."""
    assert endorser.vm_id and endorser.public_key_multibase
    return did_document(endorser.did, [(endorser.vm_id, endorser.public_key_multibase)])


def signing_key(ctx: ServiceContext, endorser: Endorser) -> Ed25519KeyPair:
    """The endorser's key, decrypted with the key secret (service-held identities only)."""
    if endorser.key_custody != "service" or not endorser.encrypted_secret:
        raise ConfigError(
            f"the service holds no key for {endorser.did!r:.120}; they sign themselves",
            code="endorser.no_key",
        )
    secrets = ctx.key_secrets
    vm_id = endorser.vm_id or ""
    encrypted = endorser.encrypted_secret
    public = endorser.public_key_multibase or ""
    did = endorser.did

    def build() -> Ed25519KeyPair:
        seed = decrypt_seed_with(encrypted, secrets)
        pair = Ed25519KeyPair.from_multibase(public, None, controller=did, key_id=vm_id)
        return Ed25519KeyPair(
            public_key=pair.public_key, secret_seed=seed, controller=did, id=vm_id
        )

    return ctx.cached_key(vm_id, build)


def _organization_id(ctx: ServiceContext, endorser: Endorser) -> str:
    # A Profile needs an id: the organisation's URL if known, else a stable URN.
    if endorser.organization_url:
        return endorser.organization_url
    name = (endorser.organization or "").strip().lower()
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.base_url}/organizations/{name}"))


def profile(ctx: ServiceContext, endorser: Endorser) -> dict[str, Any]:
    """The endorser's OB 3.0 Profile: the ``issuer`` of their endorsements.

    A mentor's title goes in ``description`` and their organisation in ``parentOrg``; a
    host organisation is the Profile itself. The email is never published.
    """
    if endorser.kind == "host":
        return ob.profile(
            id=endorser.did,
            name=endorser.name,
            url=endorser.organization_url,
            description=endorser.title,
        )
    parent = (
        ob.profile(
            id=_organization_id(ctx, endorser),
            name=endorser.organization,
            url=endorser.organization_url,
        )
        if endorser.organization
        else None
    )
    return ob.profile(
        id=endorser.did,
        name=endorser.name,
        description=endorser.title,
        parent_org=parent,
    )


def public(ctx: ServiceContext, endorser: Endorser) -> dict[str, Any]:
    """The API view of an endorser (no email: it is the program's business)."""
    return {
        "id": endorser.id,
        "kind": endorser.kind,
        "name": endorser.name,
        "title": endorser.title,
        "organization": endorser.organization,
        "did": endorser.did,
        "key_custody": endorser.key_custody,
        "did_document_url": did_document_url(ctx, endorser),
    }


class HostedEndorserResolver:
    """Loader resolver for the endorsers' did:web DIDs hosted here, read from the DB."""

    def __init__(self, session_factory: SessionFactory, settings: Settings) -> None:
        self._session_factory = session_factory
        self._prefixes = {
            kind: endorser_did(settings.base_url, kind, "x")[: -len("x")] for kind in PATHS
        }

    def __call__(self, url: str) -> dict[str, Any] | None:
        if not isinstance(url, str):
            return None
        for kind, prefix in self._prefixes.items():
            if url.startswith(prefix):
                return self._resolve(kind, prefix, url)
        return None

    def _resolve(self, kind: str, prefix: str, url: str) -> dict[str, Any] | None:
        did = url.partition("#")[0]
        endorser_id = did[len(prefix) :]
        if not _UUID.match(endorser_id):
            return None
        with self._session_factory() as session:
            row = session.get(Endorser, endorser_id)
            if row is None or row.kind != kind or row.key_custody != "service" or row.did != did:
                return None
            document = did_document_for(row)
        return document_or_method(document, url)
