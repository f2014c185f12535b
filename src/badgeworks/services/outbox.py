"""The outbox: queue messages inside the caller's transaction, deliver them later.

``enqueue`` only adds a row to the session, so the message commits (or rolls back) with
the thing it announces. ``send_pending`` delivers pending messages through a sender
(``adapters.smtp.SmtpSender`` in production) and records each attempt; after
``MAX_ATTEMPTS`` failures a message is marked ``failed`` and left for an operator.

Review links are secrets (whoever holds one can sign as the mentor), so once a message is
delivered its bodies are replaced by a note: the database keeps only the link's hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from badgeworks.adapters.smtp import Mail, SmtpError, SmtpSender
from badgeworks.db.outbox import OutboxMessage
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError
from badgeworks.settings import Settings

MAX_ATTEMPTS = 5
DELIVERED_NOTE = "(delivered; the body is not kept because it contained a single-use link)"

Sender = Callable[[Mail], None]


def enqueue(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    issuer_id: int | None = None,
    reference: str = "",
) -> OutboxMessage:
    """Add a pending message to the session (committed with the caller's unit of work)."""
    row = OutboxMessage(
        issuer_id=issuer_id,
        to=to,
        subject=subject[:300],
        body_text=text,
        body_html=html,
        reference=reference[:100],
    )
    session.add(row)
    return row


def list_messages(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[OutboxMessage]:
    """Messages, oldest first, optionally only those with ``status``."""
    stmt = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(session.exec(stmt.offset(offset).limit(limit)))


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


@dataclass
class SendResult:
    """What one ``send_pending`` run did."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0


def send_pending(
    session: Session, ctx: ServiceContext, send: Sender, *, limit: int = 100
) -> SendResult:
    """Deliver up to ``limit`` pending messages; each outcome is committed at once."""
    result = SendResult()
    for row in list_messages(session, status="pending", limit=limit):
        row.attempts += 1
        try:
            send(Mail(to=row.to, subject=row.subject, text=row.body_text, html=row.body_html))
        except SmtpError as exc:
            row.last_error = exc.message[:1000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                result.gave_up += 1
            else:
                result.failed += 1
        else:
            row.status = "sent"
            row.sent_at = ctx.clock()
            row.last_error = None
            row.body_text = DELIVERED_NOTE
            row.body_html = f"<p>{DELIVERED_NOTE}</p>"
            result.sent += 1
        session.add(row)
        session.commit()
    return result
