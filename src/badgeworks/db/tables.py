"""Every table module, imported once so SQLModel's metadata knows them all.

Each feature keeps its tables in its own module under ``db/`` (with its own Alembic
revision) and adds its name here. Migrations and the schema-drift test import this.
"""

from __future__ import annotations

from badgeworks.db import (
    candidate_access,  # candidate sign-in: magic links and sessions
    console,  # program console: staff, sessions, bulk jobs
    endorsements,  # mentor and host endorsements
    models,  # issuers, achievements, candidates, projects, credentials, audit
    outbox,  # messages waiting to be delivered
    portfolio,  # portfolio pages and what they show
    service_meta,  # facts about the service itself: the key secret's fingerprint
    status,  # status lists, entries, lifecycle changes
)

__all__ = [
    "candidate_access",
    "console",
    "endorsements",
    "models",
    "outbox",
    "portfolio",
    "service_meta",
    "status",
]
