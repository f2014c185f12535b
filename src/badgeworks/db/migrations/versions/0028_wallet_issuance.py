"""Issuance to wallets (OpenID for Verifiable Credential Issuance 1.0): offers, nonces,
the credentials issued to wallets, and each issuer's wallet setting (docs/wallets.md).

Revision ID: 0028_wallet_issuance
Revises: 0027_status_message_lists
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_wallet_issuance"
down_revision: str | tuple[str, ...] | None = "0027_status_message_lists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_setting",
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("pin_required", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("issuer_id"),
    )
    op.create_table(
        "wallet_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("pin_hash", sa.String(length=64), nullable=True),
        sa.Column("pin_salt", sa.String(length=32), nullable=True),
        sa.Column("pin_length", sa.Integer(), nullable=True),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidate.id"]),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("offer_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_wallet_offer_credential_id", "wallet_offer", ["credential_id"])
    op.create_index("ix_wallet_offer_issuer_id", "wallet_offer", ["issuer_id"])
    op.create_table(
        "wallet_nonce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce_hash"),
    )
    op.create_table(
        "wallet_credential",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"]),
        sa.ForeignKeyConstraint(["offer_id"], ["wallet_offer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("offer_id", "format"),
    )
    op.create_index("ix_wallet_credential_credential_id", "wallet_credential", ["credential_id"])


def downgrade() -> None:
    op.drop_index("ix_wallet_credential_credential_id", table_name="wallet_credential")
    op.drop_table("wallet_credential")
    op.drop_table("wallet_nonce")
    op.drop_index("ix_wallet_offer_issuer_id", table_name="wallet_offer")
    op.drop_index("ix_wallet_offer_credential_id", table_name="wallet_offer")
    op.drop_table("wallet_offer")
    op.drop_table("wallet_setting")
