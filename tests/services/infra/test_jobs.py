"""The job queue on SQLite and PostgreSQL: each job claimed once under parallel workers,
stale claims released, retries with back-off, dead letters and their retry, and a worker
that lost its claim can neither finish nor fail the job."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.jobs import DEAD, DONE, QUEUED, RUNNING, Job
from badgeworks.db.migrate import upgrade
from badgeworks.services.infra import jobs
from badgeworks.services.infra.jobs import JobRun
from badgeworks.settings import Settings, get_settings

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return get_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        job_max_attempts=3,
        job_retry_seconds=10,
        job_lease_seconds=30,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _job(engine: Engine, job_id: int) -> Job:
    with make_session_factory(engine)() as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row


def _enqueue(engine: Engine, kind: str = "k", n: int = 1, **kw: Any) -> list[int]:
    ids = []
    with make_session_factory(engine)() as session:
        for _ in range(n):
            job = jobs.enqueue(session, kind, {"n": 1}, now=NOW, **kw)
            ids.append(job.id or 0)
        session.commit()
    return ids


def test_each_job_is_claimed_once_by_parallel_workers(engine: Engine) -> None:
    ids = _enqueue(engine, n=24)
    claimed: list[int] = []
    lock = threading.Lock()
    gate = threading.Barrier(6)
    factory = make_session_factory(engine)

    def work(name: str) -> None:
        gate.wait()
        while True:
            with factory() as session:
                held = jobs.claim(session, worker=name, now=NOW, lease=LEASE, kinds={"k"})
            if held is None:
                return
            with lock:
                claimed.append(held.id)
            with factory() as session:
                assert jobs.complete(session, held, now=NOW)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)
    assert all(_job(engine, i).state == DONE for i in ids)


def test_only_due_jobs_of_known_kinds_are_claimed(engine: Engine) -> None:
    later = _enqueue(engine, "k", delay=timedelta(minutes=5))[0]
    other = _enqueue(engine, "other")[0]
    with make_session_factory(engine)() as session:
        assert jobs.claim(session, worker="w", now=NOW, lease=LEASE, kinds={"k"}) is None
        held = jobs.claim(
            session, worker="w", now=NOW + timedelta(minutes=6), lease=LEASE, kinds={"k"}
        )
    assert held is not None and held.id == later and held.payload == {"n": 1}
    assert _job(engine, other).state == QUEUED


def test_failures_back_off_then_dead_letter_then_retry(engine: Engine, settings: Settings) -> None:
    job_id = _enqueue(engine)[0]
    factory = make_session_factory(engine)
    now = NOW
    waits = []
    for attempt in (1, 2, 3):
        with factory() as session:
            held = jobs.claim(session, worker="w", now=now, lease=LEASE, kinds={"k"})
            assert held is not None and held.attempts == attempt
            state = jobs.fail(session, held, "SMTPError: refused", now=now, settings=settings)
        row = _job(engine, job_id)
        if attempt < 3:
            assert state == QUEUED and row.state == QUEUED
            waits.append((row.run_after - now).total_seconds())
            with factory() as session:  # not due before its back-off
                assert jobs.claim(session, worker="w", now=now, lease=LEASE, kinds={"k"}) is None
            now = row.run_after
        else:
            assert state == DEAD and row.state == DEAD and row.finished_at is not None
    assert waits == [10.0, 20.0]
    with factory() as session:
        dead = jobs.dead_jobs(session)
        assert [j.id for j in dead] == [job_id] and dead[0].last_error == "SMTPError: refused"
        assert jobs.retry(session, job_id, now=now)
        session.commit()
        assert not jobs.retry(session, job_id, now=now)  # queued now, not dead
        assert not jobs.retry(session, 999_999, now=now)
    row = _job(engine, job_id)
    assert row.state == QUEUED and row.attempts == 0


def test_a_stale_claim_is_released_and_the_old_worker_cannot_finish(
    engine: Engine, settings: Settings
) -> None:
    job_id = _enqueue(engine)[0]
    factory = make_session_factory(engine)
    with factory() as session:
        first = jobs.claim(session, worker="a", now=NOW, lease=LEASE, kinds={"k"})
        assert first is not None
        assert jobs.release_stale(session, now=NOW + timedelta(seconds=29), settings=settings) == 0
        assert jobs.heartbeat(session, first, now=NOW + timedelta(seconds=20), lease=LEASE)
        # The lease now runs to 50 s; past it, the job goes back to the queue.
        assert jobs.release_stale(session, now=NOW + timedelta(seconds=51), settings=settings) == 1
        second = jobs.claim(
            session, worker="b", now=NOW + timedelta(seconds=52), lease=LEASE, kinds={"k"}
        )
        assert second is not None and second.attempts == 2
        later = NOW + timedelta(seconds=53)
        assert not jobs.heartbeat(session, first, now=later, lease=LEASE)
        assert not jobs.complete(session, first, now=later)
        assert jobs.fail(session, first, "late", now=later, settings=settings) == ""
        assert not jobs.release(session, first, now=later)
        assert _job(engine, job_id).state == RUNNING
        assert jobs.complete(session, second, now=later)
    row = _job(engine, job_id)
    assert row.state == DONE and row.attempts == 2 and row.claim_token is None


def test_a_stale_claim_on_its_last_attempt_is_dead_lettered(
    engine: Engine, settings: Settings
) -> None:
    job_id = _enqueue(engine)[0]
    factory = make_session_factory(engine)
    now = NOW
    for _ in range(3):
        with factory() as session:
            assert jobs.claim(session, worker="a", now=now, lease=LEASE, kinds={"k"})
            now += timedelta(minutes=1)
            jobs.release_stale(session, now=now, settings=settings)
    row = _job(engine, job_id)
    assert row.state == DEAD and row.last_error == jobs.STALE_ERROR


def test_enqueue_refuses_hostile_input_and_dedupes(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        with pytest.raises(jobs.JobError):
            jobs.enqueue(session, "k", {"x": "y" * (jobs.MAX_PAYLOAD_BYTES + 1)}, now=NOW)
        with pytest.raises(jobs.JobError):
            jobs.enqueue(session, "k" * 41, now=NOW)
        with pytest.raises(jobs.JobError):
            jobs.enqueue(session, "", now=NOW)
        first = jobs.enqueue(session, "k", now=NOW, dedupe_key="resign")
        again = jobs.enqueue(session, "k", now=NOW, dedupe_key="resign")
        assert first.id == again.id
        session.commit()
    first_id = jobs.enqueue_once(factory, "k", now=NOW, dedupe_key="deliver")
    assert jobs.enqueue_once(factory, "k", now=NOW, dedupe_key="deliver") == first_id
    with factory() as session:
        held = jobs.claim(session, worker="w", now=NOW, lease=LEASE, kinds={"k"})
        assert held is not None and jobs.complete(session, held, now=NOW)
        # Once the job is done, the same key queues the work again.
        assert held.id == first.id
        fresh = jobs.enqueue(session, "k", now=NOW, dedupe_key="resign")
        session.commit()
        assert fresh.id != held.id


def test_the_worker_runs_handlers_records_failures_and_stops(
    engine: Engine, settings: Settings
) -> None:
    ran: list[dict[str, Any]] = []

    def good(payload: dict[str, Any], run: JobRun) -> None:
        ran.append(payload)

    def bad(payload: dict[str, Any], run: JobRun) -> None:
        raise ValueError("the row is gone")

    ok_id = _enqueue(engine, "good")[0]
    bad_id = _enqueue(engine, "bad")[0]
    worker = jobs.Worker(
        settings,
        make_session_factory(engine),
        {"good": good, "bad": bad},
        clock=lambda: NOW,
        name="test",
    )
    assert worker.run_once() and worker.run_once()
    assert not worker.run_once()
    assert ran == [{"n": 1}] and worker.finished == 1
    assert _job(engine, ok_id).state == DONE
    failed = _job(engine, bad_id)
    assert failed.state == QUEUED and failed.last_error == "ValueError: the row is gone"


def test_a_malformed_bulk_resume_payload_fails_with_a_code(
    engine: Engine, settings: Settings
) -> None:
    from badgeworks.services import workers
    from badgeworks.services.context import build_context

    factory = make_session_factory(engine)
    with factory() as session:
        ids = [
            jobs.enqueue(session, "bulk.resume", payload, now=NOW).id
            for payload in ({"job": "1; DROP TABLE job"}, {"job": True}, {}, {"job": 424242})
        ]
        session.commit()
    worker = workers.worker(factory, build_context(settings, factory), clock=lambda: NOW)
    while worker.run_once():
        pass
    errors = [_job(engine, i or 0).last_error for i in ids]
    assert all(e and "JobPayloadError" in e for e in errors[:3])
    assert _job(engine, ids[3] or 0).state == DONE  # no such bulk job: nothing to resume


def test_the_worker_loop_outlives_an_unexpected_failure(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    worker = jobs.Worker(
        settings.model_copy(update={"worker_poll_seconds": 0.05}),
        make_session_factory(engine),
        {"k": lambda payload, run: ran.append(run.job_id)},
        clock=lambda: NOW,
    )
    real = worker.run_once
    calls = [0]

    def flaky() -> bool:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("a bug in one poll")
        return real()

    monkeypatch.setattr(worker, "run_once", flaky)
    job_id = _enqueue(engine)[0]
    worker.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while not ran and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
    finally:
        worker.stop()
        worker.join(5)
    assert ran == [job_id] and calls[0] >= 2
