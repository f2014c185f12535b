"""Status lists under attack: every status change lands in the signed list or fails.

Each test drives a real server (uvicorn on loopback, in this process and in a second
process on the same database) on SQLite and on PostgreSQL, then reads the served, signed
lists and compares every bit with what the database's rows say: a revocation row means
the revocation bit is set, the last suspend/unsuspend change decides the suspension bit,
a withdrawn endorsement has its bit set in its endorser's list.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from badgeworks.cli_service import service_commands
from badgeworks.core.status import decode_list
from badgeworks.core.verification.credential import verify
from badgeworks.db.endorsements import Endorsement
from badgeworks.db.models import EndorserStatusEntry, EndorserStatusList, Revocation
from badgeworks.db.status import StatusChange, StatusEntry, StatusList
from badgeworks.services.errors import ConflictError
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs import issuers
from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.issuer_app import IssuerHandle, draft_project, make_issuer
from tests.mentor_reviews import invite, open_form, review_path
from tests.plain_credentials import issue_plain, path_of, row_id
from tests.servers import child_settings, free_port, serve

#: Imports the app once, then forks a server per request line (JSON: settings and port)
#: and answers with the child's pid: a restart after kill -9 costs a fork, not an import.
ZYGOTE = """
import json, os, signal, sys
from datetime import UTC, datetime
import uvicorn
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed children are reaped at once
for line in sys.stdin:
    args = json.loads(line)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        app = create_app(
            get_settings(**args["settings"]), clock=lambda: datetime(2025, 6, 1, 12, tzinfo=UTC)
        )
        uvicorn.run(app, host="127.0.0.1", port=args["port"], log_level="warning")
        os._exit(0)
    print(pid, flush=True)
"""


class Servers:
    """Server processes on a test's database, forked from one pre-imported process."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.zygote = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.pids: list[int] = []

    def start(self, settings: Settings) -> tuple[int, str]:
        """A new server process; its pid and base URL, once it answers."""
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        port = free_port()
        request = {"settings": child_settings(settings), "port": port}
        self.zygote.stdin.write(json.dumps(request) + "\n")
        self.zygote.stdin.flush()
        pid = int(self.zygote.stdout.readline())
        self.pids.append(pid)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                return pid, base
            except httpx.TransportError:
                os.kill(pid, 0)  # raises if the server died starting
                time.sleep(0.05)
        raise RuntimeError("the server process did not start")

    def kill(self, pid: int) -> None:
        """kill -9, and wait until the process is gone."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)

    def close(self) -> None:
        for pid in self.pids:
            self.kill(pid)
        if self.zygote.stdin is not None:
            self.zygote.stdin.close()
        try:
            self.zygote.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.zygote.kill()
            self.zygote.wait()


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    pool = Servers()
    try:
        yield pool
    finally:
        pool.close()


@contextmanager
def _server_process(servers: Servers, settings: Settings) -> Iterator[str]:
    pid, base = servers.start(settings)
    try:
        yield base
    finally:
        servers.kill(pid)


Call = Callable[[httpx.Client], httpx.Response]


def _at_once(
    calls: list[Call], on_release: Callable[[], None] | None = None
) -> list[httpx.Response | Exception]:
    """Run ``calls`` in threads released together (calling ``on_release`` as they are);
    their responses (or errors), in order.

    One client is built beforehand and shared: building one per thread (an SSL context
    each) would spread the requests out instead of sending them at once.
    """
    barrier = threading.Barrier(len(calls), action=on_release)
    results: list[httpx.Response | Exception] = [RuntimeError("not run")] * len(calls)
    limits = httpx.Limits(max_connections=len(calls))
    with httpx.Client(timeout=60, limits=limits) as http:

        def run(i: int) -> None:
            barrier.wait(timeout=30)
            try:
                results[i] = calls[i](http)
            except Exception as exc:  # reported by the test
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    return results


def _post(base: str, who: IssuerHandle, path: str) -> Call:
    return lambda http: http.post(base + path, json={}, headers=who.auth)


def _set_indexes(bits: bytes) -> set[int]:
    found = set()
    for byte_index, byte in enumerate(bits):
        if byte:
            for bit in range(8):
                if byte & (0x80 >> bit):
                    found.add(byte_index * 8 + bit)
    return found


def _expected(session: Session, listed: StatusList | EndorserStatusList) -> set[int]:
    """The indexes whose bit the database's rows say must be set."""
    if isinstance(listed, EndorserStatusList):
        withdrawn = set(
            session.exec(
                select(Endorsement.id).where(col(Endorsement.withdrawn_at).is_not(None))
            ).all()
        )
        entries = session.exec(
            select(EndorserStatusEntry).where(EndorserStatusEntry.list_id == listed.id)
        ).all()
        return {e.index for e in entries if e.credential_id in withdrawn}
    entries_ = session.exec(select(StatusEntry).where(StatusEntry.list_id == listed.id)).all()
    if listed.purpose == "revocation":
        revoked = set(session.exec(select(Revocation.credential_id)).all())
        return {e.index for e in entries_ if e.credential_id in revoked}
    suspended: dict[str, bool] = {}
    for change in session.exec(select(StatusChange).order_by(col(StatusChange.id))):
        if change.action in ("suspend", "unsuspend"):
            suspended[change.credential_id] = change.action == "suspend"
    return {e.index for e in entries_ if suspended.get(e.credential_id)}


def _assert_lists_match_rows(app: FastAPI, fetch: Callable[[str], httpx.Response]) -> int:
    """Every served list verifies and carries exactly the bits the rows say; the number of
    set bits checked."""
    checked = 0
    with app.state.session_factory() as session:
        rows: list[Any] = [
            *session.exec(select(StatusList)),
            *session.exec(select(EndorserStatusList)),
        ]
        assert rows
        for listed in rows:
            url = json.loads(listed.document)["id"]
            r = fetch(path_of(url))
            assert r.status_code == 200, r.text
            served = r.json()
            # Repaired lists are signed now; the others at the tests' fixed clock.
            verified = verify(served, loader=app.state.ctx.loader, now=datetime.now(UTC))
            assert verified.verified, url
            bits = decode_list(served["credentialSubject"]["encodedList"])
            expected = _expected(session, listed)
            assert _set_indexes(bits) == expected, (url, listed.version)
            assert bits == listed.bits
            checked += len(expected)
    return checked


def test_simultaneous_revocations_from_two_processes_all_land_in_the_signed_list(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings, servers: Servers
) -> None:
    ids = [row_id(issue_plain(client, acme)) for _ in range(14)]
    with serve(app) as here, _server_process(servers, settings) as there:
        results = _at_once(
            [
                _post(here if n % 3 else there, acme, f"/api/v1/credentials/{cid}/revoke")
                for n, cid in enumerate(ids)
            ]
        )
        assert [getattr(r, "status_code", r) for r in results] == [200] * len(ids)
        assert _assert_lists_match_rows(app, lambda p: httpx.get(here + p, timeout=30)) == 14
        # Revoking again is refused, and the list still says revoked.
        r = httpx.post(f"{there}/api/v1/credentials/{ids[0]}/revoke", json={}, headers=acme.auth)
        assert r.status_code == 409 and r.json()["code"] == "status.already_revoked"


def test_every_kind_of_change_at_once_lands_in_the_signed_lists(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings, servers: Servers
) -> None:
    ids = [row_id(issue_plain(client, acme)) for _ in range(14)]
    for cid in ids[:4]:
        r = client.post(f"/api/v1/credentials/{cid}/suspend", json={}, headers=acme.auth)
        assert r.status_code == 200, r.text
    actions = (
        ["unsuspend"] * 4 + ["suspend"] * 3 + ["revoke"] * 3 + ["reissue"] * 2 + ["expire"] * 2
    )
    with serve(app) as here, _server_process(servers, settings) as there:
        results = _at_once(
            [
                _post(here if n % 2 else there, acme, f"/api/v1/credentials/{cid}/{action}")
                for n, (cid, action) in enumerate(zip(ids, actions, strict=True))
            ]
        )
        codes = [getattr(r, "status_code", r) for r in results]
        assert codes == [201 if a in ("reissue", "expire") else 200 for a in actions], codes
        assert _assert_lists_match_rows(app, lambda p: httpx.get(here + p, timeout=30)) >= 7


def _endorse(client: TestClient, who: IssuerHandle) -> str:
    """A new project endorsed by Grace (one mentor: one list); the endorsement's id."""
    ids = draft_project(client, who)
    path = review_path(invite(client, who, ids["project"]))
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "Excellent."})
    assert r.status_code == 201, r.text
    return str(r.json()["url"]).rsplit("/", 1)[1]


def test_simultaneous_endorsement_withdrawals_all_land_in_the_mentors_list(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings, servers: Servers
) -> None:
    endorsed = [_endorse(client, acme) for _ in range(4)]
    with serve(app) as here, _server_process(servers, settings) as there:
        results = _at_once(
            [
                _post(here if n % 2 else there, acme, f"/api/v1/endorsements/{eid}/withdraw")
                for n, eid in enumerate(endorsed)
            ]
        )
        assert [getattr(r, "status_code", r) for r in results] == [200] * len(endorsed)
        assert _assert_lists_match_rows(app, lambda p: httpx.get(here + p, timeout=30)) == 4
    with app.state.session_factory() as session:
        assert len(session.exec(select(EndorserStatusList)).all()) == 1
        assert status_lists.check(session) == []
        # A lost withdrawal is found and repaired in the mentor's list too.
        listed = session.exec(select(EndorserStatusList)).one()
        listed.bits = bytes(len(listed.bits))
        session.add(listed)
        session.commit()
        (drift,) = status_lists.check(session)
        assert (drift.missing, drift.extra, drift.document_stale) == (4, 0, True)
        assert status_lists.repair(session, app.state.ctx) == [drift]
    assert _assert_lists_match_rows(app, client.get) == 4


def test_a_change_that_cannot_get_the_lock_fails_cleanly_and_changes_nothing(
    app: FastAPI, client: TestClient, acme: IssuerHandle, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL waits on row locks instead")
    cid = row_id(issue_plain(client, acme))
    ctx = app.state.ctx
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with app.state.session_factory() as session:
            session.connection().exec_driver_sql("PRAGMA busy_timeout=200")
            issuer = issuers.get_issuer(session, "acme")
            with pytest.raises(ConflictError) as caught:
                lifecycle.revoke(session, ctx, issuer, cid, reason="", actor="test")
            assert caught.value.code == "status.busy"
            session.connection().exec_driver_sql("PRAGMA busy_timeout=30000")
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    r = client.post(f"/api/v1/credentials/{cid}/revoke", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text  # nothing was half-done: the retry works
    assert _assert_lists_match_rows(app, client.get) == 1


def test_an_id_holding_an_entry_in_another_owners_list_is_refused_at_once(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The (credential, purpose) pair is unique across every issuer's lists: allocating
    # for an id another issuer's credential holds can never succeed, so it must not draw.
    cid = row_id(issue_plain(client, acme))
    globex = make_issuer(app, "globex")
    ctx = app.state.ctx
    with app.state.session_factory() as session:
        other = issuers.get_issuer(session, globex.slug)
        draws = 0
        real_claim = status_lists._claim

        def counting_claim(*args: Any) -> bool:
            nonlocal draws
            draws += 1
            return real_claim(*args)

        monkeypatch.setattr(status_lists, "_claim", counting_claim)
        with pytest.raises(ConflictError) as caught:
            status_lists.allocate(session, ctx, other, cid, "revocation")
        session.rollback()
    assert caught.value.code == "status.duplicate"
    assert draws == 1


def _runner_env(settings: Settings) -> dict[str, str]:
    return {
        "BADGEWORKS_DATA_DIR": str(settings.data_dir),
        "BADGEWORKS_DATABASE_URL": settings.resolved_database_url,
        "BADGEWORKS_KEY_SECRET": settings.key_secret.get_secret_value()
        if settings.key_secret
        else "",
        "BADGEWORKS_PUBLIC_BASE_URL": settings.public_base_url,
    }


def _lose_bit(app: FastAPI, cid: str) -> StatusList:
    """What a lost update leaves: the credential's bit cleared in a list re-signed as it is."""
    ctx = app.state.ctx
    session: Session
    with app.state.session_factory() as session:
        entry = session.exec(
            select(StatusEntry).where(
                StatusEntry.credential_id == cid, StatusEntry.purpose == "revocation"
            )
        ).one()
        listed = session.get(StatusList, entry.list_id)
        assert listed is not None
        bits = bytearray(listed.bits)
        bits[entry.index // 8] &= ~(0x80 >> (entry.index % 8)) & 0xFF
        listed.bits = bytes(bits)
        listed.version += 1
        listed.document = status_lists.signed_document(session, ctx, listed, bytes(bits))
        session.add(listed)
        session.commit()
        session.refresh(listed)
        return listed


def test_repair_finds_and_re_signs_only_the_drifted_lists(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = [row_id(issue_plain(client, acme)) for _ in range(3)]
    for cid in ids[:2]:
        r = client.post(f"/api/v1/credentials/{cid}/revoke", json={}, headers=acme.auth)
        assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/credentials/{ids[2]}/suspend", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text
    lost = _lose_bit(app, ids[0])
    with app.state.session_factory() as session:
        suspension = session.exec(
            select(StatusList).where(StatusList.purpose == "suspension")
        ).one()
    runner = CliRunner()
    env = _runner_env(settings)

    checked = runner.invoke(service_commands, ["status", "repair", "--check"], env=env)
    assert checked.exit_code == 1, checked.output
    assert "/status/acme/revocation/1" in checked.output
    assert "1 bit" in checked.output
    assert "suspension" not in checked.output

    # Start-up says so too, once, in one pass over the lists.
    with caplog.at_level(logging.WARNING, logger="badgeworks.status"):
        create_app(settings).state.engine.dispose()
    warned = [r.getMessage() for r in caplog.records if r.name == "badgeworks.status"]
    assert len(warned) == 1 and "badgeworks status repair" in warned[0], warned

    repaired = runner.invoke(service_commands, ["status", "repair"], env=env)
    assert repaired.exit_code == 0, repaired.output
    assert "repaired" in repaired.output
    with app.state.session_factory() as session:
        after = session.get(StatusList, lost.id)
        untouched = session.get(StatusList, suspension.id)
        assert after is not None and untouched is not None
        assert after.version == lost.version + 1
        assert untouched.version == suspension.version
    assert _assert_lists_match_rows(app, client.get) == 3
    again = runner.invoke(service_commands, ["status", "repair", "--check"], env=env)
    assert again.exit_code == 0, again.output
    assert "no drift" in again.output


def test_a_signed_document_that_disagrees_with_its_bits_is_drift(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    cid = row_id(issue_plain(client, acme))
    with app.state.session_factory() as session:
        listed = session.exec(select(StatusList).where(StatusList.purpose == "revocation")).one()
        stale = listed.document
    r = client.post(f"/api/v1/credentials/{cid}/revoke", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text
    with app.state.session_factory() as session:
        row = session.get(StatusList, listed.id)
        assert row is not None
        row.document = stale  # the bits say revoked, the served document does not
        session.add(row)
        session.commit()
        drift = status_lists.check(session)
        assert [(d.url.rsplit("/", 3)[-3:], d.document_stale) for d in drift] == [
            (["acme", "revocation", "1"], True)
        ]
        assert status_lists.repair(session, app.state.ctx) == drift
        assert status_lists.check(session) == []
    assert _assert_lists_match_rows(app, client.get) == 1


ROUNDS = 3
PER_ROUND = 8


def test_a_server_killed_during_status_changes_leaves_lists_equal_to_the_database(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings, servers: Servers
) -> None:
    ids = [row_id(issue_plain(client, acme)) for _ in range(ROUNDS * PER_ROUND)]
    rng = random.Random(7)
    outcomes: list[int | str] = []
    for n in range(ROUNDS):
        pid, base = servers.start(settings)
        batch = ids[n * PER_ROUND : (n + 1) * PER_ROUND]
        actions = ["revoke", "suspend", "reissue", "revoke"] * (PER_ROUND // 4)
        answered = threading.Event()

        def call(
            http: httpx.Client, post: Call, answered: threading.Event = answered
        ) -> httpx.Response:
            response = post(http)
            answered.set()
            return response

        calls: list[Call] = [
            partial(call, post=_post(base, acme, f"/api/v1/credentials/{cid}/{action}"))
            for cid, action in zip(batch, actions, strict=True)
        ]

        def kill(pid: int = pid, answered: threading.Event = answered) -> None:
            # kill -9 once the first change is answered, while the others still run.
            answered.wait(timeout=60)
            time.sleep(rng.random() * 0.05)
            servers.kill(pid)

        killer = threading.Thread(target=kill)
        results = _at_once(calls, on_release=killer.start)
        killer.join()
        outcomes += [getattr(r, "status_code", type(r).__name__) for r in results]
    assert any(o in (200, 201) for o in outcomes), outcomes
    _assert_lists_match_rows(app, client.get)
    with app.state.session_factory() as session:
        assert status_lists.check(session) == []
