"""Apply the Alembic migrations that ship inside this package.

Used by ``badgeworks db upgrade`` and by ``create_app`` on start. Several service
processes may start at once against one PostgreSQL database, so the upgrade runs under
a transaction-scoped advisory lock: the first process migrates, the others wait and then
find nothing to do.

The revisions form one line (``docs/migrations.md``). Some revision ids were renamed so
that they say what they change; a database stamped with an old id is moved to the new id
in the same transaction, before Alembic reads where the database is.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# An arbitrary but fixed 64-bit key for pg_advisory_xact_lock ("badgeworks" in ASCII, cut).
_LOCK_KEY = 0x6261646765776F72

#: Renamed revisions, old id → new id. A database may hold any old id in
#: ``alembic_version``; entries are never removed.
RENAMED_REVISIONS: dict[str, str] = {
    "0001": "0001_issuers_and_credentials",
    "0002_status": "0002_status_lists",
    "0007_polish": "0007_service_meta",
    "0008_candidate": "0008_candidate_access",
    "0009_editions": "0009_achievement_editions",
    "0013_portfolio_profile": "0013_portfolio_links",
    "0018_achievement_lists": "0018_achievement_list_repair",
}


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database at ``engine`` up to ``revision`` (default: the head)."""
    cfg = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        rename_revisions(connection)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def rename_revisions(connection: Connection) -> None:
    """Replace each old revision id stored in ``alembic_version`` by its new id.

    Runs in the caller's transaction, so a failed upgrade leaves the old ids in place.
    """
    if not inspect(connection).has_table("alembic_version"):
        return
    for old, new in RENAMED_REVISIONS.items():
        connection.execute(
            text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
            {"old": old, "new": new},
        )


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when empty.

    A database last upgraded before the branches were joined may hold several heads;
    they are given comma-separated and sorted.
    """
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def head_revision() -> str | None:
    """The newest revision shipped with this package, in ``current_revision``'s form."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return ",".join(sorted(heads)) or None
