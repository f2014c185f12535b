"""New bulk rows are issued in groups, one transaction (one commit) per group, on SQLite and
PostgreSQL: a crash inside a group leaves none of its rows, a key another run claims
meanwhile sends the group back to the one-row path, and runs at the same moment (real
threads) still issue each row once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session

from badgeworks.db.console import BulkRow
from badgeworks.db.models import Issuer
from badgeworks.services.issuance import bulk
from badgeworks.services.issuance.models import BatchRowResult
from badgeworks.services.programs import issuers
from tests.issuer_app import ACHIEVEMENT, IssuerHandle

HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name,external_id\n"


@pytest.fixture
def achievement(client: TestClient, acme: IssuerHandle) -> int:
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/achievements", json=ACHIEVEMENT, headers=acme.auth
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture
def no_time_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Groups end by their size only (a slow machine would otherwise end them earlier)."""
    monkeypatch.setattr(bulk, "GROUP_SECONDS", 3600.0)
    yield
    bulk.checkpoint = None


def _rows(app: FastAPI, slug: str, achievement: int, n: int) -> list[bulk.BatchRow]:
    data = HEADER + "".join(
        f"{achievement},Person {i},p{i}@example.org,Project {i},Host,row-{i}\n" for i in range(n)
    )
    with app.state.session_factory() as session:
        checked = bulk.check(session, issuers.get_issuer(session, slug), data.encode())
    assert not checked.problems, checked.problems
    return checked.good


def _issue(app: FastAPI, slug: str, rows: list[bulk.BatchRow]) -> list[BatchRowResult]:
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, slug)
        return bulk.issue_rows(session, app.state.ctx, issuer, rows, actor="test")


def _per_email(app: FastAPI) -> Counter[str]:
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.email FROM credential AS k "
                "JOIN candidate_email AS e ON e.candidate_id = k.candidate_id"
            )
        ).all()
    return Counter(email for (email,) in rows)


def _marks(app: FastAPI) -> int:
    with app.state.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM bulk_row")).scalar_one())


def test_new_rows_commit_once_per_group(
    app: FastAPI, acme: IssuerHandle, achievement: int, no_time_limit: None
) -> None:
    rows = _rows(app, acme.slug, achievement, bulk.GROUP + 2)
    commits = [0]

    def count(_conn: Any) -> None:
        commits[0] += 1

    event.listen(app.state.engine, "commit", count)
    try:
        results = _issue(app, acme.slug, rows)
    finally:
        event.remove(app.state.engine, "commit", count)
    assert [r.outcome for r in results] == ["issued"] * len(rows)
    # The batch's look-up, then two groups (GROUP rows, then 2); not five per row.
    assert commits[0] == 3
    assert set(_per_email(app).values()) == {1} and len(_per_email(app)) == len(rows)


class Killed(Exception):
    """Stands for the process dying at a hook point."""


def test_a_crash_inside_a_group_leaves_none_of_its_rows_and_a_rerun_issues_each_once(
    app: FastAPI, acme: IssuerHandle, achievement: int, no_time_limit: None
) -> None:
    rows = _rows(app, acme.slug, achievement, 5)
    seen: list[str] = []

    def die_at_the_third_project(stage: str) -> None:
        seen.append(stage)
        if seen.count("project") == 3:
            raise Killed

    bulk.checkpoint = die_at_the_third_project
    with pytest.raises(Killed):
        _issue(app, acme.slug, rows)
    # Two rows had their credential signed and stored, but nothing was committed.
    assert _per_email(app) == Counter() and _marks(app) == 0
    bulk.checkpoint = None
    results = _issue(app, acme.slug, rows)
    assert [r.outcome for r in results] == ["issued"] * 5
    assert _per_email(app) == Counter({f"p{i}@example.org": 1 for i in range(5)})
    again = _issue(app, acme.slug, rows)
    assert [r.reason for r in again] == ["already_issued"] * 5
    assert [r.credential_id for r in again] == [r.credential_id for r in results]


def test_a_key_claimed_by_another_run_meanwhile_sends_the_group_to_the_one_row_path(
    app: FastAPI, acme: IssuerHandle, achievement: int, no_time_limit: None
) -> None:
    rows = _rows(app, acme.slug, achievement, 6)
    with app.state.session_factory() as session:
        issuer_id = issuers.get_issuer(session, acme.slug).id or 0

    def other_run_claims_row_3(stage: str) -> None:
        # After the batch's look-up, before the group writes: another run takes row 3.
        bulk.checkpoint = None
        with Session(app.state.engine) as other:
            other.add(
                BulkRow(
                    issuer_id=issuer_id,
                    row_key=rows[2].key,
                    line=rows[2].line,
                    created_at=app.state.ctx.clock(),
                )
            )
            other.commit()

    bulk.checkpoint = lambda stage: other_run_claims_row_3(stage) if stage == "row" else None
    results = _issue(app, acme.slug, rows)
    assert [r.outcome for r in results] == ["issued"] * 5 + ["issued"]
    assert results[2].reason is None and results[2].credential_id
    assert _per_email(app) == Counter({f"p{i}@example.org": 1 for i in range(6)})
    assert _marks(app) == 6


def test_runs_at_the_same_moment_issue_each_row_once(
    app: FastAPI, acme: IssuerHandle, achievement: int
) -> None:
    rows = _rows(app, acme.slug, achievement, 2 * bulk.GROUP + 3)
    barrier = threading.Barrier(3)
    answers: list[Any] = [None] * 3

    def run(i: int) -> None:
        with app.state.session_factory() as session:
            issuer = session.get(Issuer, issuers.get_issuer(session, acme.slug).id)
            assert issuer is not None
            barrier.wait(30)
            try:
                answers[i] = bulk.issue_rows(session, app.state.ctx, issuer, rows, actor="t")
            except Exception as exc:  # the assertion below shows it
                answers[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(isinstance(a, list) for a in answers), answers
    per_email = _per_email(app)
    assert len(per_email) == len(rows) and set(per_email.values()) == {1}, per_email
    by_line: dict[int, set[str | None]] = {}
    for answer in answers:
        for r in answer:
            assert r.outcome in ("issued", "skipped"), r
            by_line.setdefault(r.line, set()).add(r.credential_id)
    assert all(len(ids) == 1 for ids in by_line.values()), by_line
