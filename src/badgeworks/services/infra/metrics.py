"""Prometheus metrics: what the service counts, and the text a scraper reads.

The counters and histograms live in prometheus-client's process registry, built once per
process by ``metrics()``. With several worker processes (``badgeworks serve --workers N``)
the command points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before any worker
starts, so every worker writes its samples there and ``exposition`` merges them: each
scrape of any worker sees the sum over all of them (docs/operations.md, "Metrics").

Labels never hold private or unbounded data: no email addresses, credential ids, tokens
or raw paths. A route is its template (``/credentials/{credential_id}``), an outcome or
action one of a short fixed list.

The queue gauges (outbox, bulk jobs and the job queue: depth and age of the oldest) are
read from the database at scrape time, so they are the same from every process.
"""

from __future__ import annotations

import os
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func
from sqlalchemy.orm import Session
from sqlmodel import col, select

from badgeworks.db.console import BulkJob
from badgeworks.db.engine import SessionFactory
from badgeworks.db.jobs import Job
from badgeworks.db.models import Credential
from badgeworks.db.outbox import OutboxMessage
from badgeworks.db.status import StatusChange

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram
    from prometheus_client.core import Metric

# prometheus-client is imported when metrics are first used, not with this module: the
# command line imports the services and never serves /metrics.

#: Where prometheus-client's multi-process mode keeps each process's samples.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The exposition format's media type (text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: The verification outcomes counted, from the report's verdict.
OUTCOMES = {
    "verified": "verified",
    "verified_with_warnings": "verified",
    "not_verified": "not_verified",
    "could_not_verify": "indeterminate",
}
#: Status changes (``status_change.action``); anything else is counted as ``other``.
ACTIONS = ("revoke", "suspend", "unsuspend", "reissue", "expire")
#: Fetch outcomes: ``ok``, or the failure's kind (never the URL).
FETCH_OUTCOMES = ("ok", "refused", "timeout", "too_large", "budget", "error")
#: Latency buckets in seconds, from a cached page to a slow verification.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FETCH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
#: Bulk job states that count as queued or in progress.
JOB_STATES = ("validated", "running", "interrupted")
#: Job queue states reported (``db/jobs.py``; finished jobs are not).
QUEUE_STATES = ("queued", "running", "dead")
#: Outbox states that count as queued.
OUTBOX_STATES = ("pending", "sending", "failed")


@dataclass(frozen=True)
class Metrics:
    """The process's metric families (``metrics()``)."""

    issued: Counter
    verifications: Counter
    status_changes: Counter
    fetch_seconds: Histogram
    request_seconds: Histogram


@cache
def metrics() -> Metrics:
    """The metric families, registered once per process in prometheus-client's registry."""
    from prometheus_client import Counter, Histogram

    return Metrics(
        issued=Counter(
            "badgeworks_credentials_issued",
            "Credentials signed and stored (every issuing path: API, console, bulk, VC-API, "
            "re-issue).",
        ),
        verifications=Counter(
            "badgeworks_verifications",
            "Verifications run (public verifier, API, VC-API, pages of hosted credentials), "
            "by outcome: verified, not_verified, indeterminate (a check could not run).",
            ["outcome"],
        ),
        status_changes=Counter(
            "badgeworks_status_changes",
            "Credential status changes committed, by action.",
            ["action"],
        ),
        fetch_seconds=Histogram(
            "badgeworks_fetch_duration_seconds",
            "Outbound fetches (other issuers' keys, DID documents, status lists, "
            "deliverables): wall-clock seconds, by outcome; cached answers are not counted.",
            ["outcome"],
            buckets=FETCH_BUCKETS,
        ),
        request_seconds=Histogram(
            "badgeworks_http_request_duration_seconds",
            "HTTP requests served: seconds from the first byte received to the last sent, "
            "by method, route template and status class.",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
        ),
    )


# --- what the services count --------------------------------------------------------


def count_verification(verdict: str) -> None:
    """One finished verification, by its report's verdict."""
    metrics().verifications.labels(outcome=OUTCOMES.get(verdict, "indeterminate")).inc()


def observe_fetch(outcome: str, seconds: float) -> None:
    """One outbound fetch (the fetcher calls this; see ``adapters/fetcher.py``)."""
    label = outcome if outcome in FETCH_OUTCOMES else "error"
    metrics().fetch_seconds.labels(outcome=label).observe(max(0.0, seconds))


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request: ``route`` is the matched template, never the raw path."""
    verb = method if method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} else "OTHER"
    metrics().request_seconds.labels(method=verb, route=route, status=f"{status // 100}xx").observe(
        max(0.0, seconds)
    )


# Credentials and status changes are counted when the transaction that stores them
# commits, whatever service stored them, and never for one rolled back.
_PENDING = "badgeworks_metrics_pending"


def _after_flush(session: Any, _context: Any) -> None:
    pending: Tally[str] = session.info.setdefault(_PENDING, Tally())
    for row in session.new:
        if isinstance(row, Credential):
            pending["issued"] += 1
        elif isinstance(row, StatusChange):
            action = row.action if row.action in ACTIONS else "other"
            pending[f"status:{action}"] += 1


def _after_commit(session: Any) -> None:
    pending: Tally[str] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    families = metrics()
    for name, count in pending.items():
        if name == "issued":
            families.issued.inc(count)
        else:
            families.status_changes.labels(action=name.removeprefix("status:")).inc(count)


def _after_rollback(session: Any) -> None:
    session.info.pop(_PENDING, None)


@cache
def count_commits() -> None:
    """Count stored credentials and status changes on commit (once per process)."""
    metrics()
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)


# --- the queue gauges, read at scrape time ------------------------------------------


def _age(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())


class QueueCollector:
    """Outbox and bulk-job depth and oldest age, read from the database per scrape."""

    def __init__(self, session_factory: SessionFactory, now: datetime) -> None:
        self.session_factory = session_factory
        self.now = now

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        depth = GaugeMetricFamily(
            "badgeworks_outbox_messages",
            "Outbox messages waiting (pending, sending, failed), by status.",
            labels=["status"],
        )
        outbox_age = GaugeMetricFamily(
            "badgeworks_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox message (0 when none is pending).",
        )
        jobs = GaugeMetricFamily(
            "badgeworks_bulk_jobs",
            "Bulk issuance jobs not finished (validated, running, interrupted), by status.",
            labels=["status"],
        )
        jobs_age = GaugeMetricFamily(
            "badgeworks_bulk_job_oldest_age_seconds",
            "Age of the oldest bulk job not finished (0 when none).",
        )
        work = GaugeMetricFamily(
            "badgeworks_jobs",
            "Background jobs (the job queue) queued, running or dead-lettered, by state.",
            labels=["state"],
        )
        work_age = GaugeMetricFamily(
            "badgeworks_job_oldest_due_age_seconds",
            "How long the queued job due longest ago has waited for a worker (0 when none "
            "is due): a growing value means no worker is taking jobs.",
        )
        with self.session_factory() as session:
            by_status = dict(
                session.exec(
                    select(OutboxMessage.status, func.count())
                    .where(col(OutboxMessage.status).in_(OUTBOX_STATES))
                    .group_by(OutboxMessage.status)
                ).all()
            )
            oldest_mail = session.exec(
                select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
            ).one()
            by_job = dict(
                session.exec(
                    select(BulkJob.status, func.count())
                    .where(col(BulkJob.status).in_(JOB_STATES))
                    .group_by(BulkJob.status)
                ).all()
            )
            oldest_job = session.exec(
                select(func.min(BulkJob.created_at)).where(col(BulkJob.status).in_(JOB_STATES))
            ).one()
            by_state = dict(
                session.exec(
                    select(Job.state, func.count())
                    .where(col(Job.state).in_(QUEUE_STATES))
                    .group_by(Job.state)
                ).all()
            )
            oldest_due = session.exec(
                select(func.min(Job.run_after)).where(
                    Job.state == "queued", col(Job.run_after) <= self.now
                )
            ).one()
        for status in OUTBOX_STATES:
            depth.add_metric([status], float(by_status.get(status, 0)))
        outbox_age.add_metric([], _age(oldest_mail, self.now))
        for status in JOB_STATES:
            jobs.add_metric([status], float(by_job.get(status, 0)))
        jobs_age.add_metric([], _age(oldest_job, self.now))
        for state in QUEUE_STATES:
            work.add_metric([state], float(by_state.get(state, 0)))
        work_age.add_metric([], _age(oldest_due, self.now))
        yield from (depth, outbox_age, jobs, jobs_age, work, work_age)


def multiprocess_dir() -> str | None:
    """The multi-process samples directory, when this process runs in that mode."""
    value = os.environ.get(MULTIPROC_ENV, "").strip()
    return value if value and os.path.isdir(value) else None


def _process_collectors() -> Iterator[Any]:
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    directory = multiprocess_dir()
    if directory is None:
        yield REGISTRY
        return
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
    yield merged


def exposition(session_factory: SessionFactory, now: datetime) -> bytes:
    """The text a Prometheus scraper reads: this process's (or all workers') samples, then
    the queue gauges read from the database now."""
    from prometheus_client import CollectorRegistry, generate_latest

    metrics()
    scrape = CollectorRegistry(auto_describe=False)
    for source in _process_collectors():
        scrape.register(_Forward(source))
    scrape.register(QueueCollector(session_factory, now))
    return generate_latest(scrape)


class _Forward:
    """Yields another registry's metrics (so one scrape can combine several)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return list(self.source.collect())
