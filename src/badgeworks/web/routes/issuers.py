"""``/api/v1/issuers``: issuer profiles, keys and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from badgeworks.db.models import ApiToken
from badgeworks.services.accounts import tokens
from badgeworks.services.accounts.models import TokenCreate, TokenCreated, TokenPublic
from badgeworks.services.lifecycle import reasons
from badgeworks.services.lifecycle.models import RevocationReasonsPublic, RevocationReasonsUpdate
from badgeworks.services.programs import issuers
from badgeworks.services.programs.images import store_image
from badgeworks.services.programs.models import IssuerCreate, IssuerPublic, IssuerUpdate, KeyPublic
from badgeworks.web.body import read_upload
from badgeworks.web.deps import (
    AdminDep,
    ContextDep,
    Id,
    ImageCaption,
    ImageFile,
    NoBody,
    PageDep,
    PrincipalDep,
    SessionDep,
)
from badgeworks.web.pagination import send_page

router = APIRouter(prefix="/api/v1/issuers", tags=["issuers"])


@router.get("", response_model=list[IssuerPublic])
def list_issuers(paging: PageDep, session: SessionDep, ctx: ContextDep) -> list[IssuerPublic]:
    """Every issuer's public profile (no token needed)."""
    page = issuers.page_of_issuers(session, **paging.window)
    return [issuers.to_public(session, ctx, i) for i in send_page(paging, page)]


@router.post("", response_model=IssuerPublic, status_code=201)
def create_issuer(
    data: IssuerCreate,
    session: SessionDep,
    ctx: ContextDep,
    _admin: Annotated[None, AdminDep],
) -> IssuerPublic:
    """Create an issuer (needs the operator's admin token, ``BADGEWORKS_ADMIN_TOKEN``;
    wrong tokens are rate limited per client address)."""
    issuer = issuers.create_issuer(session, ctx, data, actor="admin")
    return issuers.to_public(session, ctx, issuer)


@router.get("/{slug}", response_model=IssuerPublic)
def get_issuer(slug: str, session: SessionDep, ctx: ContextDep) -> IssuerPublic:
    """One issuer's public profile."""
    return issuers.to_public(session, ctx, issuers.get_issuer(session, slug))


@router.patch("/{slug}", response_model=IssuerPublic)
def update_issuer(
    slug: str, data: IssuerUpdate, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> IssuerPublic:
    """Edit the issuer's profile (credentials already issued keep what they say)."""
    issuer = issuers.update_issuer(
        session, who.issuer_for(slug), data, actor=who.actor, now=ctx.clock()
    )
    return issuers.to_public(session, ctx, issuer)


@router.put("/{slug}/image", response_model=IssuerPublic)
def set_issuer_image(
    slug: str,
    file: ImageFile,
    caption: ImageCaption,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> IssuerPublic:
    """Upload the issuer's image (PNG or SVG) with its alt text."""
    issuer = who.issuer_for(slug)
    sha256, _ = store_image(ctx, read_upload(file, ctx.settings.max_upload_bytes))
    issuer = issuers.set_image(session, issuer, sha256, caption, actor=who.actor, now=ctx.clock())
    return issuers.to_public(session, ctx, issuer)


@router.post("/{slug}/keys", response_model=KeyPublic, status_code=201, dependencies=[NoBody])
def rotate_key(slug: str, session: SessionDep, ctx: ContextDep, who: PrincipalDep) -> KeyPublic:
    """Rotate the signing key: a new key signs from now on, old ones stay published."""
    key = issuers.rotate_key(session, ctx, who.issuer_for(slug), actor=who.actor)
    return KeyPublic(
        id=key.vm_id,
        public_key_multibase=key.public_key_multibase,
        created_at=key.created_at,
        retired_at=key.retired_at,
    )


@router.get("/{slug}/revocation-reasons", response_model=RevocationReasonsPublic)
def get_revocation_reasons(slug: str, who: PrincipalDep) -> RevocationReasonsPublic:
    """The issuer's revocation reason codes and the revocation entry new credentials get."""
    return RevocationReasonsPublic(**reasons.of(who.issuer_for(slug)).as_dict())


@router.put("/{slug}/revocation-reasons", response_model=RevocationReasonsPublic)
def set_revocation_reasons(
    slug: str,
    data: RevocationReasonsUpdate,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> RevocationReasonsPublic:
    """Define the issuer's revocation reasons (codes 2 to 15, each with a public message of
    at most 100 characters; an empty list removes them). Credentials issued from now on
    carry a revocation entry listing them; those already issued keep theirs."""
    listed = reasons.define(
        session,
        who.issuer_for(slug),
        [r.model_dump() for r in data.reasons],
        data.reference,
        actor=who.actor,
        now=ctx.clock(),
    )
    return RevocationReasonsPublic(**listed.as_dict())


def _token_public(slug: str, row: ApiToken) -> TokenPublic:
    return TokenPublic(
        id=row.id or 0,
        issuer=slug,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


@router.get("/{slug}/tokens", response_model=list[TokenPublic])
def list_tokens(slug: str, session: SessionDep, who: PrincipalDep) -> list[TokenPublic]:
    """The issuer's tokens (never the tokens themselves)."""
    issuer = who.issuer_for(slug)
    return [_token_public(slug, t) for t in tokens.list_tokens(session, issuer)]


@router.post("/{slug}/tokens", response_model=TokenCreated, status_code=201)
def create_token(
    slug: str, data: TokenCreate, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> TokenCreated:
    """Create another token for the same issuer; the response shows it once."""
    row, token = tokens.create_token(
        session, who.issuer_for(slug), label=data.label, actor=who.actor, now=ctx.clock()
    )
    return TokenCreated(**_token_public(slug, row).model_dump(), token=token)


@router.delete("/{slug}/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(
    slug: str, token_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> TokenPublic:
    """Revoke one of the issuer's tokens (it stops working at once)."""
    row = tokens.revoke_token(
        session, who.issuer_for(slug), token_id, actor=who.actor, now=ctx.clock()
    )
    return _token_public(slug, row)
