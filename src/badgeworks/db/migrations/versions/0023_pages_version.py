"""A counter every change to what the public pages show bumps.

The ``service_meta`` row ``pages_version`` counts changes to the rows the portfolio page
(``/p/{handle}``) and the credential page (``/credentials/{id}`` as HTML) read: the
credentials and their revocations, status lists, entries and changes; the candidates,
their portfolios and visibility choices; projects and deliverables; endorsements, their
endorsers and the endorsers' lists; achievements and their editions; issuers and their
keys. Database triggers bump it in the writing transaction, whatever code (or process)
writes, so a server process that kept a finished page under the number it read knows
whether the page is still current (``services/portfolio/page_memo.py``;
docs/performance.md, "Pages").

PostgreSQL bumps it at commit (a deferred constraint trigger), once per transaction. It
first locks the ``hosted_version`` row and then its own, in name order: a transaction
that bumps both counters (a revocation changes a status list and adds a ``revocation``
row) always takes them in the same order, so two such transactions can never wait for
each other in a cycle.

Revision ID: 0023_pages_version
Revises: 0022_rate_limit_windows
Create Date: 2026-12-04 16:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_pages_version"
down_revision: str | tuple[str, ...] | None = "0022_rate_limit_windows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "pages_version"
#: Every table a public page reads (``tests/web/test_pages_memo_stays_current.py``
#: renders the pages and fails if one reads a table missing here). Any change bumps.
WATCHED = (
    "achievement",
    "achievement_version",
    "achievement_edition",
    "candidate",
    "credential",
    "deliverable",
    "endorsement",
    "endorser",
    "endorser_status_entry",
    "endorser_status_list",
    "issuer",
    "issuer_key",
    "portfolio",
    "portfolio_item",
    "project",
    "revocation",
    "status_change",
    "status_entry",
    "status_list",
)
EVENTS = ("INSERT", "UPDATE", "DELETE")
BUMP = (
    "UPDATE service_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR(500)) "
    f"WHERE name = '{NAME}'"
)
#: PostgreSQL: lock both counters in name order, bump once per transaction.
PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pages_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('badgeworks.pages_bumped', true) IS DISTINCT FROM 'yes' THEN
        PERFORM 1 FROM service_meta WHERE name IN ('hosted_version', '{NAME}')
            ORDER BY name FOR UPDATE;
        {BUMP};
        PERFORM set_config('badgeworks.pages_bumped', 'yes', true);
    END IF;
    RETURN NULL;
END $$
"""


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
        op.execute(PG_FUNCTION)
        for table in WATCHED:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER pages_version_{table} "
                f"AFTER {' OR '.join(EVENTS)} ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION pages_version_bump()"
            )
        return
    for table in WATCHED:
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS pages_version_{table}_{event.lower()} "
                f"AFTER {event} ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS pages_version_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS pages_version_bump()")
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS pages_version_{table}_{event.lower()}")
    op.execute(f"DELETE FROM service_meta WHERE name = '{NAME}'")
