"""Services: the only code that combines the core, the database and the adapters.

One package per domain, with its API models in its own ``models.py``:

- ``programs``: issuers, achievements (versions, language editions, images), candidates,
  projects and deliverables;
- ``issuance``: a credential at project completion, bulk issuance from CSV and its jobs;
- ``lifecycle``: revoke, suspend, re-issue, expire, and the status lists that publish them;
- ``verification``: the verification pipeline, the public verifier, its pool, DID look-ups;
- ``endorsements``: mentors and host organisations, review links, endorsements;
- ``portfolio``: the candidate's page, photos, sharing, baked badges and certificates;
- ``console``: read-side views of the program console;
- ``accounts``: console staff, candidates' own sign-in, API tokens;
- ``exchange``: protocols other systems speak to us (the W3C VC-API);
- ``infra``: shared machinery (outbox, idempotency, rate limits, paging, audit log, the
  key-encryption secret).

Beside them: ``context`` (what a service needs besides a session), ``errors`` (what
services raise), ``models`` (the field types and base every request model shares) and
``demo`` (the seeded demo program).

Every function takes a ``Session`` (and, where it needs settings, blobs, the loader or
the clock, a ``ServiceContext``). Functions that change data commit their own unit of
work, so the web layer and the CLI call them the same way.
"""
