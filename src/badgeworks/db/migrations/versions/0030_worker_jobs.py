"""Background jobs claimed by worker processes (docs/operations.md, "Jobs and workers").

- ``job``: one row per unit of background work, the program it is for (if any), its
  state (queued, running, done, dead), attempts, back-off time, the worker's claim and
  lease, and the last error.

Revision ID: 0030_worker_jobs
Revises: 0029_wallet_presentations
Create Date: 2026-12-04 21:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_worker_jobs"
down_revision: str | tuple[str, ...] | None = "0029_wallet_presentations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the jobs' table."""
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_job_state_run_after", "job", ["state", "run_after"])
    op.create_index("ix_job_issuer_id", "job", ["issuer_id"])


def downgrade() -> None:
    """Drop the jobs' table."""
    op.drop_index("ix_job_issuer_id", table_name="job")
    op.drop_index("ix_job_state_run_after", table_name="job")
    op.drop_table("job")
