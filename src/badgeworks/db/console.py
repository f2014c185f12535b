"""Tables of the program console: staff, their roles per issuer, sessions, sign-in
attempts and bulk issuance jobs.

Secrets are never stored in clear: a password is kept as an scrypt hash and a session
cookie as its SHA-256. The CSRF token of a session is stored as is, because the server
must put it into every form it renders (it is worthless without the session cookie).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from badgeworks.db.models import json_field, timestamp_field

#: Roles, weakest first: each role may do everything the ones before it may.
ROLES = ("viewer", "issuer", "owner")


class StaffMember(SQLModel, table=True):
    """A person who signs in to the console. ``email`` is stored lower-case."""

    __tablename__ = "staff_member"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    password_hash: str | None = Field(default=None, max_length=300)
    created_at: datetime = timestamp_field()
    disabled_at: datetime | None = timestamp_field(nullable=True)
    #: The program whose owner chose the current password, or None when the person chose
    #: it through a link sent to the address (or the operator set it). A password a
    #: program chose opens that program only: knowing it proves nothing about the mailbox.
    password_issuer_id: int | None = Field(default=None, foreign_key="issuer.id")


class StaffMembership(SQLModel, table=True):
    """A staff member's role in one issuer (program): ``viewer``, ``issuer`` or ``owner``."""

    __tablename__ = "staff_membership"
    __table_args__ = (UniqueConstraint("staff_id", "issuer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    role: str = Field(max_length=16)
    created_at: datetime = timestamp_field()


class StaffSession(SQLModel, table=True):
    """A signed-in browser: the cookie's SHA-256, its CSRF token and its expiry."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = timestamp_field()
    last_seen_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    ended_at: datetime | None = timestamp_field(nullable=True)


class StaffLoginAttempt(SQLModel, table=True):
    """One sign-in attempt, for rate limiting by email and by client address."""

    __tablename__ = "staff_login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)
    client: str = Field(max_length=100, index=True)
    ok: bool = False
    at: datetime = timestamp_field()


class StaffLoginLimit(SQLModel, table=True):
    """A sign-in counter: ``pair:<client>|<email>`` or ``client:<client>``.

    Attempts are claimed with one conditional UPDATE each (``failures < limit``), so
    parallel requests cannot all pass a read-then-write check. A key that runs out is
    locked until ``locked_until``; each lock doubles the next one (``strikes``).
    """

    __tablename__ = "staff_login_limit"

    key: str = Field(primary_key=True, max_length=500)
    failures: int = 0
    strikes: int = 0
    locked_until: datetime | None = timestamp_field(nullable=True)
    updated_at: datetime = timestamp_field()


class StaffPasswordLink(SQLModel, table=True):
    """A single-use link, sent to a staff member's address, to choose their own password.

    Only the SHA-256 of the token is stored. Using it proves control of the mailbox, so
    the password it sets opens every program the account belongs to.
    """

    __tablename__ = "staff_password_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    issuer_id: int | None = Field(default=None, foreign_key="issuer.id")
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    used_at: datetime | None = timestamp_field(nullable=True)


class BulkJob(SQLModel, table=True):
    """A CSV upload: validated on upload, then issued row by row (the page polls it).

    ``csv_text`` holds only the rows that passed validation (with the header);
    ``line_map`` maps each of its rows back to its line in the uploaded file. ``worker``
    and ``heartbeat_at`` say who runs it and that it is alive: a running job whose worker
    died is marked ``interrupted`` and can be resumed (services/issuance/bulk_jobs.py). A job made
    by ``badgeworks issue-csv`` (``source`` "cli") has no staff member.
    """

    __tablename__ = "bulk_job"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id", index=True)
    filename: str = Field(default="", max_length=300)
    status: str = Field(default="validated", max_length=16)
    csv_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    line_map: list[int] = json_field()
    total_rows: int = 0
    good_rows: int = 0
    problems: list[dict[str, Any]] = json_field()
    done: int = 0
    issued: list[dict[str, Any]] = json_field()
    rejected: list[dict[str, Any]] = json_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    finished_at: datetime | None = timestamp_field(nullable=True)
    source: str = Field(default="console", max_length=16)
    worker: str = Field(default="", max_length=200)
    heartbeat_at: datetime | None = timestamp_field(nullable=True)
    attempts: int = 0
    reissue_revoked: bool = False
    #: Whether each issued row queues its candidate's email (docs/outbox.md).
    notify_candidates: bool = True
    skipped: list[dict[str, Any]] = json_field()


class BulkRow(SQLModel, table=True):
    """A CSV row a bulk run has taken on: its key is unique per issuer, for good.

    ``row_key`` is ``ext:<external_id>`` or ``sha256:<digest of the normalised row>``
    (services/issuance/bulk.py). ``project_id`` is the project the row issues through; a project
    has at most one credential, so a re-run, a resumed job or a concurrent run that finds
    this row issues nothing new (re-issuing a revoked row moves it to a new project).
    """

    __tablename__ = "bulk_row"
    __table_args__ = (UniqueConstraint("issuer_id", "row_key"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    row_key: str = Field(max_length=300)
    job_id: int | None = Field(default=None, foreign_key="bulk_job.id", index=True)
    line: int = 0
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    created_at: datetime = timestamp_field()
