"""A counter every change to hosted issuers, their keys or status lists bumps.

The ``service_meta`` row ``hosted_version`` counts changes to the rows verification reads
for what this service hosts (``issuer``, ``issuer_key``, and the signed documents of
``status_list`` and ``endorser_status_list``). Database triggers bump it in the writing
transaction, whatever code (or process) writes, so a verifier that read the counter knows
whether what it holds in memory is still current (docs/performance.md, "Verification
over HTTP").

PostgreSQL bumps it at commit (a deferred constraint trigger), after every other lock the
transaction takes, so waiting for the counter row can never close a lock cycle.

Revision ID: 0021_hosted_version
Revises: 0020_issuance_lookups
Create Date: 2026-12-04 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_hosted_version"
down_revision: str | tuple[str, ...] | None = "0020_issuance_lookups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "hosted_version"
#: Each table and the change that bumps the counter. A list's signed ``document``
#: changes with its bits and version; its other columns (such as the slot counter
#: issuance moves) are not read by verification, so changing them alone bumps nothing.
WATCHED = {
    "issuer": ("INSERT", "UPDATE", "DELETE"),
    "issuer_key": ("INSERT", "UPDATE", "DELETE"),
    "status_list": ("INSERT", "UPDATE OF document", "DELETE"),
    "endorser_status_list": ("INSERT", "UPDATE OF document", "DELETE"),
}
BUMP = (
    "UPDATE service_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR(500)) "
    f"WHERE name = '{NAME}'"
)


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.table(
        "service_meta",
        sa.column("name", sa.String(64)),
        sa.column("value", sa.String(500)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    present = bind.execute(sa.select(meta.c.name).where(meta.c.name == NAME)).first()
    if present is None:
        bind.execute(
            meta.insert().values(name=NAME, value="1", updated_at=sa.func.current_timestamp())
        )
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION hosted_version_bump() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table, events in WATCHED.items():
            op.execute(
                f"CREATE CONSTRAINT TRIGGER hosted_version_{table} "
                f"AFTER {' OR '.join(events)} ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION hosted_version_bump()"
            )
        return
    for table, events in WATCHED.items():
        for event in events:
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS hosted_version_{table}_{_word(event)} "
                f"AFTER {event} ON {table} BEGIN {BUMP}; END"
            )


def _word(event: str) -> str:
    return event.split()[0].lower()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS hosted_version_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS hosted_version_bump()")
    else:
        for table, events in WATCHED.items():
            for event in events:
                op.execute(f"DROP TRIGGER IF EXISTS hosted_version_{table}_{_word(event)}")
    op.execute(f"DELETE FROM service_meta WHERE name = '{NAME}'")
