"""``badgeworks serve --workers 2`` as a real server: ``/metrics`` on either worker reports
the requests both answered (prometheus-client's multi-process mode), with JSON log lines
carrying each answer's request id, and the samples directory is gone when it stops."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.issuer_app import TEST_SECRET
from tests.servers import free_port
from tests.test_serve_workers import BADGEWORKS, _children, _owner, _socket_inode

REQUESTS = 40


def _get(connection: http.client.HTTPConnection, path: str) -> tuple[int, str, str]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode(), response.getheader("X-Request-ID") or ""


def _healthz_count(text: str) -> float:
    pattern = (
        r'^badgeworks_http_request_duration_seconds_count\{method="GET",route="/healthz",'
        r'status="2xx"\} (\S+)$'
    )
    match = re.search(pattern, text, re.MULTILINE)
    return float(match[1]) if match else 0.0


def test_metrics_add_up_over_every_worker(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_LOG_FORMAT": "json",
        "BADGEWORKS_SHUTDOWN_GRACE_SECONDS": "1",
        "TMPDIR": str(tmp_path),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = tmp_path / "serve.out"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [str(BADGEWORKS), "serve", "--workers", "2", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    connections: list[http.client.HTTPConnection] = []
    try:
        deadline = time.monotonic() + 60
        while out.read_text(errors="replace").count("Application startup complete") < 2:
            assert process.poll() is None, out.read_text()[-3000:]
            assert time.monotonic() < deadline, out.read_text()[-3000:]
            time.sleep(0.2)
        workers = _children(process.pid)
        by_worker: dict[int, http.client.HTTPConnection] = {}
        ids: list[str] = []
        for _ in range(200):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            status, _, request_id = _get(connection, "/healthz")
            assert status == 200
            ids.append(request_id)
            connections.append(connection)
            inode = _socket_inode(port, connection.sock.getsockname()[1])
            owner = _owner(workers, inode) if inode else None
            if owner is not None:
                by_worker.setdefault(owner, connection)
            if len(by_worker) == 2 and len(ids) >= REQUESTS:
                break
        assert len(by_worker) == 2, "one worker answered every connection"
        answered = len(ids)
        # Each worker reports the requests of both.
        for connection in by_worker.values():
            status, text, _ = _get(connection, "/metrics")
            assert status == 200, text
            assert _healthz_count(text) == answered, text[-2000:]
            assert "badgeworks_outbox_messages" in text
        samples = [p for p in tmp_path.iterdir() if p.name.startswith("badgeworks-metrics-")]
        assert len(samples) == 1 and any(samples[0].iterdir())
        # The JSON access lines name each answer's request id.
        logged = {}
        for line in out.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("logger") == "badgeworks.access":
                    logged[record["request_id"]] = record
        for request_id in ids:
            assert logged[request_id]["route"] == "/healthz"
            assert logged[request_id]["status"] == 200
    finally:
        for connection in connections:
            connection.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, out.read_text()[-3000:]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("badgeworks-metrics-")]
