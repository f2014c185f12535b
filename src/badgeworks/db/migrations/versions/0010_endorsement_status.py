"""Endorsers' Bitstring Status Lists, so a withdrawn endorsement shows to verifiers.

New tables only (``status_list`` is left as it is: rebuilding it on SQLite would trip
the foreign keys of existing status entries).

Revision ID: 0010_endorsement_status
Revises: 0004_endorsements
Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_endorsement_status"
down_revision: str | None = "0004_endorsements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "endorser_status_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endorser_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["endorser_id"], ["endorser.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endorser_id", "purpose", "number"),
    )
    op.create_index(
        "ix_endorser_status_list_endorser_id",
        "endorser_status_list",
        ["endorser_id"],
        unique=False,
    )
    op.create_table(
        "endorser_status_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["endorser_status_list.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id", "purpose"),
        sa.UniqueConstraint("list_id", "index"),
    )


def downgrade() -> None:
    op.drop_table("endorser_status_entry")
    op.drop_index("ix_endorser_status_list_endorser_id", table_name="endorser_status_list")
    op.drop_table("endorser_status_list")
