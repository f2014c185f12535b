"""Verification under load, against a served app (uvicorn on loopback), on both databases.

- A crowd of anonymous requests at the portfolio, the credential page and
  ``POST /api/v1/verify`` (50 and 200 at once, more than the database pool's 5 + 10
  connections): every genuine credential is shown verified, or the API answers 503
  (busy) or "could not verify right now"; never "not verified" or "forged". A health
  check made in the middle answers at once.
- An issuer whose did:web server is slow: the verifications that wait on it hold no
  database connection and no server thread, so other endpoints answer at once, and a
  time-out is "could not verify", never a failed signature.
- An empty ``Authorization`` header does not skip the verify rate limit.
- A credential with thousands of proofs is refused before any is checked.
- SIGTERM to ``badgeworks serve`` under load: the process exits within seconds.
- A database that fails mid-check reads "could not verify" on the API and the pages; a
  caller holding the only pooled connection still verifies at once.
- ``/me/export.zip`` of 9 MiB is streamed: the server's memory never holds it.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.adapters.did_web import did_document
from badgeworks.adapters.resources import default_loader
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from tests.did_key_badges import signed
from tests.issuer_app import NOW, TEST_SECRET
from tests.servers import free_port, serve
from tests.verifier_app import issue_through_api, verifier_settings

HTML = {"Accept": "text/html"}
#: What a page says when a genuine credential is shown as failed ("Verification failed ✕").
FAILED_MARK = "status-invalid"


# --------------------------------------------------------------------------- helpers


class SlowIssuer:
    """A did:web issuer on loopback whose DID document arrives after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.hits = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        port = self.server.server_address[1]
        self.did = f"did:web:127.0.0.1%3A{port}:issuers:slow"
        self.key = Ed25519KeyPair.generate(controller=self.did, key_id=f"{self.did}#key-1")
        self.document = json.dumps(
            did_document(self.did, [("#key-1", self.key.public_key_multibase)])
        ).encode()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                time.sleep(outer.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/did+json")
                    self.send_header("Content-Length", str(len(outer.document)))
                    self.end_headers()
                    self.wfile.write(outer.document)
                except OSError:  # the verifier gave up and hung up
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def credential(self) -> dict[str, Any]:
        """A genuine credential this issuer signed."""
        return signed(default_loader(), self.key)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_issuer() -> Iterator[SlowIssuer]:
    issuer = SlowIssuer(delay=4.0)
    yield issuer
    issuer.close()


@dataclass
class Served:
    """A served app with one credential it issued, hosted on a public portfolio."""

    base: str
    app: FastAPI
    credential: dict[str, Any]
    credential_path: str
    portfolio_path: str


@contextmanager
def served(tmp: Path, database_url: str, **overrides: Any) -> Iterator[Served]:
    """A real app on a loopback port, its database pool (5 + 10) smaller than the crowds."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    overrides = {"db_pool_size": 5, "db_max_overflow": 10, **overrides}
    settings = verifier_settings(
        tmp, database_url, public_base_url=base, fetch_allow_private=True, **overrides
    )
    from badgeworks.web.app import create_app

    application = create_app(settings, clock=lambda: NOW)
    try:
        http = TestClient(application, raise_server_exceptions=False)
        instance = issue_through_api(application, http)
        candidates = http.get(
            f"/api/v1/issuers/{instance.issuer.slug}/candidates", headers=instance.issuer.auth
        ).json()
        candidate_id = candidates[0]["id"]
        r = http.patch(
            f"/api/v1/candidates/{candidate_id}/portfolio",
            json={"handle": "ada-load", "visibility": "public"},
            headers=instance.issuer.auth,
        )
        assert r.status_code == 200, r.text
        with serve(application, port):
            yield Served(
                base=base,
                app=application,
                credential=instance.credential,
                credential_path=instance.issued["url"].removeprefix(base),
                portfolio_path="/p/ada-load",
            )
    finally:
        application.state.engine.dispose()


@dataclass
class Answer:
    kind: str
    status: int
    body: str
    seconds: float
    error: str | None = None


@dataclass
class Crowd:
    answers: list[Answer] = field(default_factory=list)
    health: list[float] = field(default_factory=list)


def crowd(
    base: str,
    requests: list[tuple[str, Callable[[httpx.Client], httpx.Response]]],
    *,
    timeout: float = 45.0,
) -> Crowd:
    """Send every request at once (one thread each) while probing ``/api/v1/health``."""
    out = Crowd()
    start = threading.Barrier(len(requests) + 1)
    done = threading.Event()
    limits = httpx.Limits(max_connections=len(requests) + 2, max_keepalive_connections=0)

    with httpx.Client(base_url=base, timeout=timeout, limits=limits) as client:

        def one(item: tuple[str, Callable[[httpx.Client], httpx.Response]]) -> Answer:
            kind, send = item
            start.wait()
            began = time.monotonic()
            try:
                r = send(client)
            except httpx.HTTPError as exc:
                return Answer(kind, 0, "", time.monotonic() - began, type(exc).__name__)
            return Answer(kind, r.status_code, r.text, time.monotonic() - began)

        def probe() -> None:
            start.wait()
            time.sleep(0.3)  # let the crowd arrive first
            while not done.is_set() and len(out.health) < 5:
                began = time.monotonic()
                try:
                    client.get("/api/v1/health", timeout=20)
                    out.health.append(time.monotonic() - began)
                except httpx.HTTPError:
                    out.health.append(99.0)
                time.sleep(0.2)

        prober = threading.Thread(target=probe)
        prober.start()
        with ThreadPoolExecutor(len(requests)) as pool:
            out.answers = list(pool.map(one, requests))
        done.set()
        prober.join()
    return out


def _api_verify(credential: dict[str, Any]) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.post("/api/v1/verify", json=credential)


def _page(path: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.get(path, headers=HTML)


def assert_never_forged(answer: Answer) -> None:
    """Genuine: verified, busy (503) or could-not-verify; never failed or forged."""
    assert answer.error is None, f"{answer.kind}: {answer.error} after {answer.seconds:.1f} s"
    assert "proof.verification_error" not in answer.body, answer.body[:500]
    assert "may have been altered" not in answer.body, answer.body[:500]
    if answer.kind == "api":
        if answer.status == 503:
            body = json.loads(answer.body)
            assert body["code"] == "verify.busy"
            return
        body = json.loads(answer.body)
        assert body["verdict"] in ("verified", "verified_with_warnings", "could_not_verify"), body
        assert answer.status == (422 if body["verdict"] == "could_not_verify" else 200)
    else:
        assert answer.status == 200, (answer.kind, answer.status, answer.body[:300])
        assert FAILED_MARK not in answer.body, answer.kind


# --------------------------------------------------------------------------- the crowd


def test_a_crowd_never_turns_genuine_credentials_into_forged(
    database_url: str, tmp_path: Path
) -> None:
    with served(tmp_path, database_url) as app:
        kinds = [
            ("api", _api_verify(app.credential)),
            ("credential", _page(app.credential_path)),
            ("portfolio", _page(app.portfolio_path)),
        ]
        for size in (50, 200):  # both more than the pool's 5 + 10 connections
            began = time.monotonic()
            result = crowd(app.base, [kinds[i % 3] for i in range(size)])
            took = time.monotonic() - began
            for answer in result.answers:
                assert_never_forged(answer)
            assert [a for a in result.answers if a.status == 200], "nothing verified at all"
            assert result.health and max(result.health) < 3.0, (size, result.health)
            assert took < 30, f"{size} requests took {took:.1f} s"


def test_a_slow_issuer_starves_nothing_and_a_timeout_is_could_not_verify(
    database_url: str, tmp_path: Path, slow_issuer: SlowIssuer
) -> None:
    remote = slow_issuer.credential()
    with served(tmp_path, database_url, fetch_timeout=1.5, verify_workers=4, verify_queue=8) as app:
        requests = [("api", _api_verify(remote)) for _ in range(30)]
        # Unrelated requests that need the database, in the middle of the crowd.
        requests += [("credential", _page(app.credential_path)) for _ in range(10)]
        result = crowd(app.base, requests)
        # The page says it in words, in the reader's language.
        page = httpx.post(
            f"{app.base}/verify?lang=es", files={"credential": (None, json.dumps(remote))}
        )
    api = [a for a in result.answers if a.kind == "api"]
    pages = [a for a in result.answers if a.kind == "credential"]
    # Nothing else waits for the slow issuer's verifications.
    assert max(a.seconds for a in pages) < 4.0, [round(a.seconds, 1) for a in pages]
    assert max(result.health) < 2.0, result.health
    for answer in result.answers:
        assert_never_forged(answer)
    busy = [a for a in api if a.status == 503]
    unchecked = [a for a in api if a.status == 422]
    # 4 run, 8 wait, the other 18 are told at once to come back later.
    assert len(busy) >= 30 - 12 - 2, [a.status for a in api]
    assert all(a.seconds < 2 for a in busy)
    assert unchecked, "no verification reached the slow issuer"
    for answer in unchecked:
        body = json.loads(answer.body)
        proof = [c for c in body["checks"] if c["check"] == "proof"]
        assert [c["outcome"] for c in proof] == ["indeterminate"], proof
        assert body["verified"] is False
    r503 = next(a for a in busy)
    assert "Try again in" in json.loads(r503.body)["error"]
    assert page.status_code == 422, page.text[:300]
    assert 'data-verdict="could_not_verify"' in page.text
    assert "No se pudo verificar ahora mismo" in page.text
    assert "No se pudo comprobar" in page.text  # the check's outcome


# --------------------------------------------------------------------------- caps


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_authorization_header_does_not_skip_the_rate_limit(
    database_url: str, tmp_path: Path
) -> None:
    with served(tmp_path, database_url, verify_rate_burst=3, verify_rate_per_minute=1) as app:
        body = {"verifiableCredential": app.credential}
        with httpx.Client(base_url=app.base, timeout=20) as client:
            statuses = []
            for blank in [""] * 6:
                r = client.post("/credentials/verify", json=body, headers={"Authorization": blank})
                statuses.append(r.status_code)
                assert "checks" not in r.json(), "a blank header was verified: it is exempt"
                if r.status_code == 401:
                    assert r.json()["code"] == "auth.malformed"
            # Anonymous calls still get their burst, then the limit.
            anonymous = [
                client.post("/credentials/verify", json=body).status_code for _ in range(4)
            ]
    # A blank header is a bad token (401), or limited as anonymous (429): never exempt.
    assert set(statuses) <= {401, 429}, statuses
    assert anonymous[-1] == 429, anonymous


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_thousands_of_proofs_are_refused_before_any_is_checked(
    database_url: str, tmp_path: Path
) -> None:
    limits = {"max_json_bytes": 4 << 20, "verify_max_json_bytes": 2 << 20}
    with served(tmp_path, database_url, **limits, verify_max_file_bytes=2 << 20) as app:
        heavy = copy.deepcopy(app.credential)
        heavy["proof"] = [copy.deepcopy(app.credential["proof"][0]) for _ in range(3000)]
        presentation = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [
                {**app.credential, "proof": app.credential["proof"] * 30} for _ in range(10)
            ],
        }
        with httpx.Client(base_url=app.base, timeout=30) as client:
            began = time.monotonic()
            r = client.post("/api/v1/verify", json=heavy)
            took = time.monotonic() - began
            assert r.status_code == 422, r.text[:300]
            assert [c["code"] for c in r.json()["checks"]] == ["proof.too_many"]
            assert took < 2.0
            r = client.post("/credentials/verify", json={"verifiableCredential": heavy})
            assert r.status_code == 422
            assert r.json()["errors"][0]["code"] == "proof.too_many"
            r = client.post("/presentations/verify", json={"verifiablePresentation": presentation})
            assert r.status_code == 422, r.text[:300]
            assert r.json()["checks"][0]["code"] == "proof.too_many"


# --------------------------------------------------------------------------- SIGTERM


# The server's start-up (imports, migrations) costs seconds; what SIGTERM does with the
# requests in flight does not depend on the database, so this runs on SQLite only.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigterm_under_load_exits_within_seconds(
    database_url: str, tmp_path: Path, slow_issuer: SlowIssuer
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_DATABASE_URL": database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_FETCH_ALLOW_PRIVATE": "true",
        "BADGEWORKS_FETCH_TIMEOUT": "3",
        "BADGEWORKS_VERIFY_RATE_BURST": "100000",
        "BADGEWORKS_SHUTDOWN_GRACE_SECONDS": "1",
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "badgeworks",
            "serve",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            f"{port}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server.
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        remote = slow_issuer.credential()
        loader = threading.Thread(
            target=crowd,
            args=(base, [("api", _api_verify(remote)) for _ in range(60)]),
            kwargs={"timeout": 60},
            daemon=True,
        )
        loader.start()
        time.sleep(1.5)  # the crowd is in: workers wait on the slow issuer, others queue
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("the server was still running 15 s after SIGTERM")
        took = time.monotonic() - began
        assert took < 8.0, f"exit took {took:.1f} s after SIGTERM"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()


# --------------------------------------------------------------------------- export


def _signed_in_client(app: FastAPI, base: str, email: str) -> httpx.Client:
    """A client signed in at /me through the real e-mail link flow."""
    import re

    from sqlmodel import col, select

    from badgeworks.db.outbox import OutboxMessage

    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/me/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    r = client.post("/me/sign-in", data={"email": email, "csrf_token": token.group(1)})
    assert r.status_code == 200, r.text[:300]
    with app.state.session_factory() as session:
        row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())).first()
        assert row is not None
    found = re.search(r"https?://[^/\s]+(/me/link/[A-Za-z0-9_-]+)", row.body_text)
    assert found, row.body_text
    page = client.get(found.group(1))
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce, page.text[:300]
    r = client.post(found.group(1), data={"nonce": nonce.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return client


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_export_is_streamed_not_built_in_memory(database_url: str, tmp_path: Path) -> None:
    import tracemalloc
    import zipfile

    from tests.issuer_app import draft_project, make_issuer

    size = 3 * 1024 * 1024
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = verifier_settings(
        tmp_path,
        database_url,
        public_base_url=base,
        max_upload_bytes=size + 1024,
        max_buffered_upload_bytes=4 * size,
    )
    from badgeworks.web.app import create_app

    application = create_app(settings, clock=lambda: NOW)
    try:
        http = TestClient(application, raise_server_exceptions=False)
        who = make_issuer(application, "acme")
        ids = draft_project(http, who)
        for n in range(3):  # random bytes: the zip cannot shrink them
            r = http.post(
                f"/api/v1/projects/{ids['project']}/deliverables",
                files={"file": (f"data-{n}.bin", os.urandom(size), "application/octet-stream")},
                data={"name": f"Data set {n}"},
                headers=who.auth,
            )
            assert r.status_code == 201, r.text[:300]
        r = http.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
        assert r.status_code == 201, r.text[:300]
        with serve(application, port):
            client = _signed_in_client(application, base, "ada@example.org")
            try:
                tracemalloc.start()
                try:
                    tracemalloc.reset_peak()
                    before = tracemalloc.get_traced_memory()[0]
                    parts = tmp_path / "export.zip"
                    with client.stream("GET", "/me/export.zip") as r, parts.open("wb") as out:
                        assert r.status_code == 200
                        for chunk in r.iter_bytes(64 * 1024):
                            out.write(chunk)
                    peak = tracemalloc.get_traced_memory()[1] - before
                finally:
                    tracemalloc.stop()
                # Building the 9 MiB zip in memory costs at least twice its size.
                assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB while exporting"
                with zipfile.ZipFile(parts) as archive:
                    names = archive.namelist()
                    assert len([n for n in names if n.startswith("deliverables/")]) == 3
                    assert all(
                        archive.getinfo(n).file_size == size
                        for n in names
                        if n.startswith("deliverables/")
                    )
            finally:
                client.close()
    finally:
        application.state.engine.dispose()


# --------------------------------------------------------------------------- a failing database


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_database_that_fails_mid_check_reads_could_not_verify(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from badgeworks.services.verification.resolver import HostedDidResolver

    def down(self: HostedDidResolver, url: str) -> None:
        raise OperationalError("SELECT issuer", {}, Exception("server closed the connection"))

    with served(tmp_path, database_url) as app:
        monkeypatch.setattr(HostedDidResolver, "_resolve", down)
        with httpx.Client(base_url=app.base, timeout=30) as client:
            r = client.post("/api/v1/verify", json=app.credential)
            page_en = client.get(app.credential_path, headers=HTML)
            page_es = client.get(f"{app.credential_path}?lang=es", headers=HTML)
            portfolio = client.get(app.portfolio_path, headers=HTML)
    assert r.status_code == 422
    body = r.json()
    assert body["verdict"] == "could_not_verify" and body["verified"] is False, [
        (c["code"], c["outcome"]) for c in body["checks"]
    ]
    proof = [c for c in body["checks"] if c["check"] == "proof"]
    assert [(c["code"], c["outcome"]) for c in proof] == [("did.unavailable", "indeterminate")]
    assert "could not be checked right now" in proof[0]["message"]
    for page in (page_en, page_es, portfolio):
        assert page.status_code == 200
        assert "status-unchecked" in page.text and FAILED_MARK not in page.text
    assert "Could not be verified right now" in page_en.text
    assert "No se pudo verificar ahora mismo" in page_es.text


# --------------------------------------------------------------------------- one connection


def test_a_request_holding_a_session_never_waits_for_a_second_connection(
    database_url: str, tmp_path: Path
) -> None:
    """With a pool of exactly one connection, held by the caller, a whole verification
    (hosted issuers, the issuer's DID, our own status list) still runs at once."""
    from sqlmodel import create_engine, select

    from badgeworks.db.engine import make_session_factory
    from badgeworks.db.models import Issuer
    from badgeworks.services.context import build_context
    from badgeworks.services.verification import pipeline as verification
    from badgeworks.services.verification.resolver import reading_with
    from badgeworks.web.app import create_app

    settings = verifier_settings(tmp_path, database_url)
    application = create_app(settings, clock=lambda: NOW)
    try:
        instance = issue_through_api(
            application, TestClient(application, raise_server_exceptions=False)
        )
    finally:
        application.state.engine.dispose()
    assert "credentialStatus" in instance.credential
    engine = create_engine(
        settings.resolved_database_url, pool_size=1, max_overflow=0, pool_timeout=3
    )
    try:
        factory = make_session_factory(engine)
        ctx = build_context(settings, factory, clock=lambda: NOW)
        with factory() as session:
            assert session.exec(select(Issuer)).first() is not None  # the one connection
            began = time.monotonic()
            with reading_with(session):
                report = verification.verify(ctx, instance.credential).report
            took = time.monotonic() - began
    finally:
        engine.dispose()
    assert report.verdict in ("verified", "verified_with_warnings"), [
        (c.code, c.outcome) for c in report.checks
    ]
    assert {c.code for c in report.checks} >= {"proof.verified", "status.ok", "issuer.known"}
    assert took < 2.5
