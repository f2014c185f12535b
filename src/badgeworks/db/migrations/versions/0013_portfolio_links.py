"""Portfolio links: ``portfolio.links``, up to 5 ``{label, url}`` as JSON.

The photo columns (``photo_sha256``, ``photo_caption``) came with 0005; this adds only
the nullable links column (NULL: no links), so existing rows need no change.

Revision ID: 0013_portfolio_links
Revises: 0011_portfolio_backfill
Create Date: 2026-12-20 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_portfolio_links"
down_revision: str | None = "0011_portfolio_backfill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("portfolio", sa.Column("links", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portfolio") as batch:
        batch.drop_column("links")
