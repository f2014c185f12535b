"""Issuers, keys, tokens, achievements (versioned), candidates, projects, deliverables,
credentials (verbatim), revocations, idempotency records and the audit log.

Revision ID: 0001_issuers_and_credentials
Revises:
Create Date: 2026-11-26 01:10:58.566015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_issuers_and_credentials"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issuer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("image_caption", sa.String(length=500), nullable=True),
        sa.Column("did_method", sa.String(length=8), nullable=False),
        sa.Column("did", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("did"),
    )
    op.create_index("ix_issuer_slug", "issuer", ["slug"], unique=True)

    op.create_table(
        "achievement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_achievement_issuer_id", "achievement", ["issuer_id"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_token_issuer_id", "api_token", ["issuer_id"], unique=False)
    op.create_index("ix_api_token_token_hash", "api_token", ["token_hash"], unique=True)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_event_issuer_id", "audit_event", ["issuer_id"], unique=False)

    op.create_table(
        "candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("did", sa.String(length=500), nullable=True),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_candidate_issuer_id", "candidate", ["issuer_id"], unique=False)

    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "key"),
    )
    op.create_index(
        "ix_idempotency_record_issuer_id", "idempotency_record", ["issuer_id"], unique=False
    )

    op.create_table(
        "issuer_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("vm_id", sa.String(length=600), nullable=False),
        sa.Column("public_key_multibase", sa.String(length=100), nullable=False),
        sa.Column("encrypted_secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "number"),
        sa.UniqueConstraint("vm_id"),
    )
    op.create_index("ix_issuer_key_issuer_id", "issuer_key", ["issuer_id"], unique=False)

    op.create_table(
        "achievement_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("criteria_narrative", sa.Text(), nullable=True),
        sa.Column("achievement_type", sa.String(length=100), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("image_caption", sa.String(length=500), nullable=True),
        sa.Column("image_media_type", sa.String(length=100), nullable=True),
        sa.Column("alignments", sa.JSON(), nullable=False),
        sa.Column("result_descriptions", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("in_language", sa.String(length=35), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievement.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("achievement_id", "version"),
    )
    op.create_index(
        "ix_achievement_version_achievement_id",
        "achievement_version",
        ["achievement_id"],
        unique=False,
    )

    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("host", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("mentors", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievement.id"],
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_project_achievement_id", "project", ["achievement_id"], unique=False)
    op.create_index("ix_project_candidate_id", "project", ["candidate_id"], unique=False)
    op.create_index("ix_project_issuer_id", "project", ["issuer_id"], unique=False)

    op.create_table(
        "credential",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("achievement_version_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["achievement_version_id"],
            ["achievement_version.id"],
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id"),
    )
    op.create_index(
        "ix_credential_achievement_version_id",
        "credential",
        ["achievement_version_id"],
        unique=False,
    )
    op.create_index("ix_credential_candidate_id", "credential", ["candidate_id"], unique=False)
    op.create_index("ix_credential_issuer_id", "credential", ["issuer_id"], unique=False)

    op.create_table(
        "deliverable",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("genre", sa.String(length=100), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("media_type", sa.String(length=200), nullable=True),
        sa.Column("filename", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deliverable_project_id", "deliverable", ["project_id"], unique=False)
    op.create_index("ix_deliverable_sha256", "deliverable", ["sha256"], unique=False)

    op.create_table(
        "revocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credential.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id"),
    )


def downgrade() -> None:
    op.drop_table("revocation")
    op.drop_index("ix_deliverable_sha256", table_name="deliverable")
    op.drop_index("ix_deliverable_project_id", table_name="deliverable")

    op.drop_table("deliverable")
    op.drop_index("ix_credential_issuer_id", table_name="credential")
    op.drop_index("ix_credential_candidate_id", table_name="credential")
    op.drop_index("ix_credential_achievement_version_id", table_name="credential")

    op.drop_table("credential")
    op.drop_index("ix_project_issuer_id", table_name="project")
    op.drop_index("ix_project_candidate_id", table_name="project")
    op.drop_index("ix_project_achievement_id", table_name="project")

    op.drop_table("project")
    op.drop_index("ix_achievement_version_achievement_id", table_name="achievement_version")

    op.drop_table("achievement_version")
    op.drop_index("ix_issuer_key_issuer_id", table_name="issuer_key")

    op.drop_table("issuer_key")
    op.drop_index("ix_idempotency_record_issuer_id", table_name="idempotency_record")

    op.drop_table("idempotency_record")
    op.drop_index("ix_candidate_issuer_id", table_name="candidate")

    op.drop_table("candidate")
    op.drop_index("ix_audit_event_issuer_id", table_name="audit_event")

    op.drop_table("audit_event")
    op.drop_index("ix_api_token_token_hash", table_name="api_token")
    op.drop_index("ix_api_token_issuer_id", table_name="api_token")

    op.drop_table("api_token")
    op.drop_index("ix_achievement_issuer_id", table_name="achievement")

    op.drop_table("achievement")
    op.drop_index("ix_issuer_slug", table_name="issuer")

    op.drop_table("issuer")
