"""Rate-limit counters shared by every worker process (``services/infra/rate_limit.py``)."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class RateLimitWindow(SQLModel, table=True):
    """How many requests one client made in one window of one rate limit.

    A request is counted with one ``INSERT … ON CONFLICT DO UPDATE … WHERE hits < cap``
    (atomic on SQLite and PostgreSQL), so parallel requests from several processes cannot
    all pass a read-then-write check. ``period`` is the window's number (seconds since the
    epoch divided by the window's length); a row is deleted once ``ends_at`` (seconds
    since the epoch) is past, when it no longer counts.
    """

    __tablename__ = "rate_limit_window"

    name: str = Field(primary_key=True, max_length=40)
    client: str = Field(primary_key=True, max_length=100)
    period: int = Field(primary_key=True, sa_type=BigInteger)
    hits: int = 0
    ends_at: int = Field(sa_type=BigInteger)
