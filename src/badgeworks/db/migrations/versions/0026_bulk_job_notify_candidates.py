"""Whether a bulk job emails its candidates: ``bulk_job.notify_candidates``.

Set when the job is started (the console's checkbox, ``badgeworks issue-csv
--no-notify``) and read by whichever process runs or resumes it, so a resumed job keeps
the choice. True by default, and for jobs started before this column: each issued row
queues its candidate's message in the outbox with its credential (docs/outbox.md).

Revision ID: 0026_bulk_job_notify_candidates
Revises: 0025_issuer_name_in_credentials
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_bulk_job_notify_candidates"
down_revision: str | tuple[str, ...] | None = "0025_issuer_name_in_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases (no batch copy of the table on SQLite).
    op.add_column(
        "bulk_job",
        sa.Column("notify_candidates", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("bulk_job", "notify_candidates")
