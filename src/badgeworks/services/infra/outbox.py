"""The outbox: queue messages inside the caller's transaction, deliver them later.

``enqueue`` only adds a row to the session, so the message commits (or rolls back) with
the thing it announces. ``send_pending`` delivers pending messages through a sender
(``adapters.smtp.SmtpSender``, or ``ConsoleSender`` for local development) and records
each attempt; after ``MAX_ATTEMPTS`` failures a message is marked ``failed`` and left for
an operator. It runs from ``badgeworks outbox send`` (cron) or from ``OutboxWorker``, a
thread of the web server (``BADGEWORKS_OUTBOX_INTERVAL_SECONDS``), in any number of
processes at once: each message is *claimed* before it is delivered (see
``send_pending``), so concurrent runs deliver it once (only a crash mid-delivery can repeat
it).

The links it carries are secrets (a review link lets its holder sign as the mentor, a
sign-in link signs its holder in, a withdrawal link withdraws an endorsement), so once a
message is delivered its bodies are replaced by a note: the database keeps only each
link's hash.
Until then the bodies are sealed at rest (``db.outbox.SealedText``) under a key derived
from the key secret, bound to the engine by ``seal_outbox``; they are opened only to be
sent.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from badgeworks.adapters.smtp import Mail, SmtpError, SmtpSender
from badgeworks.db.outbox import OutboxMessage, bind_seal_key, is_sealed
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError
from badgeworks.settings import Settings

log = logging.getLogger("badgeworks.outbox")

MAX_ATTEMPTS = 5
DELIVERED_NOTE = "(delivered; the body is not kept because it contained a single-use link)"
#: A message claimed (``sending``) longer ago than this is taken back: its sender is
#: presumed dead. Far longer than a delivery takes (each SMTP operation times out after
#: ``smtp_timeout``, at most 300 s), so a slow but live sender keeps its claim.
CLAIM_TIMEOUT = timedelta(minutes=15)
#: The worker waits this long before trying a failed message again, so a mail server that
#: is down for a few minutes does not use up a message's attempts at every short interval.
RETRY_DELAY = timedelta(seconds=60)
INTERRUPTED = "a delivery attempt was interrupted (its sender stopped before recording it)"
SEALED_ELSEWHERE = (
    "outbox.sealed: the message was sealed under another key secret and cannot be read; "
    "run with the BADGEWORKS_KEY_SECRET it was queued with"
)

Sender = Callable[[Mail], None]


def seal_outbox(engine: Engine, secret: str, previous: str | None = None) -> None:
    """Seal the bodies of messages written through ``engine`` (and open them when read)
    with a key derived from the key secret ``secret``; while the secret is rotated, also
    open those sealed under the ``previous`` one."""
    bind_seal_key(engine, secret, previous)


def enqueue(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    issuer_id: int | None = None,
    reference: str = "",
    now: datetime,
) -> OutboxMessage:
    """Add a pending message to the session (committed with the caller's unit of work)."""
    row = OutboxMessage(
        issuer_id=issuer_id,
        to=to,
        subject=subject[:300],
        body_text=text,
        body_html=html,
        reference=reference[:100],
        created_at=now,
    )
    session.add(row)
    return row


def list_messages(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[OutboxMessage]:
    """Messages, oldest first, optionally only those with ``status`` (read afresh)."""
    stmt = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    # Senders change rows with conditional UPDATEs: show what the database holds.
    stmt = stmt.execution_options(populate_existing=True)
    return list(session.exec(stmt.offset(offset).limit(limit)))


# ----------------------------------------------------------------------------- senders


def smtp_sender(settings: Settings) -> SmtpSender:
    """The SMTP sender the settings describe; ``ConflictError`` if no host is configured."""
    if not settings.smtp_host:
        raise ConflictError(
            "no SMTP server is configured: set BADGEWORKS_SMTP_HOST (see docs/outbox.md)",
            code="outbox.not_configured",
        )
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        security=settings.smtp_security,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout,
    )


_CONSOLE_LOCK = threading.Lock()
CONSOLE_RULE = "=" * 72


class ConsoleSender:
    """Local development only: writes each message to stdout instead of sending it.

    The messages hold single-use sign-in and review links, so whoever reads the terminal
    (or its log) can use them: never turn this on for a service people rely on.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        # None: sys.stdout as it is when a message is written (so tests can capture it).
        self._stream = stream

    def render(self, mail: Mail) -> str:
        """The framed block printed for ``mail`` (plain-text body only)."""
        return (
            f"{CONSOLE_RULE}\n"
            "badgeworks console mail (BADGEWORKS_MAIL_CONSOLE; development only, not sent)\n"
            f"To:      {mail.to}\n"
            f"Subject: {mail.subject}\n"
            f"{'-' * 72}\n"
            f"{mail.text.rstrip()}\n"
            f"{CONSOLE_RULE}\n"
        )

    def send(self, mail: Mail) -> None:
        """Write ``mail`` in one block (blocks from several threads never interleave)."""
        stream = self._stream or sys.stdout
        with _CONSOLE_LOCK:
            stream.write(self.render(mail))
            stream.flush()


def configured_sender(settings: Settings) -> Sender | None:
    """The sender the settings choose: console mail if ``mail_console``, else SMTP if a
    host is set, else None (messages stay queued)."""
    if settings.mail_console:
        return ConsoleSender().send
    if settings.smtp_host:
        return smtp_sender(settings).send
    return None


def require_sender(settings: Settings) -> Sender:
    """``configured_sender``, or ``ConflictError`` (``outbox.not_configured``) if none."""
    sender = configured_sender(settings)
    if sender is None:
        raise ConflictError(
            "no mail sender is configured: set BADGEWORKS_SMTP_HOST, or "
            "BADGEWORKS_MAIL_CONSOLE=true for local development (see docs/outbox.md)",
            code="outbox.not_configured",
        )
    return sender


def delivery_summary(settings: Settings) -> str:
    """One line for ``badgeworks serve``: how (and whether) this server delivers mail."""
    if settings.mail_console:
        how = "printed in this terminal (BADGEWORKS_MAIL_CONSOLE: local development only)"
    elif settings.smtp_host:
        how = f"sent through SMTP {settings.smtp_host}:{settings.smtp_port}"
    else:
        return (
            "mail: no sender is configured, so messages (sign-in and review links) stay "
            "queued in the outbox; set BADGEWORKS_SMTP_HOST and "
            "BADGEWORKS_OUTBOX_INTERVAL_SECONDS (or BADGEWORKS_MAIL_CONSOLE=true for local "
            "development); see docs/outbox.md"
        )
    interval = settings.outbox_interval_seconds
    if interval > 0:
        return f"mail: outbox messages are {how}, checked every {interval:g} s"
    return (
        f"mail: messages stay queued until 'badgeworks outbox send' runs ({how}); set "
        "BADGEWORKS_OUTBOX_INTERVAL_SECONDS to deliver from this server"
    )


# ----------------------------------------------------------------------------- delivery


@dataclass
class SendResult:
    """What one ``send_pending`` run did."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    #: Stale claims taken back (their sender stopped mid-delivery), now pending again.
    released: int = 0


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))


def _release_stale_claims(session: Session, cutoff: datetime, result: SendResult) -> None:
    """Claims older than ``cutoff`` go back to ``pending`` (``failed`` if out of attempts)."""
    stale: ColumnElement[bool] = (col(OutboxMessage.status) == "sending") & or_(
        col(OutboxMessage.attempted_at).is_(None), col(OutboxMessage.attempted_at) < cutoff
    )
    # Look first, so an idle run never takes SQLite's write lock.
    if session.exec(select(OutboxMessage.id).where(stale).limit(1)).first() is None:
        session.commit()
        return
    no_sync = {"synchronize_session": False}
    gave_up = session.execute(
        update(OutboxMessage)
        .where(stale, col(OutboxMessage.attempts) >= MAX_ATTEMPTS)
        .values(status="failed", last_error=INTERRUPTED),
        execution_options=no_sync,
    )
    released = session.execute(
        update(OutboxMessage).where(stale).values(status="pending", last_error=INTERRUPTED),
        execution_options=no_sync,
    )
    session.commit()
    result.gave_up += _rowcount(gave_up)
    result.released += _rowcount(released)
    if result.gave_up or result.released:
        log.warning(
            "outbox: took back %d interrupted deliveries (%d gave up)",
            result.released + result.gave_up,
            result.gave_up,
        )


def _claimable(now: datetime, retry_delay: timedelta) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = col(OutboxMessage.status) == "pending"
    if retry_delay > timedelta(0):
        condition = condition & or_(
            col(OutboxMessage.attempted_at).is_(None),
            col(OutboxMessage.attempted_at) <= now - retry_delay,
        )
    return condition


def _claim(
    session: Session, message_id: int, now: datetime, retry_delay: timedelta
) -> OutboxMessage | None:
    """Atomically move one message from ``pending`` to ``sending``; None if someone else did."""
    claimed = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, _claimable(now, retry_delay))
        .values(status="sending", attempted_at=now, attempts=col(OutboxMessage.attempts) + 1),
        execution_options={"synchronize_session": False},
    )
    if _rowcount(claimed) != 1:
        session.commit()  # nothing changed; end the transaction
        return None
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    # Commit before delivering: no transaction (or lock) stays open during the SMTP dialogue.
    session.commit()
    return row


def _record_failure(session: Session, row: OutboxMessage, error: str, result: SendResult) -> None:
    gave_up = row.attempts >= MAX_ATTEMPTS
    # Only while the claim is ours: a sender that overran CLAIM_TIMEOUT must not turn a
    # message another sender has since delivered back into a pending one.
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.status) == "sending")
        .values(status="failed" if gave_up else "pending", last_error=error[:1000]),
        execution_options={"synchronize_session": False},
    )
    session.commit()
    session.refresh(row)
    if gave_up:
        result.gave_up += 1
    else:
        result.failed += 1


def send_pending(
    session: Session,
    ctx: ServiceContext,
    send: Sender,
    *,
    limit: int = 100,
    retry_delay: timedelta = timedelta(0),
    claim_timeout: timedelta = CLAIM_TIMEOUT,
    stop: threading.Event | None = None,
) -> SendResult:
    """Deliver up to ``limit`` pending messages; each outcome is committed at once.

    Claiming, so that concurrent runs (worker threads in several server processes, a
    cron ``outbox send``) deliver each message once, on SQLite and PostgreSQL alike:

    1. The ids of pending messages are read (no lock).
    2. Each message is claimed with one conditional statement, committed at once:
       ``UPDATE outbox_message SET status='sending', attempted_at=now,
       attempts=attempts+1 WHERE id=? AND status='pending'``. Only the run whose UPDATE
       changes the row (rowcount 1) delivers it; the others skip it. This is atomic on
       both databases: SQLite runs one write transaction at a time, and PostgreSQL makes
       a second UPDATE of the same row wait for the first to commit and then re-checks
       its WHERE against the new row, which is no longer ``pending``. (``SELECT … FOR
       UPDATE SKIP LOCKED`` would do on PostgreSQL alone; SQLite has no row locks.) The
       claim holds a row lock for milliseconds, never during delivery.
    3. The message is delivered outside any transaction, then its outcome is committed:
       ``sent`` (bodies replaced by a note), or back to ``pending`` with ``last_error``
       (``failed`` after ``MAX_ATTEMPTS``). Any exception from ``send`` counts as a failed
       attempt; the attempt was already counted by the claim.
    4. A claim older than ``claim_timeout`` (its sender crashed or was killed between
       claiming and recording) is taken back at the start of every run: ``pending``
       again, or ``failed`` if it has had its attempts. Such a message may have been
       delivered just before the crash, so delivery is at least once: a duplicate is
       possible only after a crash, never from concurrency.

    ``retry_delay`` keeps a message whose last attempt began less than that long ago for
    a later run (the worker's ``RETRY_DELAY``; 0 for ``outbox send``: every run retries).
    ``stop`` (the worker's shutdown event) ends the run between two messages.
    """
    result = SendResult()
    now = ctx.clock()
    _release_stale_claims(session, now - claim_timeout, result)
    ids = list(
        session.exec(
            select(OutboxMessage.id)
            .where(_claimable(now, retry_delay))
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        )
    )
    session.commit()  # end the read transaction before the first claim
    for message_id in ids:
        if stop is not None and stop.is_set():
            break
        if message_id is None:
            continue
        row = _claim(session, message_id, ctx.clock(), retry_delay)
        if row is None:
            continue  # another sender claimed it first
        if is_sealed(row.body_text) or is_sealed(row.body_html):
            _record_failure(session, row, SEALED_ELSEWHERE, result)
            continue
        mail = Mail(to=row.to, subject=row.subject, text=row.body_text, html=row.body_html)
        try:
            send(mail)
        except SmtpError as exc:
            _record_failure(session, row, exc.message, result)
            continue
        except Exception as exc:
            log.exception("outbox: the sender failed on message %s", message_id)
            _record_failure(session, row, f"{type(exc).__name__}: {str(exc)[:900]}", result)
            continue
        row.status = "sent"
        row.sent_at = ctx.clock()
        row.last_error = None
        row.body_text = DELIVERED_NOTE
        row.body_html = f"<p>{DELIVERED_NOTE}</p>"
        session.add(row)
        session.commit()
        result.sent += 1
    return result


# ----------------------------------------------------------------------------- the worker


class OutboxWorker:
    """A daemon thread of the web server that runs ``send_pending`` every ``interval`` s.

    Each run uses its own session from ``session_factory``. An exception in a run (the
    database gone, a sender bug) is logged and the next run happens as planned: the worker
    never stops the server, and ``stop()`` (the app's shutdown) ends it promptly — between
    two messages, or at once while it waits.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        ctx: ServiceContext,
        sender: Sender,
        interval: float,
        *,
        limit: int = 100,
        retry_delay: timedelta = RETRY_DELAY,
        claim_timeout: timedelta = CLAIM_TIMEOUT,
    ) -> None:
        if interval <= 0:
            raise ValueError("the outbox worker's interval must be positive")
        self._session_factory = session_factory
        self._ctx = ctx
        self._sender = sender
        self.interval = interval
        self._limit = limit
        self._retry_delay = retry_delay
        self._claim_timeout = claim_timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Completed runs, successful or not (for tests and diagnostics).
        self.runs = 0

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (the first run is immediate); a no-op if it is running."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="badgeworks-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish and wait up to ``timeout`` s (it is a daemon anyway)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("outbox worker: still delivering after %.0f s; leaving it", timeout)

    def run_once(self) -> SendResult | None:
        """One delivery run; None if it failed (logged)."""
        try:
            with self._session_factory() as session:
                result = send_pending(
                    session,
                    self._ctx,
                    self._sender,
                    limit=self._limit,
                    retry_delay=self._retry_delay,
                    claim_timeout=self._claim_timeout,
                    stop=self._stop,
                )
        except Exception:
            log.exception("outbox worker: a delivery run failed; next try in %g s", self.interval)
            return None
        finally:
            self.runs += 1
        if result.sent or result.failed or result.gave_up:
            log.info(
                "outbox worker: sent %d, failed %d, gave up %d",
                result.sent,
                result.failed,
                result.gave_up,
            )
        return result

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)


def worker_for(
    settings: Settings, session_factory: Callable[[], Session], ctx: ServiceContext
) -> OutboxWorker | None:
    """The worker ``settings`` ask for, not started; None when the interval is 0 or no
    sender is configured (then messages stay queued for ``outbox send``)."""
    if settings.outbox_interval_seconds <= 0:
        return None
    sender = configured_sender(settings)
    if sender is None:
        log.warning(
            "BADGEWORKS_OUTBOX_INTERVAL_SECONDS is set but no mail sender is configured "
            "(BADGEWORKS_SMTP_HOST or BADGEWORKS_MAIL_CONSOLE): messages stay queued"
        )
        return None
    return OutboxWorker(session_factory, ctx, sender, settings.outbox_interval_seconds)
