"""Seeds a database with many real, signed credentials for the HTTP benchmark.

The demo (``services.demo.seed_demo``) makes the issuer, its signing key, the achievement
(with its Spanish edition), a token and one completed project with three deliverables.
Every seeded credential is then made the way ``issuance.completion.complete_project``
makes one, minus the per-row round trips:

- candidates (one per portfolio; through the ORM), their portfolios, projects
  (``completed``) and each project's three deliverables (the demo's files, by the same
  SHA-256) are inserted in bulk with explicit ids;
- each credential's revocation entry is claimed by the service's own
  ``status_lists.allocate_entries``, as at completion (its index, its list);
- the unsigned credential is built by ``completion.build_credential`` and signed by
  ``core.issue.issue`` (validation, the OB 3.0 JSON Schema, ``eddsa-rdfc-2022``) in a
  pool of processes, then stored verbatim with ``completion.serialize``.

So every stored credential verifies as "verified" against the hosted status list, DID
document and deliverables. Draft projects (with their deliverables) are seeded too, for
the benchmark's completion requests.
"""

from __future__ import annotations

import multiprocessing
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from badgeworks.adapters.resources import default_loader
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.issue import issue
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.db.models import Achievement, Candidate, Credential, Deliverable, Issuer, Project
from badgeworks.db.portfolio import Portfolio, default_handle
from badgeworks.services.context import ServiceContext, build_context
from badgeworks.services.demo import DEMO_SLUG, seed_demo
from badgeworks.services.issuance import completion
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs import achievements, projects
from badgeworks.services.programs.issuers import signing_key
from badgeworks.settings import Settings

#: Tables given explicit ids, whose PostgreSQL sequences are moved past them afterwards.
_ID_TABLES = ("candidate", "portfolio", "project", "deliverable")


@dataclass
class Seeded:
    """What the seeding made, and samples the benchmark's requests use."""

    base_url: str
    issuer_slug: str
    token: str
    achievement_id: int
    credentials: int
    per_portfolio: int
    seconds: float
    #: Ids of seeded credentials, spread over the whole range.
    credential_ids: list[str] = field(default_factory=list)
    #: Handles of portfolios holding ``per_portfolio`` credentials each.
    portfolio_handles: list[str] = field(default_factory=list)
    #: Draft projects, each completed at most once by the benchmark.
    draft_project_ids: list[int] = field(default_factory=list)
    #: The stored text of some seeded credentials (verification request bodies).
    documents: list[str] = field(default_factory=list)
    #: Every seeded credential's id, in the order they were made.
    issued_ids: list[str] = field(default_factory=list, repr=False)


# --- signing in worker processes ---------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(key: tuple[bytes, bytes, str, str], schemas: dict[str, Any]) -> None:
    public_key, seed, controller, key_id = key
    _worker["key"] = Ed25519KeyPair(
        public_key=public_key, secret_seed=seed, controller=controller, id=key_id
    )
    _worker["loader"] = default_loader()
    _worker["schemas"] = schemas


def _sign(job: tuple[dict[str, Any], datetime]) -> str:
    unsigned, now = job
    signed = issue(unsigned, _worker["key"], _worker["loader"], now=now, schemas=_worker["schemas"])
    return completion.serialize(signed)


# --- seeding -----------------------------------------------------------------------------


def _next_id(session: Session, table: Any) -> int:
    return int(session.execute(select(func.max(table.c.id))).scalar() or 0) + 1


def _table(model: Any) -> Any:
    return model.__table__


def _bulk(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)


@dataclass
class _Template:
    issuer: Issuer
    version: Any
    project: Project
    files: list[Deliverable]


def _groups(total: int, size: int) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size


def seed(
    settings: Settings,
    *,
    credentials: int,
    per_portfolio: int = 20,
    drafts: int = 100,
    processes: int | None = None,
    batch: int = 1000,
    samples: int = 200,
    progress: Callable[[str], None] | None = None,
) -> Seeded:
    """Seed the database of ``settings`` (migrating it first); see the module docstring."""
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    engine = make_engine(settings)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        ctx = build_context(settings, factory)
        with factory() as session:
            demo = seed_demo(session, ctx)
            issuer = session.exec(select(Issuer).where(Issuer.slug == DEMO_SLUG)).one()
            achievement = session.exec(
                select(Achievement)
                .where(Achievement.issuer_id == issuer.id)
                .order_by(col(Achievement.id))
            ).first()
            assert achievement is not None
            version = achievements.current_version(session, achievement)
            project = session.exec(
                select(Project)
                .where(Project.issuer_id == issuer.id, Project.status == "completed")
                .order_by(col(Project.id))
            ).first()
            assert project is not None
            template = _Template(issuer, version, project, projects.deliverables(session, project))
            key = signing_key(session, ctx, issuer)
            assert key.secret_seed is not None
            key_args = (key.public_key, key.secret_seed, key.controller, key.id)
            session.commit()
            seeded = Seeded(
                base_url=ctx.base_url,
                issuer_slug=issuer.slug,
                token=demo.token,
                achievement_id=achievement.id or 0,
                credentials=credentials,
                per_portfolio=per_portfolio,
                seconds=0.0,
            )
            workers = processes or multiprocessing.cpu_count()
            mp = multiprocessing.get_context("spawn")
            with mp.Pool(workers, _init_worker, (key_args, ctx.schemas())) as pool:
                done = 0
                sizes = list(_groups(credentials, per_portfolio))
                step = max(1, batch // per_portfolio)
                for first in range(0, len(sizes), step):
                    chunk = sizes[first : first + step]
                    made = _seed_chunk(session, ctx, template, chunk, pool, seeded)
                    session.commit()
                    done += made
                    say(f"seeded {done}/{credentials} credentials")
            for size in _groups(drafts, per_portfolio):
                _seed_chunk(session, ctx, template, [size], None, seeded)
                session.commit()
            if session.get_bind().dialect.name == "postgresql":
                for table in _ID_TABLES:
                    session.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
                session.commit()
            _sample(session, seeded, samples)
    finally:
        engine.dispose()
    seeded.seconds = time.perf_counter() - started
    return seeded


def _seed_chunk(
    session: Session,
    ctx: ServiceContext,
    template: _Template,
    sizes: list[int],
    pool: Any,
    seeded: Seeded,
) -> int:
    """One candidate (and portfolio) per entry of ``sizes``, with that many projects;
    with a ``pool`` each project is completed and its credential stored, else left draft."""
    issuer, project, files = template.issuer, template.project, template.files
    now = ctx.clock()
    ids = {
        name: _next_id(session, _table(model))
        for name, model in (
            ("candidate", Candidate),
            ("portfolio", Portfolio),
            ("project", Project),
            ("deliverable", Deliverable),
        )
    }
    candidates: list[Candidate] = []
    portfolios, rows_projects, rows_files = [], [], []
    jobs: list[tuple[dict[str, Any], datetime]] = []
    stored: list[dict[str, Any]] = []
    for size in sizes:
        n = ids["candidate"]
        ids["candidate"] += 1
        candidate = Candidate(
            id=n,
            issuer_id=issuer.id or 0,
            name=f"Candidate {n}",
            emails=[f"candidate-{n}@example.org"],
            salt=secrets.token_hex(16),
            created_at=now,
        )
        candidates.append(candidate)
        portfolios.append(
            Portfolio(
                id=ids["portfolio"],
                candidate_id=n,
                handle=default_handle(),
                created_at=now,
                updated_at=now,
            ).model_dump()
        )
        ids["portfolio"] += 1
        for k in range(size):
            # Issued over the past year, newest last.
            issued_at = now - timedelta(minutes=(size - k) * 7 + random.randrange(60))
            new = Project(
                id=ids["project"],
                issuer_id=issuer.id or 0,
                achievement_id=project.achievement_id,
                candidate_id=n,
                title=f"{project.title} #{ids['project']}",
                summary=project.summary,
                host=project.host,
                role=project.role,
                start_date=project.start_date,
                end_date=project.end_date,
                mentors=project.mentors,
                results=project.results,
                status="completed" if pool is not None else "draft",
                completed_at=issued_at if pool is not None else None,
                created_at=issued_at,
            )
            ids["project"] += 1
            rows_projects.append(new.model_dump())
            mine = []
            for f in files:
                d = Deliverable(
                    **{**f.model_dump(), "id": ids["deliverable"], "project_id": new.id}
                )
                ids["deliverable"] += 1
                mine.append(d)
                rows_files.append(d.model_dump())
            if pool is None:
                seeded.draft_project_ids.append(new.id or 0)
                continue
            credential_id = str(uuid.uuid4())
            seeded.issued_ids.append(credential_id)
            unsigned = completion.build_credential(
                ctx,
                credential_id=credential_id,
                issuer=issuer,
                version=template.version,
                candidate=candidate,
                project=new,
                files=mine,
                now=issued_at,
                # The service's own allocation, as at completion: one revocation entry.
                credential_status=status_lists.allocate_entries(
                    session, ctx, issuer, credential_id, purposes=status_lists.OB_PURPOSES
                )[0],
            )
            jobs.append((unsigned, issued_at))
            stored.append(
                {
                    "id": credential_id,
                    "issuer_id": issuer.id or 0,
                    "project_id": new.id,
                    "candidate_id": n,
                    "achievement_version_id": template.version.id,
                    "issued_at": issued_at,
                }
            )
    # Candidates through the ORM, so whatever the models keep beside a candidate (mapper
    # events) is kept for these too.
    session.add_all(candidates)
    session.flush()
    _bulk(session, _table(Portfolio), portfolios)
    _bulk(session, _table(Project), rows_projects)
    _bulk(session, _table(Deliverable), rows_files)
    if pool is not None and jobs:
        documents = pool.map(_sign, jobs, chunksize=8)
        for values, document in zip(stored, documents, strict=True):
            values["document"] = document
        _bulk(session, _table(Credential), stored)
    return len(stored)


def _sample(session: Session, seeded: Seeded, samples: int) -> None:
    """Fill the samples the benchmark's requests use, spread over what was seeded."""
    ids = seeded.issued_ids
    rng = random.Random(7)
    seeded.credential_ids = rng.sample(ids, min(samples, len(ids)))
    full = (
        select(Portfolio.handle)
        .join(Credential, col(Credential.candidate_id) == col(Portfolio.candidate_id))
        .group_by(col(Portfolio.handle))
        .having(func.count() == seeded.per_portfolio)
    )
    handles = list(session.exec(full).all())
    seeded.portfolio_handles = rng.sample(handles, min(samples, len(handles)))
    some = seeded.credential_ids[: max(1, samples // 4)]
    seeded.documents = [
        session.exec(select(Credential.document).where(Credential.id == i)).one() for i in some
    ]
