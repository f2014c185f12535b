"""Per-client rate limits: token buckets in memory, or window counters in the database.

The public verifier and the VC-API verify endpoints share one limiter; candidate sign-in has
its own (link requests, link redemptions). ``limiter_for`` picks where a limit counts
(``BADGEWORKS_RATE_LIMIT_STORE``): ``RateLimiter`` keeps one process's buckets in memory;
``SharedRateLimiter`` counts in the database, so a limit holds across every worker process
(``badgeworks serve --workers``); ``RedisRateLimiter`` counts in Redis when
``BADGEWORKS_REDIS_URL`` is set, shared by every process on every host. Staff sign-in
and the admin token count failures in the database (shared already), and use only
``client_key`` to group addresses.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from badgeworks.core.errors import ConfigError
from badgeworks.db.rate_limits import RateLimitWindow
from badgeworks.settings import Settings

log = logging.getLogger(__name__)


class Limiter(Protocol):
    """A per-client rate limit: ``take`` spends one request of a client address."""

    #: True if ``take`` reads and writes the database (call it off the event loop).
    shared: bool
    #: Requests a client may make at once.
    burst: float
    #: True when the limit is off (rate and burst both 0).
    disabled: bool

    def take(self, address: str | None, session: Session | None = None) -> float | None:
        """None if the request is allowed, else the seconds until one is."""
        ...


class RateLimiter:
    """A token bucket per client address, in memory (one per app instance).

    Each client may make ``burst`` requests at once and then ``per_minute`` a minute.
    IPv6 clients are grouped by /64 (one host usually holds a whole /64). At most
    ``max_clients`` buckets are kept; the least recently used are forgotten first.
    """

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.disabled = per_minute <= 0 and burst <= 0
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def client_key(address: str | None) -> str:
        """The bucket of a client address (IPv6 by /64)."""
        if not address:
            return "unknown"
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return address[:100]
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)

    shared = False

    def take(self, address: str | None, session: Session | None = None) -> float | None:
        """Spend one token: None if allowed, else the seconds until the next one
        (``session`` is not used: the buckets are in memory)."""
        if self.disabled:
            return None
        key = self.client_key(address)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = None
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


#: How often (seconds) a process deletes a limit's windows that no longer count.
SWEEP_EVERY_SECONDS = 60.0
#: The shortest window a shared limit counts in.
MIN_WINDOW_SECONDS = 1.0


class SharedRateLimiter:
    """A rate limit counted in the database, shared by every process that uses it.

    The same limit as ``RateLimiter`` (``burst`` requests at once, ``per_minute`` after
    that), as a sliding window: time is cut into windows of ``burst / per_minute``
    minutes, and a request is allowed while the current window's count plus the share
    of the previous window's count still inside the last window length stays below
    ``burst``. A request is counted by one atomic upsert that only adds while the count
    is below what is left (``INSERT … ON CONFLICT DO UPDATE … WHERE hits < cap``), so
    parallel requests from any number of processes never pass the limit together. A
    refused request writes nothing. Times come from ``clock`` (the context's). While the
    database cannot be reached, the limit is counted in this process's memory instead.
    """

    shared = True

    def __init__(
        self,
        name: str,
        *,
        per_minute: float,
        burst: int,
        session_factory: Callable[[], Session],
        clock: Callable[[], datetime],
    ) -> None:
        self.name = name
        self.burst = float(burst)
        self.disabled = per_minute <= 0 and burst <= 0
        self.window = (
            max(MIN_WINDOW_SECONDS, 60.0 * burst / per_minute) if per_minute > 0 else 3600.0
        )
        self._sessions = session_factory
        self._clock = clock
        self._next_sweep = 0.0
        self._fallback = RateLimiter(per_minute=per_minute, burst=burst)

    def take(self, address: str | None, session: Session | None = None) -> float | None:
        """Count one request of ``address``: None if allowed, else the seconds to wait.

        With ``session`` (a request's own, before it did anything else) the count is
        committed on it, so the request holds one connection; otherwise a short session
        of its own is used.
        """
        if self.disabled:
            return None
        key = RateLimiter.client_key(address)
        try:
            if session is not None:
                return self._take(session, key)
            with self._sessions() as own:
                return self._take(own, key)
        except SQLAlchemyError as error:
            # The database cannot count right now: this process's own buckets do, so a
            # client is still limited (per process) and the request is not a 500.
            if session is not None:
                session.rollback()
            log.warning("rate limit %s counted in memory: %s", self.name, error)
            return self._fallback.take(address)

    def _take(self, session: Session, key: str) -> float | None:
        now = self._clock().timestamp()
        index = math.floor(now / self.window)
        # The share of the previous window that still lies inside the last window length.
        weight = 1.0 - (now - index * self.window) / self.window
        table = RateLimitWindow.__table__  # type: ignore[attr-defined]
        here = (table.c.name == self.name) & (table.c.client == key)
        counts = dict(
            session.execute(
                select(table.c.period, table.c.hits).where(
                    here, table.c.period.in_((index - 1, index))
                )
            ).all()
        )
        previous = counts.get(index - 1, 0)
        cap = math.floor(self.burst - previous * weight + 1e-9)
        if cap >= 1:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = (
                insert(table)
                .values(
                    name=self.name,
                    client=key,
                    period=index,
                    hits=1,
                    ends_at=math.ceil((index + 2) * self.window),
                )
                .on_conflict_do_update(
                    index_elements=[table.c.name, table.c.client, table.c.period],
                    set_={"hits": table.c.hits + 1},
                    where=table.c.hits < cap,
                )
                .returning(table.c.hits)
            )
            if session.execute(statement).first() is not None:
                self._sweep(session, now)
                session.commit()
                return None
            counts[index] = cap  # another process took the last one meanwhile
        session.rollback()
        return self._wait(now, index, previous, counts.get(index, 0))

    def _sweep(self, session: Session, now: float) -> None:
        """Delete this limit's windows that no longer count (once a minute per process)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        session.execute(
            delete(RateLimitWindow).where(
                col(RateLimitWindow.name) == self.name, col(RateLimitWindow.ends_at) < now
            )
        )

    def _wait(self, now: float, index: int, previous: int, current: int) -> float:
        """Seconds until a request of a client with these counts is allowed again."""
        return _window_wait(self.window, self.burst, now, index, previous, current)


def _window_wait(
    window: float, burst: float, now: float, index: int, previous: int, current: int
) -> float:
    """Seconds until a sliding-window limit with these counts allows a request again."""
    room = burst - 1 - current
    if room < 0 or previous == 0:
        # Not in this window: in the next, where this window's count is the previous.
        if burst < 1:
            return window
        share = max(0.0, 1.0 - (burst - 1) / current) if current else 0.0
        at = (index + 1 + share) * window
    else:
        at = (index + 1.0 - room / previous) * window
    return max(at - now, 0.001)


#: One request counted atomically in Redis: the same sliding window as the database's
#: upsert. KEYS: the previous and the current window's counters; ARGV: the previous
#: window's weight, the burst and the counter's time to live (s). Returns
#: {allowed, previous, current}; a refused request writes nothing.
_TAKE_SCRIPT = """
local previous = tonumber(redis.call('GET', KEYS[1]) or '0')
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local cap = math.floor(tonumber(ARGV[2]) - previous * tonumber(ARGV[1]) + 1e-9)
if current < cap then
  current = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
  return {1, previous, current}
end
return {0, previous, current}
"""

#: Seconds a Redis command may take before the limit is counted in memory instead.
REDIS_TIMEOUT_SECONDS = 2.0


def redis_client(url: str) -> Any:
    """A Redis client for ``url`` with short timeouts (one per limiter; it pools)."""
    import redis

    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def check_redis(settings: Settings) -> None:
    """Refuse to start when ``redis_url`` is set and Redis does not answer: a limit that
    silently counted per process would let every process allow a client its own share."""
    if settings.redis_url is None:
        return
    import redis

    try:
        client = redis_client(settings.redis_url.get_secret_value())
    except ValueError as error:
        raise ConfigError(
            f"refusing to start: BADGEWORKS_REDIS_URL is not a Redis URL ({error})",
            code="config.redis_unreachable",
        ) from error
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        raise ConfigError(
            f"refusing to start: Redis at BADGEWORKS_REDIS_URL cannot be reached ({error})",
            code="config.redis_unreachable",
        ) from error
    finally:
        client.close()


class RedisRateLimiter:
    """A rate limit counted in Redis, shared by every process and host using that Redis.

    The same sliding window as ``SharedRateLimiter``, counted by one Lua script (atomic in
    Redis), with keys that expire when they no longer count. While Redis cannot be
    reached, the limit is counted in this process's memory instead (and logged).
    """

    shared = True

    def __init__(
        self,
        name: str,
        *,
        per_minute: float,
        burst: int,
        client: Any,
        clock: Callable[[], datetime],
        prefix: str = "badgeworks:rl",
    ) -> None:
        self.name = name
        self.burst = float(burst)
        self.disabled = per_minute <= 0 and burst <= 0
        self.window = (
            max(MIN_WINDOW_SECONDS, 60.0 * burst / per_minute) if per_minute > 0 else 3600.0
        )
        self._client = client
        self._script = client.register_script(_TAKE_SCRIPT)
        self._clock = clock
        self._prefix = f"{prefix}:{name}"
        self._fallback = RateLimiter(per_minute=per_minute, burst=burst)

    def take(self, address: str | None, session: Session | None = None) -> float | None:
        """Count one request of ``address``: None if allowed, else the seconds to wait
        (``session`` is not used: the counters are in Redis)."""
        import redis

        if self.disabled:
            return None
        key = RateLimiter.client_key(address)
        now = self._clock().timestamp()
        index = math.floor(now / self.window)
        weight = 1.0 - (now - index * self.window) / self.window
        base = f"{self._prefix}:{key}"
        try:
            allowed, previous, current = self._script(
                keys=[f"{base}:{index - 1}", f"{base}:{index}"],
                args=[repr(weight), repr(self.burst), math.ceil(2 * self.window) + 1],
            )
        except (redis.RedisError, OSError) as error:
            log.warning("rate limit %s counted in memory: %s", self.name, error)
            return self._fallback.take(address)
        if int(allowed):
            return None
        return _window_wait(self.window, self.burst, now, index, int(previous), int(current))


def shared_limits(settings: Settings) -> bool:
    """Whether the rate limits count in the database (``rate_limit_store``)."""
    store = settings.rate_limit_store
    return store == "database" or (store == "auto" and settings.workers > 1)


def limiter_for(
    name: str,
    settings: Settings,
    *,
    per_minute: float,
    burst: int,
    session_factory: Callable[[], Session] | None,
    clock: Callable[[], datetime] | None,
) -> Limiter:
    """The limit ``name`` where ``settings`` say limits count: the database (through
    ``session_factory``, at ``clock``'s time) or memory."""
    if settings.redis_url is not None and settings.rate_limit_store != "memory":
        if clock is None:
            raise ValueError(f"the Redis limit {name} needs a clock")
        return RedisRateLimiter(
            name,
            per_minute=per_minute,
            burst=burst,
            client=redis_client(settings.redis_url.get_secret_value()),
            clock=clock,
        )
    if shared_limits(settings):
        if session_factory is None or clock is None:
            raise ValueError(f"the shared limit {name} needs a session factory and a clock")
        return SharedRateLimiter(
            name,
            per_minute=per_minute,
            burst=burst,
            session_factory=session_factory,
            clock=clock,
        )
    return RateLimiter(per_minute=per_minute, burst=burst)


def retry_after_header(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
