"""The outbound fetcher's safety rules: addresses, pinning, redirects, limits, cache."""

from __future__ import annotations

import functools
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from badgeworks.adapters import fetcher as fetcher_module
from badgeworks.adapters.fetcher import (
    FetchBudget,
    FetchBudgetError,
    Fetcher,
    FetchError,
    current_budget,
    forbidden_address,
    request_budget,
)

PUBLIC_IP = "93.184.215.14"
OTHER_PUBLIC_IP = "93.184.215.15"
JSON_HEADERS = {"content-type": "application/json"}

Handler = Callable[[httpx.Request], httpx.Response]


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


class FakeDns:
    """A getaddrinfo that answers from a table and records every lookup."""

    def __init__(self, table: dict[str, list[str]] | None = None, default: str = PUBLIC_IP):
        self.table = table or {}
        self.default = default
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.lookups.append(host)
        if host == "nxdomain.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [_info(a, port) for a in self.table.get(host, [self.default])]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fetcher(handler: Handler, **kwargs: Any) -> Fetcher:
    kwargs.setdefault("getaddrinfo", FakeDns())
    return Fetcher(transport=httpx.MockTransport(handler), **kwargs)


def _json(body: Any = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body if body is not None else {"ok": True})

    return handler


def _never(request: httpx.Request) -> httpx.Response:
    pytest.fail(f"the fetcher must not send {request.url}")


@functools.cache
def _bomb() -> bytes:
    """16 MiB of zeros in about 16 KB of gzip: sixteen times the default cap."""
    return gzip.compress(b"\0" * (16 * 1024 * 1024), compresslevel=9)


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(FetchError) as info:
        call()
    return info.value.code


# --- a successful fetch --------------------------------------------------------------


def test_fetch_goes_to_the_checked_address_naming_the_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b'{"a": 1}', headers=JSON_HEADERS)

    result = _fetcher(handler).fetch("https://issuer.example/keys/1#key-1")
    assert result.url == "https://issuer.example/keys/1#key-1"
    assert result.final_url == "https://issuer.example/keys/1"
    assert (result.status, result.content_type, result.body) == (
        200,
        "application/json",
        b'{"a": 1}',
    )
    (request,) = seen
    assert request.url.host == PUBLIC_IP
    assert request.url.path == "/keys/1"
    assert request.url.fragment == ""
    assert request.headers["host"] == "issuer.example"
    assert request.extensions["sni_hostname"] == "issuer.example"
    assert request.headers["accept"] == "application/json"
    assert request.headers["accept-encoding"] == "gzip"
    assert "cookie" not in request.headers


def test_port_is_kept_in_host_and_connection() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    _fetcher(handler).fetch("https://issuer.example:8443/x")
    assert (seen[0].url.host, seen[0].url.port) == (PUBLIC_IP, 8443)
    assert seen[0].headers["host"] == "issuer.example:8443"


def test_ipv6_pinned_address_is_bracketed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    dns = FakeDns(default="2606:4700::1111")
    _fetcher(handler, getaddrinfo=dns).fetch("https://issuer.example/x")
    assert seen[0].url.host == "2606:4700::1111"
    assert seen[0].headers["host"] == "issuer.example"


# --- forbidden addresses -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8000/admin",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://240.0.0.1/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd12:3456::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::1]/",
        "http://[2002:a00:1::1]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "http://[::127.0.0.1]/",
        "http://[2001:db8::1]/",
        # Spellings of 127.0.0.1 that the system resolver (inet_aton) accepts.
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://localhost/",
    ],
)
def test_forbidden_addresses_are_refused_before_any_request(url: str) -> None:
    # The real getaddrinfo: literals and localhost resolve without a network.
    fetcher = Fetcher(transport=httpx.MockTransport(_never))
    assert _code(lambda: fetcher.fetch(url)) == "fetch.forbidden_address"


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.7", "172.16.5.4", "192.168.0.10", "169.254.169.254", "::1", "fe80::1"],
)
def test_host_names_resolving_to_forbidden_addresses_are_refused(address: str) -> None:
    dns = FakeDns({"internal.example": [address]})
    fetcher = _fetcher(_never, getaddrinfo=dns)
    with pytest.raises(FetchError) as info:
        fetcher.fetch("https://internal.example/x")
    assert info.value.code == "fetch.forbidden_address"
    # The message names the host given, never what it resolved to.
    assert address not in str(info.value)
    assert "internal.example" in str(info.value)


def test_any_forbidden_address_among_several_refuses_the_host() -> None:
    dns = FakeDns({"mixed.example": [PUBLIC_IP, "::1"]})
    assert _code(lambda: _fetcher(_never, getaddrinfo=dns).fetch("https://mixed.example/")) == (
        "fetch.forbidden_address"
    )


@pytest.mark.parametrize(
    "address",
    [PUBLIC_IP, "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden_address(address)


@pytest.mark.parametrize("address", ["not an address", "", "127.0.0.1%eth0", "fe80::1%eth0"])
def test_odd_address_strings_are_forbidden(address: str) -> None:
    assert forbidden_address(address)


def test_dns_rebinding_cannot_move_the_connection() -> None:
    # The name resolves to a public address when checked and to loopback afterwards. The
    # fetcher resolves once per fetch and connects to what it checked.
    answers = iter([[PUBLIC_IP], ["127.0.0.1"], ["127.0.0.1"]])
    lookups: list[str] = []

    def rebinding(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        lookups.append(host)
        return [_info(a, port) for a in next(answers)]

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(200, json={})

    fetcher = _fetcher(handler, getaddrinfo=rebinding, cache_ttl=0)
    fetcher.fetch("https://rebind.example/list")
    assert lookups == ["rebind.example"]
    assert seen == [PUBLIC_IP]
    # The next fetch looks the name up afresh and is refused.
    assert _code(lambda: fetcher.fetch("https://rebind.example/list")) == (
        "fetch.forbidden_address"
    )
    assert seen == [PUBLIC_IP]


def test_allow_private_skips_the_address_check() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    dns = FakeDns()
    Fetcher(transport=httpx.MockTransport(handler), allow_private=True, getaddrinfo=dns).fetch(
        "http://127.0.0.1:8000/x"
    )
    assert seen == ["http://127.0.0.1:8000/x"]
    assert dns.lookups == []


# --- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/file",
        "gopher://example.org:70/_GET",
        "dict://example.org:11211/stat",
        "javascript:alert(1)",
        "data:application/json,{}",
        "did:web:example.org",
        "//example.org/x",
        "example.org/x",
        "",
        "https://",
        "https:///path",
        "https://exa mple.org/",
        "https://example.org/\r\nX-Injected: 1",
        "https://example.org\\@127.0.0.1/",
        "https://example.org/" + "a" * 3000,
    ],
)
def test_bad_urls(url: str) -> None:
    assert _code(lambda: _fetcher(_never).fetch(url)) == "fetch.bad_url"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@example.org/",
        "https://user@example.org/",
        "https://example.org@127.0.0.1/",
        "http://:@example.org/",
    ],
)
def test_user_info_is_refused(url: str) -> None:
    assert _code(lambda: _fetcher(_never).fetch(url)) == "fetch.bad_url"


def test_https_only_except_listed_hosts() -> None:
    fetcher = _fetcher(_json(), allow_http=False, allow_http_hosts=["dev.example"])
    assert _code(lambda: fetcher.fetch("http://issuer.example/")) == "fetch.bad_url"
    assert fetcher.fetch("http://dev.example/").status == 200
    assert fetcher.fetch("https://issuer.example/").status == 200


# --- redirects ---------------------------------------------------------------------------


def test_redirect_to_a_forbidden_address_is_refused() -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(302, headers={"location": "http://127.0.0.1:2375/containers"})

    assert _code(lambda: _fetcher(handler).fetch("http://issuer.example/")) == (
        "fetch.forbidden_address"
    )
    assert len(requested) == 1


def test_redirect_to_a_name_resolving_privately_is_refused() -> None:
    dns = FakeDns({"metadata.example": ["169.254.169.254"]})

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["host"] == "issuer.example"
        return httpx.Response(301, headers={"location": "https://metadata.example/latest"})

    fetcher = _fetcher(handler, getaddrinfo=dns)
    assert _code(lambda: fetcher.fetch("https://issuer.example/")) == "fetch.forbidden_address"
    assert dns.lookups == ["issuer.example", "metadata.example"]


def test_cross_host_redirect_is_followed_and_rechecked() -> None:
    dns = FakeDns({"cdn.example": [OTHER_PUBLIC_IP]})
    seen: list[tuple[str, str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["host"], request.url.path))
        if request.headers["host"] == "issuer.example":
            return httpx.Response(307, headers={"location": "https://cdn.example/lists/1"})
        return httpx.Response(200, json={"list": 1})

    result = _fetcher(handler, getaddrinfo=dns).fetch("https://issuer.example/status/1")
    assert result.final_url == "https://cdn.example/lists/1"
    assert result.url == "https://issuer.example/status/1"
    assert seen == [
        (PUBLIC_IP, "issuer.example", "/status/1"),
        (OTHER_PUBLIC_IP, "cdn.example", "/lists/1"),
    ]
    assert dns.lookups == ["issuer.example", "cdn.example"]


def test_relative_redirect_is_joined_to_the_host_not_the_address() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["host"], request.url.path))
        if request.url.path == "/a":
            return httpx.Response(302, headers={"location": "/b"})
        return httpx.Response(200, json={})

    assert _fetcher(handler).fetch("https://issuer.example/a").final_url == (
        "https://issuer.example/b"
    )
    assert seen == [("issuer.example", "/a"), ("issuer.example", "/b")]


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("http://issuer.example/x", "fetch.redirect_refused"),
        ("file:///etc/passwd", "fetch.bad_url"),
        ("gopher://issuer.example/", "fetch.bad_url"),
        ("https://user:pw@issuer.example/", "fetch.bad_url"),
    ],
)
def test_bad_redirect_targets(location: str, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": location})

    assert _code(lambda: _fetcher(handler).fetch("https://issuer.example/")) == code


def test_same_host_redirects_option() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "issuer.example":
            return httpx.Response(302, headers={"location": "https://other.example/"})
        return httpx.Response(200, json={})

    fetcher = _fetcher(handler)
    assert fetcher.fetch("https://issuer.example/").final_url == "https://other.example/"
    fetcher.clear_cache()
    assert _code(lambda: fetcher.fetch("https://issuer.example/", same_host_redirects=True)) == (
        "fetch.redirect_refused"
    )


def test_too_many_redirects() -> None:
    count: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        count.append(1)
        return httpx.Response(302, headers={"location": f"/r{len(count)}"})

    assert _code(lambda: _fetcher(handler, max_redirects=3).fetch("https://a.example/")) == (
        "fetch.too_many_redirects"
    )
    assert len(count) == 4


def test_exactly_max_redirects_is_fine() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.path.strip("/") or 0)
        if hop < 2:
            return httpx.Response(302, headers={"location": f"/{hop + 1}"})
        return httpx.Response(200, json={})

    assert _fetcher(handler, max_redirects=2).fetch("https://a.example/").final_url == (
        "https://a.example/2"
    )
    assert _code(lambda: _fetcher(handler, max_redirects=1).fetch("https://a.example/")) == (
        "fetch.too_many_redirects"
    )


# --- status codes, content types, encodings ------------------------------------------------


@pytest.mark.parametrize("status", [201, 204, 203])
def test_any_2xx_is_success(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=b"", headers=JSON_HEADERS)

    assert _fetcher(handler).fetch("https://a.example/").status == status


@pytest.mark.parametrize("status", [304, 400, 403, 404, 410, 500, 503, 302])
def test_non_2xx_is_an_http_error(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": "no"})

    with pytest.raises(FetchError) as info:
        _fetcher(handler).fetch("https://a.example/")
    assert info.value.code == "fetch.http_error"
    assert info.value.details["status"] == status
    assert str(status) in str(info.value)


@pytest.mark.parametrize(
    ("accept", "content_type", "ok"),
    [
        ("application/json", "application/json; charset=utf-8", True),
        ("application/json", "application/did+ld+json", True),
        ("application/json", "text/html", False),
        ("application/json", "", False),
        ("application/vc+ld+json, application/json", "application/vc+ld+json", True),
        ("text/plain", "text/plain; charset=utf-8", True),
        ("text/plain", "application/json", False),
        ("*/*", "image/png", True),
    ],
)
def test_content_type_must_match_accept(accept: str, content_type: str, ok: bool) -> None:
    headers = {"content-type": content_type} if content_type else {}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{}", headers=headers)

    fetcher = _fetcher(handler)
    if ok:
        assert fetcher.fetch("https://a.example/", accept=accept).body == b"{}"
    else:
        assert _code(lambda: fetcher.fetch("https://a.example/", accept=accept)) == (
            "fetch.bad_content"
        )


def test_gzip_body_is_decoded() -> None:
    body = json.dumps({"pad": "x" * 5000}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            stream=httpx.ByteStream(gzip.compress(body)),
            headers={**JSON_HEADERS, "content-encoding": "gzip"},
        )

    assert _fetcher(handler).fetch("https://a.example/").body == body


def test_multi_member_gzip_is_decoded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        content = gzip.compress(b'{"a": ') + gzip.compress(b"1}")
        return httpx.Response(
            200,
            stream=httpx.ByteStream(content),
            headers={**JSON_HEADERS, "content-encoding": "gzip"},
        )

    assert _fetcher(handler).fetch("https://a.example/").body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("br", b"\x0b\x02\x80{}\x03"),
        ("deflate, gzip", gzip.compress(b"{}", mtime=0)),
        ("gzip", gzip.compress(b'{"a": 1}', mtime=0)[:-6]),
        ("gzip", b"not gzip at all"),
    ],
)
def test_unsupported_or_broken_encodings(encoding: str, content: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            stream=httpx.ByteStream(content),
            headers={**JSON_HEADERS, "content-encoding": encoding},
        )

    assert _code(lambda: _fetcher(handler).fetch("https://a.example/")) == "fetch.bad_content"


# --- size and time -----------------------------------------------------------------------------


def test_declared_oversize_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 2000, headers=JSON_HEADERS)

    fetcher = _fetcher(handler, max_bytes=1000)
    assert _code(lambda: fetcher.fetch("https://a.example/")) == "fetch.too_large"
    assert fetcher.fetch("https://a.example/", max_bytes=4000).body == b"x" * 2000


def test_streamed_oversize_stops_reading() -> None:
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        for i in range(100_000):
            produced.append(i)
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless(), headers=JSON_HEADERS)

    assert _code(lambda: _fetcher(handler).fetch("https://a.example/")) == "fetch.too_large"
    # 1 MiB by default: reading stopped just past it instead of draining the stream.
    assert len(produced) < 1100


def test_gzip_bomb_is_cut_off_while_decoding() -> None:
    bomb = _bomb()
    assert len(bomb) < 20_000

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {**JSON_HEADERS, "content-encoding": "gzip", "content-length": str(len(bomb))}
        return httpx.Response(200, stream=httpx.ByteStream(bomb), headers=headers)

    assert _code(lambda: _fetcher(handler).fetch("https://a.example/")) == "fetch.too_large"


def test_total_time_is_capped_while_streaming() -> None:
    clock = FakeClock()

    def slow() -> Iterator[bytes]:
        for _ in range(100):
            clock.now += 1.0
            yield b" "

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=slow(), headers=JSON_HEADERS)

    fetcher = _fetcher(handler, timeout=5.0, clock=clock)
    assert _code(lambda: fetcher.fetch("https://a.example/")) == "fetch.timeout"


def test_total_time_covers_redirects() -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        clock.now += 3.0
        return httpx.Response(302, headers={"location": "/again"})

    fetcher = _fetcher(handler, timeout=5.0, clock=clock, max_redirects=10)
    assert _code(lambda: fetcher.fetch("https://a.example/")) == "fetch.timeout"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (httpx.ConnectTimeout("slow"), "fetch.timeout"),
        (httpx.ReadTimeout("slow"), "fetch.timeout"),
        (httpx.ConnectError("refused"), "fetch.unreachable"),
        (httpx.RemoteProtocolError("garbage"), "fetch.unreachable"),
    ],
)
def test_transport_errors(error: Exception, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    assert _code(lambda: _fetcher(handler).fetch("https://a.example/")) == code


def test_unresolvable_host() -> None:
    assert _code(lambda: _fetcher(_never).fetch("https://nxdomain.example/")) == (
        "fetch.unreachable"
    )


def test_next_checked_address_is_tried_when_one_refuses() -> None:
    dns = FakeDns({"dual.example": ["2606:4700::1111", PUBLIC_IP]})
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host != PUBLIC_IP:
            raise httpx.ConnectError("no route")
        return httpx.Response(200, json={})

    assert _fetcher(handler, getaddrinfo=dns).fetch("https://dual.example/").status == 200
    assert seen == ["2606:4700::1111", PUBLIC_IP]


# --- the cache ---------------------------------------------------------------------------------


def _counting() -> tuple[Handler, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.path))
        return httpx.Response(200, json={"n": len(seen)})

    return handler, seen


def test_cache_hit_within_ttl_and_miss_after() -> None:
    clock = FakeClock()
    handler, seen = _counting()
    fetcher = _fetcher(handler, clock=clock, cache_ttl=60.0)
    first = fetcher.fetch("https://a.example/list")
    clock.now += 59.0
    assert fetcher.fetch("https://a.example/list#frag").body == first.body
    assert len(seen) == 1
    clock.now += 2.0
    assert fetcher.fetch("https://a.example/list").body != first.body
    assert len(seen) == 2


def test_cache_is_keyed_by_accept_and_skips_errors() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503)
        return httpx.Response(200, json={}, headers={"content-type": "application/json"})

    fetcher = _fetcher(handler, clock=FakeClock())
    assert _code(lambda: fetcher.fetch("https://a.example/")) == "fetch.http_error"
    fetcher.fetch("https://a.example/")
    fetcher.fetch("https://a.example/")
    fetcher.fetch("https://a.example/", accept="*/*")
    assert len(calls) == 3


def test_cache_evicts_least_recently_used() -> None:
    handler, seen = _counting()
    fetcher = _fetcher(handler, clock=FakeClock(), cache_size=2)
    fetcher.fetch("https://a.example/1")
    fetcher.fetch("https://a.example/2")
    fetcher.fetch("https://a.example/1")
    fetcher.fetch("https://a.example/3")
    fetcher.fetch("https://a.example/1")
    assert seen == ["/1", "/2", "/3"]
    fetcher.fetch("https://a.example/2")
    assert seen == ["/1", "/2", "/3", "/2"]


def test_cache_does_not_bypass_a_smaller_size_cap() -> None:
    handler, _ = _counting()
    fetcher = _fetcher(handler, clock=FakeClock())
    fetcher.fetch("https://a.example/")
    assert _code(lambda: fetcher.fetch("https://a.example/", max_bytes=3)) == "fetch.too_large"


def test_cache_can_be_switched_off() -> None:
    handler, seen = _counting()
    fetcher = _fetcher(handler, cache_ttl=0)
    fetcher.fetch("https://a.example/")
    fetcher.fetch("https://a.example/")
    assert len(seen) == 2


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        Fetcher(transport=httpx.MockTransport(_never), client=httpx.Client())
    with pytest.raises(ValueError):
        Fetcher(max_bytes=0)


# --- the per-request budget --------------------------------------------------------------


def _budget_error(call: Callable[[], Any]) -> FetchBudgetError:
    with pytest.raises(FetchBudgetError) as info:
        call()
    return info.value


def test_budget_counts_requests_and_refuses_past_its_limit() -> None:
    handler, seen = _counting()
    fetcher = _fetcher(handler)
    budget = FetchBudget(max_fetches=2)
    fetcher.fetch("https://a.example/1", budget=budget)
    fetcher.fetch("https://a.example/2", budget=budget)
    error = _budget_error(lambda: fetcher.fetch("https://a.example/3", budget=budget))
    assert seen == ["/1", "/2"]
    assert error.code == "fetch.budget_exceeded"
    assert error.details["limit"] == "fetches"
    assert "reached its limit of 2 fetches" in error.message
    assert budget.exhausted == "fetches" and budget.refused == ["https://a.example/3"]
    # Once spent, even what is left of another limit is not used.
    assert _code(lambda: fetcher.fetch("https://a.example/4", budget=budget)) == (
        "fetch.budget_exceeded"
    )


def test_a_cache_hit_is_free() -> None:
    handler, seen = _counting()
    fetcher = _fetcher(handler, clock=FakeClock())
    budget = FetchBudget(max_fetches=1)
    for _ in range(5):
        fetcher.fetch("https://a.example/list", budget=budget)
    assert seen == ["/list"] and budget.fetches == 1


def test_every_redirect_hop_costs_a_fetch() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/end":
            return httpx.Response(200, json={})
        return httpx.Response(302, headers={"Location": "/end"})

    fetcher = _fetcher(handler)
    budget = FetchBudget(max_fetches=1)
    error = _budget_error(lambda: fetcher.fetch("https://a.example/start", budget=budget))
    assert error.details["limit"] == "fetches" and budget.fetches == 1


def test_budget_bytes_cut_a_body_off_while_it_streams() -> None:
    chunks: list[int] = []

    def stream() -> Iterator[bytes]:
        for _ in range(64):
            chunks.append(1)
            yield b" " * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=JSON_HEADERS, content=stream())

    fetcher = _fetcher(handler)
    budget = FetchBudget(max_bytes=10 * 1024)
    error = _budget_error(lambda: fetcher.fetch("https://a.example/big", budget=budget))
    assert error.details["limit"] == "bytes"
    assert "was cut off because this request reached its limit of 10 KiB of downloads" in (
        error.message
    )
    assert len(chunks) == 11
    # Nothing more is sent once the bytes are spent.
    assert _code(lambda: fetcher.fetch("https://a.example/next", budget=budget)) == (
        "fetch.budget_exceeded"
    )


def test_the_request_deadline_shortens_each_fetch() -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        def slow() -> Iterator[bytes]:
            for _ in range(10):
                clock.now += 1.0
                yield b" "

        return httpx.Response(200, headers=JSON_HEADERS, content=slow())

    fetcher = _fetcher(handler, timeout=5.0, clock=clock)
    budget = FetchBudget(seconds=2.5, clock=clock)
    error = _budget_error(lambda: fetcher.fetch("https://a.example/", budget=budget))
    assert error.details["limit"] == "time"
    assert "time limit of 2.5 s" in error.message
    # Without a budget the same fetch is cut off by its own deadline, as a timeout.
    clock.now = 1000.0
    plain = _fetcher(handler, timeout=5.0, clock=clock)
    assert _code(lambda: plain.fetch("https://a.example/")) == "fetch.timeout"


def test_the_active_budget_is_used_and_shared_by_nested_requests() -> None:
    handler, seen = _counting()
    fetcher = _fetcher(handler)
    assert current_budget() is None
    with request_budget(lambda: FetchBudget(max_fetches=1)) as outer:
        with request_budget(lambda: FetchBudget(max_fetches=100)) as inner:
            assert inner is outer
            fetcher.fetch("https://a.example/1")
        assert _code(lambda: fetcher.fetch("https://a.example/2")) == "fetch.budget_exceeded"
    assert current_budget() is None
    fetcher.fetch("https://a.example/3")
    assert seen == ["/1", "/3"]


def test_budgets_are_shared_safely_between_threads() -> None:
    handler, seen = _counting()
    fetcher = _fetcher(handler, cache_ttl=0)
    budget = FetchBudget(max_fetches=10)
    outcomes: list[str] = []

    def work(n: int) -> None:
        try:
            fetcher.fetch(f"https://a.example/{n}", budget=budget)
            outcomes.append("ok")
        except FetchBudgetError:
            outcomes.append("refused")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 10 == len(seen)
    assert outcomes.count("refused") == 30


def test_budget_constructor_checks() -> None:
    with pytest.raises(ValueError):
        FetchBudget(max_fetches=-1)
    with pytest.raises(ValueError):
        FetchBudget(seconds=0)


# --- a real HTTP server on loopback ------------------------------------------------------------


@dataclass
class LocalServer:
    port: int
    requests: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, size cap) leaves a broken pipe; that is expected.
        pass


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    state = LocalServer(port=0)
    bomb = _bomb()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append(
                {
                    "path": parts.path,
                    "host": self.headers.get("Host", ""),
                    "cookie": self.headers.get("Cookie", ""),
                }
            )
            if parts.path == "/json":
                self._send(200, b'{"ok": true}')
            elif parts.path == "/cookie":
                self._send(200, b"{}", {"Set-Cookie": "session=abc; Path=/"})
            elif parts.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", query["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/slow":
                time.sleep(1.5)
                self._send(200, b"{}")
            elif parts.path == "/trickle":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif parts.path == "/big":
                # No Content-Length: the body runs until the connection closes.
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                for _ in range(4096):
                    self.wfile.write(b"x" * 1024)
            elif parts.path == "/bomb":
                self._send(200, bomb, {"Content-Encoding": "gzip"})
            else:
                self._send(404, b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_is_refused_by_default(local_server: LocalServer) -> None:
    with Fetcher() as fetcher:
        assert _code(lambda: fetcher.fetch(local_server.url("/json"))) == (
            "fetch.forbidden_address"
        )
    assert local_server.requests == []


def test_real_fetch_with_allow_private(local_server: LocalServer) -> None:
    with Fetcher(allow_private=True) as fetcher:
        result = fetcher.fetch(local_server.url("/json"))
    assert json.loads(result.body) == {"ok": True}
    assert local_server.requests[0]["host"] == f"127.0.0.1:{local_server.port}"


def test_real_redirect_to_loopback_is_refused(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "public.test" stands for a public host: it resolves to the loopback server, and the
    # address check lets exactly that name's answer through. Its redirect to 127.0.0.2
    # (another loopback address) must be refused without a request.
    monkeypatch.setattr(fetcher_module, "forbidden_address", lambda a: a != "127.0.0.1")
    dns = FakeDns({"public.test": ["127.0.0.1"]})
    target = f"http://127.0.0.2:{local_server.port}/json"
    with Fetcher(getaddrinfo=dns) as fetcher:
        url = f"http://public.test:{local_server.port}/redirect?to={target}"
        assert _code(lambda: fetcher.fetch(url)) == "fetch.forbidden_address"
    assert [r["path"] for r in local_server.requests] == ["/redirect"]


def test_real_connection_goes_to_the_pinned_address(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding against a real socket: the first answer (allowed here) is where the
    # request goes; the later answer, a forbidden address, is never connected to.
    monkeypatch.setattr(fetcher_module, "forbidden_address", lambda a: a != "127.0.0.1")
    answers = iter(["127.0.0.1", "10.255.255.1"])

    def rebinding(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [_info(next(answers), port)]

    with Fetcher(getaddrinfo=rebinding, cache_ttl=0) as fetcher:
        url = f"http://rebind.test:{local_server.port}/json"
        assert fetcher.fetch(url).body == b'{"ok": true}'
        assert _code(lambda: fetcher.fetch(url)) == "fetch.forbidden_address"
    assert local_server.requests == [
        {"path": "/json", "host": f"rebind.test:{local_server.port}", "cookie": ""}
    ]


def test_real_slow_server_times_out(local_server: LocalServer) -> None:
    with Fetcher(allow_private=True, timeout=0.3) as fetcher:
        started = time.monotonic()
        assert _code(lambda: fetcher.fetch(local_server.url("/slow"))) == "fetch.timeout"
    assert time.monotonic() - started < 1.2


def test_real_trickling_server_hits_the_total_deadline(local_server: LocalServer) -> None:
    # Each byte arrives well within the read timeout; the whole body would take 5 s.
    with Fetcher(allow_private=True, timeout=0.5) as fetcher:
        started = time.monotonic()
        assert _code(lambda: fetcher.fetch(local_server.url("/trickle"))) == "fetch.timeout"
    assert time.monotonic() - started < 2.0


def test_real_oversized_body_and_gzip_bomb(local_server: LocalServer) -> None:
    with Fetcher(allow_private=True) as fetcher:
        assert _code(lambda: fetcher.fetch(local_server.url("/big"))) == "fetch.too_large"
        assert _code(lambda: fetcher.fetch(local_server.url("/bomb"))) == "fetch.too_large"


def test_real_non_2xx(local_server: LocalServer) -> None:
    with Fetcher(allow_private=True) as fetcher:
        assert _code(lambda: fetcher.fetch(local_server.url("/missing"))) == "fetch.http_error"


def test_real_cookies_are_never_sent_back(local_server: LocalServer) -> None:
    with Fetcher(allow_private=True, cache_ttl=0) as fetcher:
        fetcher.fetch(local_server.url("/cookie"))
        fetcher.fetch(local_server.url("/cookie"))
    assert [r["cookie"] for r in local_server.requests] == ["", ""]


def test_real_environment_proxy_is_ignored(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect on our behalf, after the address check; it is never used.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(local_server.url("/json")).status == 200
