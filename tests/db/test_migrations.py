"""Migrations apply on a fresh database and match the models; credentials are immutable."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel

from badgeworks.db import models, tables  # noqa: F401  (tables registers every table)
from badgeworks.db.migrate import current_revision, head_revision, upgrade


def test_migrations_apply_on_a_fresh_database(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        upgrade(engine)  # a second run is a no-op
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
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
