"""Candidate sign-in tables: single-use magic links and the sessions they start.

Candidates have no password. ``CandidateLink`` holds the SHA-256 of a magic link's token
(the token itself is only ever in the email); ``CandidateSession`` holds the SHA-256 of a
session cookie and the session's CSRF token. Both are tied to an email address, not to
one candidate row: the same person may be a candidate of several programs.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from badgeworks.db.models import timestamp_field


class CandidateLink(SQLModel, table=True):
    """A magic sign-in link: single use, expires 30 minutes after it was made."""

    __tablename__ = "candidate_link"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    used_at: datetime | None = timestamp_field(nullable=True)


class CandidateSession(SQLModel, table=True):
    """A signed-in candidate's server-side session."""

    __tablename__ = "candidate_session"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    token_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    ended_at: datetime | None = timestamp_field(nullable=True)
