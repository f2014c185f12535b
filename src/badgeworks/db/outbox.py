"""The outbox: messages the service wants delivered (review links today), sent later.

Writing a message is part of the same transaction as the thing it announces, so a link
is never mailed for an invite that was rolled back. ``badgeworks outbox send`` (or the
server's own worker) delivers pending messages and records each attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from badgeworks.db.models import UTCDateTime, utcnow


def _ts(nullable: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(UTCDateTime(), nullable=nullable),
    )


class OutboxMessage(SQLModel, table=True):
    """One email: ``status`` is ``pending``, ``sending`` (claimed by a sender), ``sent``,
    ``failed`` (gave up) or ``cancelled``.

    ``attempted_at`` is when the last delivery attempt started: while ``sending``, when the
    message was claimed (a claim older than the timeout is taken back).
    """

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int | None = Field(default=None, foreign_key="issuer.id", index=True)
    to: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=1000)
    reference: str = Field(default="", max_length=100)
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)
    attempted_at: datetime | None = _ts(nullable=True)
