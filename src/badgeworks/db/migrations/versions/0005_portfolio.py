"""Portfolio pages: the candidate's handle and choices, and per-item visibility.

Revision ID: 0005_portfolio
Revises: 0001_issuers_and_credentials
Create Date: 2026-11-26 02:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_portfolio"
down_revision: str | None = "0001_issuers_and_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portfolio",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=40), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("show_name", sa.Boolean(), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("photo_caption", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidate.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("candidate_id"),
    )
    op.create_index("ix_portfolio_handle", "portfolio", ["handle"], unique=True)
    op.create_table(
        "portfolio_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidate.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("candidate_id", "kind", "ref"),
    )
    op.create_index(
        "ix_portfolio_item_candidate_id", "portfolio_item", ["candidate_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_portfolio_item_candidate_id", table_name="portfolio_item")
    op.drop_table("portfolio_item")
    op.drop_index("ix_portfolio_handle", table_name="portfolio")
    op.drop_table("portfolio")
