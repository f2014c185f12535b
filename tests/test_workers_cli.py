"""``badgeworks queue list`` shows dead-lettered jobs with their last error, ``queue retry``
queues one again (and refuses a job that is not dead), and ``worker --once`` runs the due
jobs and exits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from badgeworks.cli import badgeworks
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.jobs import DEAD, QUEUED, Job
from badgeworks.db.migrate import upgrade
from badgeworks.services.infra import jobs
from badgeworks.settings import get_settings

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def test_queue_list_retry_and_worker_once(tmp_path: Path) -> None:
    env = {
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_DATABASE_URL": "",
        "BADGEWORKS_JOB_MAX_ATTEMPTS": "1",
        "BADGEWORKS_SMTP_HOST": "",
        "BADGEWORKS_MAIL_CONSOLE": "false",
        "BADGEWORKS_REDIS_URL": "",
    }
    engine = make_engine(get_settings(data_dir=tmp_path / "data"))
    upgrade(engine)
    try:
        with make_session_factory(engine)() as session:
            job = jobs.enqueue(session, "outbox.deliver", now=NOW)
            session.commit()
            job_id = job.id
        runner = CliRunner()
        # No mail sender: the delivery job fails, and with one attempt allowed it is dead.
        ran = runner.invoke(badgeworks, ["worker", "--once"], env=env)
        assert ran.exit_code == 0, ran.output
        assert "0 job(s) finished" in ran.output
        with make_session_factory(engine)() as session:
            row = session.get(Job, job_id)
            assert row is not None and row.state == DEAD
            assert row.last_error is not None and "no mail sender" in row.last_error
        listed = runner.invoke(badgeworks, ["queue", "list"], env=env)
        assert listed.exit_code == 0, listed.output
        assert "dead: 1" in listed.output
        assert f"{job_id}\toutbox.deliver\t1 attempt(s)" in listed.output
        assert "no mail sender" in listed.output
        retried = runner.invoke(badgeworks, ["queue", "retry", str(job_id)], env=env)
        assert retried.exit_code == 0 and f"job {job_id} queued again" in retried.output
        again = runner.invoke(badgeworks, ["queue", "retry", str(job_id)], env=env)
        assert again.exit_code == 1 and "job.not_dead" in again.output
        bad = runner.invoke(badgeworks, ["queue", "retry", "not-a-number"], env=env)
        assert bad.exit_code == 2
        with make_session_factory(engine)() as session:
            row = session.get(Job, job_id)
            assert row is not None and row.state == QUEUED and row.attempts == 0
    finally:
        engine.dispose()
