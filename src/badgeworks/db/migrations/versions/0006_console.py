"""Program console: staff members, their roles per issuer, sessions, sign-in attempts and
bulk issuance jobs.

Revision ID: 0006_console
Revises: 0001_issuers_and_credentials
Create Date: 2026-11-26 01:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_console"
down_revision: str | None = "0001_issuers_and_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_member_email", "staff_member", ["email"], unique=True)

    op.create_table(
        "staff_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "issuer_id"),
    )
    op.create_index(
        "ix_staff_membership_issuer_id", "staff_membership", ["issuer_id"], unique=False
    )
    op.create_index("ix_staff_membership_staff_id", "staff_membership", ["staff_id"], unique=False)

    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_session_staff_id", "staff_session", ["staff_id"], unique=False)
    op.create_index("ix_staff_session_token_hash", "staff_session", ["token_hash"], unique=True)

    op.create_table(
        "staff_login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_staff_login_attempt_client", "staff_login_attempt", ["client"], unique=False
    )
    op.create_index("ix_staff_login_attempt_email", "staff_login_attempt", ["email"], unique=False)

    op.create_table(
        "bulk_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("csv_text", sa.Text(), nullable=False),
        sa.Column("line_map", sa.JSON(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("good_rows", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("issued", sa.JSON(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bulk_job_issuer_id", "bulk_job", ["issuer_id"], unique=False)
    op.create_index("ix_bulk_job_staff_id", "bulk_job", ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bulk_job_staff_id", table_name="bulk_job")
    op.drop_index("ix_bulk_job_issuer_id", table_name="bulk_job")
    op.drop_table("bulk_job")
    op.drop_index("ix_staff_login_attempt_email", table_name="staff_login_attempt")
    op.drop_index("ix_staff_login_attempt_client", table_name="staff_login_attempt")
    op.drop_table("staff_login_attempt")
    op.drop_index("ix_staff_session_token_hash", table_name="staff_session")
    op.drop_index("ix_staff_session_staff_id", table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_index("ix_staff_membership_staff_id", table_name="staff_membership")
    op.drop_index("ix_staff_membership_issuer_id", table_name="staff_membership")
    op.drop_table("staff_membership")
    op.drop_index("ix_staff_member_email", table_name="staff_member")
    op.drop_table("staff_member")
