"""``Idempotency-Key``: a retried request gets the first response instead of a second effect.

Keys are scoped to the issuer (the token's), and bound to the request: reusing a key for
a different request is a 422, not a silent replay of an unrelated response. A request
claims its key before it starts (``once``), so two simultaneous requests with one key
run once: the second waits for the first's response (docs/api.md, "Idempotency").
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from badgeworks.db.models import IdempotencyRecord
from badgeworks.services.errors import ConflictError, ValidationFailed

log = logging.getLogger("badgeworks.idempotency")


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
    *,
    now: datetime,
) -> None:
    """Store the first response for ``key`` (a concurrent duplicate keeps the first)."""
    session.add(
        IdempotencyRecord(
            issuer_id=issuer_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=status_code,
            response=response,
            created_at=now,
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
#
# Every step runs on the request's own session, one short transaction at a time: a
# request never holds one pooled connection while it waits for a second, so a burst of
# requests larger than the pool queues for connections instead of deadlocking on them.
# The response is written in the same transaction as the work (``Slot.stage``), so a
# request that did its work always leaves its response for the retry to replay.

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


@dataclass(frozen=True)
class Stored:
    """A key's record as read, detached from any session (its fields are what a replay
    and the claim loop need, so no lazy load can reach for a connection later)."""

    id: int
    fingerprint: str
    status_code: int
    response: str
    created_at: datetime


@dataclass
class Slot:
    """One request's use of an ``Idempotency-Key`` (see ``once``)."""

    #: The first request's stored response: answer with it instead of running again.
    replay: Stored | None = None
    _session: Session | None = None
    _claim_id: int | None = None
    _stored: bool = False

    def stage(self, session: Session, status_code: int, response: str) -> None:
        """Write this (first) request's response into ``session``'s transaction.

        The caller commits it together with the work, so the work and its response are
        stored together or not at all. If the transaction rolls back, the claim is
        still pending and ``once`` releases it.
        """
        if self._claim_id is None:
            return
        session.execute(_finish(self._claim_id, status_code, response))

    def store(self, status_code: int, response: str) -> None:
        """Record this (first) request's response and commit it at once."""
        if self._session is None or self._claim_id is None:
            return
        self._session.execute(_finish(self._claim_id, status_code, response))
        self._session.commit()
        self._stored = True

    def _release(self) -> None:
        # The request failed and changed nothing, so a retry must be able to run it. A
        # response staged and committed with the work is no longer pending and stays.
        if self._session is None or self._claim_id is None or self._stored:
            return
        session = self._session
        session.rollback()
        session.execute(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.id) == self._claim_id,
                col(IdempotencyRecord.status_code) == PENDING,
            )
        )
        session.commit()


def _finish(claim_id: int, status_code: int, response: str) -> Any:
    return (
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.id) == claim_id,
            col(IdempotencyRecord.status_code) == PENDING,
        )
        .values(status_code=status_code, response=response)
    )


def _try_claim(
    session: Session, issuer_id: int, key: str, request_fingerprint: str, now: datetime
) -> int | None:
    """Insert a pending record; its id, or None if the key is already claimed."""
    # Whatever the request read so far (its token) is finished first: the claim is a
    # transaction of its own.
    session.commit()
    row = IdempotencyRecord(
        issuer_id=issuer_id,
        key=key,
        fingerprint=request_fingerprint,
        status_code=PENDING,
        response="",
        created_at=now,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    claim_id = row.id
    session.expunge(row)
    return claim_id


def _current(session: Session, issuer_id: int, key: str) -> Stored | None:
    try:
        record = session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.issuer_id == issuer_id, IdempotencyRecord.key == key
            )
        ).first()
        if record is None:
            return None
        return Stored(
            id=record.id or 0,
            fingerprint=record.fingerprint,
            status_code=record.status_code,
            response=record.response,
            created_at=record.created_at,
        )
    finally:
        # End the read so no connection is held while the caller waits.
        session.rollback()


def _drop_stale(session: Session, record_id: int, now: datetime) -> None:
    session.execute(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.id) == record_id,
            col(IdempotencyRecord.status_code) == PENDING,
            col(IdempotencyRecord.created_at) < now - STALE_AFTER,
        )
    )
    session.commit()


def claim(
    session: Session,
    issuer_id: int,
    key: str,
    request_fingerprint: str,
    *,
    clock: Callable[[], datetime],
    wait: float | None = None,
) -> Slot:
    """Claim ``key`` for this request, or get the first request's stored response.

    Returns a ``Slot`` whose ``replay`` is the stored response when the key was used
    before; otherwise this request owns the key and must ``stage`` (or ``store``) its
    response. While the first request is still running this waits up to ``wait`` seconds
    (default ``WAIT_SECONDS``), holding no connection, then raises ``InProgress``. The
    same key on a different request is ``ValidationFailed`` (``idempotency.key_reused``).
    ``session`` is the request's own: it is committed before the claim and between the
    steps, so the claim is committed before any work starts. ``clock`` (the context's)
    dates the claim and says when a pending one is stale; it is read afresh each round.
    """
    deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
    delay = 0.02
    while True:
        claim_id = _try_claim(session, issuer_id, key, request_fingerprint, clock())
        if claim_id is not None:
            return Slot(_session=session, _claim_id=claim_id)
        record = _current(session, issuer_id, key)
        if record is not None:
            if record.fingerprint != request_fingerprint:
                raise _reused(key)
            if record.status_code != PENDING:
                return Slot(replay=record)
            now = clock()
            if record.created_at < now - STALE_AFTER:
                _drop_stale(session, record.id, now)
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
    session: Session,
    issuer_id: int,
    key: str | None,
    request_fingerprint: str,
    *,
    clock: Callable[[], datetime],
) -> Iterator[Slot]:
    """``claim`` around a request's work; the claim is released if the work fails.

    Without a key (``None``) the slot does nothing: the request simply runs. The work
    should ``Slot.stage`` its response in the transaction that commits the work.
    """
    if key is None:
        yield Slot()
        return
    slot = claim(session, issuer_id, check_key(key), request_fingerprint, clock=clock)
    try:
        yield slot
    finally:
        # A block that failed, or returned without storing (it replayed, or chose not
        # to), frees the key; a staged and committed response is kept. If even that
        # fails (the database went away), the claim expires after ``STALE_AFTER``.
        try:
            slot._release()
        except SQLAlchemyError:
            log.warning("could not release the Idempotency-Key claim %s", slot._claim_id)
