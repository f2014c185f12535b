"""Every candidate has a portfolio row, so a portfolio's link is stable from the first read.

Candidates made before this revision got their portfolio lazily (on a read); this gives
each one without a row an unlisted portfolio with an unguessable handle. Data only.

Revision ID: 0011_portfolio_backfill
Revises: 0005_portfolio
Create Date: 2026-11-26 05:30:00
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011_portfolio_backfill"
down_revision: str | None = "0005_portfolio"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _handle() -> str:
    """An unguessable handle as this revision made it: 80 random bits in lowercase base32."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()


def upgrade() -> None:
    bind = op.get_bind()
    candidate = sa.table("candidate", sa.column("id", sa.Integer))
    portfolio = sa.table(
        "portfolio",
        sa.column("candidate_id", sa.Integer),
        sa.column("handle", sa.String),
        sa.column("visibility", sa.String),
        sa.column("show_name", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
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
            "handle": _handle(),
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
