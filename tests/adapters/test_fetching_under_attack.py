"""Outbound fetching under attack: slow servers, amplification, odd addresses and DIDs.

Each test performs the attack for real against loopback servers: a server that trickles
its response one header line (or one byte) at a time, a presentation that names hundreds
of distinct URLs or big bodies, posted to a served app on SQLite and on PostgreSQL. The
loopback servers count what they were asked for and what they sent, so the tests assert
what actually crossed the wire, not what the fetcher believes it did.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from badgeworks.adapters.did_web import DidWebResolver
from badgeworks.adapters.fetcher import Fetcher, FetchError, forbidden_address
from badgeworks.core.credential import digest_multibase
from badgeworks.core.errors import DidError
from badgeworks.core.loader import DocumentLoader
from badgeworks.web.app import create_app
from tests.did_key_badges import badge, signed
from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.servers import serve
from tests.verifier_app import verifier_settings

VC2 = "https://www.w3.org/ns/credentials/v2"


# ------------------------------------------------------------------ loopback servers


@dataclass
class Seen:
    """What a loopback server was asked for and what it managed to send."""

    paths: list[str] = field(default_factory=list)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, count: int) -> None:
        with self.lock:
            self.sent += count


class RawServer:
    """A TCP server on 127.0.0.1; ``respond(conn, path)`` writes each response by hand.

    Every connection gets its own daemon thread; a response gives up as soon as the
    client has gone (a write fails) and the whole server stops in ``close()``.
    """

    def __init__(self, respond: Callable[[socket.socket, str, Seen], None], raw: bool) -> None:
        self.seen = Seen()
        self.stopped = threading.Event()
        #: Not HTTP: answer after the client's first bytes (a TLS client hello).
        self.raw = raw
        self._respond = respond
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            request = b""
            try:
                if self.raw:
                    conn.recv(4096)
                    self._respond(conn, "", self.seen)
                    return
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                path = request.split(b" ", 2)[1].decode("ascii", "replace")
                with self.seen.lock:
                    self.seen.paths.append(path)
                self._respond(conn, path, self.seen)
            except (OSError, IndexError):
                return

    def close(self) -> None:
        self.stopped.set()
        self._sock.close()
        self._thread.join(timeout=2)


def trickle_headers(interval: float = 0.2, lines: int = 20) -> Callable[..., None]:
    """A response whose header lines arrive one per ``interval`` (about 4 s in all)."""

    def respond(conn: socket.socket, path: str, seen: Seen) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(lines):
            time.sleep(interval)
            conn.sendall(f"X-Slow-{i}: 1\r\n".encode())
        conn.sendall(b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    return respond


def trickle_status_line(interval: float = 0.1) -> Callable[..., None]:
    """A response whose status line arrives one byte per ``interval``."""

    def respond(conn: socket.socket, path: str, seen: Seen) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n":
            time.sleep(interval)
            conn.sendall(bytes([byte]))
        conn.sendall(b"Content-Length: 2\r\n\r\n{}")

    return respond


def bodies(size: int, content: Callable[[str], bytes] | None = None) -> Callable[..., None]:
    """A JSON body of ``size`` bytes (or ``content(path)``), sent in 16 KiB writes."""

    def respond(conn: socket.socket, path: str, seen: Seen) -> None:
        body = content(path) if content else b"{" + b" " * (size - 2) + b"}"
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        conn.sendall(head)
        for start in range(0, len(body), 16384):
            piece = body[start : start + 16384]
            conn.sendall(piece)
            seen.add(len(piece))

    return respond


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[..., None]], RawServer]]:
    servers: list[RawServer] = []

    def start(respond: Callable[..., None], raw: bool = False) -> RawServer:
        server = RawServer(respond, raw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# ------------------------------------------------------------------ one fetch, one deadline


def _failure(call: Callable[[], Any]) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        call()
    return caught.value.code, time.monotonic() - started


@pytest.mark.parametrize("respond", [trickle_headers(), trickle_status_line()])
def test_a_trickled_response_head_hits_the_fetch_deadline(
    raw_server: Callable[..., RawServer], respond: Callable[..., None]
) -> None:
    server = raw_server(respond)
    with Fetcher(allow_private=True, timeout=0.8) as fetcher:
        code, took = _failure(lambda: fetcher.fetch(server.base + "/did.json"))
    assert code == "fetch.timeout"
    assert 0.7 <= took < 1.5, took


def trickle_tls(interval: float = 0.2) -> Callable[..., None]:
    """After the client's hello, a TLS record header and then one byte per ``interval``."""

    def respond(conn: socket.socket, path: str, seen: Seen) -> None:
        conn.sendall(b"\x16\x03\x03\x40\x00")
        for _ in range(25):
            time.sleep(interval)
            conn.sendall(b"\x02")

    return respond


def test_a_trickled_tls_handshake_hits_the_fetch_deadline(
    raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(trickle_tls(), raw=True)
    with Fetcher(allow_private=True, timeout=0.8) as fetcher:
        url = server.base.replace("http://", "https://") + "/did.json"
        code, took = _failure(lambda: fetcher.fetch(url))
    assert code == "fetch.timeout"
    assert 0.7 <= took < 1.5, took


def test_a_slow_name_lookup_counts_against_the_fetch_deadline() -> None:
    def slow_dns(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        time.sleep(2.0)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    # The transport never touches the network: only the lookup is slow.
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    with Fetcher(timeout=0.5, getaddrinfo=slow_dns, transport=transport) as fetcher:
        code, took = _failure(lambda: fetcher.fetch("https://slow-dns.example/x"))
    assert code == "fetch.timeout"
    assert took < 1.2, took


@pytest.mark.parametrize("address", ["fec0::1", "fec0:1:2::3", "feff::1", "fefe:ffff::a00:1"])
def test_site_local_ipv6_is_refused(address: str) -> None:
    # fec0::/10 (site-local, deprecated by RFC 3879) is private in practice.
    assert forbidden_address(address) is True


# ------------------------------------------------------------------ one request, one budget


def _app(tmp: Path, database_url: str, **overrides: Any) -> Any:
    values = verifier_settings(
        tmp,
        database_url,
        fetch_allow_private=True,
        verify_max_json_bytes=1024 * 1024,
        verify_max_file_bytes=2 * 1024 * 1024,
        **overrides,
    )
    return create_app(values, clock=lambda: NOW)


def _status_entries(base: str, prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{base}/{prefix}-{n}#7",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "7",
            "statusListCredential": f"{base}/{prefix}-{n}",
        }
        for n in range(count)
    ]


def _presentation(credentials: list[dict[str, Any]]) -> dict[str, Any]:
    """An anonymous (unsigned) presentation: anyone can post one."""
    return {
        "@context": [VC2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials,
    }


def _post(base: str, document: dict[str, Any], timeout: float = 120) -> tuple[Any, float]:
    started = time.monotonic()
    r = httpx.post(f"{base}/api/v1/verify", json=document, timeout=timeout)
    took = time.monotonic() - started
    assert r.status_code in (200, 422), r.text
    return r.json(), took


def _checks(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(body.get("presentationResult", {}).get("checks", []))
    for result in body.get("credentialResults", [body]):
        found += result["checks"]
    return found


def _budget_checks(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in _checks(body) if c["code"] == "fetch.budget_exceeded"]


def test_a_presentation_cannot_make_hundreds_of_fetches(
    database_url: str, tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server(bodies(64))
    # 10 credentials x 20 revocation lists, every URL distinct: 200 fetches unbounded.
    vp = _presentation(
        [badge(credential_status=_status_entries(server.base, f"c{i}", 20)) for i in range(10)]
    )
    application = _app(tmp_path, database_url, fetch_request_max_fetches=12)
    try:
        with serve(application) as base:
            body, _ = _post(base, vp)
    finally:
        application.state.engine.dispose()
    assert len(server.seen.paths) <= 12, len(server.seen.paths)
    skipped = _budget_checks(body)
    assert len(skipped) >= 200 - 12
    for check in skipped:
        assert check["check"] == "status"
        # Not run: a warning, never a failure that says the credential was altered.
        assert check["outcome"] == "indeterminate"
        assert "reached its limit of 12 fetches" in check["message"]
        assert check["detail"]["limit"] == "fetches"


def test_a_presentation_cannot_download_unbounded_bytes(
    database_url: str, tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    size = 512 * 1024
    server = raw_server(bodies(size))
    # 4 credentials x 10 lists of 512 KiB each: 20 MiB unbounded.
    vp = _presentation(
        [badge(credential_status=_status_entries(server.base, f"c{i}", 10)) for i in range(4)]
    )
    application = _app(
        tmp_path,
        database_url,
        fetch_request_max_bytes=1024 * 1024,
        fetch_request_max_fetches=1000,
    )
    try:
        with serve(application) as base:
            body, _ = _post(base, vp)
    finally:
        application.state.engine.dispose()
    # Two whole bodies fit in 1 MiB; the third is cut off and nothing more is asked for.
    assert len(server.seen.paths) <= 3, server.seen.paths
    # What the server managed to write: the budget, plus what socket buffers absorbed.
    assert server.seen.sent <= 1024 * 1024 + 4 * size, server.seen.sent
    skipped = _budget_checks(body)
    assert len(skipped) >= 40 - 3
    assert all("reached its limit of 1 MiB of downloads" in c["message"] for c in skipped)


def test_deliverables_skipped_for_the_budget_are_named(
    database_url: str,
    tmp_path: Path,
    loader: DocumentLoader,
    raw_server: Callable[..., RawServer],
) -> None:
    def content(path: str) -> bytes:
        return path.encode() * (300 * 1024 // len(path))

    server = raw_server(bodies(0, content))
    urls = [f"{server.base}/files/report-{n}.pdf" for n in range(5)]
    resources = [
        {"id": url, "digestMultibase": digest_multibase(content(url[len(server.base) :]))}
        for url in urls
    ]
    credential = signed(loader, related_resource=resources)
    application = _app(tmp_path, database_url, fetch_request_max_bytes=1024 * 1024)
    try:
        with serve(application) as base:
            body, _ = _post(base, credential)
    finally:
        application.state.engine.dispose()
    deliverables = [c for c in body["checks"] if c["check"] == "deliverable"]
    assert [c["code"] for c in deliverables[:3]] == ["deliverable.match"] * 3
    assert [c["code"] for c in deliverables[3:]] == ["fetch.budget_exceeded"] * 2
    assert all(c["outcome"] == "warning" for c in deliverables[3:])
    assert deliverables[4]["detail"]["id"] == urls[4]
    assert "reached its limit of 1 MiB of downloads" in deliverables[4]["message"]
    assert len(server.seen.paths) <= 4
    assert body["verified"] is True


def test_a_signature_skipped_for_the_budget_is_could_not_check_never_forged(
    database_url: str,
    tmp_path: Path,
    loader: DocumentLoader,
    raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(bodies(64))
    credentials = []
    for i in range(3):
        did = f"did:web:127.0.0.1%3A{server.port}:c{i}"
        credential = signed(loader)
        credential["issuer"]["id"] = did
        credential["proof"][0]["verificationMethod"] = f"{did}#key-1"
        credentials.append(credential)
    application = _app(tmp_path, database_url, fetch_request_max_fetches=1)
    try:
        with serve(application) as base:
            body, _ = _post(base, _presentation(credentials))
    finally:
        application.state.engine.dispose()
    assert server.seen.paths == ["/c0/did.json"]
    for result in body["credentialResults"][1:]:
        (proof,) = [c for c in result["checks"] if c["check"] == "proof"]
        assert proof["code"] == "fetch.budget_exceeded"
        assert proof["outcome"] == "indeterminate"
        assert proof["message"].startswith(
            "The signature was not checked, because this request reached its limit of 1 fetch"
        )
        assert "altered" not in proof["message"] and "forged" not in proof["message"]
        assert result["verdict"] == "could_not_verify"


def test_one_slow_server_cannot_hold_a_verification(
    database_url: str, tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server(trickle_headers())
    # Each list trickles for about 4 s: 24 s in all without a deadline per request.
    vp = _presentation(
        [badge(credential_status=_status_entries(server.base, f"c{i}", 1)) for i in range(6)]
    )
    application = _app(tmp_path, database_url, fetch_timeout=0.6, fetch_request_deadline=1.5)
    try:
        with serve(application) as base:
            body, took = _post(base, vp)
    finally:
        application.state.engine.dispose()
    assert took < 4.0, took
    skipped = _budget_checks(body)
    assert skipped, _checks(body)
    assert all("reached its time limit of 1.5 s" in c["message"] for c in skipped)


def test_a_cache_hit_costs_no_budget(
    database_url: str, tmp_path: Path, raw_server: Callable[..., RawServer]
) -> None:
    server = raw_server(bodies(64))
    # 30 credentials naming the same two lists: two fetches, then the cache answers.
    entries = _status_entries(server.base, "shared", 2)
    vp = _presentation([badge(credential_status=entries) for _ in range(30)])
    application = _app(tmp_path, database_url, fetch_request_max_fetches=2)
    try:
        with serve(application) as base:
            body, _ = _post(base, vp)
    finally:
        application.state.engine.dispose()
    assert len(server.seen.paths) == 2
    assert _budget_checks(body) == []


# ------------------------------------------------------------------ did:web paths


@pytest.mark.parametrize(
    "did",
    [
        "did:web:example.com:%2F",
        "did:web:example.com:%2f",
        "did:web:example.com:..",
        "did:web:example.com:%2E%2E",
        "did:web:example.com:.",
        "did:web:example.com:a%2Fb",
        "did:web:example.com:%252F",
        "did:web:example.com%2F..%2Fadmin",
    ],
)
def test_did_web_paths_that_decode_to_slashes_or_dots_are_refused(did: str) -> None:
    from badgeworks.adapters.did_web import check_did_web

    with pytest.raises(DidError) as caught:
        check_did_web(did)
    assert caught.value.code == "did.invalid"
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, json={})

    resolver = DidWebResolver(transport=httpx.MockTransport(handler), allow_private=True)
    with pytest.raises(DidError):
        resolver.resolve(did)
    assert fetched == []


@pytest.mark.parametrize("did", ["did:web:example.com:%2F", "did:web:example.com:.."])
def test_a_mentor_did_web_with_a_bad_path_is_refused(
    client: TestClient,
    acme: IssuerHandle,
    did: str,
) -> None:
    ids = draft_project(client, acme)
    url = f"/api/v1/projects/{ids['project']}/reviews"
    r = client.post(url, json={"name": "Ada Mentor", "did": did}, headers=acme.auth)
    assert r.status_code in (400, 422), r.text
    assert r.json()["code"] == "did.invalid"
    assert client.get(url, headers=acme.auth).json() == []
