"""Outbox claims: ``outbox_message.attempted_at``, when the last delivery attempt started.

A sender claims a message (status ``sending``) before delivering it, so several senders
(the server's worker in each process, a cron ``outbox send``) never deliver it twice; a
claim older than the timeout is taken back. One nullable column, no data change.

Revision ID: 0012_outbox_claim
Revises: 0004_endorsements
Create Date: 2026-12-15 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_outbox_claim"
down_revision: str | None = "0004_endorsements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox_message", sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("attempted_at")
