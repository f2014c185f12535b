"""Issuers and their signing identities (did:web by default, did:key on request).

A did:web issuer's DID is ``did:web:<host%3Aport>:issuers:<slug>`` under the public base
URL; its DID document (served at ``/issuers/<slug>/did.json``) lists every key the issuer
ever had, so credentials signed before a rotation keep verifying. The issuer Profile's
``id`` is the DID, which makes the proof's verification method controller equal to the
credential's issuer id, as OB 3.0 "Key provenance" asks.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.adapters.did_web import did_document, did_web_id
from badgeworks.adapters.keystore import decrypt_seed_with, encrypt_seed, is_example_key
from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.cryptosuites import SIGNING_CRYPTOSUITES
from badgeworks.core.errors import ConfigError
from badgeworks.db.models import Issuer, IssuerKey
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError, ValidationFailed
from badgeworks.services.infra import audit, pagination
from badgeworks.services.infra.pagination import Page
from badgeworks.services.programs.models import IssuerCreate, IssuerPublic, IssuerUpdate, KeyPublic

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def check_cryptosuite(name: object) -> str:
    """``name`` if this service can sign with it, else ``ValidationFailed``
    (``issuer.cryptosuite_unsupported``, 422) naming the choices."""
    if isinstance(name, str) and name in SIGNING_CRYPTOSUITES:
        return name
    shown = "null" if name is None else f"{str(name)[:64]!r}"
    raise ValidationFailed(
        f"cryptosuite: {shown} is not a cryptosuite this service signs with; choose "
        + " or ".join(repr(n) for n in SIGNING_CRYPTOSUITES),
        code="issuer.cryptosuite_unsupported",
    )


def did_for_slug(ctx: ServiceContext, slug: str) -> str:
    """The did:web DID of the issuer ``slug`` hosted by this service."""
    return did_web_id(ctx.base_url, "issuers", slug)


def _new_key(ctx: ServiceContext, issuer: Issuer, number: int) -> tuple[IssuerKey, str]:
    """A fresh key row for ``issuer`` (and, for did:key, the DID it implies)."""
    if issuer.did_method == "key":
        pair = Ed25519KeyPair.generate()
        did, vm_id = pair.controller, pair.id
    else:
        did = issuer.did
        pair = Ed25519KeyPair.generate(controller=did, key_id=f"{did}#key-{number}")
        vm_id = pair.id
    assert pair.secret_seed is not None
    row = IssuerKey(
        issuer_id=issuer.id or 0,
        number=number,
        vm_id=vm_id,
        public_key_multibase=pair.public_key_multibase,
        encrypted_secret=encrypt_seed(pair.secret_seed, ctx.key_secret),
        created_at=ctx.clock(),
    )
    return row, did


def create_issuer(
    session: Session, ctx: ServiceContext, data: IssuerCreate, *, actor: str
) -> Issuer:
    """Create an issuer with its first key; ``ConflictError`` if the slug is taken."""
    ctx.key_secret  # noqa: B018  (fail before writing anything if we could not sign)
    cryptosuite = check_cryptosuite(data.cryptosuite)
    if session.exec(select(Issuer).where(Issuer.slug == data.slug)).first() is not None:
        raise ConflictError(f"the issuer slug {data.slug!r} is taken", code="issuer.slug_taken")
    placeholder = did_for_slug(ctx, data.slug)
    issuer = Issuer(
        slug=data.slug,
        name=data.name,
        url=data.url,
        email=data.email,
        description=data.description,
        did_method=data.did_method,
        did=placeholder,
        cryptosuite=cryptosuite,
        name_in_credentials=data.name_in_credentials,
        created_at=ctx.clock(),
    )
    try:
        session.add(issuer)
        session.flush()
        key, did = _new_key(ctx, issuer, 1)
        issuer.did = did
        session.add(key)
        audit.commit(
            session,
            actor=actor,
            action="issuer.create",
            issuer_id=issuer.id,
            target=data.slug,
            detail={"did": did, "key": key.vm_id},
            now=ctx.clock(),
            refresh=[issuer],
        )
    except IntegrityError:
        session.rollback()
        raise ConflictError(
            f"the issuer slug {data.slug!r} is taken", code="issuer.slug_taken"
        ) from None
    return issuer


def get_issuer(session: Session, slug: str) -> Issuer:
    """The issuer ``slug``; ``NotFoundError`` if there is none."""
    if not _SLUG.match(slug):
        raise NotFoundError(f"there is no issuer {slug!r:.80}", code="issuer.not_found")
    issuer = session.exec(select(Issuer).where(Issuer.slug == slug)).first()
    if issuer is None:
        raise NotFoundError(f"there is no issuer {slug!r:.80}", code="issuer.not_found")
    return issuer


def get_issuer_by_id(session: Session, issuer_id: int) -> Issuer:
    """The issuer with database id ``issuer_id``."""
    issuer = session.get(Issuer, issuer_id)
    if issuer is None:
        raise NotFoundError(f"there is no issuer {issuer_id}", code="issuer.not_found")
    return issuer


def _listed() -> SelectOfScalar[Issuer]:
    """Issuers by slug: the one query their list and its total read."""
    return select(Issuer).order_by(col(Issuer.slug))


def list_issuers(session: Session, *, limit: int = 100, offset: int = 0) -> list[Issuer]:
    """Issuers by slug."""
    return list(session.exec(_listed().offset(offset).limit(limit)))


def page_of_issuers(session: Session, *, limit: int, offset: int) -> Page[Issuer]:
    """One page of the issuers, and how many there are."""
    return pagination.page(session, _listed(), limit=limit, offset=offset)


def update_issuer(
    session: Session, issuer: Issuer, data: IssuerUpdate, *, actor: str, now: datetime
) -> Issuer:
    """Change an issuer's profile fields (credentials already issued keep the old ones)."""
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        # The column is required: null cannot mean "remove" here.
        raise ValidationFailed(
            "name: must not be null; send a name, or leave the field out to keep the current one",
            code="issuer.name_required",
        )
    if "name_in_credentials" in changes and changes["name_in_credentials"] is None:
        raise ValidationFailed(
            "name_in_credentials: must be true or false; leave the field out to keep the "
            "current choice",
            code="issuer.name_in_credentials_required",
        )
    if "cryptosuite" in changes:
        # Only what is signed from now on changes: stored credentials keep their proofs.
        changes["cryptosuite"] = check_cryptosuite(changes["cryptosuite"])
    for name, value in changes.items():
        setattr(issuer, name, value)
    session.add(issuer)
    audit.commit(
        session,
        actor=actor,
        action="issuer.update",
        issuer_id=issuer.id,
        target=issuer.slug,
        detail={"fields": sorted(changes)},
        now=now,
        refresh=[issuer],
    )
    return issuer


def set_image(
    session: Session, issuer: Issuer, sha256: str, caption: str, *, actor: str, now: datetime
) -> Issuer:
    """Point the issuer's image at a stored blob."""
    issuer.image_sha256 = sha256
    issuer.image_caption = caption
    session.add(issuer)
    audit.commit(
        session,
        actor=actor,
        action="issuer.image",
        issuer_id=issuer.id,
        target=issuer.slug,
        now=now,
        refresh=[issuer],
    )
    return issuer


def keys(session: Session, issuer: Issuer) -> list[IssuerKey]:
    """Every key the issuer ever had, oldest first."""
    stmt = select(IssuerKey).where(IssuerKey.issuer_id == issuer.id).order_by(col(IssuerKey.number))
    return list(session.exec(stmt))


def rotate_key(session: Session, ctx: ServiceContext, issuer: Issuer, *, actor: str) -> IssuerKey:
    """Add a new key that signs from now on; older keys stay published, marked retired."""
    if issuer.did_method != "web":
        raise ConflictError(
            "a did:key issuer's DID is its key, so it cannot rotate keys; create a new "
            "issuer or use did:web",
            code="key.rotation_unsupported",
        )
    existing = keys(session, issuer)
    number = (existing[-1].number if existing else 0) + 1
    now = ctx.clock()
    for old in existing:
        if old.retired_at is None:
            old.retired_at = now
            session.add(old)
    key, _ = _new_key(ctx, issuer, number)
    session.add(key)
    audit.commit(
        session,
        actor=actor,
        action="key.rotate",
        issuer_id=issuer.id,
        target=key.vm_id,
        detail={"number": number},
        now=now,
        refresh=[key],
        conflict=ConflictError(
            "another key rotation happened at the same time; try again", code="key.rotation_race"
        ),
    )
    return key


def signing_key(session: Session, ctx: ServiceContext, issuer: Issuer) -> Ed25519KeyPair:
    """The issuer's current key with its secret, decrypted with the key secret.

    Refuses a key published in ``keys.example/`` (``config.example_key``).
    """
    stmt = (
        select(IssuerKey)
        .where(IssuerKey.issuer_id == issuer.id, col(IssuerKey.retired_at).is_(None))
        .order_by(col(IssuerKey.number).desc())
    )
    row = session.exec(stmt).first()
    if row is None:
        raise ConfigError(f"the issuer {issuer.slug!r} has no active key", code="key.missing")
    if is_example_key(row.public_key_multibase):
        raise ConfigError(
            f"the issuer {issuer.slug!r} holds an example key from keys.example/; rotate it",
            code="config.example_key",
        )
    secrets = ctx.key_secrets
    controller = issuer.did

    def build() -> Ed25519KeyPair:
        seed = decrypt_seed_with(row.encrypted_secret, secrets)
        pair = Ed25519KeyPair.from_multibase(
            row.public_key_multibase, None, controller=controller, key_id=row.vm_id
        )
        return Ed25519KeyPair(
            public_key=pair.public_key, secret_seed=seed, controller=controller, id=row.vm_id
        )

    # Kept by the row and its ciphertext: a key row replaced or re-encrypted is decrypted
    # again, never served from memory.
    ciphertext = hashlib.sha256(row.encrypted_secret.encode("utf-8")).hexdigest()
    return ctx.cached_key(("issuer_key", row.id, ciphertext), build)


def public_did_document(session: Session, slug: str) -> dict[str, Any]:
    """The did:web DID document of the issuer ``slug`` (every key, rotated ones too);
    ``NotFoundError`` for an unknown issuer or one that uses did:key."""
    issuer = get_issuer(session, slug)
    if issuer.did_method != "web":
        raise NotFoundError(f"the issuer {slug!r} uses did:key; it has no did:web document")
    return did_document_for(session, issuer)


def did_document_for(session: Session, issuer: Issuer) -> dict[str, Any]:
    """The issuer's DID document, listing every key (rotated ones included)."""
    methods = [(k.vm_id, k.public_key_multibase) for k in keys(session, issuer)]
    if issuer.did_method == "key":
        from badgeworks.core import did_key

        document: dict[str, Any] = did_key.resolve(issuer.did)
        return document
    return did_document(issuer.did, methods)


def image_url(ctx: ServiceContext, sha256: str | None) -> str | None:
    """The public URL of a stored blob."""
    return f"{ctx.base_url}/blobs/{sha256}" if sha256 else None


def profile(ctx: ServiceContext, issuer: Issuer) -> dict[str, Any]:
    """The issuer's OB 3.0 Profile as it goes into a credential (``id`` = the DID)."""
    url = image_url(ctx, issuer.image_sha256)
    return ob.profile(
        id=issuer.did,
        name=issuer.name,
        url=issuer.url,
        email=issuer.email,
        description=issuer.description,
        image=ob.image(id=url, caption=issuer.image_caption) if url else None,
    )


def to_public(session: Session, ctx: ServiceContext, issuer: Issuer) -> IssuerPublic:
    """The API view of an issuer (public keys only; secrets never leave the service)."""
    return IssuerPublic(
        slug=issuer.slug,
        name=issuer.name,
        url=issuer.url,
        email=issuer.email,
        description=issuer.description,
        did=issuer.did,
        did_method=issuer.did_method,
        cryptosuite=issuer.cryptosuite,
        name_in_credentials=issuer.name_in_credentials,
        did_document_url=(
            f"{ctx.base_url}/issuers/{issuer.slug}/did.json" if issuer.did_method == "web" else None
        ),
        image_url=image_url(ctx, issuer.image_sha256),
        keys=[
            KeyPublic(
                id=k.vm_id,
                public_key_multibase=k.public_key_multibase,
                created_at=k.created_at,
                retired_at=k.retired_at,
            )
            for k in keys(session, issuer)
        ],
        created_at=issuer.created_at,
    )


def example_key_holders(session: Session) -> list[str]:
    """Slugs of issuers whose current key is a published example key (start-up check)."""
    stmt = select(Issuer, IssuerKey).where(
        IssuerKey.issuer_id == Issuer.id, col(IssuerKey.retired_at).is_(None)
    )
    return sorted(
        {
            issuer.slug
            for issuer, key in session.exec(stmt)
            if is_example_key(key.public_key_multibase)
        }
    )
