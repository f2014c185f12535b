"""Language editions of achievement versions (OB 3.0 ``inLanguage`` and ``related``).

Revision ID: 0009_achievement_editions
Revises: 0001_issuers_and_credentials
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_achievement_editions"
down_revision: str | None = "0001_issuers_and_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "achievement_edition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("achievement_version_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("criteria_narrative", sa.Text(), nullable=True),
        sa.Column("image_caption", sa.String(length=500), nullable=True),
        sa.Column("result_names", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["achievement_version_id"], ["achievement_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("achievement_version_id", "lang"),
    )
    op.create_index(
        "ix_achievement_edition_achievement_version_id",
        "achievement_edition",
        ["achievement_version_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_achievement_edition_achievement_version_id", table_name="achievement_edition")
    op.drop_table("achievement_edition")
