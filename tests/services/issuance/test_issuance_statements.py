"""Statements per credential: completing a project stays under its bound, and bulk rows cost
the same whether 10 or 1,000 candidates are stored (looked up by the indexed email, in one
query per batch, never read all), on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import select

from badgeworks.db.models import Candidate, CandidateEmail
from badgeworks.services.issuance import bulk, completion
from badgeworks.services.programs import issuers
from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.plain_credentials import issue_plain

#: Reads (no write lock): the project with its candidate and achievement version in one
#: join, deliverables, the id reservation, editions, the issuer's key. The revocation slot
#: in a transaction of its own: (SQLite: BEGIN IMMEDIATE,) the counter bump. The store,
#: in one short transaction: (SQLite: BEGIN IMMEDIATE,) the project's compare-and-set,
#: the deliverables read again (a change meanwhile means signing again), the status entry,
#: the audit event, the credential. PostgreSQL has no BEGIN IMMEDIATE.
COMPLETE_PROJECT_STATEMENTS = {"sqlite": 13, "postgresql": 11}


@contextmanager
def _counting(app: FastAPI) -> Iterator[dict[str, Any]]:
    engine = app.state.engine
    seen: dict[str, Any] = {"statements": [], "candidates_loaded": 0}

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen["statements"].append(statement)

    def loaded(_target: Any, _context: Any) -> None:
        seen["candidates_loaded"] += 1

    event.listen(engine, "before_cursor_execute", record)
    event.listen(Candidate, "load", loaded)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(Candidate, "load", loaded)


def test_completing_a_project_runs_a_bounded_number_of_statements(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    issue_plain(client, acme)  # the issuer's status list exists
    project = draft_project(client, acme)["project"]
    ctx = app.state.ctx
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, acme.slug)
        with _counting(app) as seen:
            row = completion.complete_project(session, ctx, issuer, project, actor="test")
        assert row.project_id == project
    statements = seen["statements"]
    dialect = app.state.engine.dialect.name
    assert len(statements) == COMPLETE_PROJECT_STATEMENTS[dialect], statements
    if dialect == "sqlite":
        # The slot's transaction starts with its bump; the store's holds four writes and
        # one read, of the deliverables, and nothing else (signing happened before it
        # began: see test_completion_signs_outside_the_write_lock.py).
        begins = [i for i, s in enumerate(statements) if s == "BEGIN IMMEDIATE"]
        assert len(begins) == 2
        assert statements[begins[0] + 1].startswith("UPDATE status_list SET next_slot")
        store = [
            " ".join(s.split()).split(" (")[0].split(" SET ")[0].split(" WHERE ")[0]
            for s in statements[begins[1] + 1 :]
        ]
        assert sorted(store) == [
            "INSERT INTO audit_event",
            "INSERT INTO credential",
            "INSERT INTO status_entry",
            "SELECT deliverable.id, deliverable.sha256 FROM deliverable",
            "UPDATE project",
        ], store
    r = client.get(f"/credentials/{row.id}.json")
    assert r.status_code == 200 and r.json()["id"].endswith(row.id)


def _seed_candidates(app: FastAPI, issuer_id: int, first: int, count: int, base: int) -> None:
    """Plain inserts (no ORM, no audit): ``count`` candidates with one email each, with ids
    from ``base`` (above those the service hands out meanwhile)."""
    with app.state.engine.begin() as conn:
        ids = range(first, first + count)
        conn.execute(
            Candidate.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "id": base + i,
                    "issuer_id": issuer_id,
                    "name": f"Stored {i}",
                    "emails": [f"stored{i}@example.org"],
                    "salt": secrets.token_hex(16),
                    "created_at": NOW,
                }
                for i in ids
            ],
        )
        conn.execute(
            CandidateEmail.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "candidate_id": base + i,
                    "issuer_id": issuer_id,
                    "email": f"stored{i}@example.org",
                }
                for i in ids
            ],
        )


HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name,external_id\n"


def _csv(achievement: int, tag: str, stored: list[int]) -> bytes:
    lines = [
        f"{achievement},New {tag}{n},new-{tag}{n}@example.org,P {tag}{n},H,{tag}{n}"
        for n in range(3)
    ]
    lines += [
        f"{achievement},Stored {i},stored{i}@example.org,P {tag}s{i},H,{tag}s{i}" for i in stored
    ]
    return (HEADER + "\n".join(lines) + "\n").encode()


def _issue(app: FastAPI, slug: str, data: bytes) -> dict[str, Any]:
    ctx = app.state.ctx
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, slug)
        checked = bulk.check(session, issuer, data)
        assert not checked.problems, checked.problems
        with _counting(app) as seen:
            results = bulk.issue_rows(session, ctx, issuer, checked.good, actor="test")
    assert [r.outcome for r in results] == ["issued"] * len(checked.good), results
    return seen


def test_bulk_rows_cost_the_same_with_10_and_with_1000_stored_candidates(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    achievement = draft_project(client, acme)["achievement"]
    with app.state.session_factory() as session:
        issuer_id = issuers.get_issuer(session, acme.slug).id or 0
    _seed_candidates(app, issuer_id, 0, 10, base=1_000_000)
    _issue(app, acme.slug, _csv(achievement, "w", []))  # lists and keys exist from here
    few = _issue(app, acme.slug, _csv(achievement, "a", [1, 2]))
    _seed_candidates(app, issuer_id, 10, 990, base=2_000_000)
    many = _issue(app, acme.slug, _csv(achievement, "b", [3, 500]))
    assert len(many["statements"]) == len(few["statements"])
    # Only the rows' own candidates are read (by completion), never the stored ones.
    assert many["candidates_loaded"] == few["candidates_loaded"] <= 2 * 5
    with app.state.session_factory() as session:
        found = session.exec(
            select(CandidateEmail.candidate_id).where(
                CandidateEmail.email == "stored500@example.org"
            )
        ).all()
    assert found == [2_000_500]  # the stored candidate was found, not made again


def _emails_of(app: FastAPI, candidate_id: int) -> list[str]:
    with app.state.session_factory() as session:
        return sorted(
            session.exec(
                select(CandidateEmail.email).where(CandidateEmail.candidate_id == candidate_id)
            ).all()
        )


def test_the_email_index_follows_a_candidates_emails(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/candidates",
        json={"name": "Ada", "emails": ["Ada@Example.org", "ada@work.example"]},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    candidate = r.json()["id"]
    assert _emails_of(app, candidate) == ["ada@example.org", "ada@work.example"]
    r = client.patch(
        f"/api/v1/candidates/{candidate}",
        json={"emails": ["ada@new.example"]},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    assert _emails_of(app, candidate) == ["ada@new.example"]
    r = client.patch(
        f"/api/v1/candidates/{candidate}",
        json={"name": "Ada L."},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    assert _emails_of(app, candidate) == ["ada@new.example"]
