"""Staff accounts: who chose a password, set-password links and atomic sign-in limits.

``staff_member.password_issuer_id`` names the program whose owner chose the current
password (a password one program chose opens that program only). ``staff_password_link``
holds single-use links, sent to the address, to choose one's own password.
``staff_login_limit`` holds the sign-in counters per (client, account) and per client.

Revision ID: 0015_staff_accounts
Revises: 0006_console
Create Date: 2026-12-04 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_staff_accounts"
down_revision: str | None = "0006_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_member") as batch:
        batch.add_column(sa.Column("password_issuer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_staff_member_password_issuer_id", "issuer", ["password_issuer_id"], ["id"]
        )
    op.create_table(
        "staff_password_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_member.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_staff_password_link_token_hash", "staff_password_link", ["token_hash"], unique=True
    )
    op.create_index(
        "ix_staff_password_link_staff_id", "staff_password_link", ["staff_id"], unique=False
    )
    op.create_table(
        "staff_login_limit",
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("staff_login_limit")
    op.drop_index("ix_staff_password_link_staff_id", table_name="staff_password_link")
    op.drop_index("ix_staff_password_link_token_hash", table_name="staff_password_link")
    op.drop_table("staff_password_link")
    with op.batch_alter_table("staff_member") as batch:
        batch.drop_constraint("fk_staff_member_password_issuer_id", type_="foreignkey")
        batch.drop_column("password_issuer_id")
