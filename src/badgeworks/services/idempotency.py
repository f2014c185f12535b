"""``Idempotency-Key``: a retried request gets the first response instead of a second effect.

Keys are scoped to the issuer (the token's), and bound to the request: reusing a key for
a different request is a 422, not a silent replay of an unrelated response.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from badgeworks.db.models import IdempotencyRecord, utcnow
from badgeworks.services.errors import ValidationFailed


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What identifies "the same request"."""
    h = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def check_key(key: str) -> str:
    """Validate an ``Idempotency-Key`` header value."""
    if not 1 <= len(key) <= 200 or not key.isprintable() or not key.isascii():
        raise ValidationFailed(
            "the Idempotency-Key header must be 1 to 200 printable ASCII characters",
            code="idempotency.invalid_key",
        )
    return key


def replay(
    session: Session, issuer_id: int, key: str, request_fingerprint: str
) -> IdempotencyRecord | None:
    """The stored response for ``key``, if this request was seen before."""
    record = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.issuer_id == issuer_id, IdempotencyRecord.key == key
        )
    ).first()
    if record is not None and record.fingerprint != request_fingerprint:
        raise ValidationFailed(
            f"the Idempotency-Key {key!r:.80} was already used for a different request; "
            "use a new key for a new request",
            code="idempotency.key_reused",
        )
    return record


def remember(
    session: Session,
    issuer_id: int,
    key: str,
    request_fingerprint: str,
    status_code: int,
    response: str,
) -> None:
    """Store the first response for ``key`` (a concurrent duplicate keeps the first)."""
    session.add(
        IdempotencyRecord(
            issuer_id=issuer_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=status_code,
            response=response,
            created_at=utcnow(),
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
