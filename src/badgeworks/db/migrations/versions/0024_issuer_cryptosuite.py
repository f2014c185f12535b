"""An issuer's cryptosuite: ``issuer.cryptosuite``, what its new proofs are made with.

``eddsa-rdfc-2022`` (the default, what every issuer signed with before this column) or
``eddsa-jcs-2022`` (vc-di-eddsa §3.3). Existing rows get the default through the server
default, so nothing an issuer signs changes until someone chooses otherwise; credentials
already signed are stored verbatim and keep their proofs.

Revision ID: 0024_issuer_cryptosuite
Revises: 0023_pages_version
Create Date: 2026-12-04 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_issuer_cryptosuite"
down_revision: str | tuple[str, ...] | None = "0023_pages_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: a batch copy of the table on SQLite would
    # drop the page and hosted-version triggers that watch it (0021, 0023).
    op.add_column(
        "issuer",
        sa.Column(
            "cryptosuite",
            sa.String(length=32),
            nullable=False,
            server_default="eddsa-rdfc-2022",
        ),
    )


def downgrade() -> None:
    # DROP COLUMN in place (SQLite 3.35 and later), for the same reason.
    op.drop_column("issuer", "cryptosuite")
