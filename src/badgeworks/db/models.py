"""SQLModel tables.

The API's request/response models live in each service package's ``models.py``; these
classes are the storage shape only.

Two rules are enforced here rather than trusted to callers:

- A ``Credential`` row holds the exact signed JSON text and is never updated: a
  ``before_update`` guard raises ``ImmutableRowError`` (revocation is a separate row).
- An ``AchievementVersion`` that a credential used is never edited; the achievements
  service creates a new version instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, delete, event, inspect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time in UTC: only the column default for rows written outside services.

    Services set the times they decide from the context's clock (``ServiceContext.clock``);
    ``tests/test_clock.py`` keeps this wall clock out of them.
    """
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zone type and returns naive values; PostgreSQL returns aware ones.
    Normalising here means the rest of the code only ever sees aware UTC datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def timestamp_field(nullable: bool = False) -> Any:
    """A UTC timestamp column, stamped with the current time unless ``nullable``."""
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(UTCDateTime(), nullable=nullable),
    )


def json_field(default: Any = list) -> Any:
    """A JSON column that is never null (an empty list unless ``default`` says otherwise)."""
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class ImmutableRowError(RuntimeError):
    """Raised when code tries to update a row that must never change."""


class Issuer(SQLModel, table=True):
    """A program or organisation that issues credentials; its Profile ``id`` is ``did``."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    image_sha256: str | None = Field(default=None, max_length=64)
    image_caption: str | None = Field(default=None, max_length=500)
    did_method: str = Field(default="web", max_length=8)
    did: str = Field(max_length=500, unique=True)
    #: The Data Integrity cryptosuite this issuer signs with from now on (credentials
    #: already signed keep theirs: they are stored verbatim).
    cryptosuite: str = Field(default="eddsa-rdfc-2022", max_length=32)
    #: Whether new credentials name the candidate (a plain ``name`` IdentityObject beside
    #: the email hashes) or carry the hashes only; issued credentials keep what they say.
    name_in_credentials: bool = Field(default=True)
    #: The issuer's revocation reasons, JSON ``[{"code": 2, "message": "…"}, …]``, or None:
    #: credentials issued while it is set carry a multi-bit revocation entry whose
    #: ``statusMessage`` lists them (services/lifecycle/reasons.py).
    revocation_reasons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The ``statusReference`` URL those entries carry (a page explaining the reasons).
    revocation_reference: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp_field()


class IssuerKey(SQLModel, table=True):
    """One Ed25519 key of an issuer. Keys are never deleted: old credentials need them."""

    __tablename__ = "issuer_key"
    __table_args__ = (UniqueConstraint("issuer_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    number: int
    vm_id: str = Field(max_length=600, unique=True)
    public_key_multibase: str = Field(max_length=100)
    encrypted_secret: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = timestamp_field()
    retired_at: datetime | None = timestamp_field(nullable=True)


class ApiToken(SQLModel, table=True):
    """An API token scoped to one issuer. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    label: str = Field(default="", max_length=200)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = timestamp_field()
    revoked_at: datetime | None = timestamp_field(nullable=True)


class Achievement(SQLModel, table=True):
    """The stable identity of an achievement; its content lives in versions."""

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    current_version: int = Field(default=1)
    created_at: datetime = timestamp_field()


class AchievementVersion(SQLModel, table=True):
    """One version of an achievement's content, frozen once a credential used it."""

    __tablename__ = "achievement_version"
    __table_args__ = (UniqueConstraint("achievement_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    achievement_id: int = Field(foreign_key="achievement.id", index=True)
    version: int
    name: str = Field(max_length=200)
    description: str = Field(sa_column=Column(Text, nullable=False))
    criteria_narrative: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    achievement_type: str = Field(default="Fieldwork", max_length=100)
    image_sha256: str | None = Field(default=None, max_length=64)
    image_caption: str | None = Field(default=None, max_length=500)
    image_media_type: str | None = Field(default=None, max_length=100)
    alignments: list[dict[str, Any]] = json_field()
    result_descriptions: list[dict[str, Any]] = json_field()
    tags: list[str] = json_field()
    in_language: str | None = Field(default=None, max_length=35)
    #: Credentials issued with this version get ``validUntil`` = ``validFrom`` + this many
    #: days (None: they do not expire).
    default_validity_days: int | None = None
    created_at: datetime = timestamp_field()


class AchievementEdition(SQLModel, table=True):
    """A language edition of one achievement version (OB 3.0 ``inLanguage`` + ``related``).

    Unlike the version itself, an edition may be added or changed after credentials were
    issued with the version: it is not part of any signed credential (those carry the
    version's own text, in its ``in_language``, and only a ``related`` link to the
    edition). ``lang`` is a canonical BCP 47 tag that differs from the version's.
    ``result_names`` translates the rubric: ``{rd_key: {"name": …, "levels": {key: …}}}``.
    """

    __tablename__ = "achievement_edition"
    __table_args__ = (UniqueConstraint("achievement_version_id", "lang"),)

    id: int | None = Field(default=None, primary_key=True)
    achievement_version_id: int = Field(foreign_key="achievement_version.id", index=True)
    lang: str = Field(max_length=35)
    name: str = Field(max_length=200)
    description: str = Field(sa_column=Column(Text, nullable=False))
    criteria_narrative: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    image_caption: str | None = Field(default=None, max_length=500)
    result_names: dict[str, Any] = json_field(dict)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class Candidate(SQLModel, table=True):
    """A recipient. ``salt`` is random per candidate and salts the email hashes."""

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    name: str = Field(max_length=200)
    emails: list[str] = json_field()
    did: str | None = Field(default=None, max_length=500)
    salt: str = Field(max_length=64)
    created_at: datetime = timestamp_field()


class CandidateEmail(SQLModel, table=True):
    """One email of a candidate, lower-case: the indexed way to find a candidate by email.

    Kept equal to ``Candidate.emails`` by the mapper events below (every insert, and every
    update that changes the emails), so bulk issuance looks candidates up by
    ``(issuer_id, email)`` instead of reading all of an issuer's candidates.
    """

    __tablename__ = "candidate_email"
    __table_args__ = (
        UniqueConstraint("candidate_id", "email"),
        Index("ix_candidate_email_issuer_email", "issuer_id", "email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", ondelete="CASCADE")
    issuer_id: int = Field(foreign_key="issuer.id")
    email: str = Field(sa_column=Column(Text, nullable=False))


def _email_rows(target: Candidate) -> list[dict[str, Any]]:
    emails = dict.fromkeys(str(e).lower() for e in (target.emails or []))
    return [{"candidate_id": target.id, "issuer_id": target.issuer_id, "email": e} for e in emails]


@event.listens_for(Candidate, "after_insert")
def _index_emails(_mapper: object, connection: Any, target: Candidate) -> None:
    rows = _email_rows(target)
    if rows:
        connection.execute(CandidateEmail.__table__.insert(), rows)  # type: ignore[attr-defined]


@event.listens_for(Candidate, "after_update")
def _reindex_emails(_mapper: object, connection: Any, target: Candidate) -> None:
    if not inspect(target).attrs.emails.history.has_changes():
        return
    table: Any = CandidateEmail.__table__  # type: ignore[attr-defined]
    connection.execute(delete(table).where(table.c.candidate_id == target.id))
    rows = _email_rows(target)
    if rows:
        connection.execute(table.insert(), rows)


class Project(SQLModel, table=True):
    """A micro-internship engagement: a draft until completed, then read-only."""

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    achievement_id: int = Field(foreign_key="achievement.id", index=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    title: str = Field(max_length=300)
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    host: dict[str, Any] = json_field(dict)
    role: str = Field(default="Intern", max_length=100)
    start_date: date | None = None
    end_date: date | None = None
    mentors: list[dict[str, Any]] = json_field()
    results: list[dict[str, Any]] = json_field()
    status: str = Field(default="draft", max_length=16)
    completed_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()


class Deliverable(SQLModel, table=True):
    """A piece of the candidate's work: an uploaded file (by SHA-256) or a URL."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    genre: str | None = Field(default=None, max_length=100)
    url: str | None = Field(default=None, max_length=2000)
    sha256: str | None = Field(default=None, max_length=64, index=True)
    size: int | None = None
    media_type: str | None = Field(default=None, max_length=200)
    filename: str | None = Field(default=None, max_length=300)
    created_at: datetime = timestamp_field()


class Credential(SQLModel, table=True):
    """An issued credential: ``document`` is the exact signed JSON text, never rebuilt."""

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", unique=True)
    # Both are None for a credential issued through the VC-API (POST /credentials/issue),
    # which signs whatever well-formed credential the issuer sends.
    candidate_id: int | None = Field(default=None, foreign_key="candidate.id", index=True)
    achievement_version_id: int | None = Field(
        default=None, foreign_key="achievement_version.id", index=True
    )
    document: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = timestamp_field()


class Revocation(SQLModel, table=True):
    """Revocation of a credential: a row of its own, so the credential row never changes."""

    id: int | None = Field(default=None, primary_key=True)
    credential_id: str = Field(foreign_key="credential.id", unique=True, max_length=36)
    reason: str = Field(default="", max_length=500)
    #: The value written at the credential's revocation index: an issuer's reason code, or
    #: None for a plain revocation (value 1).
    reason_code: int | None = Field(default=None)
    actor: str = Field(max_length=200)
    revoked_at: datetime = timestamp_field()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a request carrying an ``Idempotency-Key``, replayed on retry."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("issuer_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int
    response: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = timestamp_field()


class AuditEvent(SQLModel, table=True):
    """Who did what, when: issuance, revocation, key rotation, token changes, edits."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp_field()
    issuer_id: int | None = Field(default=None, foreign_key="issuer.id", index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=300)
    detail: dict[str, Any] = json_field(dict)


@event.listens_for(Credential, "before_update")
def _credential_is_immutable(_mapper: Any, _connection: Any, target: Credential) -> None:
    # Signed credentials are stored verbatim and never rebuilt or edited (STYLE rule 9).
    raise ImmutableRowError(f"credential {target.id} is immutable; it was signed as stored")


@event.listens_for(AuditEvent, "before_update")
def _audit_is_append_only(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise ImmutableRowError("audit events are append-only")


class EndorserStatusList(SQLModel, table=True):
    """A Bitstring Status List of one endorser whose key we hold (docs/endorsements.md).

    The same shape as ``db.status.StatusList`` (an issuer's list), but owned by an
    ``Endorser``: an endorsement's status list must be issued and signed by the endorser,
    its issuer, so each endorser has lists of their own. ``bits``, ``version`` and
    ``document`` always change together, in one transaction.
    """

    __tablename__ = "endorser_status_list"
    __table_args__ = (UniqueConstraint("endorser_id", "purpose", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    endorser_id: str = Field(foreign_key="endorser.id", index=True, max_length=36)
    purpose: str = Field(max_length=16)
    number: int
    entries: int
    bits: bytes
    version: int = Field(default=1)
    document: str = Field(sa_column=Column(Text, nullable=False))
    #: How many slots of the list's index permutation were handed out (status_lists).
    next_slot: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class EndorserStatusEntry(SQLModel, table=True):
    """Index ``index`` of endorser list ``list_id`` belongs to endorsement ``credential_id``."""

    __tablename__ = "endorser_status_entry"
    __table_args__ = (
        UniqueConstraint("list_id", "index"),
        UniqueConstraint("credential_id", "purpose"),
    )

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="endorser_status_list.id")
    index: int
    purpose: str = Field(max_length=16)
    # No foreign key: the entry is claimed before the endorsement row exists, in the same
    # transaction (as for credentials).
    credential_id: str = Field(max_length=36)
