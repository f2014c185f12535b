"""Fetched public documents kept in Redis, shared by every process and host.

With ``BADGEWORKS_REDIS_URL`` set, the verifier's ``Fetcher`` keeps the public documents
it fetched for others to use: another issuer's status lists, ``did:web`` documents and
HTTPS key documents. One process fetches a list; every other process serves it from
Redis until it expires, with the same time to live as the in-process cache. Only fetches
that ask to be shared are stored (``Fetcher.fetch(share=True)``): credentials and
deliverables fetched by URL are about a person and stay in the process that fetched them.

Each entry is one Redis string under ``<prefix>:<sha256 of URL, Accept, redirect rule>``
(the URL itself is not a key, so a long or hostile URL cannot shape the key space), with
a time to live set in the same command (``SET … PX``). Entries larger than ``max_bytes``
are not stored. While Redis does not answer, every call returns as if the entry were not
there (logged), and the fetcher keeps using its own memory, as the rate limiter does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from badgeworks.adapters.fetcher import FetchResult

log = logging.getLogger(__name__)

#: Where the entries live in Redis (a test run passes its own).
DEFAULT_PREFIX = "badgeworks:fetch"
#: The largest entry stored: the fetcher's default size cap (bigger answers stay local).
DEFAULT_MAX_BYTES = 1024 * 1024
#: After Redis failed to answer, it is not asked again for this many seconds.
RETRY_AFTER_SECONDS = 5.0
_FORMAT = 1


class RedisFetchCache:
    """Fetched responses in Redis: ``get`` and ``put`` by cache key, never raising."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.max_bytes = max_bytes
        self._clock = clock
        self._down_until = 0.0
        #: Entries served from Redis and stored in it (for tests and figures).
        self.hits = 0
        self.stored = 0

    def key(self, name: str) -> str:
        """The Redis key of cache key ``name`` (a hash: no URL text reaches Redis keys)."""
        return f"{self.prefix}:{hashlib.sha256(name.encode('utf-8')).hexdigest()}"

    def get(self, name: str) -> tuple[FetchResult, float] | None:
        """The response stored under ``name`` and the seconds it has left, or None."""
        if self._resting():
            return None
        key = self.key(name)
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.get(key)
            pipe.pttl(key)
            raw, left_ms = pipe.execute()
        except _failures() as error:
            self._failed(error)
            return None
        if raw is None or left_ms is None or int(left_ms) <= 0:
            return None
        result = _decode(raw)
        if result is None:
            return None
        self.hits += 1
        return result, int(left_ms) / 1000.0

    def put(self, name: str, result: FetchResult, ttl: float) -> None:
        """Store ``result`` under ``name`` for ``ttl`` seconds (not when it is too large)."""
        if ttl <= 0 or len(result.body) > self.max_bytes or self._resting():
            return
        try:
            self._client.set(self.key(name), _encode(result), px=max(1, math.ceil(ttl * 1000)))
        except _failures() as error:
            self._failed(error)
            return
        self.stored += 1

    def _resting(self) -> bool:
        return self._clock() < self._down_until

    def _failed(self, error: Exception) -> None:
        # A Redis that does not answer costs each fetch its socket timeout, so it is left
        # alone for a few seconds; the process's own cache serves meanwhile.
        self._down_until = self._clock() + RETRY_AFTER_SECONDS
        log.warning("shared fetch cache unavailable, using this process's memory: %s", error)


def _failures() -> tuple[type[Exception], ...]:
    """What a Redis that does not answer raises (a miss, never a failed verification)."""
    import redis

    return (redis.RedisError, OSError)


def _encode(result: FetchResult) -> bytes:
    head = {
        "v": _FORMAT,
        "final_url": result.final_url,
        "status": result.status,
        "content_type": result.content_type,
    }
    return json.dumps(head, separators=(",", ":")).encode("utf-8") + b"\n" + result.body


def _decode(raw: bytes) -> FetchResult | None:
    """The stored response, or None when the entry is not one this version wrote."""
    head_text, newline, body = bytes(raw).partition(b"\n")
    if not newline:
        return None
    try:
        head = json.loads(head_text)
        if head.get("v") != _FORMAT:
            return None
        return FetchResult(
            url=str(head["final_url"]),
            final_url=str(head["final_url"]),
            status=int(head["status"]),
            content_type=str(head["content_type"]),
            body=body,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def fetch_cache_for(redis_url: str | None, *, max_bytes: int) -> RedisFetchCache | None:
    """The shared fetch cache for ``redis_url`` (None when Redis is not configured)."""
    if redis_url is None:
        return None
    from badgeworks.services.infra.rate_limit import redis_client

    return RedisFetchCache(redis_client(redis_url), max_bytes=max_bytes)
