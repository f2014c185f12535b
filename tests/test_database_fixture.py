"""The ``database_url`` fixture gives every test an empty, working database on each backend."""

from __future__ import annotations

import sqlalchemy

from tests.conftest import _reset_pg_database


def _engine(url: str) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(url)


def test_connects_and_creates_a_table(database_url: str) -> None:
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE leftover (id INTEGER PRIMARY KEY)"))
            conn.execute(sqlalchemy.text("INSERT INTO leftover (id) VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT count(*) FROM leftover")).scalar() == 1
    finally:
        engine.dispose()


def test_starts_empty(database_url: str) -> None:
    # Runs after the test above, which left a table behind on purpose.
    engine = _engine(database_url)
    try:
        assert sqlalchemy.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_pg_reset_ends_connections_a_test_leaked(_pg_test_database: str) -> None:
    # A leaked transaction holding a lock would make the next test's DROP SCHEMA wait
    # forever; the reset ends such sessions first.
    database_url = _pg_test_database
    _reset_pg_database(database_url)
    engine = _engine(database_url)
    leaked = engine.connect()
    leaked.execute(sqlalchemy.text("CREATE TABLE held (id INTEGER)"))
    leaked.execute(sqlalchemy.text("INSERT INTO held VALUES (1)"))
    try:
        _reset_pg_database(database_url)
        assert sqlalchemy.inspect(engine).get_table_names() == []
    finally:
        leaked.invalidate()
        leaked.close()
        engine.dispose()


def test_backend_matches_the_parameter(database_url: str) -> None:
    backend = sqlalchemy.engine.make_url(database_url).get_backend_name()
    assert backend in ("sqlite", "postgresql")
    if backend == "postgresql":
        assert "badgeworks_test_" in database_url
