"""Operator-defined revocation reasons: multi-bit revocation entries.

- ``issuer.revocation_reasons``: the issuer's revocation reason list, JSON text
  ``[{"code": 2, "message": "revoked: issued in error"}, …]`` (codes 2 to 15; code 1 is
  plain "revoked"), NULL when the issuer has none; ``issuer.revocation_reference``: the
  optional ``statusReference`` URL that explains them.
- ``status_list.status_size``: how many bits each entry of the list holds (1 for every
  existing list: a list holds entries of one size).
- ``revocation.reason_code``: the value the revocation wrote at the credential's index
  (NULL for revocations before this column, whose value is 1).

Plain ``ADD COLUMN`` on both databases: on SQLite no batch copy of the tables, so the
``hosted_version`` and ``pages_version`` triggers on ``issuer``, ``status_list`` and
``revocation`` (0021, 0023) stay in place and fire for the new columns too.

Revision ID: 0027_status_message_lists
Revises: 0026_bulk_job_notify_candidates
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_status_message_lists"
down_revision: str | tuple[str, ...] | None = "0026_bulk_job_notify_candidates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("issuer", sa.Column("revocation_reasons", sa.Text(), nullable=True))
    op.add_column("issuer", sa.Column("revocation_reference", sa.String(2000), nullable=True))
    op.add_column(
        "status_list",
        sa.Column("status_size", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column("revocation", sa.Column("reason_code", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("revocation", "reason_code")
    op.drop_column("status_list", "status_size")
    op.drop_column("issuer", "revocation_reference")
    op.drop_column("issuer", "revocation_reasons")
