"""Shared fixtures: the strict loader (plus the test-only examples context), vectors,
databases, a browser, and (registered below) an app per test and local servers."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from badgeworks.adapters.resources import default_loader
from badgeworks.core.loader import DocumentLoader

pytest_plugins = ["tests.issuer_app", "tests.s3_support", "tests.servers", "tests.verifier_app"]

VECTORS = Path(__file__).parent / "vectors"
EDDSA = VECTORS / "vc-di-eddsa"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="session")
def loader() -> DocumentLoader:
    """The production loader plus the VC 2.0 examples context the W3C vectors use."""
    examples = read_json(VECTORS / "contexts" / "credentials-examples-v2.jsonld")
    return default_loader().with_documents({EXAMPLES_V2: examples})


@pytest.fixture(scope="session")
def strict_loader() -> DocumentLoader:
    """Exactly the production loader."""
    return default_loader()


# --- Databases ---------------------------------------------------------------------------

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A URL of the PostgreSQL maintenance database, for creating and dropping databases.

    ``BADGEWORKS_TEST_PG_ADMIN_URL`` overrides the default (postgres@127.0.0.1:5432,
    trust auth). The role must be allowed to create databases and end other sessions.
    """
    return os.environ.get("BADGEWORKS_TEST_PG_ADMIN_URL", PG_ADMIN_URL)


def _admin_engine(url: str) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 5}
    )


@pytest.fixture(scope="session")
def _pg_test_database(pg_admin_url: str) -> Iterator[str]:
    """One throwaway database for the whole session; dropped WITH (FORCE) at the end."""
    name = f"badgeworks_test_{secrets.token_hex(6)}"
    admin = _admin_engine(pg_admin_url)
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except (sqlalchemy.exc.OperationalError, OSError) as exc:
        admin.dispose()
        reason = (
            f"!!! PostgreSQL is not reachable at {make_url(pg_admin_url)!r} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]}): the PostgreSQL half of "
            "every database test is SKIPPED. Start PostgreSQL or set "
            "BADGEWORKS_TEST_PG_ADMIN_URL; CI sets BADGEWORKS_REQUIRE_POSTGRES=1 to fail instead."
        )
        if os.environ.get("BADGEWORKS_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_pg_database(url: str) -> None:
    # Connections a previous test leaked (an engine never disposed) could hold locks that
    # make DROP SCHEMA wait forever, so end them first.
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(
                sqlalchemy.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(sqlalchemy.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sqlalchemy.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database; the test runs once per backend.

    Contract:

    - ``sqlite``: ``sqlite:///<tmp_path>/badgeworks.db``, a new file per test.
    - ``postgresql``: ``postgresql+psycopg://…/badgeworks_test_<random>``, one database per
      test session (created on first use, dropped ``WITH (FORCE)`` at the end), whose
      ``public`` schema is dropped and re-created before every test: tables, sequences,
      enum types and ``alembic_version`` never leak from one test to the next. Other
      sessions still connected to it from an earlier test are terminated.
    - The database is empty; creating the schema (``SQLModel.metadata.create_all`` or an
      Alembic upgrade) is the test's job, as is disposing of any engine it makes.
    - If PostgreSQL cannot be reached (see ``pg_admin_url``) the ``postgresql`` case is
      skipped with a loud reason, or fails when ``BADGEWORKS_REQUIRE_POSTGRES=1`` (CI).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'badgeworks.db').resolve()}"
        return
    url: str = request.getfixturevalue("_pg_test_database")
    _reset_pg_database(url)
    yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (tests/browser_support.py)."""
    from tests.browser_support import HAVE_CHROMIUM, launch_chromium

    if not HAVE_CHROMIUM:
        pytest.skip("!!! Debian's chromium is not installed (make browser-deps): SKIPPED")
    with launch_chromium() as launched:
        yield launched
