"""Fetched public documents shared through Redis (``BADGEWORKS_REDIS_URL``): a status list
one app fetched is served to another app from Redis, entries expire with the fetch cache's
time to live, carry a prefix, stay within a size cap, and a Redis that stops answering
leaves each process fetching (and caching) on its own."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from badgeworks.adapters.fetcher import Fetcher, FetchError, FetchResult
from badgeworks.adapters.remote import StatusListFetcher
from badgeworks.services.infra.rate_limit import redis_client
from badgeworks.services.infra.shared_cache import RedisFetchCache, _decode
from badgeworks.settings import Settings
from badgeworks.web.app import create_app

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_reachable() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")

STATUS_LIST = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:example:list",
    "type": ["VerifiableCredential", "BitstringStatusListCredential"],
    "credentialSubject": {"type": "BitstringStatusList", "encodedList": "uH4sIAAAAAAAAA"},
}


class Counting(BaseHTTPRequestHandler):
    hits: dict[str, int]

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        body = json.dumps(STATUS_LIST).encode()
        if self.path == "/big":
            body = json.dumps({**STATUS_LIST, "padding": "x" * 4096}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vc+ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}
    handler = type("Handler", (Counting,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own, and every key under it deleted afterwards."""
    name = f"badgeworks-test:fetch:{secrets.token_hex(6)}"
    yield name
    connection = redis_client(f"redis://{REDIS_HOST}:{REDIS_PORT}/0")
    for key in connection.scan_iter(f"{name}:*"):
        connection.delete(key)
    connection.close()


def _cache(prefix: str, **kwargs: Any) -> RedisFetchCache:
    return RedisFetchCache(
        redis_client(f"redis://{REDIS_HOST}:{REDIS_PORT}/0"), prefix=prefix, **kwargs
    )


def _break(cache: RedisFetchCache) -> None:
    """Make this cache's Redis stop answering: its connections now go to a closed port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    cache._client.close()
    cache._client = redis_client(f"redis://{REDIS_HOST}:{closed}/0")


def _app(settings: Settings, prefix: str) -> FastAPI:
    app = create_app(settings)
    fetcher = app.state.ctx.get_verifier().fetcher
    assert isinstance(fetcher.shared, RedisFetchCache)
    fetcher.shared.prefix = prefix
    return app


def test_a_list_fetched_by_one_app_is_served_to_another_from_redis(
    settings: Settings, server: tuple[str, dict[str, int]], prefix: str
) -> None:
    base, hits = server
    configured = settings.model_copy(
        update={
            "redis_url": SecretStr(f"redis://{REDIS_HOST}:{REDIS_PORT}/0"),
            "fetch_allow_private": True,
        }
    )
    first, second = _app(configured, prefix), _app(configured, prefix)
    try:
        one = first.state.ctx.get_verifier().fetcher
        two = second.state.ctx.get_verifier().fetcher
        url = f"{base}/list"
        assert StatusListFetcher(one)(url) == STATUS_LIST
        assert StatusListFetcher(two)(url) == STATUS_LIST
        assert hits == {"/list": 1}
        assert two.shared.hits == 1

        # Each key carries the prefix and a time to live no longer than the cache's.
        connection = redis_client(f"redis://{REDIS_HOST}:{REDIS_PORT}/0")
        keys = list(connection.scan_iter(f"{prefix}:*"))
        assert len(keys) == 1
        assert url.encode() not in keys[0]
        assert 0 < connection.pttl(keys[0]) <= one.cache_ttl * 1000
        connection.close()

        # Redis stops answering: a third fetch (cache cleared) still succeeds, from the
        # network, and is then kept in the process's memory.
        _break(two.shared)
        two.clear_cache()
        assert StatusListFetcher(two)(url) == STATUS_LIST
        assert StatusListFetcher(two)(url) == STATUS_LIST
        assert hits == {"/list": 2}
    finally:
        first.state.engine.dispose()
        second.state.engine.dispose()


def test_entries_expire_with_the_cache_time_to_live(
    server: tuple[str, dict[str, int]], prefix: str
) -> None:
    base, hits = server
    url = f"{base}/list"
    with (
        Fetcher(allow_private=True, cache_ttl=0.3, shared=_cache(prefix)) as one,
        Fetcher(allow_private=True, cache_ttl=0.3, shared=_cache(prefix)) as two,
    ):
        one.fetch(url, share=True)
        two.fetch(url, share=True)
        assert hits == {"/list": 1}
        time.sleep(0.45)
        two.fetch(url, share=True)
        assert hits == {"/list": 2}
        # The entry the second fetcher took from Redis kept only the time Redis had left.
        one.fetch(url, share=True)
        assert hits == {"/list": 2}


def test_only_shared_fetches_and_small_answers_reach_redis(
    server: tuple[str, dict[str, int]], prefix: str
) -> None:
    base, hits = server
    first, second = _cache(prefix, max_bytes=1024), _cache(prefix, max_bytes=1024)
    with (
        Fetcher(allow_private=True, shared=first) as one,
        Fetcher(allow_private=True, shared=second) as two,
    ):
        # A credential fetched by URL (not marked shared) stays in its process.
        one.fetch(f"{base}/credential")
        two.fetch(f"{base}/credential")
        # An answer above the cap is not stored.
        one.fetch(f"{base}/big", share=True)
        two.fetch(f"{base}/big", share=True)
    assert hits == {"/credential": 2, "/big": 2}
    assert first.stored == 0 and second.hits == 0


def test_a_down_redis_is_not_asked_again_at_once(
    server: tuple[str, dict[str, int]], prefix: str
) -> None:
    base, hits = server
    now = [100.0]
    cache = _cache(prefix, clock=lambda: now[0])
    _break(cache)
    with Fetcher(allow_private=True, cache_ttl=0.01, shared=cache) as fetcher:
        started = time.monotonic()
        for _ in range(3):
            fetcher.fetch(f"{base}/list", share=True)
            time.sleep(0.02)
        assert time.monotonic() - started < 2.0
    assert hits == {"/list": 3}
    assert cache._resting()
    now[0] += 10
    assert not cache._resting()


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json\nbody", b'{"v": 2}\nbody', b'{"v": 1}\nbody', b"[1]\nbody", b"\xff\xfe\n"],
)
def test_entries_that_are_not_ours_are_misses(raw: bytes) -> None:
    assert _decode(raw) is None


def test_entries_round_trip() -> None:
    from badgeworks.services.infra.shared_cache import _encode

    result = FetchResult(
        url="https://a.example/l",
        final_url="https://b.example/l",
        status=200,
        content_type="application/json",
        body=b"\n{}\n",
    )
    decoded = _decode(_encode(result))
    assert decoded is not None
    assert decoded.body == result.body and decoded.final_url == result.final_url


def test_a_cross_host_redirect_answer_is_not_served_to_a_same_host_lookup(
    server: tuple[str, dict[str, int]], prefix: str
) -> None:
    base, hits = server
    url = f"{base}/list"
    with (
        Fetcher(allow_private=True, shared=_cache(prefix)) as one,
        Fetcher(allow_private=True, shared=_cache(prefix)) as two,
    ):
        one.fetch(url, share=True)
        two.fetch(url, share=True, same_host_redirects=True)
    assert hits == {"/list": 2}


def test_a_planted_entry_above_the_callers_cap_is_not_served(
    server: tuple[str, dict[str, int]], prefix: str
) -> None:
    base, hits = server
    url = f"{base}/list"
    planted = _cache(prefix, max_bytes=10 * 1024 * 1024)
    with Fetcher(allow_private=True, shared=planted) as writer:
        name = f"{writer._parse(url, url)}\napplication/json\n0\n1"
    big = FetchResult(url, url, 200, "application/json", b"{" + b" " * 200_000 + b"}")
    planted.put(name, big, 60)
    with Fetcher(allow_private=True, max_bytes=64 * 1024, shared=_cache(prefix)) as reader:
        assert reader.fetch(url, share=True).body == json.dumps(STATUS_LIST).encode()
    assert hits == {"/list": 1}


def test_what_a_private_address_fetcher_got_is_never_served_to_a_checking_one(
    server: tuple[str, dict[str, int]], prefix: str
) -> None:
    """A deployment allowed to reach private addresses shares Redis with one that is not:
    the second must still refuse the private address, not read the first one's copy."""
    base, hits = server
    url = f"{base}/list"
    with Fetcher(allow_private=True, shared=_cache(prefix)) as trusting:
        trusting.fetch(url, share=True)
    with (
        Fetcher(shared=_cache(prefix)) as checking,
        pytest.raises(FetchError) as refused,
    ):
        checking.fetch(url, share=True)
    assert refused.value.code == "fetch.forbidden_address"
    assert hits == {"/list": 1}
