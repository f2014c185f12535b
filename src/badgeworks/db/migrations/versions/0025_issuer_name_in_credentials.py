"""Whether an issuer signs its candidates' names into credentials: ``issuer.name_in_credentials``.

True (the default, and what existing issuers get through the server default) puts the
candidate's name in ``credentialSubject.identifier`` as a plain OB 3.0 ``IdentityObject``
(``identityType`` ``name``, ``hashed`` false) beside the salted email hashes; false keeps
credentials to the hashes only. Credentials already signed are stored verbatim and keep
what they say.

Revision ID: 0025_issuer_name_in_credentials
Revises: 0024_issuer_cryptosuite
Create Date: 2026-12-04 17:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_issuer_name_in_credentials"
down_revision: str | tuple[str, ...] | None = "0024_issuer_cryptosuite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: a batch copy of the table on SQLite would
    # drop the page and hosted-version triggers that watch it (0021, 0023).
    op.add_column(
        "issuer",
        sa.Column(
            "name_in_credentials",
            sa.Boolean(),
            nullable=False,
            server_default=sa.true(),
        ),
    )


def downgrade() -> None:
    # DROP COLUMN in place (SQLite 3.35 and later), for the same reason.
    op.drop_column("issuer", "name_in_credentials")
