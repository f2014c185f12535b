"""Tables of the credential lifecycle: status lists, their entries, and status changes.

- ``StatusList``: one W3C Bitstring Status List of an issuer for one purpose
  (``revocation`` or ``suspension``) holding entries of one size (``status_size`` bits),
  numbered from 1; a new one starts when it fills.
  ``bits``, ``version`` and ``document`` (the exact signed JSON we serve) always change
  in the same transaction, so the served list's signature matches its bits.
- ``StatusEntry``: the index a credential holds in a list. ``(list_id, index)`` is unique,
  so two processes issuing at once can never be handed the same index. ``next_slot``
  counts the list's slots handed out; slot ``k`` maps to an index through a keyed
  permutation, so indexes follow no issue order.
- ``StatusChange``: the append-only history of lifecycle operations, with the reason the
  issuer gives (shown on the hosted credential page) and, for a re-issue, the replacement.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from badgeworks.db.models import ImmutableRowError, timestamp_field


class StatusList(SQLModel, table=True):
    """A Bitstring Status List and its current signed credential."""

    __tablename__ = "status_list"
    __table_args__ = (UniqueConstraint("issuer_id", "purpose", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    purpose: str = Field(max_length=16)
    number: int
    entries: int
    bits: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    version: int = Field(default=1)
    document: str = Field(sa_column=Column(Text, nullable=False))
    #: How many slots of the list's index permutation were handed out: slot ``k`` is index
    #: ``permute(k)`` (services/lifecycle/status_lists.py), so a claim needs no retry.
    next_slot: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: Bits per entry (``statusSize``): 1, or more for an issuer's revocation reasons. A
    #: list holds entries of one size.
    status_size: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class StatusEntry(SQLModel, table=True):
    """The index ``index`` of list ``list_id`` belongs to credential ``credential_id``."""

    __tablename__ = "status_entry"
    __table_args__ = (
        UniqueConstraint("list_id", "index"),
        UniqueConstraint("credential_id", "purpose"),
    )

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="status_list.id")
    index: int
    purpose: str = Field(max_length=16)
    # No foreign key: the entry is allocated (and flushed, to claim the index) before the
    # credential row exists, inside the same transaction.
    credential_id: str = Field(max_length=36)


class StatusChange(SQLModel, table=True):
    """One lifecycle operation on a credential (append-only)."""

    __tablename__ = "status_change"
    __table_args__ = (Index("ix_status_change_credential_id", "credential_id"),)

    id: int | None = Field(default=None, primary_key=True)
    credential_id: str = Field(max_length=36)
    #: ``revoke``, ``suspend``, ``unsuspend``, ``reissue`` or ``expire``.
    action: str = Field(max_length=16)
    reason: str = Field(default="", max_length=500)
    actor: str = Field(max_length=200)
    replaced_by: str | None = Field(default=None, max_length=36, unique=True)
    at: datetime = timestamp_field()


@event.listens_for(StatusChange, "before_update")
def _history_is_append_only(_mapper: object, _connection: object, target: StatusChange) -> None:
    raise ImmutableRowError("status changes are append-only")
