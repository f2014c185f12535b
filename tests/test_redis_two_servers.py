"""Two ``badgeworks serve`` processes on one PostgreSQL database and one Redis, behind a
round-robin proxy: a client's rate limit is one limit across both (not one each), and a
project completed through both at once with one idempotency key gets one credential."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func
from sqlmodel import Session, select

from badgeworks.db.models import Credential
from tests.issuer_app import TEST_SECRET, IssuerHandle, draft_project
from tests.servers import free_port
from tests.services.infra.test_redis_rate_limit import redis_reachable

BADGEWORKS = Path(sys.executable).with_name("badgeworks")
BURST = 5


@dataclass
class RoundRobin:
    """A TCP proxy: each new connection goes to the next backend in turn."""

    backends: list[int]
    port: int = 0
    accepted: dict[int, int] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()
        turn = iter(range(10**9))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            backend = self.backends[next(turn) % len(self.backends)]
            self.accepted[backend] = self.accepted.get(backend, 0) + 1
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            async with server:
                await server.serve_forever()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            with contextlib.suppress(asyncio.CancelledError):
                self._loop.run_until_complete(main())

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            for task in asyncio.all_tasks(self._loop):
                self._loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(10)


@pytest.fixture
def servers(tmp_path: Path, database_url: str) -> Iterator[tuple[RoundRobin, str, list[Path]]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("several hosts share a PostgreSQL database; SQLite serves one host")
    if not redis_reachable():
        pytest.skip("no Redis at 127.0.0.1:6379")
    env = {
        **os.environ,
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_DATABASE_URL": database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_REDIS_URL": "redis://127.0.0.1:6379/0",
        "BADGEWORKS_VERIFY_RATE_BURST": str(BURST),
        "BADGEWORKS_VERIFY_RATE_PER_MINUTE": "1",
        "BADGEWORKS_MAIL_CONSOLE": "false",
        "BADGEWORKS_SHUTDOWN_GRACE_SECONDS": "1",
        "BADGEWORKS_WORKERS": "1",
    }
    subprocess.run(
        [str(BADGEWORKS), "issuers", "create", "acme", "--name", "Acme Academy"],
        env=env,
        check=True,
        capture_output=True,
    )
    made = subprocess.run(
        [str(BADGEWORKS), "tokens", "create", "--issuer", "acme"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = made.stdout.strip()
    ports = [free_port(), free_port()]
    outs = [tmp_path / f"serve-{port}.out" for port in ports]
    processes = []
    for port, out in zip(ports, outs, strict=True):
        with out.open("wb") as sink:
            processes.append(
                subprocess.Popen(
                    [
                        str(BADGEWORKS),
                        *("serve", "--port", str(port), "--workers", "1"),
                        *("--forwarded-allow-ips", "127.0.0.1"),
                    ],
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            )
    proxy = RoundRobin(ports)
    try:
        for port, process, out in zip(ports, processes, outs, strict=True):
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, out.read_text()[-3000:]
                assert time.monotonic() < deadline, out.read_text()[-3000:]
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    connection.request("GET", "/api/v1/health")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
        proxy.start()
        yield proxy, token, outs
    finally:
        proxy.stop()
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_two_servers_share_one_limit_and_issue_once(
    servers: tuple[RoundRobin, str, list[Path]], database_url: str
) -> None:
    proxy, token, _outs = servers
    # A client address of its own (believed from the proxy), so no other run's counts in
    # the shared Redis meet it.
    client = f"2001:db8:{secrets.randbelow(0xFFFF):x}:{secrets.randbelow(0xFFFF):x}::7"
    statuses = []
    for _ in range(4 * BURST):
        # A new connection per request: the proxy alternates between the two servers.
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}", timeout=30) as http:
            r = http.post(
                "/api/v1/verify",
                content=b"{}",
                headers={"Content-Type": "application/json", "X-Forwarded-For": client},
            )
            statuses.append(r.status_code)
    assert sorted(proxy.accepted.values()) == [2 * BURST, 2 * BURST]
    assert len([s for s in statuses if s != 429]) == BURST, statuses
    assert statuses[BURST:] == [429] * (3 * BURST)

    acme = IssuerHandle(slug="acme", token=token)
    with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}", timeout=60) as http:
        project = draft_project(http, acme)["project"]  # type: ignore[arg-type]
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    gate = threading.Barrier(8)

    def complete() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}", timeout=120) as http:
            gate.wait()
            r = http.post(
                f"/api/v1/projects/{project}/complete",
                headers={**acme.auth, "Idempotency-Key": "complete-once"},
            )
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=complete) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {201, 409}, [r.text for r in answers]
    assert 201 in codes
    ids = {r.json()["id"] for r in answers if r.status_code == 201}
    assert len(ids) == 1, ids
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            count = session.exec(select(func.count()).select_from(Credential)).one()
            assert count == 1
    finally:
        engine.dispose()
