"""``badgeworks serve --workers 2`` as a real server, on SQLite and PostgreSQL: both worker
processes answer, a rate limit holds across them, the demo is seeded once, and the server
stops cleanly."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func
from sqlmodel import Session, select

from badgeworks.db.models import Credential, Issuer
from tests.issuer_app import TEST_SECRET
from tests.servers import free_port

BADGEWORKS = Path(sys.executable).with_name("badgeworks")
BURST = 3


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    out: Path
    connections: list[http.client.HTTPConnection] = field(default_factory=list)

    def output(self) -> str:
        return self.out.read_text(errors="replace")


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if int(ppid) == pid:
            found.add(int(entry.name))
    return found


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the TCP connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            local, remote, inode = parts[1], parts[2], parts[9]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return inode
    return None


def _owner(pids: set[int], inode: str) -> int | None:
    """Which of ``pids`` holds the socket ``inode`` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    port = free_port()
    env = {
        **os.environ,
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_DATABASE_URL": database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_VERIFY_RATE_BURST": str(BURST),
        "BADGEWORKS_VERIFY_RATE_PER_MINUTE": "1",
        "BADGEWORKS_MAIL_CONSOLE": "false",
        "BADGEWORKS_SHUTDOWN_GRACE_SECONDS": "1",
    }
    out = tmp_path / "serve.out"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [str(BADGEWORKS), "serve", "--demo", "--workers", "2", "--port", str(port)],
            env=env,
            stdout=sink,
            # A file, not a pipe: a pipe nobody reads fills up and blocks the server.
            stderr=subprocess.STDOUT,
        )
    server = Served(process=process, port=port, out=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, server.output()[-3000:]
            assert time.monotonic() < deadline, server.output()[-3000:]
            # Every worker says so once its app is built and it takes connections.
            if server.output().count("Application startup complete") >= 2:
                break
            time.sleep(0.2)
        yield server
    finally:
        for connection in server.connections:
            connection.close()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _one_connection_per_worker(server: Served) -> dict[int, http.client.HTTPConnection]:
    """Open connections until each of the two worker processes holds one."""
    workers = _children(server.process.pid)
    by_worker: dict[int, http.client.HTTPConnection] = {}
    for _ in range(200):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/api/v1/health")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        server.connections.append(connection)
        client_port = connection.sock.getsockname()[1]
        inode = _socket_inode(server.port, client_port)
        assert inode is not None
        owner = _owner(workers, inode)
        assert owner is not None, "a connection held by no worker process"
        by_worker.setdefault(owner, connection)
        if len(by_worker) == 2:
            return by_worker
    pytest.fail(f"one worker answered every connection: {sorted(by_worker)}")


def _verify(connection: http.client.HTTPConnection) -> int:
    connection.request(
        "POST", "/api/v1/verify", body=b"{}", headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    return response.status


def test_two_workers_share_one_rate_limit_and_one_demo(served: Served, database_url: str) -> None:
    a, b = _one_connection_per_worker(served).values()
    # Both workers answer, and the limit counts the requests of both: the burst is spent
    # across them, and the next request is refused whichever worker answers it.
    statuses = [_verify(a), _verify(b), _verify(a)]
    assert 429 not in statuses, statuses
    assert _verify(b) == 429
    assert _verify(a) == 429
    # The demo was seeded once, by the command, before the workers started.
    output = served.output()
    assert output.count("Demo ready") == 1, output[-3000:]
    assert "Demo already present" not in output
    assert "2 worker processes" in output
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Issuer)).one() == 1
            assert session.exec(select(func.count()).select_from(Credential)).one() == 1
    finally:
        engine.dispose()
    # Stopped with Ctrl-C: the workers end and the command exits cleanly.
    workers = _children(served.process.pid)
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=30) == 0, served.output()[-3000:]
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers):
        assert time.monotonic() < deadline, "a worker process outlived the server"
        time.sleep(0.1)


def test_workers_default_to_the_cores_and_get_the_settings_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` with uvicorn replaced: the import string, the worker count and the
    variables each worker reads its settings from (the ones the command changed)."""
    import uvicorn
    from click.testing import CliRunner

    from badgeworks.cli_service import service_commands
    from badgeworks.settings import get_settings

    calls: list[tuple[object, dict[str, object], dict[str, str]]] = []

    def fake_run(target: object, **kwargs: object) -> None:
        env = {k: v for k, v in os.environ.items() if k.startswith("BADGEWORKS_")}
        calls.append((target, kwargs, env))
        if not isinstance(target, str):
            target.state.engine.dispose()  # type: ignore[attr-defined]

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    env: dict[str, str | None] = {
        "BADGEWORKS_DATABASE_URL": f"sqlite:///{tmp_path / 'bw.db'}",
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        # Set by the command for its workers; CliRunner puts back what was there.
        "BADGEWORKS_WORKERS": None,
        "BADGEWORKS_PUBLIC_BASE_URL": None,
        "BADGEWORKS_FORWARDED_ALLOW_IPS": None,
    }
    runner = CliRunner()
    for args in (
        ["serve", "--port", "8125", "--forwarded-allow-ips", "10.0.0.1"],
        ["serve", "--port", "8125", "--workers", "1"],
    ):
        result = runner.invoke(service_commands, args, env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    (target, kwargs, child_env), (single, single_kwargs, _) = calls
    assert target == "badgeworks.web.app:app_from_environment"
    assert kwargs["factory"] is True and kwargs["workers"] == 3
    assert child_env["BADGEWORKS_WORKERS"] == "3"
    assert child_env["BADGEWORKS_PUBLIC_BASE_URL"] == "http://127.0.0.1:8125"
    assert child_env["BADGEWORKS_FORWARDED_ALLOW_IPS"] == "10.0.0.1"
    # What a worker builds from that environment is what the command served.
    monkeypatch.setattr(os, "environ", {**os.environ, **child_env})
    worker = get_settings()
    assert (worker.workers, worker.public_base_url) == (3, "http://127.0.0.1:8125")
    # One worker: the app is served in this process, as before.
    assert not isinstance(single, str)
    assert single_kwargs["workers"] is None and single_kwargs["factory"] is False
    # The workers' metric samples directory is removed when the command ends, and no
    # longer named in the environment (a process started later would write into it).
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
