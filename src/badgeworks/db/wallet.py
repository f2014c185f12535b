"""Issuance to a candidate's wallet (OpenID for Verifiable Credential Issuance 1.0).

``WalletOffer`` is one credential offer: the SHA-256 of its offer id (the secret in the
``credential_offer_uri``), of the pre-authorized code the offer carries, of its PIN when
the program asks for one, and of the access token the code was exchanged for. Secrets
are never stored, only their hashes; each offer is redeemed once (``redeemed_at``, set
by a compare-and-set). ``WalletNonce`` is one ``c_nonce`` handed out by the nonce
endpoint, deleted when a proof uses it. ``WalletCredential`` is a credential issued to a
wallet: the exact signed text (a JSON-LD object or a compact JWT), tied to the hosted
credential it copies and never updated. ``WalletSetting`` holds an issuer's choices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from badgeworks.db.models import ImmutableRowError, timestamp_field


class WalletSetting(SQLModel, table=True):
    """An issuer's wallet choices: whether an offer needs a PIN sent by email."""

    __tablename__ = "wallet_setting"

    issuer_id: int = Field(foreign_key="issuer.id", primary_key=True)
    pin_required: bool = Field(default=False)
    updated_at: datetime = timestamp_field()


class WalletOffer(SQLModel, table=True):
    """One credential offer for one hosted credential: single use, expiring."""

    __tablename__ = "wallet_offer"

    id: int | None = Field(default=None, primary_key=True)
    offer_hash: str = Field(max_length=64, unique=True)
    code_hash: str = Field(max_length=64, unique=True)
    credential_id: str = Field(foreign_key="credential.id", index=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuer.id", index=True)
    candidate_id: int | None = Field(default=None, foreign_key="candidate.id")
    #: The SHA-256 of the offer's salt and PIN, when the program asks for a PIN.
    pin_hash: str | None = Field(default=None, max_length=64)
    pin_salt: str | None = Field(default=None, max_length=32)
    pin_length: int | None = None
    #: Wrong PINs tried; the offer stops working at ``oid4vci.MAX_PIN_ATTEMPTS``.
    pin_failures: int = Field(default=0)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    redeemed_at: datetime | None = timestamp_field(nullable=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    token_expires_at: datetime | None = timestamp_field(nullable=True)


class WalletNonce(SQLModel, table=True):
    """A ``c_nonce`` from the nonce endpoint: used once by a proof, then deleted."""

    __tablename__ = "wallet_nonce"

    id: int | None = Field(default=None, primary_key=True)
    nonce_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = timestamp_field()


class WalletCredential(SQLModel, table=True):
    """A credential issued to a wallet: the exact signed text, never rebuilt or updated."""

    __tablename__ = "wallet_credential"
    __table_args__ = (UniqueConstraint("offer_id", "format"),)

    id: str = Field(primary_key=True, max_length=36)
    credential_id: str = Field(foreign_key="credential.id", index=True, max_length=36)
    offer_id: int = Field(foreign_key="wallet_offer.id")
    format: str = Field(max_length=32)
    holder: str = Field(sa_column=Column(Text, nullable=False))
    document: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = timestamp_field()


@event.listens_for(WalletCredential, "before_update")
def _wallet_credential_is_immutable(_mapper: Any, _connection: Any, target: Any) -> None:
    # Signed credentials are stored verbatim and never edited (docs/architecture.md).
    raise ImmutableRowError(f"wallet credential {target.id} is immutable; it was signed as stored")
