"""Presentation requests to wallets over OpenID for Verifiable Presentations 1.0
(docs/wallets.md): one row per request, answered once.

Revision ID: 0029_wallet_presentations
Revises: 0028_wallet_issuance
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_wallet_presentations"
down_revision: str | tuple[str, ...] | None = "0028_wallet_issuance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_presentation_request",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("issuer_filter", sa.Text(), nullable=True),
        sa.Column("achievement_filter", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("refusal_code", sa.String(length=64), nullable=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_wallet_presentation_request_expires_at",
        "wallet_presentation_request",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_wallet_presentation_request_expires_at", table_name="wallet_presentation_request"
    )
    op.drop_table("wallet_presentation_request")
