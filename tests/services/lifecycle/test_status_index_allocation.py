"""Status indexes come from each list's slot counter through a keyed permutation: never
handed out twice (also next to indexes drawn at random before), in no issue order, in two
statements, and unique under concurrent threads and processes on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import random
import threading
import uuid
from collections import Counter
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs import issuers
from badgeworks.settings import Settings
from tests.issuer_app import IssuerHandle
from tests.plain_credentials import issue_plain
from tests.servers import child_settings
from tests.services.lifecycle.test_killed_and_concurrent_processes import _run


def test_the_permutation_gives_every_index_of_a_list_exactly_once() -> None:
    key = b"k" * 32
    for size in (1, 2, 3, 7, 64, 100, 257, 1000):
        assert sorted(status_lists.permute(key, s, size) for s in range(size)) == list(range(size))
    size = status_lists.LIST_ENTRIES
    seen = bytearray(size)
    for slot in range(size):
        seen[status_lists.permute(key, slot, size)] += 1
    assert set(seen) == {1}


def test_the_order_depends_on_the_key_and_not_on_the_slot() -> None:
    size = status_lists.LIST_ENTRIES
    first = [status_lists.permute(b"a" * 32, s, size) for s in range(50)]
    other = [status_lists.permute(b"b" * 32, s, size) for s in range(50)]
    assert first != other
    assert first != sorted(first)
    # Consecutive slots land far apart: no run of neighbouring indexes.
    assert sum(1 for a, b in itertools.pairwise(first) if abs(a - b) < 64) <= 2


def _list(session: Session) -> StatusList:
    return session.exec(
        select(StatusList).where(StatusList.purpose == "revocation", StatusList.number == 1)
    ).one()


def _shrink(app: FastAPI, client: TestClient, acme: IssuerHandle, entries: int) -> set[int]:
    """Issue one credential (list 1 exists), then make list 1 ``entries`` long; its taken
    indexes."""
    issue_plain(client, acme)
    with app.state.session_factory() as session:
        listed = _list(session)
        taken = set(
            session.exec(select(StatusEntry.index).where(StatusEntry.list_id == listed.id)).all()
        )
        listed.entries = entries
        session.add(listed)
        session.commit()
    return {i for i in taken if i < entries}


def _allocate(app: FastAPI, count: int) -> list[tuple[int, int]]:
    ctx = app.state.ctx
    out = []
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, "acme")
        for _ in range(count):
            out.append(status_lists.allocate(session, ctx, issuer, str(uuid.uuid4()), "revocation"))
            session.commit()
    return out


def test_indexes_are_never_reused_next_to_earlier_random_ones_and_a_full_list_moves_on(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    size = 60
    before = _shrink(app, client, acme, size)
    # Indexes drawn at random by an earlier release: the counter knows nothing of them.
    earlier = set(random.Random(3).sample(sorted(set(range(size)) - before), 20))
    with app.state.session_factory() as session:
        listed = _list(session)
        session.execute(
            StatusEntry.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"list_id": listed.id, "index": i, "purpose": "revocation", "credential_id": c}
                for i, c in ((i, f"e{i}") for i in sorted(earlier))
            ],
        )
        session.commit()
    free = size - len(before) - len(earlier)
    got = _allocate(app, free + 3)
    in_first = [index for number, index in got if number == 1]
    assert len(in_first) == free == len(set(in_first))
    assert not set(in_first) & (before | earlier)
    assert set(in_first) | before | earlier == set(range(size))
    assert [number for number, _ in got[free:]] == [2, 2, 2]
    with app.state.session_factory() as session:
        claimed = Counter((e.list_id, e.index) for e in session.exec(select(StatusEntry)).all())
    assert max(claimed.values()) == 1


def test_an_index_takes_two_statements(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    issue_plain(client, acme)
    ctx = app.state.ctx
    engine = app.state.engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, "acme")
        event.listen(engine, "before_cursor_execute", record)
        try:
            for _ in range(20):
                status_lists.allocate(session, ctx, issuer, str(uuid.uuid4()), "revocation")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        session.commit()
    assert len(seen) == 40, seen[:6]


THREADS = 6
PER_THREAD = 25


def test_concurrent_threads_never_share_an_index_even_across_a_full_list(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    _shrink(app, client, acme, 80)  # 150 allocations fill list 1 and go on in list 2
    failures: list[BaseException] = []
    results: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work() -> None:
        try:
            start.wait()
            got = _allocate(app, PER_THREAD)
            with lock:
                results.extend(got)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures[:3]
    assert len(results) == len(set(results)) == THREADS * PER_THREAD
    assert {number for number, _ in results} == {1, 2}
    with app.state.session_factory() as session:
        claimed = Counter((e.list_id, e.index) for e in session.exec(select(StatusEntry)).all())
    assert max(claimed.values()) == 1


def test_concurrent_processes_never_share_an_index(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings
) -> None:
    _shrink(app, client, acme, 50)
    script = """
        import uuid
        got = []
        with factory() as session:
            issuer = issuers.get_issuer(session, "acme")
            for _ in range(args["count"]):
                got.append(
                    status_lists.allocate(session, ctx, issuer, str(uuid.uuid4()), "revocation")
                )
                session.commit()
        print(json.dumps(got))
        """
    procs = [_run(script, {"settings": child_settings(settings), "count": 30}) for _ in range(3)]
    results: list[tuple[int, int]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        results += [tuple(pair) for pair in json.loads(out.strip().splitlines()[-1])]
    assert len(results) == len(set(results)) == 90
    assert {number for number, _ in results} == {1, 2}
