"""Tables for mentor and host-company endorsements.

- ``Endorser``: a mentor or host organisation with a signing identity of its own, either a
  ``did:web`` under this service with an Ed25519 key we hold encrypted at rest
  (``key_custody = "service"``), or a DID the endorser controls (``"own"``), in which case
  they sign outside the service and upload the signed endorsement.
- ``ReviewInvite``: a single-use, expiring review link. Only the SHA-256 of its token is
  stored.
- ``Endorsement``: a signed ``EndorsementCredential``, stored verbatim: the
  ``document`` column never changes once written (a ``before_update`` guard enforces it);
  withdrawal is recorded beside it.
- ``CredentialReservation``: the id a project's credential will have, allocated before
  the credential is signed so endorsements made earlier can name it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, event, inspect
from sqlmodel import Field, SQLModel

from badgeworks.db.models import ImmutableRowError, json_field, timestamp_field


class Endorser(SQLModel, table=True):
    """A mentor or host organisation who endorses a program's candidates."""

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    kind: str = Field(max_length=8)  # "mentor" or "host"
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    organization: str | None = Field(default=None, max_length=200)
    organization_url: str | None = Field(default=None, max_length=2000)
    title: str | None = Field(default=None, max_length=200)
    key_custody: str = Field(default="service", max_length=8)  # "service" or "own"
    did: str = Field(max_length=500, index=True)
    vm_id: str | None = Field(default=None, max_length=600)
    public_key_multibase: str | None = Field(default=None, max_length=100)
    encrypted_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = timestamp_field()


class ReviewInvite(SQLModel, table=True):
    """A link that lets one endorser review one project, once, before it expires."""

    __tablename__ = "review_invite"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    endorser_id: str = Field(foreign_key="endorser.id", index=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    subject: str = Field(default="credential", max_length=16)  # "credential"/"achievement"
    # Set on a withdrawal link: the endorsement the endorser may withdraw with it.
    withdraws: str | None = Field(default=None, max_length=36)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    used_at: datetime | None = timestamp_field(nullable=True)
    revoked_at: datetime | None = timestamp_field(nullable=True)


class Endorsement(SQLModel, table=True):
    """A signed EndorsementCredential: ``document`` is the exact JSON text, never rebuilt."""

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    endorser_id: str = Field(foreign_key="endorser.id", index=True, max_length=36)
    invite_id: int = Field(foreign_key="review_invite.id", unique=True)
    subject_id: str = Field(max_length=2000)
    credential_id: str = Field(max_length=36, index=True)
    ratings: list[dict[str, Any]] = json_field()
    document: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = timestamp_field()
    withdrawn_at: datetime | None = timestamp_field(nullable=True)
    withdrawn_reason: str | None = Field(default=None, max_length=500)


class CredentialReservation(SQLModel, table=True):
    """The credential id of a project, reserved before its credential is signed."""

    __tablename__ = "credential_reservation"

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    credential_id: str = Field(max_length=36, unique=True)
    created_at: datetime = timestamp_field()


@event.listens_for(Endorsement, "before_update")
def _endorsement_is_verbatim(_mapper: Any, _connection: Any, target: Endorsement) -> None:
    # The signed text is what the endorser signed; only the withdrawal columns may change.
    state = inspect(target)
    for name in ("document", "subject_id", "endorser_id", "credential_id", "ratings"):
        if state.attrs[name].history.has_changes():
            raise ImmutableRowError(
                f"endorsement {target.id} is immutable; it was signed as stored"
            )
