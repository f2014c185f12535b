"""Background jobs, claimed by workers in any process on any host (``services/infra/jobs.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from badgeworks.db.models import timestamp_field

#: A job's states: waiting (or waiting for its retry), claimed by a worker, finished,
#: and dead-lettered after its last attempt failed.
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
DEAD = "dead"


class Job(SQLModel, table=True):
    """One unit of background work and where it stands.

    A worker claims a job by moving it from ``queued`` to ``running`` with a fresh
    ``claim_token`` and a ``lease_until`` it keeps renewing; every later write of the worker
    names the token, so a worker whose claim went stale (and was given to another) can
    neither finish nor fail the job. ``dedupe_key`` makes enqueueing the same work twice a
    no-op while the first is not finished.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_run_after", "state", "run_after"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    #: The program the job works for (its staff see it in the console), or None for the
    #: service's own work (operators see it with ``badgeworks queue list``).
    issuer_id: int | None = Field(default=None, index=True)
    payload: str = Field(default="{}", sa_type=Text)
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    state: str = Field(default=QUEUED, max_length=12)
    attempts: int = 0
    run_after: datetime = timestamp_field()
    claimed_by: str | None = Field(default=None, max_length=80)
    claim_token: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = timestamp_field(nullable=True)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = timestamp_field()
    finished_at: datetime | None = timestamp_field(nullable=True)
