"""Achievement versions stored with a JSON ``null`` list get an empty list.

An edit with ``"tags": null`` (or ``alignments``, ``result_descriptions``) used to store
the version with ``null`` in that column, after which the achievement, the issuer's list
and new projects failed. ``null`` there now means "none" (docs/security.md); this gives
versions stored earlier the same meaning. Data only; running it again changes nothing.

Revision ID: 0018_achievement_list_repair
Revises: 0002_status_lists
Create Date: 2026-12-04 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018_achievement_list_repair"
down_revision: str | None = "0002_status_lists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LISTS = ("alignments", "result_descriptions", "tags")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column in _LISTS:
        # A JSON null is stored as the text 'null' (SQLite) or the JSON value null
        # (PostgreSQL); an SQL NULL cannot occur (the columns are NOT NULL).
        if postgres:
            op.execute(
                f"UPDATE achievement_version SET {column} = '[]'::json "
                f"WHERE {column}::text = 'null'"
            )
        else:
            op.execute(f"UPDATE achievement_version SET {column} = '[]' WHERE {column} = 'null'")


def downgrade() -> None:
    """Nothing to undo: an empty list is what the repaired rows meant."""
