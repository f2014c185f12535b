"""``badgeworks worker`` and ``badgeworks queue``: run background jobs, see and retry the
dead-lettered ones (docs/operations.md, "Jobs and workers")."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click
from sqlmodel import Session

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.jobs import DEAD, DONE, QUEUED, RUNNING
from badgeworks.db.migrate import upgrade
from badgeworks.services import workers
from badgeworks.services.context import ServiceContext, build_context
from badgeworks.services.infra import jobs
from badgeworks.services.infra.jobs import Handler
from badgeworks.settings import Settings, get_settings


@contextmanager
def _process(settings: Settings) -> Iterator[tuple[Any, ServiceContext]]:
    """This process's engine, session factory and context (migrated), disposed at the end."""
    engine = make_engine(settings)
    if settings.key_secret is not None and settings.key_secret.get_secret_value().strip():
        from badgeworks.services.infra import outbox

        # The server's key: mail the server queued sealed is read here.
        previous = settings.key_secret_previous
        outbox.seal_outbox(
            engine,
            settings.key_secret.get_secret_value(),
            previous.get_secret_value() if previous and previous.get_secret_value() else None,
        )
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        yield factory, build_context(settings, factory)
    finally:
        engine.dispose()


def run_worker(
    settings: Settings,
    *,
    once: bool = False,
    extra: dict[str, Handler] | None = None,
    name: str | None = None,
) -> int:
    """Run a job worker in this process until SIGTERM or SIGINT (or, with ``once``, until
    no job is due). Returns the number of jobs it finished."""
    from badgeworks.web.observability import configure_logging

    configure_logging(settings.log_format)
    with _process(settings) as (factory, ctx):
        worker = workers.worker(factory, ctx, extra=extra, name=name, dedicated=True)

        def stop(signum: int, frame: Any) -> None:
            # Graceful: the running job gets the grace period to finish, else it is
            # released to the queue for another worker.
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if once:
            while not worker.stopping and worker.run_once():
                pass
        else:
            worker.run()
        return worker.finished


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs that are due, then exit.")
def worker_command(once: bool) -> None:
    """Run background jobs (bulk issuance, the outbox, status lists, PDF previews) claimed
    from the database; any number of workers on any number of hosts may run at once."""
    try:
        finished = run_worker(get_settings(), once=once)
    except BadgeworksError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(1)
    if once:
        click.echo(f"{finished} job(s) finished")


@click.group("queue")
def queue_group() -> None:
    """See background jobs and retry dead-lettered ones."""


@contextmanager
def _session() -> Iterator[tuple[Session, ServiceContext]]:
    with _process(get_settings()) as (factory, ctx), factory() as session:
        yield session, ctx


@queue_group.command("list")
def queue_list() -> None:
    """How many jobs are in each state, and every dead-lettered job with its last error."""
    with _session() as (session, _ctx):
        counted = jobs.counts(session)
        states = (QUEUED, RUNNING, DONE, DEAD)
        click.echo("  ".join(f"{state}: {counted.get(state, 0)}" for state in states))
        for job in jobs.dead_jobs(session):
            when = job.finished_at.strftime("%Y-%m-%d %H:%M") if job.finished_at else "-"
            error = (job.last_error or "").splitlines()[0][:120] if job.last_error else ""
            click.echo(f"{job.id}\t{job.kind}\t{job.attempts} attempt(s)\t{when}\t{error}")


@queue_group.command("retry")
@click.argument("job_id", type=click.IntRange(min=1))
def queue_retry(job_id: int) -> None:
    """Queue a dead-lettered job again, with fresh attempts."""
    with _session() as (session, ctx):
        now: datetime = ctx.clock()
        if not jobs.retry(session, job_id, now=now):
            session.rollback()
            click.echo(f"error [job.not_dead]: job {job_id} is not dead-lettered", err=True)
            sys.exit(1)
        session.commit()
        click.echo(f"job {job_id} queued again")
