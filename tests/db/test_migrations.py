"""Migrations form one line, import no application code, apply on a fresh database and
match the models; databases stamped with renamed revision ids upgrade; credentials are
immutable."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, SQLModel

from badgeworks.db import models, tables  # noqa: F401  (tables registers every table)
from badgeworks.db.migrate import (
    MIGRATIONS,
    RENAMED_REVISIONS,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)

VERSIONS = MIGRATIONS / "versions"


def _scripts() -> list[Script]:
    return list(ScriptDirectory.from_config(alembic_config()).walk_revisions())


def _parents(script: Script) -> tuple[str, ...]:
    down = script.down_revision
    return () if down is None else (down,) if isinstance(down, str) else tuple(down)


def _number(revision: str) -> int:
    return int(revision.split("_", 1)[0])


def _schema_diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))


def test_there_is_exactly_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_each_revision_is_numbered_after_its_parents() -> None:
    scripts = _scripts()
    numbers = [_number(s.revision) for s in scripts]
    assert len(set(numbers)) == len(numbers)
    for script in scripts:
        for parent in _parents(script):
            assert _number(parent) < _number(script.revision), script.revision


def test_each_file_is_named_for_its_revision() -> None:
    for script in _scripts():
        assert script.path is not None
        assert Path(script.path).stem == script.revision
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+", script.revision), script.revision
        assert len(script.revision) <= 32  # alembic_version.version_num is VARCHAR(32)


def test_migrations_import_no_application_code() -> None:
    """A migration is frozen as it was: a model edit must not change what it does."""
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) > 10
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["."]
            else:
                continue
            for name in names:
                assert name != "." and name.split(".")[0] != "badgeworks", (path.name, name)


def test_renamed_revisions_name_shipped_revisions() -> None:
    shipped = {s.revision for s in _scripts()}
    assert set(RENAMED_REVISIONS.values()) <= shipped
    assert not set(RENAMED_REVISIONS) & shipped


def test_migrations_apply_on_a_fresh_database(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        upgrade(engine)  # a second run is a no-op
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()


def _stamp_old_ids(engine: Engine) -> set[str]:
    """Store the ids the revisions had before they were renamed; return what is stored."""
    with engine.begin() as conn:
        for old, new in RENAMED_REVISIONS.items():
            conn.execute(
                text("UPDATE alembic_version SET version_num = :old WHERE version_num = :new"),
                {"old": old, "new": new},
            )
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_a_database_at_the_branch_heads_under_old_ids_upgrades(database_url: str) -> None:
    """A database last upgraded before the branches were joined and the ids renamed."""
    (join,) = [s for s in _scripts() if s.revision == "0019_join_branches"]
    engine = create_engine(database_url)
    try:
        for branch_head in _parents(join):
            upgrade(engine, branch_head)
        stored = _stamp_old_ids(engine)
        assert {"0007_polish", "0013_portfolio_profile", "0018_achievement_lists"} <= stored
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()


def test_a_database_at_the_first_revision_under_its_old_id_upgrades(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        upgrade(engine, RENAMED_REVISIONS["0001"])
        assert _stamp_old_ids(engine) == {"0001"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()


def test_credential_rows_cannot_be_updated(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            issuer = models.Issuer(slug="a", name="A", did="did:web:x:issuers:a")
            session.add(issuer)
            session.flush()
            ach = models.Achievement(issuer_id=issuer.id or 0)
            session.add(ach)
            session.flush()
            version = models.AchievementVersion(
                achievement_id=ach.id or 0, version=1, name="n", description="d"
            )
            cand = models.Candidate(issuer_id=issuer.id or 0, name="c", salt="s")
            session.add_all([version, cand])
            session.flush()
            cred = models.Credential(
                id="c1",
                issuer_id=issuer.id or 0,
                candidate_id=cand.id or 0,
                achievement_version_id=version.id or 0,
                document='{"signed": true}',
            )
            session.add(cred)
            session.commit()
            cred.document = '{"signed": false}'
            session.add(cred)
            with pytest.raises(models.ImmutableRowError):
                session.commit()
            session.rollback()
            assert session.get(models.Credential, "c1").document == '{"signed": true}'  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_portfolio_backfill_gives_each_candidate_one_portfolio(database_url: str) -> None:
    """0011: candidates made before portfolios were created eagerly get one (once)."""
    import importlib

    from alembic.operations import Operations
    from sqlmodel import select

    from badgeworks.db.portfolio import Portfolio

    backfill = importlib.import_module("badgeworks.db.migrations.versions.0011_portfolio_backfill")
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            issuer = models.Issuer(slug="a", name="A", did="did:web:x:issuers:a")
            session.add(issuer)
            session.flush()
            for name in ("Ada", "Bo"):  # rows as an older version wrote them: no portfolio
                session.add(models.Candidate(issuer_id=issuer.id or 0, name=name, salt="00"))
            session.commit()
        for _ in range(2):  # a second run adds nothing
            with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
                backfill.upgrade()
        with Session(engine) as session:
            rows = session.exec(select(Portfolio)).all()
            assert len(rows) == 2
            assert {r.visibility for r in rows} == {"unlisted"}
            assert all(len(r.handle) == 16 and r.handle.isalnum() for r in rows)
            assert rows[0].created_at.tzinfo is not None
    finally:
        engine.dispose()


def test_achievement_list_repair_turns_stored_nulls_into_empty_lists(database_url: str) -> None:
    """0018: versions an older release stored with a ``null`` list read as empty again."""
    import importlib

    from alembic.operations import Operations
    from sqlmodel import select

    repair = importlib.import_module(
        "badgeworks.db.migrations.versions.0018_achievement_list_repair"
    )
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            issuer = models.Issuer(slug="a", name="A", did="did:web:x:issuers:a")
            session.add(issuer)
            session.flush()
            achievement = models.Achievement(issuer_id=issuer.id or 0, current_version=1)
            session.add(achievement)
            session.flush()
            session.add(
                models.AchievementVersion(
                    achievement_id=achievement.id or 0,
                    version=1,
                    name="N",
                    description="D",
                    tags=None,  # type: ignore[arg-type]  # what the old PATCH stored
                    alignments=None,  # type: ignore[arg-type]
                    result_descriptions=[
                        {"key": "q", "name": "Q", "result_type": "RubricCriterionLevel"}
                    ],
                )
            )
            session.commit()
        for _ in range(2):  # a second run changes nothing
            with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
                repair.upgrade()
        with Session(engine) as session:
            (row,) = session.exec(select(models.AchievementVersion)).all()
            assert row.tags == [] and row.alignments == []
            assert row.result_descriptions[0]["key"] == "q"
    finally:
        engine.dispose()
