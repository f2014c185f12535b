"""Rate limits kept in Redis (``BADGEWORKS_REDIS_URL``): the same decisions as the
database's shared window, atomic under parallel requests, and a clear refusal to start
when Redis cannot be reached."""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from badgeworks.core.errors import ConfigError
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.services.infra.rate_limit import (
    RedisRateLimiter,
    SharedRateLimiter,
    check_redis,
    limiter_for,
    redis_client,
)
from badgeworks.settings import get_settings

REDIS_URL = "redis://127.0.0.1:6379/0"
START = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def client() -> Iterator[Any]:
    connection = redis_client(REDIS_URL)
    prefix = f"badgeworks-test:{secrets.token_hex(6)}"
    try:
        yield connection, prefix
    finally:
        for key in connection.scan_iter(f"{prefix}:*"):
            connection.delete(key)
        connection.close()


def _redis_limiter(client: Any, clock: Clock, **limit: Any) -> RedisRateLimiter:
    connection, prefix = client
    return RedisRateLimiter("test", client=connection, clock=clock, prefix=prefix, **limit)


def test_redis_limit_decides_as_the_database_limit(client: Any, tmp_path: Path) -> None:
    engine: Engine = make_engine(get_settings(data_dir=tmp_path / "data"))
    upgrade(engine)
    try:
        clock = Clock()
        limit: dict[str, Any] = {"per_minute": 6.0, "burst": 3}  # windows of 30 s
        in_redis = _redis_limiter(client, clock, **limit)
        in_database = SharedRateLimiter(
            "test", session_factory=make_session_factory(engine), clock=clock, **limit
        )
        steps = [0, 0, 0, 0, 5, 20, 31, 31, 31, 45, 61, 62, 90, 91, 91, 91, 200]
        for second in steps:
            clock.now = START + timedelta(seconds=second)
            for address in ("192.0.2.1", "2001:db8::1"):
                a = in_redis.take(address)
                b = in_database.take(address)
                assert (a is None) == (b is None), (second, address)
                if a is not None and b is not None:
                    assert a == pytest.approx(b)
    finally:
        engine.dispose()


def test_parallel_requests_never_pass_the_burst(client: Any) -> None:
    clock = Clock()
    limiters = [_redis_limiter(client, clock, per_minute=1.0, burst=7) for _ in range(4)]
    allowed: list[bool] = []
    lock = threading.Lock()
    gate = threading.Barrier(16)

    def hammer(limiter: RedisRateLimiter) -> None:
        gate.wait()
        for _ in range(5):
            passed = limiter.take("198.51.100.9") is None
            with lock:
                allowed.append(passed)

    threads = [threading.Thread(target=hammer, args=(limiters[i % 4],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 80
    assert sum(allowed) == 7


def test_a_refused_request_writes_nothing_and_counters_expire(client: Any) -> None:
    connection, prefix = client
    clock = Clock()
    limiter = _redis_limiter(client, clock, per_minute=2.0, burst=1)  # windows of 30 s
    assert limiter.take("192.0.2.7") is None
    assert limiter.take("192.0.2.7") is not None
    keys = list(connection.scan_iter(f"{prefix}:*"))
    assert len(keys) == 1
    assert int(connection.get(keys[0])) == 1
    assert 0 < connection.ttl(keys[0]) <= 61


def test_settings_choose_redis_unless_memory_is_asked_for(client: Any, tmp_path: Path) -> None:
    clock = Clock()
    settings = get_settings(data_dir=tmp_path, redis_url=REDIS_URL)
    chosen = limiter_for(
        "test", settings, per_minute=60, burst=5, session_factory=None, clock=clock
    )
    assert isinstance(chosen, RedisRateLimiter) and chosen.shared
    in_memory = get_settings(data_dir=tmp_path, redis_url=REDIS_URL, rate_limit_store="memory")
    kept = limiter_for("test", in_memory, per_minute=60, burst=5, session_factory=None, clock=clock)
    assert not kept.shared


def test_start_up_refuses_an_unreachable_redis(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    settings = get_settings(data_dir=tmp_path, redis_url=f"redis://127.0.0.1:{port}/0")
    with pytest.raises(ConfigError) as refused:
        check_redis(settings)
    assert refused.value.code == "config.redis_unreachable"
    assert "BADGEWORKS_REDIS_URL" in str(refused.value)
    for hostile in ("not a url", "http://127.0.0.1:6379/0"):
        with pytest.raises(ConfigError):
            check_redis(get_settings(data_dir=tmp_path, redis_url=hostile))
    check_redis(get_settings(data_dir=tmp_path, redis_url=REDIS_URL))
    check_redis(get_settings(data_dir=tmp_path))  # unset: nothing to check


def test_an_app_with_an_unreachable_redis_does_not_start(tmp_path: Path) -> None:
    from badgeworks.web.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = get_settings(
        data_dir=tmp_path,
        key_secret="a-test-secret-that-is-long-enough-0123456789",
        redis_url=f"redis://127.0.0.1:{port}/0",
    )
    with pytest.raises(ConfigError, match="Redis"):
        create_app(settings)


def test_a_redis_that_stops_answering_falls_back_to_this_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = redis_client(f"redis://127.0.0.1:{port}/0")
    limiter = RedisRateLimiter("test", per_minute=1.0, burst=2, client=gone, clock=Clock())
    # Still limited (in this process), never an error for the client.
    assert [limiter.take("192.0.2.8") is None for _ in range(3)] == [True, True, False]
    assert "counted in memory" in caplog.text


def test_hostile_client_addresses_stay_within_one_key(client: Any) -> None:
    connection, prefix = client
    limiter = _redis_limiter(client, Clock(), per_minute=1.0, burst=1)
    for address in ("x" * 10_000, "* \r\n EVAL", "", None, "::ffff:192.0.2.1"):
        limiter.take(address)
    keys = [key.decode() for key in connection.scan_iter(f"{prefix}:*")]
    assert len(keys) == 4  # an empty and a missing address are both "unknown"
    assert all(len(key) < len(prefix) + 140 for key in keys)
