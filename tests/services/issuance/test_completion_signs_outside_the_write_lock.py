"""Completing a project signs outside every write lock, and still issues exactly once.

The revocation index is reserved in a transaction of its own that commits at once; the
credential is signed holding no lock; one short transaction marks the project complete
(compare-and-set) and stores the credential. These tests, on SQLite and PostgreSQL:

- write to the database, and to the very status list row the completion reserved from,
  while the completion is signing (with no wait allowed);
- fail a completion after its reservation and check that slot is never handed out again;
- complete the same projects from two server processes at once (exactly one credential
  each, no index shared);
- kill a server with SIGKILL while it signs, then retry on a restarted server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from badgeworks.core.errors import SchemaError
from badgeworks.core.issue import issue as core_issue
from badgeworks.core.verification.credential import verify
from badgeworks.db.models import Credential, Project
from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.services.issuance import completion
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs import issuers
from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, draft_project, make_issuer
from tests.plain_credentials import issue_plain
from tests.servers import free_port
from tests.services.issuance.test_issuance_under_attack import at_once, draft, served


def _index(document: dict[str, Any]) -> tuple[str, int]:
    status = document["credentialStatus"]
    return status["statusListCredential"], int(status["statusListIndex"])


def _revocation_list(app: FastAPI) -> StatusList:
    with app.state.session_factory() as session:
        (row,) = session.exec(select(StatusList).where(StatusList.purpose == "revocation")).all()
        return row


def _next_slot(app: FastAPI) -> int:
    return _revocation_list(app).next_slot


def _write_without_waiting(app: FastAPI) -> None:
    """Take the database's write lock, and the status list row's lock, allowing no wait:
    fails if a completion holds either."""
    engine = app.state.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            raw: Any = conn.connection.driver_connection
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("UPDATE status_list SET updated_at = updated_at")
            raw.execute("ROLLBACK")
        else:
            with conn.begin():
                conn.execute(text("SET LOCAL lock_timeout = '50ms'"))
                conn.execute(text("UPDATE status_list SET updated_at = updated_at"))
                conn.execute(text("UPDATE project SET title = title"))


def test_signing_holds_no_write_lock_and_no_status_list_lock(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_plain(client, acme)  # the issuer's status list exists
    project = draft_project(client, acme)["project"]
    signed: list[dict[str, Any]] = []
    original = core_issue

    def sign_while_others_write(unsigned: dict[str, Any], *args: Any, **kw: Any) -> Any:
        _write_without_waiting(app)
        signed.append(unsigned)
        return original(unsigned, *args, **kw)

    monkeypatch.setattr(completion, "issue", sign_while_others_write)
    r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    assert len(signed) == 1
    assert _index(r.json()["credential"]) == _index(signed[0])


def test_a_slot_reserved_and_not_used_is_never_handed_out_again(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_plain(client, acme)
    project = draft_project(client, acme)["project"]
    before = _next_slot(app)
    lost: list[tuple[str, int]] = []

    def refuse(unsigned: dict[str, Any], *_args: Any, **_kw: Any) -> Any:
        lost.append(_index(unsigned))
        raise SchemaError("refused for the test", code="schema.invalid")

    with monkeypatch.context() as patched:
        patched.setattr(completion, "issue", refuse)
        r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 422, r.text
    assert _next_slot(app) == before + 1  # the slot was committed at once …
    with app.state.session_factory() as session:
        assert session.exec(select(Credential).where(Credential.project_id == project)).all() == []
        assert session.get(Project, project).status == "draft"
    # … and the retry gets the next slot, never the lost one.
    r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    assert _next_slot(app) == before + 2
    assert _index(r.json()["credential"]) != lost[0]
    others = [_index(draft_completed(client, acme)) for _ in range(5)]
    assert lost[0] not in others
    with app.state.session_factory() as session:
        taken = session.exec(
            select(StatusEntry.index).where(StatusEntry.purpose == "revocation")
        ).all()
        assert lost[0][1] not in taken and len(taken) == len(set(taken))
        assert status_lists.check(session) == []


def draft_completed(client: TestClient, who: IssuerHandle) -> dict[str, Any]:
    project = draft_project(client, who)["project"]
    r = client.post(f"/api/v1/projects/{project}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    document: dict[str, Any] = r.json()["credential"]
    return document


def test_a_project_edited_while_it_is_signed_is_signed_again_from_the_edit(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = draft_project(client, acme)["project"]
    original = core_issue
    titles: list[str] = []

    def edit_while_signing(unsigned: dict[str, Any], *args: Any, **kw: Any) -> Any:
        titles.append(unsigned["description"])
        if len(titles) == 1:
            # Waits 2 s at most for a lock, so a completion holding one fails the test.
            with app.state.engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA busy_timeout=2000")
                else:
                    conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                conn.execute(
                    text("UPDATE project SET title = 'Edited meanwhile' WHERE id = :id"),
                    {"id": project},
                )
        return original(unsigned, *args, **kw)

    monkeypatch.setattr(completion, "issue", edit_while_signing)
    r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    assert len(titles) == 2 and "Edited meanwhile" in titles[1]
    assert "Edited meanwhile" in r.json()["credential"]["description"]


# ------------------------------------------------------------ several processes at once

SERVER = """
import os, signal, sys
import uvicorn
from badgeworks.services.issuance import completion
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app

data_dir, database_url, secret, port, mode = sys.argv[1:6]
if mode == "die-while-signing":
    def die(*_args, **_kwargs):
        # The slot is reserved and committed; nothing else is. The process dies here.
        os.kill(os.getpid(), signal.SIGKILL)

    completion.issue = die
settings = get_settings(
    data_dir=data_dir,
    database_url=database_url,
    key_secret=secret,
    public_base_url=f"http://127.0.0.1:{port}",
)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(port), log_level="warning")
"""


@contextmanager
def server_process(
    database_url: str, tmp: Path, port: int, mode: str = "normal"
) -> Iterator[subprocess.Popen[bytes]]:
    """The app served by uvicorn in a process of its own on ``port``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [str(tmp / "data"), database_url, TEST_SECRET, str(port), mode]
    server = subprocess.Popen([sys.executable, "-c", SERVER, *args], env=env)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            while True:
                try:
                    http.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.1)
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def test_two_server_processes_completing_the_same_projects_issue_each_once(
    database_url: str, tmp_path: Path
) -> None:
    # The issuer's did:web names the first port: the last app serves there too.
    ports = [free_port(), free_port()]
    with served(database_url, tmp_path, port=ports[0]) as (app, http):
        acme = make_issuer(app, "acme")
        projects = [draft(http, acme) for _ in range(4)]
    with (
        server_process(database_url, tmp_path, ports[0]),
        server_process(database_url, tmp_path, ports[1]),
    ):
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) for port in ports]
        try:
            for project in projects:
                # Six requests for one project, three to each process, released together.
                def complete(i: int, project: int = project) -> httpx.Response:
                    return clients[i % 2].post(
                        f"/api/v1/projects/{project}/complete", headers=acme.auth
                    )

                answers = at_once(6, complete)
                seen = Counter((r.status_code, r.json().get("code")) for r in answers)
                assert seen == {(201, None): 1, (409, "project.already_completed"): 5}, [
                    r.text[:200] for r in answers
                ]
        finally:
            for c in clients:
                c.close()
    with served(database_url, tmp_path, port=ports[0]) as (app, http):
        with app.state.session_factory() as session:
            rows = session.exec(select(Credential)).all()
            assert sorted(r.project_id or 0 for r in rows) == sorted(projects)
            entries = session.exec(select(StatusEntry.list_id, StatusEntry.index)).all()
            assert len(entries) == len(set(entries)) == len(rows)
            assert status_lists.check(session) == []
            statuses = {p.id: p.status for p in session.exec(select(Project)).all()}
        assert all(statuses[p] == "completed" for p in projects)
        for row in rows:
            document = json.loads(row.document)
            report = verify(document, loader=app.state.ctx.loader, now=datetime.now(UTC))
            assert report.verified, report


def test_a_server_killed_while_signing_leaves_nothing_and_a_retry_issues_once(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()  # one port throughout: the issuer's did:web names it
    with served(database_url, tmp_path, port=port) as (app, http):
        acme = make_issuer(app, "acme")
        project = draft(http, acme)
        before = _next_slot_or_zero(app)
    url = f"/api/v1/projects/{project}/complete"
    with server_process(database_url, tmp_path, port, mode="die-while-signing") as server:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
            pytest.raises(httpx.TransportError),
        ):
            http.post(url, headers=acme.auth)
        assert server.wait(30) == -signal.SIGKILL
    with served(database_url, tmp_path, port=port) as (app, http):
        with app.state.session_factory() as session:
            assert session.exec(select(Credential)).all() == []
            assert session.get(Project, project).status == "draft"
            issuer = issuers.get_issuer(session, acme.slug)
        lost_slot = _next_slot(app) - 1
        assert lost_slot == before  # the killed completion's slot was committed
        retry = http.post(url, headers=acme.auth)
        assert retry.status_code == 201, retry.text
        again = http.post(url, headers=acme.auth)
        assert again.status_code == 409 and again.json()["code"] == "project.already_completed"
        with app.state.session_factory() as session:
            (row,) = session.exec(select(Credential)).all()
            (entry,) = session.exec(select(StatusEntry)).all()
            assert status_lists.check(session) == []
        listed = _revocation_list(app)
        assert listed.next_slot == before + 2
        key = status_lists.slot_key(app.state.ctx, issuer, listed.id or 0)
        lost_index = status_lists.permute(key, lost_slot, listed.entries)
        assert entry.index == status_lists.permute(key, lost_slot + 1, listed.entries)
        assert entry.index != lost_index
        document = json.loads(row.document)
        assert _index(document)[1] == entry.index
        assert verify(document, loader=app.state.ctx.loader, now=datetime.now(UTC)).verified


def _next_slot_or_zero(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        row = session.exec(select(StatusList).where(StatusList.purpose == "revocation")).first()
        return row.next_slot if row is not None else 0


def test_sqlite_connections_go_back_to_the_pool_committing_with_fsync(
    settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's synchronous setting")
    # One pooled connection: the reservation's (synchronous=NORMAL while it commits) is
    # the one every later transaction gets.
    single = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    application = create_app(single, clock=lambda: NOW)
    try:
        client = TestClient(application, raise_server_exceptions=False)
        acme = make_issuer(application, "acme")
        engine = application.state.engine
        with engine.connect() as conn:
            full = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert full == 2  # FULL
        for _ in range(2):
            draft_completed(client, acme)
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == full
    finally:
        application.state.engine.dispose()
