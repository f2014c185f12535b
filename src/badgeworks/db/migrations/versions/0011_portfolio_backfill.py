"""Every candidate has a portfolio row, so a portfolio's link is stable from the first read.

Candidates made before this revision got their portfolio lazily (on a read); this gives
each one without a row an unlisted portfolio with an unguessable handle. Data only.

Revision ID: 0011_portfolio_backfill
Revises: 0005_portfolio
Create Date: 2026-11-26 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from badgeworks.db.models import UTCDateTime
from badgeworks.db.portfolio import default_handle

revision: str = "0011_portfolio_backfill"
down_revision: str | None = "0005_portfolio"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    candidate = sa.table("candidate", sa.column("id", sa.Integer))
    portfolio = sa.table(
        "portfolio",
        sa.column("candidate_id", sa.Integer),
        sa.column("handle", sa.String),
        sa.column("visibility", sa.String),
        sa.column("show_name", sa.Boolean),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    missing = bind.execute(
        sa.select(candidate.c.id).where(
            ~sa.exists().where(portfolio.c.candidate_id == candidate.c.id)
        )
    ).scalars()
    now = datetime.now(UTC)
    rows = [
        {
            "candidate_id": cid,
            "handle": default_handle(),
            "visibility": "unlisted",
            "show_name": True,
            "created_at": now,
            "updated_at": now,
        }
        for cid in missing
    ]
    if rows:
        bind.execute(sa.insert(portfolio), rows)


def downgrade() -> None:
    # The rows are ordinary portfolios now; nothing to undo.
    pass
