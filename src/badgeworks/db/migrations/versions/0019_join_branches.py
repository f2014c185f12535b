"""Join the branches into one line: every later revision revises the one before it.

Features used to add their tables in revisions branching from earlier ones, so a
database held several heads. This revision has them all as parents and changes nothing;
from here on there is one head.

Revision ID: 0019_join_branches
Revises: 0007_service_meta, 0008_candidate_access, 0009_achievement_editions,
    0010_endorsement_status, 0012_outbox_claim, 0013_portfolio_links, 0015_staff_accounts,
    0017_bulk_rows, 0018_achievement_list_repair
Create Date: 2026-12-04 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0019_join_branches"
down_revision: str | tuple[str, ...] | None = (
    "0007_service_meta",
    "0008_candidate_access",
    "0009_achievement_editions",
    "0010_endorsement_status",
    "0012_outbox_claim",
    "0013_portfolio_links",
    "0015_staff_accounts",
    "0017_bulk_rows",
    "0018_achievement_list_repair",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """No schema change: the branches' tables are already there."""


def downgrade() -> None:
    """No schema change to undo."""
