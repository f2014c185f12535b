"""Rate-limit counters in the database, shared by every worker process.

- ``rate_limit_window``: one row per (limit, client, window) with the requests counted
  in that window; rows past ``ends_at`` are deleted as they stop counting.

Revision ID: 0022_rate_limit_windows
Revises: 0021_hosted_version
Create Date: 2026-12-04 14:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_rate_limit_windows"
down_revision: str | tuple[str, ...] | None = "0021_hosted_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the counters' table."""
    op.create_table(
        "rate_limit_window",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "client", "period"),
    )


def downgrade() -> None:
    """Drop the counters' table."""
    op.drop_table("rate_limit_window")
