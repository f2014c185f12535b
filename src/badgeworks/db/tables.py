"""Every table module, imported once so SQLModel's metadata knows them all.

Each feature keeps its tables in its own module under ``db/`` and adds its name here.
A change to a table needs a new revision at the end of the migration line
(docs/migrations.md); the schema-drift test in ``tests/db`` compares the two.
"""

from __future__ import annotations

from badgeworks.db import (
    candidate_access,  # candidate sign-in: magic links and sessions
    console,  # program console: staff, sessions, bulk jobs
    endorsements,  # mentor and host endorsements
    jobs,  # background jobs claimed by workers
    models,  # issuers, achievements, candidates, projects, credentials, audit
    outbox,  # messages waiting to be delivered
    portfolio,  # portfolio pages and what they show
    rate_limits,  # rate-limit counters shared by every worker process
    service_meta,  # facts about the service itself: the key secret's fingerprint
    status,  # status lists, entries, lifecycle changes
    wallet,  # issuance to wallets: offers, nonces, wallet copies (OID4VCI)
    wallet_presentations,  # presentation requests to wallets (OID4VP)
)

__all__ = [
    "candidate_access",
    "console",
    "endorsements",
    "jobs",
    "models",
    "outbox",
    "portfolio",
    "rate_limits",
    "service_meta",
    "status",
    "wallet",
    "wallet_presentations",
]
