"""The one outbound HTTP fetcher: every URL the verifier fetches goes through ``Fetcher``.

The public verifier accepts credentials from anyone, and a credential names URLs (its
issuer's ``did:web`` document, an HTTPS key, a status list; the employer may even type
the credential's URL). Fetching whatever a stranger names is server-side request forgery
(SSRF) unless every fetch is checked, so this module is the only place that does it:

- only ``http``/``https`` URLs without user info (``https`` only, if so configured);
- the host is resolved once and **every** address is checked: loopback, private,
  link-local, multicast, reserved, unspecified and shared (CGNAT) addresses are refused,
  also when wrapped in IPv6 (IPv4-mapped, NAT64, 6to4, Teredo);
- the request then goes to the address that was checked, naming the original host in
  the ``Host`` header and the TLS server name, so a DNS answer that changes between the
  check and the connection (DNS rebinding) cannot move it;
- each redirect is checked the same way, and there are at most ``max_redirects``;
- the body is capped while streaming and again after gzip decoding;
- one wall-clock deadline covers the whole fetch: name lookup, connect, TLS, response
  headers and body, redirects included (a server that trickles its headers one line at a
  time is cut off at the deadline like one that trickles its body);
- a ``FetchBudget`` (count, bytes, deadline) shared by every fetch one verification
  request makes bounds what one request can cause, however many URLs it names;
- no proxies from the environment, no cookies;
- successful responses are cached by URL and ``Accept`` for a short time; the public
  documents a caller marks as shared (``share=True``) are also kept in a ``SharedCache``
  (Redis) when one is given, for every process and host to use.

``allow_private=True`` switches the address checks off, for tests and local development
only. See docs/fetching.md.
"""

from __future__ import annotations

import contextvars
import http.cookiejar
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Protocol

import httpcore
import httpx

from badgeworks.core.errors import BadgeworksError

MiB = 1024 * 1024
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = MiB
DEFAULT_MAX_REDIRECTS = 3
DEFAULT_CACHE_TTL = 60.0
DEFAULT_CACHE_SIZE = 256
#: What one verification request may fetch in all (``FetchBudget``; see docs/fetching.md).
DEFAULT_REQUEST_MAX_FETCHES = 50
DEFAULT_REQUEST_MAX_BYTES = 48 * MiB
DEFAULT_REQUEST_DEADLINE = 20.0
#: Name lookups run on this many threads per fetcher, so a slow resolver can hold at most
#: these (each lookup is abandoned at its fetch's deadline, its thread is not).
DNS_THREADS = 4
#: Longer URLs are refused outright; no credential needs one.
MAX_URL_LENGTH = 2048
USER_AGENT = "badgeworks-verifier (+https://github.com/badgeworks)"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# NAT64 "well-known prefix" (RFC 6052 section 2.1): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Site-local unicast (RFC 3879 deprecated it, so Python calls it global): still routed
# inside many networks, so it is private in practice.
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")

GetAddrInfo = Callable[..., Sequence[tuple[Any, ...]]]
Clock = Callable[[], float]


class SharedCache(Protocol):
    """Responses kept outside the process (``services.infra.shared_cache``); never raises."""

    def get(self, name: str) -> tuple[FetchResult, float] | None:
        """The response kept under ``name`` and the seconds it has left, or None."""
        ...

    def put(self, name: str, result: FetchResult, ttl: float) -> None:
        """Keep ``result`` under ``name`` for ``ttl`` seconds."""
        ...


class FetchError(BadgeworksError):
    """An outbound fetch was refused or failed.

    Codes: ``fetch.bad_url``, ``fetch.forbidden_address``, ``fetch.redirect_refused``,
    ``fetch.too_many_redirects``, ``fetch.unreachable``, ``fetch.timeout``,
    ``fetch.too_large``, ``fetch.http_error``, ``fetch.bad_content`` and (a
    ``FetchBudgetError``) ``fetch.budget_exceeded``. Messages name the URL that was asked
    for (or a redirect target the server sent), never an address the host name resolved to.
    """

    code = "fetch.unreachable"


#: The code of ``FetchBudgetError``; the verification report names checks skipped with it.
BUDGET_EXCEEDED = "fetch.budget_exceeded"


class FetchBudgetError(FetchError):
    """The request this fetch belongs to has spent its ``FetchBudget``.

    Nothing is wrong with the URL or the credential: the check that needed the fetch was
    not run. ``details``: ``limit`` (``fetches``, ``bytes`` or ``time``), ``reason`` (a
    clause such as "this request reached its limit of 50 fetches") and ``url``.
    """

    code = BUDGET_EXCEEDED


#: A failed fetch's code → the outcome its observer is told (any other code: ``error``).
_OBSERVED_OUTCOMES = {
    "fetch.forbidden_address": "refused",
    "fetch.redirect_refused": "refused",
    "fetch.bad_url": "refused",
    "fetch.timeout": "timeout",
    "fetch.too_large": "too_large",
    BUDGET_EXCEEDED: "budget",
}


def _size(count: int) -> str:
    if count >= MiB:
        return f"{count / MiB:.1f}".removesuffix(".0") + " MiB"
    return f"{count // 1024} KiB" if count >= 1024 else f"{count} bytes"


class FetchBudget:
    """What one verification request may fetch in all: requests, bytes and time.

    One credential or presentation names its own URLs (DID documents, keys, revocation
    lists, deliverables), so without a shared bound one small request can make hundreds
    of fetches or download hundreds of megabytes. A budget is made per request and
    shared by every fetch the request makes (``activate()``, or ``Fetcher.fetch(budget=)``).
    Each HTTP request sent (every redirect hop) costs one fetch; every byte received on
    the wire counts, also of a response that is then refused; a cached answer is free.
    Once any limit is reached every further fetch raises ``FetchBudgetError`` at once, so
    the remaining checks are reported as not run. Safe to share between threads.
    """

    def __init__(
        self,
        *,
        max_fetches: int = DEFAULT_REQUEST_MAX_FETCHES,
        max_bytes: int = DEFAULT_REQUEST_MAX_BYTES,
        seconds: float = DEFAULT_REQUEST_DEADLINE,
        clock: Clock = time.monotonic,
    ) -> None:
        if max_fetches < 0 or max_bytes < 0 or seconds <= 0:
            raise ValueError("max_fetches and max_bytes must be >= 0, seconds positive")
        self.max_fetches = max_fetches
        self.max_bytes = max_bytes
        self.seconds = seconds
        self._clock = clock
        self.deadline = clock() + seconds
        self.fetches = 0
        self.received = 0
        #: The first limit reached (``fetches``, ``bytes``, ``time``), or None.
        self.exhausted: str | None = None
        #: URLs that were not fetched (or were cut off) because the budget ran out.
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        """Seconds left before this request's fetch deadline (may be negative)."""
        return self.deadline - self._clock()

    def reason(self, limit: str | None = None) -> str:
        """Why checks were skipped, as a clause: "this request reached its limit of …"."""
        limit = limit or self.exhausted or "fetches"
        if limit == "bytes":
            return f"this request reached its limit of {_size(self.max_bytes)} of downloads"
        if limit == "time":
            return f"this request reached its time limit of {self.seconds:g} s for fetching"
        plural = "fetch" if self.max_fetches == 1 else "fetches"
        return f"this request reached its limit of {self.max_fetches} {plural}"

    def _exceeded(self, limit: str, url: str, *, cut: bool = False) -> FetchBudgetError:
        # Called with the lock held.
        if self.exhausted is None:
            self.exhausted = limit
        self.refused.append(url)
        reason = self.reason(limit)
        done = "was cut off" if cut else "was not fetched"
        return FetchBudgetError(
            f"{url:.200} {done} because {reason}",
            limit=limit,
            reason=reason,
            url=url,
            max_fetches=self.max_fetches,
            max_bytes=self.max_bytes,
            seconds=self.seconds,
        )

    def spend_fetch(self, url: str) -> None:
        """Account for one request about to be sent, or raise ``FetchBudgetError``."""
        with self._lock:
            if self.exhausted is not None:
                raise self._exceeded(self.exhausted, url)
            if self.remaining() <= 0:
                raise self._exceeded("time", url)
            if self.fetches >= self.max_fetches:
                raise self._exceeded("fetches", url)
            if self.received >= self.max_bytes:
                raise self._exceeded("bytes", url)
            self.fetches += 1

    def spend_bytes(self, url: str, count: int) -> None:
        """Account for ``count`` bytes received; raise once the total passes the cap."""
        with self._lock:
            self.received += count
            if self.received > self.max_bytes:
                raise self._exceeded("bytes", url, cut=True)

    def out_of_time(self, url: str) -> FetchBudgetError:
        """The error for a fetch cut off by this request's deadline."""
        with self._lock:
            return self._exceeded("time", url, cut=True)

    @contextmanager
    def activate(self) -> Iterator[FetchBudget]:
        """Make this the budget of every fetch made in this context (thread or task)."""
        token = _BUDGET.set(self)
        try:
            yield self
        finally:
            _BUDGET.reset(token)


# The budget of the request being served. A context variable, because the fetcher is
# shared and is reached through protocols that carry only a URL (the document loader's
# resolvers, the status resolver, the deliverable fetcher).
_BUDGET: contextvars.ContextVar[FetchBudget | None] = contextvars.ContextVar(
    "badgeworks_fetch_budget", default=None
)


def current_budget() -> FetchBudget | None:
    """The budget activated in this context, if any."""
    return _BUDGET.get()


@contextmanager
def request_budget(make: Callable[[], FetchBudget]) -> Iterator[FetchBudget]:
    """The active budget, or a new one from ``make()`` activated for this block.

    A presentation's credentials are verified one by one inside the presentation's
    request; they share its budget rather than each getting a fresh one.
    """
    active = _BUDGET.get()
    if active is not None:
        yield active
        return
    with make().activate() as budget:
        yield budget


@dataclass(frozen=True)
class FetchResult:
    """A successful (2xx) response: the URL asked for, where it ended up, and the body."""

    url: str
    final_url: str
    status: int
    #: The media type, lower case, without parameters (``application/json``).
    content_type: str
    body: bytes


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries, which a router may deliver to."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # ``is_global`` is False for private ranges, CGNAT (100.64.0.0/10) and the IANA
    # special-purpose registries; the other flags are belt and braces.
    return (
        not ip.is_global
        or (isinstance(ip, ipaddress.IPv6Address) and ip in _SITE_LOCAL)
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def forbidden_address(address: str) -> bool:
    """True for any address a verifier must not be steered to (SSRF).

    An IPv6 address that embeds an IPv4 one (``::ffff:127.0.0.1``, ``64:ff9b::a00:1``,
    ``2002:7f00:1::``) is judged by the embedded address, since Python 3.11's flags do not
    look inside; the IPv6 form itself must pass too, except for the mapped and NAT64
    forms, whose IPv6 range is "reserved" only as a container.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv4Address):
        return _forbidden_ip(ip)
    embedded = _embedded_ipv4(ip)
    if any(_forbidden_ip(inner) for inner in embedded):
        return True
    if ip.ipv4_mapped is not None or ip in _NAT64:
        return False
    return _forbidden_ip(ip)


def _no_cookies() -> http.cookiejar.CookieJar:
    # A jar whose policy accepts no domain: Set-Cookie is ignored, so no Cookie is sent.
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def _media_types(accept: str) -> list[str]:
    return [part.split(";", 1)[0].strip().lower() for part in accept.split(",") if part.strip()]


def _acceptable(content_type: str, accepted: list[str]) -> bool:
    """Whether a response's media type is one the caller asked for.

    ``*/*`` accepts anything; asking for ``application/json`` also accepts every
    ``+json`` type (RFC 6839 section 3.1), such as ``application/did+ld+json``.
    """
    if "*/*" in accepted or content_type in accepted:
        return True
    json_asked = any(t == "application/json" or t.endswith("+json") for t in accepted)
    return json_asked and content_type.endswith("+json")


class _TooLarge(Exception):
    pass


class _Expired(Exception):
    """The fetch's deadline passed; ``_fetch`` says whose (the fetch's or the request's)."""


# A fetch cut off within this many seconds of its request's deadline was cut off by it.
_SLACK = 0.05


class _Decoder:
    """Undoes ``Content-Encoding`` with a bound on the output of every step.

    httpx would decode for us, but one network chunk of a gzip bomb can expand a
    thousandfold in a single call; here each call may produce only what still fits.
    """

    def __init__(self, encoding: str) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        if not self.gzip and encoding not in ("", "identity"):
            raise ValueError(encoding)
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; raise ``_TooLarge`` once the output would exceed ``room``."""
        if not self.gzip:
            if len(data) > room:
                raise _TooLarge
            return data
        out = bytearray()
        while data:
            out += self._z.decompress(data, max(1, room - len(out) + 1))
            if len(out) > room:
                raise _TooLarge
            if self._z.eof:
                # A gzip stream may hold several members (RFC 1952 section 2.2).
                data = self._z.unused_data
                if data:
                    self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self._z.unconsumed_tail
        return bytes(out)

    def finish(self, room: int) -> bytes:
        if not self.gzip:
            return b""
        rest = self._z.flush()
        if len(rest) > room:
            raise _TooLarge
        if not self._z.eof:
            raise zlib.error("truncated gzip stream")
        return rest


# The wall-clock deadline (``time.monotonic()``) of the fetch running in this context, for
# the network backend below: httpx's timeouts apply to each socket operation, so a server
# sending one byte a second would never trip them.
_WIRE_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "badgeworks_fetch_deadline", default=None
)


def _within(deadline: float | None, timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left before ``deadline``; raise once none is left."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the fetch deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by one deadline.

    Each socket operation gets at most the time left, so the sum of them (a response
    head trickled line by line, a body byte by byte) cannot outlast the fetch. CPython
    bounds a whole TLS handshake by the socket timeout set before it.
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float | None) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _within(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _within(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context,
            server_hostname,
            _within(self._deadline, timeout, httpcore.ConnectTimeout),
        )
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with the fetch's deadline on every connection."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        deadline = _WIRE_DEADLINE.get()
        stream = self._inner.connect_tcp(
            host,
            port,
            _within(deadline, timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream, deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("the fetcher does not use unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport on ``_DeadlineBackend``; no proxies, certificates verified."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        # HTTPTransport takes no network backend, so its pool is rebuilt with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_DeadlineBackend(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
        )


class Fetcher:
    """Fetches http(s) URLs for the verifier, refusing anything that could be SSRF.

    One instance is meant to be shared (it holds the HTTP client and the cache, and is
    safe to use from several threads). ``transport``, ``getaddrinfo`` and ``clock`` are
    injectable for tests; ``client`` lets a caller supply its own ``httpx.Client`` (it
    should be built with ``trust_env=False``). ``close()`` closes the client.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_http: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        allow_http_hosts: Collection[str] = (),
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
        getaddrinfo: GetAddrInfo = socket.getaddrinfo,
        clock: Clock = time.monotonic,
        observe: Callable[[str, float], None] | None = None,
        shared: SharedCache | None = None,
    ) -> None:
        if client is not None and transport is not None:
            raise ValueError("pass either client or transport, not both")
        if timeout <= 0 or max_bytes <= 0 or max_redirects < 0:
            raise ValueError("timeout and max_bytes must be positive, max_redirects >= 0")
        self.allow_private = allow_private
        self.allow_http = allow_http
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self.allow_http_hosts = frozenset(h.lower().rstrip(".") for h in allow_http_hosts)
        self._getaddrinfo = getaddrinfo
        self._clock = clock
        #: Told each sent fetch's outcome (``ok``, ``refused``, ``timeout``, ``too_large``,
        #: ``budget`` or ``error``) and wall-clock seconds; the service's metrics use it.
        self._observe = observe
        #: Where responses fetched with ``share=True`` are also kept (Redis), if anywhere.
        self.shared = shared
        self._cache: OrderedDict[tuple[str, str], tuple[float, FetchResult]] = OrderedDict()
        self._lock = threading.Lock()
        self._dns = ThreadPoolExecutor(DNS_THREADS, thread_name_prefix="badgeworks-dns")
        # trust_env=False: an environment proxy would connect on our behalf and make the
        # address check meaningless. Redirects are followed by hand, one checked hop at a time.
        self._client = client or httpx.Client(
            transport=transport or _DeadlineTransport(),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            cookies=_no_cookies(),
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close the HTTP client (also when it was injected) and the lookup threads."""
        self._client.close()
        self._dns.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def clear_cache(self) -> None:
        """Forget every cached response."""
        with self._lock:
            self._cache.clear()

    # --- the public entry point ------------------------------------------------------

    def fetch(
        self,
        url: str,
        *,
        accept: str = "application/json",
        max_bytes: int | None = None,
        same_host_redirects: bool = False,
        budget: FetchBudget | None = None,
        share: bool = False,
    ) -> FetchResult:
        """GET ``url`` and return its 2xx response, or raise ``FetchError``.

        ``accept`` is sent as the ``Accept`` header and also checked against the response's
        ``Content-Type`` (``*/*`` accepts any). ``max_bytes`` lowers or raises the size cap
        for this call. ``same_host_redirects`` refuses redirects to another host or port
        (did:web documents must be served by their own host). ``budget`` (default: the
        one activated in this context, if any) is charged for what the fetch sends and
        receives; a cached answer costs nothing. ``share`` marks a public document (a
        status list, a DID or key document, never one about a person): it is also looked
        up in, and kept in, the shared cache, so other processes need not fetch it again.
        """
        limit = self.max_bytes if max_bytes is None else max_bytes
        target = self._parse(url, url)
        key = (str(target), accept)
        cached = self._cached(key, limit)
        if cached is not None:
            return replace(cached, url=url)
        # The redirect rule is part of the shared name (a document fetched while following
        # redirects to other hosts is not served where only same-host redirects count), and
        # so is the address rule: what a fetcher allowed to reach private addresses got is
        # never served to one that is not (another deployment on the same Redis).
        shared_name = f"{target}\n{accept}\n{int(same_host_redirects)}\n{int(self.allow_private)}"
        if share and self.shared is not None and self.cache_ttl > 0:
            found = self.shared.get(shared_name)
            if found is not None and len(found[0].body) <= limit:
                result, left = found
                self._store(key, result, ttl=min(left, self.cache_ttl))
                return replace(result, url=url)
        budget = budget if budget is not None else _BUDGET.get()
        if self._observe is None:
            result = self._fetch(url, target, accept, limit, same_host_redirects, budget)
        else:
            started = time.monotonic()
            outcome = "error"
            try:
                result = self._fetch(url, target, accept, limit, same_host_redirects, budget)
                outcome = "ok"
            except FetchError as exc:
                outcome = _OBSERVED_OUTCOMES.get(exc.code, "error")
                raise
            finally:
                self._observe(outcome, time.monotonic() - started)
        self._store(key, result)
        if share and self.shared is not None and self.cache_ttl > 0:
            self.shared.put(shared_name, result, self.cache_ttl)
        return result

    # --- the cache -------------------------------------------------------------------

    def _cached(self, key: tuple[str, str], limit: int) -> FetchResult | None:
        if self.cache_ttl <= 0 or self.cache_size <= 0:
            return None
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            expires, result = entry
            if self._clock() >= expires:
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
        # A response cached under a larger cap is not served past a smaller one.
        return result if len(result.body) <= limit else None

    def _store(
        self, key: tuple[str, str], result: FetchResult, *, ttl: float | None = None
    ) -> None:
        if self.cache_ttl <= 0 or self.cache_size <= 0:
            return
        with self._lock:
            self._cache[key] = (self._clock() + (self.cache_ttl if ttl is None else ttl), result)
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    # --- URLs and addresses ----------------------------------------------------------

    def _parse(self, url: str, given: str) -> httpx.URL:
        """Check ``url`` (the URL given, or a redirect target) and return it parsed."""
        if not isinstance(url, str) or not url:
            raise FetchError(f"{url!r:.80} is not a URL", code="fetch.bad_url")
        if len(url) > MAX_URL_LENGTH:
            raise FetchError(
                f"the URL {url:.80}… is longer than {MAX_URL_LENGTH} characters",
                code="fetch.bad_url",
            )
        # Whitespace, control characters and backslashes are where URL parsers disagree.
        if any(c.isspace() or ord(c) < 0x20 or c in "\x7f\\" for c in url):
            raise FetchError(
                f"the URL {url!r:.200} contains spaces, control characters or backslashes",
                code="fetch.bad_url",
            )
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme not in ("http", "https"):
            raise FetchError(
                f"the URL {url!r:.200} is not an http or https URL; nothing else is fetched",
                code="fetch.bad_url",
            )
        try:
            parsed = httpx.URL(url)
            host = parsed.raw_host.decode("ascii").lower()
        except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
            raise FetchError(
                f"the URL {url!r:.200} is not a valid URL", code="fetch.bad_url"
            ) from None
        if not host:
            raise FetchError(f"the URL {url!r:.200} has no host", code="fetch.bad_url")
        if parsed.userinfo:
            raise FetchError(
                f"the URL {given!r:.200} contains a user name or password; "
                "URLs with credentials are not fetched",
                code="fetch.bad_url",
            )
        if (
            parsed.scheme == "http"
            and not self.allow_http
            and host.rstrip(".") not in self.allow_http_hosts
        ):
            raise FetchError(
                f"the URL {url!r:.200} uses http; only https URLs are fetched",
                code="fetch.bad_url",
            )
        return parsed.copy_with(fragment=None)

    def _lookup(self, host: str, port: int, deadline: float) -> Sequence[tuple[Any, ...]]:
        """``getaddrinfo`` on a lookup thread, given up at ``deadline`` (``_Expired``)."""
        try:
            future: Future[Sequence[tuple[Any, ...]]] = self._dns.submit(
                self._getaddrinfo, host, port, type=socket.SOCK_STREAM
            )
        except RuntimeError:  # the fetcher was closed
            raise FetchError("the fetcher is closed", code="fetch.unreachable") from None
        try:
            return future.result(timeout=max(0.0, deadline - self._clock()))
        except FutureTimeout:
            future.cancel()
            raise _Expired from None

    def _checked_addresses(self, url: httpx.URL, deadline: float) -> list[str]:
        """Resolve the URL's host once; return its addresses if none is forbidden."""
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            # An IP literal needs no DNS (and no injected resolver can hide it).
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                infos = self._lookup(host, port, deadline)
            except (OSError, UnicodeError):
                raise FetchError(
                    f"the host {host!r:.120} does not resolve", code="fetch.unreachable"
                ) from None
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise FetchError(f"the host {host!r:.120} does not resolve", code="fetch.unreachable")
        if any(forbidden_address(address) for address in addresses):
            # The address itself is not named: it may describe the verifier's own network.
            raise FetchError(
                f"the host {host!r:.120} is, or resolves to, a private, loopback, link-local "
                "or reserved address, which this verifier does not contact",
                code="fetch.forbidden_address",
            )
        return addresses

    # --- one fetch, redirects included -----------------------------------------------

    @contextmanager
    def _time_limit(self, given: str, budget: FetchBudget | None) -> Iterator[float]:
        """The deadline of one fetch, redirects included: its timeout, or less when the
        budget runs out sooner. Running out raises the timeout or the budget's error."""
        allowed = self.timeout
        if budget is not None:
            allowed = min(allowed, budget.remaining())
        deadline = self._clock() + allowed
        token = _WIRE_DEADLINE.set(time.monotonic() + allowed)
        try:
            yield deadline
        except _Expired:
            if budget is not None and budget.remaining() <= _SLACK:
                raise budget.out_of_time(given) from None
            raise self._timed_out(given) from None
        finally:
            _WIRE_DEADLINE.reset(token)

    def _fetch(
        self,
        given: str,
        target: httpx.URL,
        accept: str,
        limit: int,
        same_host: bool,
        budget: FetchBudget | None,
    ) -> FetchResult:
        with self._time_limit(given, budget) as deadline:
            accepted = _media_types(accept)
            first = target
            for hop in range(self.max_redirects + 1):
                if budget is not None:
                    budget.spend_fetch(given)
                response = self._send(given, target, accept, deadline)
                try:
                    if response.status_code in _REDIRECTS and "Location" in response.headers:
                        if hop == self.max_redirects:
                            break
                        target = self._redirect(given, first, target, response, same_host)
                        continue
                    if not 200 <= response.status_code < 300:
                        raise FetchError(
                            f"{given:.200} answered HTTP {response.status_code}",
                            code="fetch.http_error",
                            status=response.status_code,
                        )
                    content_type = (
                        response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
                    )
                    if accepted and not _acceptable(content_type, accepted):
                        raise FetchError(
                            f"{given:.200} is served as {content_type or 'no content type'!r:.80}, "
                            f"not one of {accept!r:.120}",
                            code="fetch.bad_content",
                            content_type=content_type,
                        )
                    body = self._read(given, response, limit, deadline, budget)
                    return FetchResult(given, str(target), response.status_code, content_type, body)
                finally:
                    response.close()
            raise FetchError(
                f"{given:.200} redirected more than {self.max_redirects} times",
                code="fetch.too_many_redirects",
            )

    def _redirect(
        self,
        given: str,
        first: httpx.URL,
        current: httpx.URL,
        response: httpx.Response,
        same_host: bool,
    ) -> httpx.URL:
        location = response.headers["Location"]
        try:
            joined = str(current.join(location))
        except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
            raise FetchError(
                f"{given:.200} redirects to {location!r:.200}, which is not a valid URL",
                code="fetch.bad_url",
            ) from None
        target = self._parse(joined, given)
        if current.scheme == "https" and target.scheme == "http":
            raise FetchError(
                f"{given:.200} redirects from https to plain http ({joined!r:.200})",
                code="fetch.redirect_refused",
            )
        if same_host and (target.raw_host != first.raw_host or target.port != first.port):
            raise FetchError(
                f"{given:.200} redirects to another host ({joined!r:.200}); "
                "this document must be served by its own host",
                code="fetch.redirect_refused",
            )
        return target

    def _send(self, given: str, url: httpx.URL, accept: str, deadline: float) -> httpx.Response:
        headers = {
            "Accept": accept,
            # Only gzip: we decode it ourselves with a bound (see _Decoder).
            "Accept-Encoding": "gzip",
            # A connection to a pinned address names one host; never reuse it for another.
            "Connection": "close",
        }
        addresses: list[str | None] = [None]
        if not self.allow_private:
            addresses = list(self._checked_addresses(url, deadline))
        for attempt, address in enumerate(addresses):
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise _Expired
            request = self._build(url, address, headers, min(remaining, self.timeout))
            try:
                return self._client.send(request, stream=True, follow_redirects=False)
            except httpx.TimeoutException:
                raise _Expired from None
            except httpx.ConnectError:
                # Every address was checked; a dual-stack host may be reachable on only one.
                if attempt + 1 < len(addresses):
                    continue
                raise FetchError(
                    f"could not connect to the host of {given:.200}", code="fetch.unreachable"
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError(
                    f"could not fetch {given:.200} ({type(exc).__name__})",
                    code="fetch.unreachable",
                ) from None
        raise AssertionError("unreachable: there is always at least one address")

    def _build(
        self, url: httpx.URL, address: str | None, headers: dict[str, str], timeout: float
    ) -> httpx.Request:
        if address is None:
            return self._client.build_request("GET", url, headers=headers, timeout=timeout)
        host = url.raw_host.decode("ascii")
        # Connect to the checked address; name the real host in Host and TLS SNI, so
        # virtual hosting and certificate checks work as if we had connected by name.
        return self._client.build_request(
            "GET",
            url.copy_with(host=address),
            headers={**headers, "Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": host},
            timeout=timeout,
        )

    def _read(
        self,
        given: str,
        response: httpx.Response,
        limit: int,
        deadline: float,
        budget: FetchBudget | None,
    ) -> bytes:
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(given, limit)
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        try:
            decoder = _Decoder(encoding)
        except ValueError:
            raise FetchError(
                f"{given:.200} is sent with the content encoding {encoding!r:.40}, "
                "which is not accepted",
                code="fetch.bad_content",
            ) from None
        stream = response.stream
        if not isinstance(stream, httpx.SyncByteStream):
            raise TypeError("the fetcher needs a synchronous transport")
        body = bytearray()
        received = 0
        try:
            # The raw (still encoded) bytes; iter_raw() would refuse a response that a
            # test transport built already read.
            for chunk in stream:
                received += len(chunk)
                if budget is not None:
                    budget.spend_bytes(given, len(chunk))
                if received > limit:
                    raise _TooLarge
                body += decoder.feed(chunk, limit - len(body))
                if self._clock() > deadline:
                    raise _Expired
            body += decoder.finish(limit - len(body))
        except _TooLarge:
            raise self._too_large(given, limit) from None
        except zlib.error:
            raise FetchError(
                f"{given:.200} sent a body that is not valid gzip", code="fetch.bad_content"
            ) from None
        except httpx.TimeoutException:
            raise _Expired from None
        except httpx.HTTPError as exc:
            raise FetchError(
                f"could not read {given:.200} ({type(exc).__name__})", code="fetch.unreachable"
            ) from None
        return bytes(body)

    def _timed_out(self, given: str) -> FetchError:
        return FetchError(
            f"fetching {given:.200} took longer than {self.timeout:g} s", code="fetch.timeout"
        )

    @staticmethod
    def _too_large(given: str, limit: int) -> FetchError:
        return FetchError(
            f"{given:.200} is larger than {limit} bytes", code="fetch.too_large", limit=limit
        )
