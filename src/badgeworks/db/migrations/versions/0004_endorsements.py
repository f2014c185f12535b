"""Mentor and host-company endorsements: endorsers, review invites, endorsements,
credential id reservations and the outbox.

Revision ID: 0004_endorsements
Revises: 0001_issuers_and_credentials
Create Date: 2026-11-26 01:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_endorsements"
down_revision: str | None = "0001_issuers_and_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "endorser",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("organization_url", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("key_custody", sa.String(length=8), nullable=False),
        sa.Column("did", sa.String(length=500), nullable=False),
        sa.Column("vm_id", sa.String(length=600), nullable=True),
        sa.Column("public_key_multibase", sa.String(length=100), nullable=True),
        sa.Column("encrypted_secret", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_endorser_issuer_id", "endorser", ["issuer_id"], unique=False)
    op.create_index("ix_endorser_did", "endorser", ["did"], unique=False)

    op.create_table(
        "review_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("endorser_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("withdraws", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["endorser_id"], ["endorser.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_review_invite_issuer_id", "review_invite", ["issuer_id"], unique=False)
    op.create_index("ix_review_invite_project_id", "review_invite", ["project_id"], unique=False)
    op.create_index("ix_review_invite_endorser_id", "review_invite", ["endorser_id"], unique=False)

    op.create_table(
        "endorsement",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("endorser_id", sa.String(length=36), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=2000), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["endorser_id"], ["endorser.id"]),
        sa.ForeignKeyConstraint(["invite_id"], ["review_invite.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invite_id"),
    )
    op.create_index("ix_endorsement_issuer_id", "endorsement", ["issuer_id"], unique=False)
    op.create_index("ix_endorsement_project_id", "endorsement", ["project_id"], unique=False)
    op.create_index("ix_endorsement_endorser_id", "endorsement", ["endorser_id"], unique=False)
    op.create_index("ix_endorsement_credential_id", "endorsement", ["credential_id"], unique=False)

    op.create_table(
        "credential_reservation",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("project_id"),
        sa.UniqueConstraint("credential_id"),
    )

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.Column("to", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_message_issuer_id", "outbox_message", ["issuer_id"], unique=False)
    op.create_index("ix_outbox_message_status", "outbox_message", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_message_status", table_name="outbox_message")
    op.drop_index("ix_outbox_message_issuer_id", table_name="outbox_message")
    op.drop_table("outbox_message")
    op.drop_table("credential_reservation")
    op.drop_index("ix_endorsement_credential_id", table_name="endorsement")
    op.drop_index("ix_endorsement_endorser_id", table_name="endorsement")
    op.drop_index("ix_endorsement_project_id", table_name="endorsement")
    op.drop_index("ix_endorsement_issuer_id", table_name="endorsement")
    op.drop_table("endorsement")
    op.drop_index("ix_review_invite_endorser_id", table_name="review_invite")
    op.drop_index("ix_review_invite_project_id", table_name="review_invite")
    op.drop_index("ix_review_invite_issuer_id", table_name="review_invite")
    op.drop_table("review_invite")
    op.drop_index("ix_endorser_did", table_name="endorser")
    op.drop_index("ix_endorser_issuer_id", table_name="endorser")
    op.drop_table("endorser")
