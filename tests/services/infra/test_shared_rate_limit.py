"""Rate limits kept in the database hold across threads and processes, on SQLite and
PostgreSQL: a client never gets more than the burst, a refused request writes nothing, and
windows that no longer count are deleted."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.engine import Engine
from sqlmodel import select

from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.db.rate_limits import RateLimitWindow
from badgeworks.services.infra.rate_limit import (
    RateLimiter,
    SharedRateLimiter,
    limiter_for,
    shared_limits,
)
from badgeworks.settings import Settings, get_settings

START = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    return get_settings(data_dir=tmp_path / "data", database_url=database_url, **overrides)


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    engine = make_engine(_settings(tmp_path, database_url))
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _limiter(engine: Engine, clock: Clock, *, per_minute: float, burst: int) -> SharedRateLimiter:
    return SharedRateLimiter(
        "test",
        per_minute=per_minute,
        burst=burst,
        session_factory=make_session_factory(engine),
        clock=clock,
    )


def _rows(engine: Engine) -> list[RateLimitWindow]:
    with make_session_factory(engine)() as session:
        return list(session.exec(select(RateLimitWindow)))


def test_a_client_gets_its_burst_then_the_rate(engine: Engine) -> None:
    clock = Clock()
    limiter = _limiter(engine, clock, per_minute=3, burst=3)  # windows of 60 s
    assert [limiter.take("192.0.2.1") for _ in range(3)] == [None, None, None]
    wait = limiter.take("192.0.2.1")
    assert wait is not None and 0 < wait <= 120
    # Another client (IPv6 by /64) has its own count.
    assert limiter.take("2001:db8::1") is None
    assert limiter.take("2001:db8::2") is None
    # Waiting what it was told lets the client in again, and not much earlier.
    clock.now = START + timedelta(seconds=wait - 2)
    assert limiter.take("192.0.2.1") is not None
    clock.now = START + timedelta(seconds=wait + 0.01)
    assert limiter.take("192.0.2.1") is None
    # Asking every 5 s for 10 minutes gets about the rate (3 a minute), never more.
    allowed = 0
    for second in range(0, 600, 5):
        clock.now = START + timedelta(seconds=wait + 1 + second)
        allowed += limiter.take("192.0.2.1") is None
    assert 15 <= allowed <= 30 + 3


def test_a_refused_request_writes_nothing(engine: Engine) -> None:
    limiter = _limiter(engine, Clock(), per_minute=1, burst=2)
    assert limiter.take("192.0.2.1") is None
    assert limiter.take("192.0.2.1") is None
    writes: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        writes.append(statement.split()[0].upper())

    def on_commit(_conn: Any) -> None:
        writes.append("COMMIT")

    sqlalchemy.event.listen(engine, "before_cursor_execute", on_execute)
    sqlalchemy.event.listen(engine, "commit", on_commit)
    try:
        assert limiter.take("192.0.2.1") is not None
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", on_execute)
        sqlalchemy.event.remove(engine, "commit", on_commit)
    assert "COMMIT" not in writes and "UPDATE" not in writes and "DELETE" not in writes
    assert [(r.client, r.hits) for r in _rows(engine)] == [("192.0.2.1", 2)]


def test_an_allowed_request_is_one_read_and_one_upsert(engine: Engine) -> None:
    limiter = _limiter(engine, Clock(), per_minute=60, burst=5)
    assert limiter.take("192.0.2.1") is None  # the first one also sweeps old windows
    statements: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN")):
            statements.append(statement.split()[0].upper())

    sqlalchemy.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        assert limiter.take("192.0.2.1") is None
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", on_execute)
    assert statements == ["SELECT", "INSERT"]


def test_windows_that_no_longer_count_are_deleted(engine: Engine) -> None:
    clock = Clock()
    limiter = _limiter(engine, clock, per_minute=2, burst=2)  # windows of 60 s
    for client in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert limiter.take(client) is None
    assert len(_rows(engine)) == 3
    clock.now = START + timedelta(minutes=5)
    assert limiter.take("192.0.2.9") is None
    assert [r.client for r in _rows(engine)] == ["192.0.2.9"]


def test_the_limit_off_counts_nothing(engine: Engine) -> None:
    limiter = _limiter(engine, Clock(), per_minute=0, burst=0)
    assert all(limiter.take("192.0.2.1") is None for _ in range(50))
    assert _rows(engine) == []


def test_threads_together_never_pass_the_burst(engine: Engine) -> None:
    limiter = _limiter(engine, Clock(), per_minute=0.01, burst=20)
    threads, per_thread = 8, 10
    barrier = threading.Barrier(threads)
    allowed: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        mine = sum(limiter.take("192.0.2.1") is None for _ in range(per_thread))
        with lock:
            allowed.append(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert len(allowed) == threads
    assert sum(allowed) == 20
    assert [r.hits for r in _rows(engine)] == [20]


def _take_in_process(
    data_dir: str, url: str, start: Any, count: int, results: Any
) -> None:  # pragma: no cover - runs in a child process
    engine = make_engine(get_settings(data_dir=Path(data_dir), database_url=url))
    try:
        limiter = SharedRateLimiter(
            "test",
            per_minute=0.01,
            burst=15,
            session_factory=make_session_factory(engine),
            clock=lambda: START,
        )
        start.wait()
        results.put(sum(limiter.take("192.0.2.1") is None for _ in range(count)))
    finally:
        engine.dispose()


def test_processes_together_never_pass_the_burst(
    engine: Engine, tmp_path: Path, database_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=_take_in_process,
            args=(str(tmp_path / "data"), database_url, start, 10, results),
        )
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    start.set()
    allowed = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert sum(allowed) == 15
    assert [r.hits for r in _rows(engine)] == [15]


def test_the_store_follows_the_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    one = _settings(tmp_path, url)
    assert not shared_limits(one)
    assert shared_limits(_settings(tmp_path, url, workers=2))
    assert shared_limits(_settings(tmp_path, url, rate_limit_store="database"))
    assert not shared_limits(_settings(tmp_path, url, workers=4, rate_limit_store="memory"))
    built = limiter_for(
        "x",
        _settings(tmp_path, url, workers=2),
        per_minute=1,
        burst=1,
        session_factory=lambda: None,  # type: ignore[arg-type,return-value]
        clock=Clock(),
    )
    assert isinstance(built, SharedRateLimiter)
    assert isinstance(
        limiter_for("x", one, per_minute=1, burst=1, session_factory=None, clock=None),
        RateLimiter,
    )


def test_without_the_database_the_limit_counts_in_memory(tmp_path: Path) -> None:
    """A database that cannot be reached neither lifts the limit nor fails the request."""
    broken = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'missing' / 'no.db'}")
    limiter = _limiter(broken, Clock(), per_minute=1, burst=2)
    assert limiter.take("192.0.2.1") is None
    assert limiter.take("192.0.2.1") is None
    wait = limiter.take("192.0.2.1")
    assert wait is not None and wait > 0
    assert limiter.take("192.0.2.2") is None
