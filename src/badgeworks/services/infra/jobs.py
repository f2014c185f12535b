"""Background jobs in the database, run by workers in any number of processes and hosts.

``enqueue`` adds a job (in the caller's transaction, so work is queued only with the change
that asks for it). A worker ``claim``s one: on PostgreSQL the candidate row is locked with
``FOR UPDATE SKIP LOCKED`` so workers never wait on each other; on every database the claim
itself is a compare-and-set ``UPDATE … WHERE state = 'queued'`` that only one worker can
win. The claim carries a random token and a lease the worker renews (``heartbeat``); every
later write names the token, so a worker that stalled past its lease cannot finish a job
another worker took over. ``release_stale`` gives jobs whose lease ran out back to the
queue (or dead-letters them when that was their last attempt). A failed run is retried
with exponential back-off and dead-lettered after ``job_max_attempts`` runs; staff see
dead jobs in the console and can ``retry`` them. Handlers must be idempotent: a job whose
worker died mid-run runs again.

``Worker`` runs the loop: ``badgeworks worker`` runs one in the foreground; ``badgeworks
serve`` runs one in a thread (``BADGEWORKS_WORKER_IN_PROCESS``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col

from badgeworks.db.jobs import DEAD, DONE, QUEUED, RUNNING, Job
from badgeworks.settings import Settings

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
#: A handler gets the job's payload and a ``JobRun`` (its context, and whether to stop).
Handler = Callable[[dict[str, Any], "JobRun"], None]

#: The longest back-off between two attempts.
MAX_BACKOFF_SECONDS = 3600.0
#: The most of an error kept on the job row (the console shows it).
MAX_ERROR_CHARS = 2000
#: The largest payload a job may carry (jobs point at rows; they do not carry files).
MAX_PAYLOAD_BYTES = 64 * 1024


class JobError(Exception):
    """A job cannot be enqueued as asked (unknown kind, payload too large)."""


def worker_name() -> str:
    """This worker's name in claims: host, process and a random part."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(3)}"


def enqueue(
    session: Session,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    *,
    now: datetime,
    dedupe_key: str | None = None,
    delay: timedelta = timedelta(0),
    issuer_id: int | None = None,
) -> Job:
    """Add a job to the session (the caller commits). With ``dedupe_key``, a job with that
    key that is not finished is returned instead of a second one."""
    text = json.dumps(dict(payload or {}), separators=(",", ":"), sort_keys=True)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise JobError(f"job payload of {len(text)} bytes is over {MAX_PAYLOAD_BYTES}")
    if not kind or len(kind) > 40:
        raise JobError(f"job kind {kind!r} must be 1 to 40 characters")
    if dedupe_key is not None:
        query = select(Job).where(col(Job.dedupe_key) == dedupe_key)
        found: Job | None = session.execute(query).scalars().first()
        if found is not None:
            if found.state != DONE:
                return found
            # A finished job's key is free again: the work may be asked for once more.
            found.dedupe_key = None
            session.add(found)
            session.flush()
    job = Job(
        kind=kind,
        issuer_id=issuer_id,
        payload=text,
        dedupe_key=dedupe_key,
        state=QUEUED,
        run_after=now + delay,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def enqueue_once(
    factory: SessionFactory,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    *,
    now: datetime,
    dedupe_key: str,
    issuer_id: int | None = None,
    delay: timedelta = timedelta(0),
) -> int:
    """Enqueue in a transaction of its own; a concurrent enqueue of the same key wins
    harmlessly (the unique key refuses the second). Returns the job's id."""
    for _ in range(3):
        with factory() as session:
            try:
                job = enqueue(
                    session,
                    kind,
                    payload,
                    now=now,
                    dedupe_key=dedupe_key,
                    issuer_id=issuer_id,
                    delay=delay,
                )
                session.commit()
                assert job.id is not None
                return job.id
            except IntegrityError:
                session.rollback()
    raise JobError(f"could not enqueue job {dedupe_key!r}")


@dataclass(frozen=True)
class Claim:
    """A job this worker holds: what to run, and the token its writes must name."""

    id: int
    kind: str
    payload: dict[str, Any]
    token: str
    attempts: int


def _claimable(now: datetime) -> Any:
    return (col(Job.state) == QUEUED) & (col(Job.run_after) <= now)


def claim(
    session: Session, *, worker: str, now: datetime, lease: timedelta, kinds: set[str]
) -> Claim | None:
    """Claim the oldest due job of one of ``kinds``, or None. Commits."""
    dialect = session.get_bind().dialect.name
    for _ in range(5):
        query = (
            select(Job.id)  # type: ignore[call-overload]
            .where(_claimable(now), col(Job.kind).in_(sorted(kinds)))
            .order_by(col(Job.run_after), col(Job.id))
            .limit(1)
        )
        if dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job_id = session.execute(query).scalar()
        if job_id is None:
            session.rollback()
            return None
        token = secrets.token_hex(16)
        won = session.execute(
            update(Job)
            .where(col(Job.id) == job_id, _claimable(now))
            .values(
                state=RUNNING,
                claimed_by=worker[:80],
                claim_token=token,
                lease_until=now + lease,
                attempts=Job.attempts + 1,
            )
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            row = session.get(Job, job_id)
            assert row is not None
            found = Claim(
                id=job_id,
                kind=row.kind,
                payload=_payload(row.payload),
                token=token,
                attempts=row.attempts,
            )
            session.commit()
            return found
        session.rollback()  # another worker won this one: look again
    return None


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _held(held: Claim) -> Any:
    return (col(Job.id) == held.id) & (col(Job.claim_token) == held.token)


def heartbeat(session: Session, held: Claim, *, now: datetime, lease: timedelta) -> bool:
    """Renew the claim's lease; False if the claim was lost (the job went to another)."""
    done = session.execute(
        update(Job).where(_held(held), col(Job.state) == RUNNING).values(lease_until=now + lease)
    )
    session.commit()
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def complete(session: Session, held: Claim, *, now: datetime) -> bool:
    """Mark the job done; False (and nothing written) if the claim was lost."""
    done = session.execute(
        update(Job)
        .where(_held(held), col(Job.state) == RUNNING)
        .values(state=DONE, finished_at=now, claim_token=None, lease_until=None, last_error=None)
    )
    session.commit()
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait before the next attempt after ``attempts`` runs: doubling, capped."""
    seconds = settings.job_retry_seconds * 2 ** max(0, min(attempts - 1, 30))
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def fail(session: Session, held: Claim, error: str, *, now: datetime, settings: Settings) -> str:
    """Record a failed run: back to the queue after the back-off, or dead after the last
    attempt. Returns the new state ('' if the claim was lost)."""
    dead = held.attempts >= settings.job_max_attempts
    state = DEAD if dead else QUEUED
    done = session.execute(
        update(Job)
        .where(_held(held), col(Job.state) == RUNNING)
        .values(
            state=state,
            claim_token=None,
            lease_until=None,
            claimed_by=None,
            last_error=error[:MAX_ERROR_CHARS],
            run_after=now + backoff(settings, held.attempts),
            finished_at=now if dead else None,
        )
    )
    session.commit()
    return state if done.rowcount == 1 else ""  # type: ignore[attr-defined]


def release(session: Session, held: Claim, *, now: datetime) -> bool:
    """Give a claimed job back to the queue at once, its attempt not counted (a worker
    told to stop before the job finished)."""
    done = session.execute(
        update(Job)
        .where(_held(held), col(Job.state) == RUNNING)
        .values(
            state=QUEUED,
            claim_token=None,
            lease_until=None,
            claimed_by=None,
            run_after=now,
            attempts=Job.attempts - 1,
        )
    )
    session.commit()
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


#: How often a worker makes sure its periodic jobs are queued.
SCHEDULE_CHECK = timedelta(seconds=5)

STALE_ERROR = "the worker running this job stopped renewing its claim"


def release_stale(session: Session, *, now: datetime, settings: Settings) -> int:
    """Give running jobs whose lease ran out back to the queue (dead-letter those on their
    last attempt). Returns how many were released. Any worker may call it; it commits."""
    stale = (col(Job.state) == RUNNING) & (col(Job.lease_until) < now)
    # Looked for first, so an idle worker only reads (no write lock on SQLite).
    if session.execute(select(Job.id).where(stale).limit(1)).first() is None:  # type: ignore[call-overload]
        session.rollback()
        return 0
    last = col(Job.attempts) >= settings.job_max_attempts
    dead = session.execute(
        update(Job)
        .where(stale, last)
        .values(
            state=DEAD,
            claim_token=None,
            lease_until=None,
            claimed_by=None,
            last_error=STALE_ERROR,
            finished_at=now,
        )
    )
    back = session.execute(
        update(Job)
        .where(stale, ~last)
        .values(
            state=QUEUED,
            claim_token=None,
            lease_until=None,
            claimed_by=None,
            last_error=STALE_ERROR,
            run_after=now,
        )
    )
    session.commit()
    return int(dead.rowcount + back.rowcount)  # type: ignore[attr-defined]


def retry(session: Session, job_id: int, *, now: datetime, issuer_id: int | None = None) -> bool:
    """Put a dead-lettered job back in the queue with fresh attempts; False if it is not
    dead (already retried, or never dead) or, with ``issuer_id``, not that program's. The
    caller commits."""
    query = update(Job).where(col(Job.id) == job_id, col(Job.state) == DEAD)
    if issuer_id is not None:
        query = query.where(col(Job.issuer_id) == issuer_id)
    done = session.execute(
        query.values(state=QUEUED, attempts=0, run_after=now, finished_at=None, claimed_by=None)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def dead_jobs(session: Session, limit: int = 100, *, issuer_id: int | None = None) -> list[Job]:
    """Dead-lettered jobs, the most recent first (with ``issuer_id``, that program's only)."""
    query = select(Job).where(col(Job.state) == DEAD)
    if issuer_id is not None:
        query = query.where(col(Job.issuer_id) == issuer_id)
    rows = session.execute(
        query.order_by(col(Job.finished_at).desc(), col(Job.id).desc()).limit(limit)
    ).scalars()
    return list(rows)


def counts(session: Session) -> dict[str, int]:
    """How many jobs are in each state."""
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state))  # type: ignore[call-overload]
    return {state: int(n) for state, n in rows}


@dataclass
class JobRun:
    """What a handler gets besides the payload: the job, and whether it should stop early
    (the worker is shutting down or lost its claim)."""

    job_id: int
    attempt: int
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()


class Worker:
    """Claims and runs jobs until ``stop`` is called.

    Each job runs in a thread of its own while this loop renews the claim every third of
    the lease. On ``stop`` the running job gets ``grace`` seconds to finish (its
    ``JobRun.stop`` is set, so a handler that can stop early does); a job still running
    after that is released to the queue without counting the attempt.
    """

    def __init__(
        self,
        settings: Settings,
        factory: SessionFactory,
        handlers: Mapping[str, Handler],
        *,
        clock: Callable[[], datetime],
        name: str | None = None,
        grace: float | None = None,
        every: Mapping[str, float] | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.handlers = dict(handlers)
        self.clock = clock
        self.name = name or worker_name()
        self.lease = timedelta(seconds=settings.job_lease_seconds)
        self.grace = settings.shutdown_grace_seconds if grace is None else grace
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Jobs finished by this worker (for tests and logs).
        self.finished = 0
        #: Kinds run periodically: seconds between the end of one run and the next.
        self.every = dict(every or {})
        self._scheduled_at: datetime | None = None

    def stop(self) -> None:
        """Ask the loop to end (after the current job finishes or is released)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        """Run the loop in a daemon thread (``badgeworks serve``'s in-process worker)."""
        self._thread = threading.Thread(target=self.run, name="badgeworks-jobs", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Claim and run jobs until stopped."""
        log.info("job worker %s started (%s)", self.name, ", ".join(sorted(self.handlers)))
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except SQLAlchemyError as error:
                log.warning("job worker %s: database unavailable: %s", self.name, error)
                ran = False
            except Exception:
                # The loop outlives any one failure; the next poll tries again.
                log.exception("job worker %s: unexpected failure", self.name)
                ran = False
            if not ran:
                self._stop.wait(self.settings.worker_poll_seconds)
        log.info("job worker %s stopped", self.name)

    def schedule(self) -> None:
        """Keep one job of each periodic kind queued, due ``every[kind]`` seconds after the
        last one finished (one key per kind, so every worker keeps the same one)."""
        now = self.clock()
        if not self.every or (
            self._scheduled_at is not None and now - self._scheduled_at < SCHEDULE_CHECK
        ):
            return
        self._scheduled_at = now
        for kind in self.every:
            self._queue_next(kind)

    def _queue_next(self, kind: str) -> None:
        """Queue the next run of a periodic kind (a no-op while one is waiting)."""
        enqueue_once(
            self.factory,
            kind,
            now=self.clock(),
            dedupe_key=f"every:{kind}",
            delay=timedelta(seconds=self.every[kind]),
        )

    def run_once(self) -> bool:
        """Release stale claims, claim one job and run it; False if there was none."""
        self.schedule()
        with self.factory() as session:
            release_stale(session, now=self.clock(), settings=self.settings)
            held = claim(
                session,
                worker=self.name,
                now=self.clock(),
                lease=self.lease,
                kinds=set(self.handlers),
            )
        if held is None:
            return False
        self._run(held)
        return True

    def _run(self, held: Claim) -> None:
        run = JobRun(job_id=held.id, attempt=held.attempts)
        outcome: list[BaseException | None] = []

        def target() -> None:
            try:
                self.handlers[held.kind](held.payload, run)
                outcome.append(None)
            except BaseException as error:  # a handler's failure is the job's, not ours
                outcome.append(error)

        thread = threading.Thread(target=target, name=f"badgeworks-job-{held.id}", daemon=True)
        thread.start()
        slice_seconds = 0.2
        beat_every = max(1, round(self.settings.job_lease_seconds / 3 / slice_seconds))
        grace_slices = max(1, round(self.grace / slice_seconds))
        slices = stopping_for = 0
        while thread.is_alive():
            thread.join(slice_seconds)
            if not thread.is_alive():
                break
            slices += 1
            if self._stop.is_set():
                run.stop.set()
                stopping_for += 1
                if stopping_for >= grace_slices:
                    with self.factory() as session:
                        release(session, held, now=self.clock())
                    log.warning("job %s (%s) released at shut-down", held.id, held.kind)
                    return
            if slices % beat_every == 0:
                with self.factory() as session:
                    if not heartbeat(session, held, now=self.clock(), lease=self.lease):
                        run.stop.set()
                        log.warning("job %s (%s): claim lost to another worker", held.id, held.kind)
                        return
        error = outcome[0] if outcome else RuntimeError("the job's thread ended without a result")
        with self.factory() as session:
            if error is None:
                if complete(session, held, now=self.clock()):
                    self.finished += 1
                    if held.kind in self.every:
                        self._queue_next(held.kind)
                return
            message = f"{type(error).__name__}: {error}"
            state = fail(session, held, message, now=self.clock(), settings=self.settings)
        log.warning("job %s (%s) failed (%s): %s", held.id, held.kind, state or "lost", message)


def retry_for_program(
    session: Session, job_id: int, *, issuer_id: int, actor: str, now: datetime
) -> None:
    """Queue one of a program's dead-lettered jobs again (the console's Retry), with its
    audit event; ``NotFoundError`` when the program has no such job (another program's
    job is not acknowledged), ``ConflictError`` when it is not waiting for a retry."""
    from badgeworks.services.errors import ConflictError, NotFoundError
    from badgeworks.services.infra import audit

    if not retry(session, job_id, now=now, issuer_id=issuer_id):
        session.rollback()
        theirs = session.execute(
            select(col(Job.id)).where(col(Job.id) == job_id, col(Job.issuer_id) == issuer_id)
        ).first()
        if theirs is None:
            raise NotFoundError(f"there is no job {job_id} in this program", code="job.not_found")
        raise ConflictError(
            f"job {job_id} is not waiting for a retry (it was retried already)",
            code="job.not_dead",
        )
    audit.commit(
        session,
        actor=actor,
        action="job.retry",
        issuer_id=issuer_id,
        target=f"job:{job_id}",
        now=now,
    )
