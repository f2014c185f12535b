"""Bulk issuance that resumes: ``bulk_row`` (one row key per issuer) and job leases.

``bulk_row`` records each CSV row a bulk run has taken on, keyed by ``(issuer_id,
row_key)``, with the project it issues through (a project has at most one credential), so
a re-run or a resumed job never issues a row twice. ``bulk_job`` gains the worker that
runs it and its heartbeat (a job whose worker died is ``interrupted`` and can be resumed),
what it skipped, whether it re-issues revoked rows, where it came from (console or CLI;
a CLI job has no staff member).

Revision ID: 0017_bulk_rows
Revises: 0006_console
Create Date: 2026-12-04 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_bulk_rows"
down_revision: str | None = "0006_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.String(length=300), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["bulk_job.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "row_key"),
    )
    op.create_index("ix_bulk_row_issuer_id", "bulk_row", ["issuer_id"], unique=False)
    op.create_index("ix_bulk_row_job_id", "bulk_row", ["job_id"], unique=False)
    op.create_index("ix_bulk_row_project_id", "bulk_row", ["project_id"], unique=False)
    with op.batch_alter_table("bulk_job") as batch:
        batch.alter_column("staff_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="console")
        )
        batch.add_column(
            sa.Column("worker", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("reissue_revoked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("skipped", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("bulk_job") as batch:
        for name in ("skipped", "reissue_revoked", "attempts", "heartbeat_at", "worker", "source"):
            batch.drop_column(name)
        batch.alter_column("staff_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_bulk_row_project_id", table_name="bulk_row")
    op.drop_index("ix_bulk_row_job_id", table_name="bulk_row")
    op.drop_index("ix_bulk_row_issuer_id", table_name="bulk_row")
    op.drop_table("bulk_row")
