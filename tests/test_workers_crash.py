"""Worker processes on SQLite and PostgreSQL: a worker killed with SIGKILL mid-job loses
its claim when the lease runs out, and another worker finishes the job exactly once; a
worker told to stop (SIGTERM) releases a job it cannot finish in the grace period and
exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.jobs import DONE, QUEUED, Job
from badgeworks.db.migrate import upgrade
from badgeworks.services.infra import jobs
from badgeworks.settings import get_settings

#: The worker each process runs: the service's own worker (``run_worker``, as
#: ``badgeworks worker`` runs it) with one more job kind, whose handler records that it
#: started, stalls on its first attempt, and records its one effect (idempotent, keyed by
#: the job) when it finishes.
WORKER_SCRIPT = """
import sys, time
from pathlib import Path
from badgeworks.cli_worker import run_worker
from badgeworks.settings import get_settings

log = Path(sys.argv[1])
name = sys.argv[2]

def slow(payload, run):
    with log.open("a") as f:
        f.write(f"start {name} {run.job_id} {run.attempt}\\n")
    if payload.get("stall_first") and run.attempt == 1:
        time.sleep(120)
    if payload.get("ignore_stop"):
        time.sleep(120)
    done = {line for line in log.read_text().splitlines() if line.startswith("done ")}
    if f"done {run.job_id}" not in done:
        with log.open("a") as f:
            f.write(f"done {run.job_id}\\n")

run_worker(get_settings(), extra={"test.slow": slow}, name=name)
"""


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> Iterator[dict[str, str]]:
    values = {
        **os.environ,
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_DATABASE_URL": database_url,
        "BADGEWORKS_JOB_LEASE_SECONDS": "1.5",
        "BADGEWORKS_WORKER_POLL_SECONDS": "0.2",
        "BADGEWORKS_SHUTDOWN_GRACE_SECONDS": "1",
    }
    values.pop("BADGEWORKS_REDIS_URL", None)
    yield values


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    engine = make_engine(get_settings(data_dir=tmp_path / "data", database_url=database_url))
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _worker(tmp_path: Path, env: dict[str, str], log: Path, name: str) -> subprocess.Popen[bytes]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), str(log), name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _enqueue(engine: Engine, payload: dict[str, bool]) -> int:
    with make_session_factory(engine)() as session:
        job = jobs.enqueue(session, "test.slow", payload, now=datetime.now(UTC))
        session.commit()
        assert job.id is not None
        return job.id


def _job(engine: Engine, job_id: int) -> Job:
    with make_session_factory(engine)() as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_killed_worker_s_job_is_finished_by_another_exactly_once(
    tmp_path: Path, env: dict[str, str], engine: Engine
) -> None:
    log = tmp_path / "effects.log"
    job_id = _enqueue(engine, {"stall_first": True})
    first = _worker(tmp_path, env, log, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        _until(lambda: f"start first {job_id} 1" in _lines(log), 60, "the first worker")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert _job(engine, job_id).claimed_by == "first"  # the claim outlives the process
        second = _worker(tmp_path, env, log, "second")
        _until(lambda: _job(engine, job_id).state == DONE, 60, "the second worker")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
    row = _job(engine, job_id)
    assert row.attempts == 2 and row.claim_token is None
    assert row.last_error is None
    assert _lines(log) == [f"start first {job_id} 1", f"start second {job_id} 2", f"done {job_id}"]


def test_sigterm_releases_a_job_that_does_not_finish_in_the_grace_period(
    tmp_path: Path, env: dict[str, str], engine: Engine
) -> None:
    log = tmp_path / "effects.log"
    job_id = _enqueue(engine, {"ignore_stop": True})
    worker = _worker(tmp_path, env, log, "stopping")
    try:
        _until(lambda: f"start stopping {job_id} 1" in _lines(log), 60, "the worker")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    row = _job(engine, job_id)
    # Back in the queue at once, its interrupted attempt not counted, for the next worker.
    assert row.state == QUEUED and row.attempts == 0 and row.claim_token is None
    assert f"done {job_id}" not in _lines(log)


def test_sigterm_lets_a_short_job_finish(
    tmp_path: Path, env: dict[str, str], engine: Engine
) -> None:
    log = tmp_path / "effects.log"
    worker = _worker(tmp_path, env, log, "idle")
    try:
        job_id = _enqueue(engine, {})
        _until(lambda: _job(engine, job_id).state == DONE, 60, "the worker")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert _lines(log) == [f"start idle {job_id} 1", f"done {job_id}"]
