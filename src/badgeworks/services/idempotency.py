"""``Idempotency-Key``: a retried request gets the first response instead of a second effect.

Keys are scoped to the issuer (the token's), and bound to the request: reusing a key for
a different request is a 422, not a silent replay of an unrelated response. A request
claims its key before it starts (``once``), so two simultaneous requests with one key
run once: the second waits for the first's response (docs/api.md, "Idempotency").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from badgeworks.db.engine import SessionFactory
from badgeworks.db.models import IdempotencyRecord, utcnow
from badgeworks.services.errors import ConflictError, ValidationFailed


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
    """The stored response for ``key``, if this request was seen and finished before.

    Prefer ``once``: checking, working and then ``remember``-ing leaves a window in which
    two simultaneous requests both run.
    """
    record = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.issuer_id == issuer_id, IdempotencyRecord.key == key
        )
    ).first()
    if record is not None and record.fingerprint != request_fingerprint:
        raise _reused(key)
    if record is not None and record.status_code == PENDING:
        return None
    return record


def _reused(key: str) -> ValidationFailed:
    return ValidationFailed(
        f"the Idempotency-Key {key!r:.80} was already used for a different request; "
        "use a new key for a new request",
        code="idempotency.key_reused",
    )


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


# --------------------------------------------------------------------- claim, then complete
#
# Two requests with the same key can arrive at the same moment (a client that retries on a
# timeout while the first attempt is still signing). Checking for a stored response and
# storing it afterwards leaves a window in which both run; the second then fails with
# 409 project.already_completed. So the first request *claims* the key before doing any
# work: it inserts the record in a pending state, in its own committed transaction, and
# the unique (issuer_id, key) constraint lets only one claim win. A request that loses
# waits (bounded) for the winner's response and replays it.

#: ``status_code`` of a claimed key whose first request has not finished yet.
PENDING = 0
#: How long a second request waits for the first one's response before answering
#: 409 ``idempotency.in_progress``.
WAIT_SECONDS = 10.0
#: What ``Retry-After`` advises after ``idempotency.in_progress``.
RETRY_AFTER_SECONDS = 2
#: A claim older than this is taken to belong to a process that died mid-request; a retry
#: may take it over.
STALE_AFTER = timedelta(minutes=2)


class InProgress(ConflictError):
    """The first request with this key is still running; retry after ``retry_after``."""

    code = "idempotency.in_progress"
    retry_after = RETRY_AFTER_SECONDS


@dataclass
class Slot:
    """One request's use of an ``Idempotency-Key`` (see ``once``)."""

    #: The first request's stored response: answer with it instead of running again.
    replay: IdempotencyRecord | None = None
    _factory: SessionFactory | None = None
    _claim_id: int | None = None
    _stored: bool = False

    def store(self, status_code: int, response: str) -> None:
        """Record this (first) request's response; later requests with the key get it."""
        if self._factory is None or self._claim_id is None:
            return
        with self._factory() as session:
            session.execute(
                update(IdempotencyRecord)
                .where(
                    col(IdempotencyRecord.id) == self._claim_id,
                    col(IdempotencyRecord.status_code) == PENDING,
                )
                .values(status_code=status_code, response=response)
            )
            session.commit()
        self._stored = True

    def _release(self) -> None:
        # The request failed and changed nothing, so a retry must be able to run it.
        if self._factory is None or self._claim_id is None or self._stored:
            return
        with self._factory() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.id) == self._claim_id,
                    col(IdempotencyRecord.status_code) == PENDING,
                )
            )
            session.commit()


def _try_claim(
    factory: SessionFactory, issuer_id: int, key: str, request_fingerprint: str
) -> int | None:
    """Insert a pending record; its id, or None if the key is already claimed."""
    with factory() as session:
        row = IdempotencyRecord(
            issuer_id=issuer_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=PENDING,
            response="",
            created_at=utcnow(),
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
        return row.id


def _current(factory: SessionFactory, issuer_id: int, key: str) -> IdempotencyRecord | None:
    with factory() as session:
        return session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.issuer_id == issuer_id, IdempotencyRecord.key == key
            )
        ).first()


def _drop_stale(factory: SessionFactory, record_id: int) -> None:
    with factory() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.id) == record_id,
                col(IdempotencyRecord.status_code) == PENDING,
                col(IdempotencyRecord.created_at) < utcnow() - STALE_AFTER,
            )
        )
        session.commit()


def claim(
    factory: SessionFactory,
    issuer_id: int,
    key: str,
    request_fingerprint: str,
    *,
    wait: float | None = None,
) -> Slot:
    """Claim ``key`` for this request, or get the first request's stored response.

    Returns a ``Slot`` whose ``replay`` is the stored response when the key was used
    before; otherwise this request owns the key and must call ``Slot.store``. While the
    first request is still running this waits up to ``wait`` seconds (default
    ``WAIT_SECONDS``), then raises ``InProgress``. The same key on a different request is
    ``ValidationFailed`` (``idempotency.key_reused``). Each step runs in its own session,
    so the claim is committed before any work starts.
    """
    deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
    delay = 0.02
    while True:
        claim_id = _try_claim(factory, issuer_id, key, request_fingerprint)
        if claim_id is not None:
            return Slot(_factory=factory, _claim_id=claim_id)
        record = _current(factory, issuer_id, key)
        if record is not None:
            if record.fingerprint != request_fingerprint:
                raise _reused(key)
            if record.status_code != PENDING:
                return Slot(replay=record)
            if record.created_at < utcnow() - STALE_AFTER:
                _drop_stale(factory, record.id or 0)
                continue
        # Pending (or released by a failed first request just now): wait and look again.
        if time.monotonic() >= deadline:
            raise InProgress(
                f"a request with the Idempotency-Key {key!r:.80} is still being processed; "
                f"retry in {RETRY_AFTER_SECONDS} seconds to get its response"
            )
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.25)


@contextmanager
def once(
    factory: SessionFactory,
    issuer_id: int,
    key: str | None,
    request_fingerprint: str,
) -> Iterator[Slot]:
    """``claim`` around a request's work; the claim is released if the work fails.

    Without a key (``None``) the slot does nothing: the request simply runs.
    """
    if key is None:
        yield Slot()
        return
    slot = claim(factory, issuer_id, check_key(key), request_fingerprint)
    try:
        yield slot
    except BaseException:
        slot._release()
        raise
    # A block that returned without storing (it replayed, or chose not to) frees the key.
    slot._release()
