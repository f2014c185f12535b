"""Engine and session factory, built from settings (never at import)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from badgeworks.adapters.private_files import private_dir, private_sqlite_file
from badgeworks.settings import Settings

SessionFactory = Callable[[], Session]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite leaves foreign keys off by default; WAL lets readers run while one process
    # writes, and busy_timeout makes a second writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


#: Threads that can run ``def`` endpoints and dependencies at once: AnyIO's default
#: thread limiter, which Starlette uses for every synchronous endpoint.
REQUEST_THREADS = 40
#: Other threads that may hold a connection at the same time: the verifier's workers
#: (BADGEWORKS_VERIFY_WORKERS, 4 by default), the outbox sender and a bulk job.
BACKGROUND_THREADS = 8
#: Connections kept open by default; the rest are opened under load and closed again.
DEFAULT_POOL_SIZE = 10
#: Connections each worker process keeps open at least, however many workers there are.
MIN_KEPT_PER_WORKER = 2


#: A PostgreSQL connection is closed and replaced after this many seconds of life, so one
#: a server or proxy dropped for age is never handed out (instead of a ping per checkout).
POOL_RECYCLE_SECONDS = 1800
#: A PostgreSQL connection that sat unused in the pool longer than this is pinged once
#: at checkout (one round trip); one in steady use is trusted without a ping.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "badgeworks_idle_since"


def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat idle for ``PING_AFTER_IDLE_SECONDS``; a dead one is
    dropped and the pool opens a fresh one (``DisconnectionError`` makes it retry)."""
    idle_since = record.info.get(_IDLE_SINCE)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        if not getattr(dbapi_connection, "autocommit", False):
            dbapi_connection.rollback()
    except Exception as error:  # any failure of the ping: the connection is not usable
        raise exc.DisconnectionError(f"a pooled connection failed its ping: {error}") from error


def pool_limits(settings: Settings) -> tuple[int, int]:
    """``(pool_size, max_overflow)`` for one process's connection pool (file databases).

    A request uses one connection at a time (services never open a second one while
    the request's own is checked out), so a pool of ``REQUEST_THREADS +
    BACKGROUND_THREADS`` connections lets every thread that can run at once have one
    without waiting. Smaller pools are safe but make requests queue for up to
    ``db_pool_timeout`` seconds. Each of ``settings.workers`` processes has its own pool:
    the ``DEFAULT_POOL_SIZE`` connections kept open are shared out between them (at
    least ``MIN_KEPT_PER_WORKER`` each), and N workers open at most N × (pool_size +
    max_overflow) connections. Explicit settings win (docs/operations.md).
    """
    wanted = REQUEST_THREADS + BACKGROUND_THREADS
    kept = max(MIN_KEPT_PER_WORKER, -(-DEFAULT_POOL_SIZE // settings.workers))
    if settings.db_pool_size is not None:
        size = settings.db_pool_size
    elif settings.db_max_overflow is not None:
        size = max(1, min(kept, wanted - settings.db_max_overflow))
    else:
        size = kept
    overflow = (
        settings.db_max_overflow if settings.db_max_overflow is not None else max(0, wanted - size)
    )
    return size, overflow


def make_engine(settings: Settings) -> Engine:
    """An engine for ``settings.resolved_database_url``; creates the SQLite directory.

    File databases get a connection pool sized by ``pool_limits``.
    """
    size, overflow = pool_limits(settings)
    pool: dict[str, Any] = {
        "pool_size": size,
        "max_overflow": overflow,
        "pool_timeout": settings.db_pool_timeout,
    }
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            engine = create_engine(
                url, connect_args={"check_same_thread": False}, poolclass=StaticPool
            )
        else:
            private_dir(settings.data_dir)
            path = url.split(":///", 1)[-1]
            if path:
                # Owner-only: the directory if we make it, the file (and so SQLite's
                # -wal and -shm, which take its mode) always; see adapters/private_files.
                Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                private_sqlite_file(Path(path))
            engine = create_engine(url, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    private_dir(settings.data_dir)  # blobs live there whatever the database
    # No ping per checkout (a round trip before every session): connections are recycled
    # by age, pinged after sitting idle, and a connection that fails mid-use invalidates
    # the pool's older connections (docs/operations.md, "Database connections").
    engine = create_engine(url, pool_pre_ping=False, pool_recycle=POOL_RECYCLE_SECONDS, **pool)
    event.listen(engine.pool, "checkin", _mark_idle)
    event.listen(engine.pool, "checkout", _ping_if_idle)
    return engine


def begin_write(session: Session) -> None:
    """Hold the database's write lock for the rest of ``session``'s transaction (SQLite).

    pysqlite opens a transaction only at the first INSERT, UPDATE or DELETE, and SQLite
    ignores ``SELECT … FOR UPDATE``: a read-modify-write of a shared row (a status list's
    bits) read before that point would overwrite a change committed meanwhile by another
    thread or process. ``BEGIN IMMEDIATE`` takes the write lock first (waiting up to
    ``busy_timeout``), so what is read afterwards stays current until the commit.

    Only transactions that change shared rows call this; read-only requests never take
    the lock. A no-op on PostgreSQL (row locks do the job there) and when the transaction
    has already written (it holds the lock since that write).
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw: Any = connection.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> SessionFactory:
    """A callable returning a new ``Session`` bound to ``engine``."""

    def factory() -> Session:
        return Session(engine, expire_on_commit=False)

    return factory


def read_only_sessions(session_factory: SessionFactory) -> SessionFactory:
    """Sessions for short reads that change nothing: on PostgreSQL in autocommit mode.

    Each statement is its own transaction, so nothing is left open to roll back when the
    connection goes back to the pool (no ROLLBACK round trip per session). Such a session
    must not write, and its statements need not see one snapshot. Other databases get
    ``session_factory``'s sessions.
    """
    probe = session_factory()
    try:
        bind = probe.get_bind()
    finally:
        probe.close()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return session_factory
    autocommit = bind.execution_options(isolation_level="AUTOCOMMIT")

    def factory() -> Session:
        return Session(autocommit, expire_on_commit=False)

    return factory
