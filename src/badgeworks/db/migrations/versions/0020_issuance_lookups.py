"""Issuance look-ups: candidates by email, and status-list slot counters.

- ``candidate_email``: one row per (candidate, lower-case email), indexed by
  ``(issuer_id, email)``, filled from ``candidate.emails``; bulk issuance finds a row's
  candidate with it instead of reading every candidate of the issuer.
- ``status_list.next_slot`` and ``endorser_status_list.next_slot``: how many slots of the
  list's keyed index permutation were handed out. Existing lists start at 0; indexes
  drawn at random before are skipped when their slot comes (the unique ``(list_id,
  index)`` constraint), so none is handed out twice.

Revision ID: 0020_issuance_lookups
Revises: 0019_join_branches
Create Date: 2026-12-04 14:30:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_issuance_lookups"
down_revision: str | tuple[str, ...] | None = "0019_join_branches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    """Add the email table (filled from the candidates) and the slot counters."""
    emails = op.create_table(
        "candidate_email",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "candidate_id",
            sa.Integer(),
            sa.ForeignKey("candidate.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("issuer_id", sa.Integer(), sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.UniqueConstraint("candidate_id", "email"),
    )
    op.create_index("ix_candidate_email_issuer_email", "candidate_email", ["issuer_id", "email"])
    candidate = sa.table(
        "candidate", sa.column("id", sa.Integer), sa.column("issuer_id"), sa.column("emails")
    )
    bind = op.get_bind()
    last = 0
    while True:
        found = bind.execute(
            sa.select(candidate.c.id, candidate.c.issuer_id, candidate.c.emails)
            .where(candidate.c.id > last)
            .order_by(candidate.c.id)
            .limit(_BATCH)
        ).all()
        if not found:
            break
        rows = []
        for candidate_id, issuer_id, stored in found:
            values = json.loads(stored) if isinstance(stored, str) else stored
            for email in dict.fromkeys(str(e).lower() for e in (values or [])):
                rows.append({"candidate_id": candidate_id, "issuer_id": issuer_id, "email": email})
        if rows:
            bind.execute(emails.insert(), rows)
        last = found[-1][0]
    for table in ("status_list", "endorser_status_list"):
        op.add_column(
            table, sa.Column("next_slot", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Drop the slot counters and the email table."""
    for table in ("endorser_status_list", "status_list"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("next_slot")
    op.drop_index("ix_candidate_email_issuer_email", table_name="candidate_email")
    op.drop_table("candidate_email")
