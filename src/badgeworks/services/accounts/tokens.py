"""API tokens: 32 random bytes shown once, stored as SHA-256, scoped to one issuer."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from badgeworks.db.models import ApiToken, Issuer
from badgeworks.services.infra import audit, ownership

TOKEN_PREFIX = "bwt_"


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256 hex (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, issuer: Issuer, *, label: str = "", actor: str, now: datetime
) -> tuple[ApiToken, str]:
    """Create a token for ``issuer``; returns the row and the token (never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        issuer_id=issuer.id or 0, label=label, token_hash=hash_token(token), created_at=now
    )
    session.add(row)
    session.flush()
    audit.commit(
        session,
        actor=actor,
        action="token.create",
        issuer_id=issuer.id,
        target=f"token:{row.id}",
        detail={"label": label},
        now=now,
        refresh=[row],
    )
    return row, token


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token row for ``token``, or None if unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    # The lookup is by hash already; compare again in constant time for good measure.
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at:
        return None
    return row


def list_tokens(session: Session, issuer: Issuer) -> list[ApiToken]:
    """The issuer's tokens (hashes are never shown), oldest first."""
    stmt = select(ApiToken).where(ApiToken.issuer_id == issuer.id).order_by(col(ApiToken.id))
    return list(session.exec(stmt))


def revoke_token(
    session: Session, issuer: Issuer, token_id: int, *, actor: str, now: datetime
) -> ApiToken:
    """Revoke one of ``issuer``'s tokens; revoking twice is harmless."""
    missing = f"the issuer {issuer.slug!r} has no token {token_id}"
    row = ownership.issuer_row(session, ApiToken, token_id, issuer.id, "token", missing=missing)
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit.commit(
            session,
            actor=actor,
            action="token.revoke",
            issuer_id=issuer.id,
            target=f"token:{row.id}",
            detail={"label": row.label},
            now=now,
            refresh=[row],
        )
    return row
