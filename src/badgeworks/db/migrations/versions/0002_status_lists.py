"""Credential lifecycle: status lists, status entries, status changes; achievement default
validity; credentials issued through the VC-API (no candidate or achievement version).

Revision ID: 0002_status_lists
Revises: 0001_issuers_and_credentials
Create Date: 2026-11-26 02:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_status_lists"
down_revision: str | None = "0001_issuers_and_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "purpose", "number"),
    )
    op.create_index("ix_status_list_issuer_id", "status_list", ["issuer_id"], unique=False)
    op.create_table(
        "status_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["status_list.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id", "purpose"),
        sa.UniqueConstraint("list_id", "index"),
    )
    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("replaced_by", sa.String(length=36), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("replaced_by"),
    )
    op.create_index(
        "ix_status_change_credential_id", "status_change", ["credential_id"], unique=False
    )
    with op.batch_alter_table("achievement_version") as batch:
        batch.add_column(sa.Column("default_validity_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("credential") as batch:
        batch.alter_column("candidate_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("achievement_version_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.alter_column("achievement_version_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("candidate_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("achievement_version") as batch:
        batch.drop_column("default_validity_days")
    op.drop_index("ix_status_change_credential_id", table_name="status_change")
    op.drop_table("status_change")
    op.drop_table("status_entry")
    op.drop_index("ix_status_list_issuer_id", table_name="status_list")
    op.drop_table("status_list")
