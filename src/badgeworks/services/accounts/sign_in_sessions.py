"""Server-side sign-in sessions and their CSRF tokens, for staff and candidates alike.

A session is a random 32-byte cookie stored only as its SHA-256 (``tokens.hash_token``),
so a copy of the database opens no browser. Each session has its own CSRF token
(synchronizer token pattern) that every form must send back; the server keeps it as is,
because it puts it into every form it renders (it is worthless without the cookie).

Staff and candidates keep their sessions in their own tables (``StaffSession``,
``CandidateSession``) with the same columns; a ``SessionKind`` names the table, the
lifetimes and what a failed CSRF check says.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlmodel import Session, col, select

from badgeworks.db.candidate_access import CandidateSession
from badgeworks.db.console import StaffSession
from badgeworks.services.accounts.tokens import hash_token
from badgeworks.services.errors import ForbiddenError

#: Cookie and CSRF values longer than this are refused unread.
MAX_TOKEN_LENGTH = 200
#: A session with an idle timeout is marked seen at most this often, so reads stay reads.
TOUCH_EVERY = timedelta(minutes=1)

Row = TypeVar("Row", StaffSession, CandidateSession)


@dataclass(frozen=True)
class SessionKind(Generic[Row]):
    """Whose sessions these are: the table, how long they last, what a CSRF failure says.

    ``idle_timeout`` ends a session that has not been used for that long (None: only the
    absolute ``lifetime`` counts).
    """

    table: type[Row]
    lifetime: timedelta
    idle_timeout: timedelta | None
    csrf_message: str
    csrf_code: str


def new_secret() -> str:
    """A fresh cookie value or CSRF token: 32 random bytes, base64url."""
    return secrets.token_urlsafe(32)


def start(
    session: Session, kind: SessionKind[Row], *, now: datetime, **owner: Any
) -> tuple[str, str]:
    """A new session for ``owner`` (its table's owner columns); returns ``(cookie, CSRF token)``.

    The cookie itself is not stored. The caller's pending changes commit with it.
    """
    cookie = new_secret()
    csrf = new_secret()
    values: dict[str, Any] = {
        "token_hash": hash_token(cookie),
        "csrf_token": csrf,
        "created_at": now,
        "expires_at": now + kind.lifetime,
    }
    if kind.idle_timeout is not None:
        values["last_seen_at"] = now
    session.add(kind.table(**values, **owner))
    session.commit()
    return cookie, csrf


def look_up(
    session: Session, kind: SessionKind[Row], cookie: str | None, *, now: datetime
) -> Row | None:
    """The live session for a cookie value, or None (unknown, ended, idle or expired)."""
    if not cookie or len(cookie) > MAX_TOKEN_LENGTH:
        return None
    row = session.exec(
        select(kind.table).where(col(kind.table.token_hash) == hash_token(cookie))
    ).first()
    if row is None or row.ended_at is not None or now >= row.expires_at:
        return None
    if (
        kind.idle_timeout is not None
        and isinstance(row, StaffSession)
        and now - row.last_seen_at >= kind.idle_timeout
    ):
        return None
    return row


def keep_alive(session: Session, row: Row, *, now: datetime) -> None:
    """Mark a session with an idle timeout as used now (at most once per ``TOUCH_EVERY``)."""
    if isinstance(row, StaffSession) and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.commit()


def end(session: Session, kind: SessionKind[Row], session_id: int, *, now: datetime) -> None:
    """Sign out: the session row is ended and its cookie stops working."""
    row = session.get(kind.table, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.add(row)
        session.commit()


def check_csrf(kind: SessionKind[Row], expected: str, given: str | None) -> None:
    """``ForbiddenError`` unless ``given`` is the session's CSRF token (constant time)."""
    if not given or not hmac.compare_digest(given.encode()[:MAX_TOKEN_LENGTH], expected.encode()):
        raise ForbiddenError(kind.csrf_message, code=kind.csrf_code)
