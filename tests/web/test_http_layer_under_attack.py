"""The HTTP layer under attack: bodies, headers, proxies and malformed input.

Everything here is done to a served app over real sockets on 127.0.0.1: stalled uploads
that try to fill the server's memory, uploads to endpoints that need a token sent
without one, a spoofed ``X-Forwarded-For`` against a per-client limit, malformed JSON
(duplicate keys, lone surrogates, deep nesting, huge offsets, ``null`` names), and the
security headers of every kind of page, with HSTS when the server speaks TLS.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.browser_support import served_app
from tests.issuer_app import TEST_SECRET, IssuerHandle, draft_project, make_issuer
from tests.servers import free_port
from tests.test_cli_service import self_signed

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
BADGEWORKS = Path(sys.executable).with_name("badgeworks")
#: One payload object for every upload, so the client's own memory stays flat.
PAYLOAD = b"%PDF-1.4\n" + b"x" * (4 * MiB)


# --------------------------------------------------------------------------- a real server


@dataclass
class Server:
    """``badgeworks serve`` in its own process, with an issuer, a token and a project."""

    process: subprocess.Popen[bytes]
    port: int
    who: IssuerHandle
    project: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> int:
        """The server process's resident memory, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def _env(tmp: Path, **settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGEWORKS_")}
    env.pop("FORWARDED_ALLOW_IPS", None)
    values = {
        "data_dir": tmp / "data",
        "database_url": f"sqlite:///{tmp / 'app.db'}",
        "key_secret": TEST_SECRET,
        **settings,
    }
    env.update({f"BADGEWORKS_{k.upper()}": str(v) for k, v in values.items()})
    return env


def _start(tmp: Path, *args: str, tls: bool = False, **settings: Any) -> Server:
    """Seed the database in this process, then serve it from a child process."""
    env = _env(tmp, **settings)
    seed = get_settings(
        data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'app.db'}", key_secret=TEST_SECRET
    )
    app = create_app(seed)
    try:
        who = make_issuer(app, "acme")
        with TestClient(app) as client:
            project = draft_project(client, who)["project"]
    finally:
        app.state.engine.dispose()
    port = free_port()
    process = subprocess.Popen(
        [
            str(BADGEWORKS),
            "serve",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/api/v1/health"
            if httpx.get(url, timeout=1, verify=False).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"badgeworks serve did not start: {err[-2000:]}")
        time.sleep(0.1)
    return Server(process=process, port=port, who=who, project=project)


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with small limits: 4 MiB uploads, 8 MiB buffered at once, 4 uploads at
    once, 3 s to send a body, and a verifier burst of 3."""
    running = _start(
        tmp_path_factory.mktemp("served"),
        max_upload_bytes=4 * MiB,
        max_buffered_upload_bytes=8 * MiB,
        max_concurrent_uploads=4,
        request_body_timeout_seconds=3,
        verify_rate_burst=3,
        verify_rate_per_minute=0.01,
    )
    try:
        yield running
    finally:
        _stop(running)


# --------------------------------------------------------------------------- raw sockets

BOUNDARY = "bwboundary"
#: The multipart framing before a deliverable's bytes.
PREFIX = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nReport\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="r.pdf"\r\n'
    "Content-Type: application/pdf\r\n\r\n"
).encode()


def _head(
    path: str,
    *,
    length: int,
    authorization: str | None,
    content_type: str,
    method: str = "POST",
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket, wait: float) -> int | None:
    """The status of a response that arrives within ``wait`` seconds; None if none does,
    0 if the server closed the connection without one."""
    ready, _, _ = select.select([sock], [], [], wait)
    if not ready:
        return None
    try:
        data = sock.recv(4096)
    except OSError:
        return 0
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0


# --------------------------------------------------------------------------- uploads


def test_stalled_uploads_neither_fill_memory_nor_lock_others_out(server: Server) -> None:
    """Twenty clients each send most of a 4 MiB upload and stall. The server holds at most
    its buffer budget, refuses the rest with 503 ``server.busy`` before reading them,
    keeps answering everyone else, and gives up on each stalled body after 3 s (408)."""
    path = f"/api/v1/projects/{server.project}/deliverables"
    size = 4 * MiB - 4096
    body = PREFIX + PAYLOAD[: size - len(PREFIX)]
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    # Warm up: the first upload imports and allocates what every later one reuses.
    warm = httpx.post(
        server.base + path,
        files={"file": ("r.pdf", PAYLOAD[: 64 * 1024], "application/pdf")},
        data={"name": "Warm-up"},
        headers=server.who.auth,
        timeout=10,
    )
    assert warm.status_code == 201, warm.text
    before = server.rss()

    outcomes: dict[int, int | None] = {}
    stalled: dict[int, socket.socket] = {}

    def stall(i: int) -> None:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        head = _head(
            path, length=size, authorization=f"Bearer {server.who.token}", content_type=content_type
        )
        sock.sendall(head)
        status = _answer(sock, 0.5)
        if status is not None:
            outcomes[i] = status
            sock.close()
            return
        try:
            sock.sendall(body[: size - 1024])  # all but the last KiB, then silence
        except OSError:
            outcomes[i] = _answer(sock, 0.5) or 0
            sock.close()
            return
        stalled[i] = sock

    threads = [threading.Thread(target=stall, args=(i,)) for i in range(20)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        # Give the server time to take in what the kernel holds for it.
        time.sleep(1.5)
        grown = server.rss() - before
        # A refusal may have come after the client went on sending into kernel buffers.
        for i, sock in list(stalled.items()):
            status = _answer(sock, 0)
            if status is not None:
                outcomes[i] = status
                del stalled[i]
                sock.close()
        # Everyone else is still served while the uploads hang.
        t0 = time.monotonic()
        assert httpx.get(server.base + "/api/v1/health", timeout=5).status_code == 200
        r = httpx.post(
            f"{server.base}/api/v1/issuers/acme/candidates",
            json={"name": "Mary Somerville", "emails": ["mary@example.org"]},
            headers=server.who.auth,
            timeout=5,
        )
        assert r.status_code == 201, r.text
        assert time.monotonic() - t0 < 3
        # 20 held bodies would be about 80 MiB; the budget is 8 MiB.
        assert grown < 40 * MiB, f"the server grew by {grown / MiB:.0f} MiB"
        refused = [s for s in outcomes.values() if s == 503]
        assert len(refused) >= 12, outcomes
        assert len(stalled) <= 4
        # Each stalled body is given up on after the 3 s body timeout.
        for sock in stalled.values():
            left = max(0.5, started + 8 - time.monotonic())
            assert _answer(sock, left) == 408
    finally:
        for sock in stalled.values():
            sock.close()


def test_busy_answer_is_the_error_shape(server: Server) -> None:
    """Over the concurrent-upload cap the refusal says what happened and when to retry."""
    path = f"/api/v1/projects/{server.project}/deliverables"
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    holders = []
    try:
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            head = _head(
                path,
                length=MiB,
                authorization=f"Bearer {server.who.token}",
                content_type=content_type,
            )
            sock.sendall(head + PREFIX + PAYLOAD[: 128 * 1024])
            holders.append(sock)
        time.sleep(0.3)
        r = httpx.post(
            server.base + path,
            files={"file": ("r.pdf", PAYLOAD[: 512 * 1024], "application/pdf")},
            data={"name": "One too many"},
            headers=server.who.auth,
            timeout=10,
        )
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "server.busy"
        assert "try again" in r.json()["error"]
        assert int(r.headers["Retry-After"]) >= 1
        # A person submitting a form gets a page, in their language.
        page = httpx.post(
            f"{server.base}/verify",
            files={"file": ("c.json", PAYLOAD[: 256 * 1024], "application/json")},
            headers={"Accept": "text/html", "Accept-Language": "es"},
            timeout=10,
        )
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="es"' in page.text
        assert "server.busy" in page.text
    finally:
        for sock in holders:
            sock.close()


@pytest.mark.parametrize(
    ("path", "content_type", "authorization", "expected"),
    [
        ("/api/v1/projects/{project}/deliverables", "multipart/form-data; boundary=x", None, 401),
        ("/api/v1/issuers/acme/candidates", "application/json", None, 401),
        ("/api/v1/issuers/acme/candidates", "application/json", "Bearer bwt_not-a-token", 401),
        ("/credentials/issue", "application/json", "Basic abc", 401),
        ("/credentials/verify", "application/json", "Bearer bwt_not-a-token", 401),
        ("PUT /api/v1/issuers/acme/image", "multipart/form-data; boundary=x", None, 401),
        ("/console/acme/achievements/new", "application/x-www-form-urlencoded", None, 303),
        ("/api/v1/no-such-thing", "application/json", None, 404),
        ("DELETE /api/v1/issuers/acme/candidates", "application/json", None, 405),
    ],
)
def test_an_upload_without_valid_credentials_is_refused_before_its_body_is_read(
    server: Server, path: str, content_type: str, authorization: str | None, expected: int
) -> None:
    """Only the headers of a 1.5 MiB body are sent: the refusal must come without it."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        method, _, target = path.rpartition(" ")
        sock.sendall(
            _head(
                target.format(project=server.project),
                method=method or "POST",
                length=3 * MiB // 2,
                authorization=authorization,
                content_type=content_type,
            )
        )
        assert _answer(sock, 2.0) == expected
    finally:
        sock.close()


# --------------------------------------------------------------------------- proxies


def test_a_spoofed_forwarded_for_does_not_evade_a_per_client_limit(server: Server) -> None:
    """By default no proxy is trusted, so X-Forwarded-For is ignored: a client that makes
    up a new address for every request is still one client (burst of 3)."""
    statuses = [
        httpx.post(
            server.base + "/api/v1/verify",
            json={"credential": {"@context": []}},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
            timeout=10,
        ).status_code
        for i in range(1, 7)
    ]
    assert statuses.count(429) >= 3, statuses
    # Nor does a made-up X-Forwarded-Proto make plain HTTP look like TLS.
    r = httpx.get(server.base + "/verify", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert "Strict-Transport-Security" not in r.headers


def test_a_trusted_proxy_s_forwarded_for_is_used(tmp_path: Path) -> None:
    """``serve --forwarded-allow-ips``: the addresses a trusted proxy reports are the
    clients (each gets its own bucket), and a client behind it is still limited."""
    running = _start(
        tmp_path,
        "--forwarded-allow-ips",
        "127.0.0.1",
        verify_rate_burst=2,
        verify_rate_per_minute=0.01,
    )
    try:

        def verify(address: str) -> int:
            return httpx.post(
                running.base + "/api/v1/verify",
                json={"credential": {"@context": []}},
                headers={"X-Forwarded-For": address},
                timeout=10,
            ).status_code

        assert 429 not in [verify(f"198.51.100.{i}") for i in range(1, 7)]
        assert verify("192.0.2.1") != 429
        assert verify("192.0.2.1") != 429
        assert verify("192.0.2.1") == 429
        # The proxy terminated TLS: the response tells browsers to keep to HTTPS.
        r = httpx.get(running.base + "/verify", headers={"X-Forwarded-Proto": "https"})
        assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        _stop(running)


# --------------------------------------------------------------------------- malformed input


def _malformed(ids: dict[str, int]) -> list[tuple[str, str, str, str, int, str]]:
    """(what, method, path, raw body, status, code): inputs that once were 500s or were
    silently accepted, each with the 4xx it must get."""
    deep = "[" * 900 + "]" * 900
    return [
        (
            "offset of 2^63",
            "GET",
            "/api/v1/issuers?offset=9223372036854775808",
            "",
            422,
            "request.invalid",
        ),
        (
            "offset of 10^30",
            "GET",
            "/api/v1/issuers/acme/candidates?offset=" + "1" * 31,
            "",
            422,
            "request.invalid",
        ),
        (
            "null candidate name",
            "PATCH",
            f"/api/v1/candidates/{ids['candidate']}",
            '{"name": null}',
            422,
            "candidate.name_required",
        ),
        (
            "null issuer name",
            "PATCH",
            "/api/v1/issuers/acme",
            '{"name": null}',
            422,
            "issuer.name_required",
        ),
        (
            "null achievement name",
            "PATCH",
            f"/api/v1/achievements/{ids['achievement']}",
            '{"name": null}',
            422,
            "achievement.name_required",
        ),
        (
            "lone surrogate to the verifier",
            "POST",
            "/api/v1/verify",
            '{"credential": {"name": "\\udc00"}}',
            400,
            "input.invalid_unicode",
        ),
        (
            "lone surrogate to issue",
            "POST",
            "/credentials/issue",
            '{"credential": {"name": "x\\ud800y"}}',
            400,
            "input.invalid_unicode",
        ),
        (
            "lone surrogate in a key",
            "POST",
            "/api/v1/issuers/acme/candidates",
            '{"\\udfff": 1}',
            400,
            "input.invalid_unicode",
        ),
        (
            "900 deep to VC-API verify",
            "POST",
            "/credentials/verify",
            '{"verifiableCredential": ' + deep + "}",
            400,
            "input.too_deep",
        ),
        (
            "900 deep to VC-API issue",
            "POST",
            "/credentials/issue",
            '{"credential": ' + deep + "}",
            400,
            "input.too_deep",
        ),
        (
            "duplicate key in a credential",
            "POST",
            "/credentials/verify",
            '{"verifiableCredential": {"issuer": "did:example:a", "issuer": "did:example:b"}}',
            400,
            "input.duplicate_key",
        ),
        (
            "duplicate key in a create",
            "POST",
            "/api/v1/issuers/acme/candidates",
            '{"name": "Ada", "name": "Eve", "emails": ["eve@example.org"]}',
            400,
            "input.duplicate_key",
        ),
        (
            "NaN",
            "POST",
            "/api/v1/issuers/acme/candidates",
            '{"name": NaN, "emails": ["nan@example.org"]}',
            400,
            "input.not_json",
        ),
    ]


def test_malformed_input_is_a_clear_4xx_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    with served_app(tmp_path, database_url=database_url) as (base, app):
        who = make_issuer(app, "acme")
        with httpx.Client(base_url=base, headers=who.auth, timeout=30) as http:
            ids = draft_project(http, who)  # type: ignore[arg-type]
            before = http.get("/api/v1/issuers/acme/candidates").json()
            failures = []
            for what, method, path, body, status, code in _malformed(ids):
                try:
                    r = http.request(
                        method,
                        path,
                        content=body.encode() if body else None,
                        headers={"Content-Type": "application/json"} if body else {},
                    )
                except httpx.HTTPError as exc:
                    failures.append(f"{what}: {exc!r}")
                    continue
                got = (
                    r.json().get("code")
                    if r.headers.get("content-type", "").startswith("application/json")
                    else None
                )
                if (r.status_code, got) != (status, code):
                    failures.append(f"{what}: {r.status_code} {r.text[:200]}")
            assert not failures, "\n".join(failures)
            assert http.get("/api/v1/issuers/acme/candidates").json() == before
            assert http.get("/api/v1/issuers/acme").json()["name"] == "Acme Academy"


def test_the_cli_refuses_duplicate_keys_when_signing_and_verifying(tmp_path: Path) -> None:
    """``badgeworks sign`` and ``verify`` refuse a document with a duplicated key."""
    doubled = tmp_path / "doubled.json"
    doubled.write_text(
        '{"@context": ["https://www.w3.org/ns/credentials/v2"], '
        '"issuer": "did:example:a", "issuer": "did:example:b"}'
    )
    key = ROOT / "keys.example" / "example-issuer.key.json"
    for args in (["sign", str(doubled), "--key", str(key)], ["verify", str(doubled)]):
        done = subprocess.run(
            [str(BADGEWORKS), *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "'issuer' appears twice" in done.stderr
        assert not done.stdout


# --------------------------------------------------------------------------- headers

#: What every HTML page must carry, whatever route made it.
PAGES = ["/", "/verify", "/console/login", "/no-such-page", "/docs", "/me"]


def _check_page_headers(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.request.url
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, (response.request.url, csp)
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy")
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_every_html_page_carries_the_security_headers(tmp_path: Path) -> None:
    with served_app(tmp_path) as (base, _app):
        for path in PAGES:
            r = httpx.get(
                base + path, headers={"Accept": "text/html"}, timeout=10, follow_redirects=True
            )
            _check_page_headers(r)
            assert "Strict-Transport-Security" not in r.headers
        # Error pages made outside the routes (a 413 page from the body limit) too.
        big = httpx.post(
            base + "/console/login",
            content=b"x" * (30 * MiB),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
            timeout=30,
        )
        assert big.status_code == 413
        _check_page_headers(big)
        api = httpx.get(base + "/api/v1/health", timeout=10)
        assert api.headers.get("X-Content-Type-Options") == "nosniff"


def test_hsts_when_serving_tls(tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    running = _start(
        tmp_path, "--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile), tls=True
    )
    try:
        base = f"https://127.0.0.1:{running.port}"
        context = ssl.create_default_context(cafile=str(certfile))
        context.check_hostname = False
        for path in ("/verify", "/api/v1/health"):
            r = httpx.get(base + path, verify=context, timeout=10)
            assert r.status_code == 200
            hsts = r.headers.get("Strict-Transport-Security", "")
            assert hsts.startswith("max-age=") and int(hsts[8:].split(";")[0]) >= 31536000
        _check_page_headers(httpx.get(base + "/verify", verify=context, timeout=10))
    finally:
        _stop(running)
