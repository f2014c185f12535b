"""Presentation requests to wallets (OpenID for Verifiable Presentations 1.0).

``WalletPresentationRequest`` is one request an employer started on the public verifier:
its id (in the page's and the response endpoint's URLs), the ``nonce`` and ``state`` the
wallet must echo, what it was narrowed to (an issuer, an achievement), when it expires,
and what became of it. An answer is accepted once: ``answered_at`` is set by a
compare-and-set (``UPDATE … WHERE answered_at IS NULL``), together with the report the
employer's page shows (``outcome``, JSON). A refused answer leaves only its code
(``refusal_code``), never the answer. Rows are deleted a day after they expire
(docs/wallets.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from badgeworks.db.models import timestamp_field


class WalletPresentationRequest(SQLModel, table=True):
    """One presentation request: single answer, expiring."""

    __tablename__ = "wallet_presentation_request"
    #: Expired rows are found by date and deleted.
    __table_args__ = (Index("ix_wallet_presentation_request_expires_at", "expires_at"),)

    id: str = Field(primary_key=True, max_length=32)
    nonce: str = Field(max_length=64)
    state: str = Field(max_length=64)
    #: The issuer id and achievement id the employer narrowed the request to, if any.
    issuer_filter: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    achievement_filter: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    answered_at: datetime | None = timestamp_field(nullable=True)
    #: The accepted answer's report (JSON), shown on the employer's page.
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The code of the last refused answer (``oid4vp.*``), shown in words on the page.
    refusal_code: str | None = Field(default=None, max_length=64)
    refused_at: datetime | None = timestamp_field(nullable=True)
