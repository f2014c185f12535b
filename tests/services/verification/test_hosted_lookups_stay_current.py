"""What verification keeps in memory about this service's own issuers stays current.

Two apps on one database stand for two server processes: each has its own engine, so its
own in-memory copies, and only the database's ``hosted_version`` (bumped by triggers in
every writing transaction) tells either that its copies are stale. Both databases.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from badgeworks.core.proof import verify_proofs
from badgeworks.db import engine as db_engine
from badgeworks.services.verification.capabilities import hosted_status_lists
from badgeworks.services.verification.hosted import hosted_view
from badgeworks.services.verification.public import Submission, TrustRegistry, verify_any
from badgeworks.services.verification.resolver import HostedDidResolver
from badgeworks.web.app import create_app
from tests.did_key_badges import KEY, signed
from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.verifier_app import Instance, codes, issue_through_api, verifier_settings


@pytest.fixture
def apps(database_url: str, tmp_path: Path) -> Iterator[tuple[FastAPI, FastAPI]]:
    """Two apps (two engines, two sets of in-memory copies) on one database."""
    first = create_app(verifier_settings(tmp_path, database_url), clock=lambda: NOW)
    second = create_app(verifier_settings(tmp_path, database_url), clock=lambda: NOW)
    yield first, second
    first.state.engine.dispose()
    second.state.engine.dispose()


@pytest.fixture
def issued(apps: tuple[FastAPI, FastAPI]) -> Instance:
    first, _ = apps
    return issue_through_api(first, TestClient(first, raise_server_exceptions=False))


def verify(app: FastAPI, credential: dict[str, Any]) -> dict[str, Any]:
    r = TestClient(app, raise_server_exceptions=False).post(
        "/api/v1/verify", json={"credential": credential}
    )
    assert r.status_code in (200, 422), r.text
    body: dict[str, Any] = r.json()
    return body


def reissue_for(instance: Instance, who: IssuerHandle) -> dict[str, Any]:
    """A second credential of ``who``, signed with its current key."""
    ids = draft_project(instance.client, who)
    r = instance.client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    credential: dict[str, Any] = r.json()["credential"]
    return credential


def counting(engine: sqlalchemy.Engine) -> Callable[[], int]:
    """The number of statements ``engine`` runs from now on."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return lambda: len(seen)


def test_a_revocation_shows_at_once_in_every_process(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    for app in apps * 2:  # twice each: the second answer comes from memory
        assert verify(app, issued.credential)["verdict"] == "verified"
    r = issued.client.post(
        f"/api/v1/credentials/{issued.issued['id']}/revoke",
        json={"reason": "fraud"},
        headers=issued.issuer.auth,
    )
    assert r.status_code == 200, r.text
    for app in apps:
        body = verify(app, issued.credential)
        assert body["verdict"] == "not_verified"
        assert codes(body, "status") == {"status.revoked": "fail"}


def test_a_rotated_key_is_read_at_once_in_every_process(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    for app in apps * 2:
        assert verify(app, issued.credential)["verdict"] == "verified"
    r = issued.client.post(f"/api/v1/issuers/{issued.issuer.slug}/keys", headers=issued.issuer.auth)
    assert r.status_code == 201, r.text
    new_key = r.json()["id"]
    later = reissue_for(issued, issued.issuer)
    assert later["proof"][0]["verificationMethod"] == new_key
    for app in apps:
        # A DID document kept from before the rotation lacks the new key.
        body = verify(app, later)
        assert body["verdict"] == "verified", codes(body)
        assert verify(app, issued.credential)["verdict"] == "verified"


def test_a_renamed_issuer_is_known_by_its_new_name_at_once(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    for app in apps:
        known = next(
            c for c in verify(app, issued.credential)["checks"] if c["code"] == "issuer.known"
        )
        assert "Acme Academy" in known["message"]
    r = issued.client.patch(
        f"/api/v1/issuers/{issued.issuer.slug}",
        json={"name": "Acme Institute"},
        headers=issued.issuer.auth,
    )
    assert r.status_code == 200, r.text
    for app in apps:
        known = next(
            c for c in verify(app, issued.credential)["checks"] if c["code"] == "issuer.known"
        )
        assert "Acme Institute" in known["message"]


def test_a_status_list_proof_is_checked_once_per_version(
    apps: tuple[FastAPI, FastAPI], issued: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = apps
    lists_checked: list[str] = []

    def spy(document: Any, *args: Any, **kwargs: Any) -> Any:
        lists_checked.append(document["id"])
        return verify_proofs(document, *args, **kwargs)

    # The status check's own reference: credential proofs are checked elsewhere.
    monkeypatch.setattr("badgeworks.core.verification.status.verify_proofs", spy)
    for _ in range(3):
        assert verify(first, issued.credential)["verdict"] == "verified"
    assert len(lists_checked) == 1
    r = issued.client.post(
        f"/api/v1/credentials/{issued.issued['id']}/revoke", json={}, headers=issued.issuer.auth
    )
    assert r.status_code == 200, r.text
    for _ in range(3):
        assert verify(first, issued.credential)["verdict"] == "not_verified"
    # The revoked list is a new version (new bits, new signature): checked once more.
    assert len(lists_checked) == 2
    assert lists_checked[0] == lists_checked[1]


def test_a_hosted_credential_is_verified_with_one_statement(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    first, _ = apps
    verify(first, issued.credential)
    statements = counting(first.state.engine)
    assert verify(first, issued.credential)["verdict"] == "verified"
    # The hosted_version read; the issuer, its DID document and its list come from memory.
    assert statements() == 1
    r = issued.client.patch(
        f"/api/v1/issuers/{issued.issuer.slug}",
        json={"url": "https://acme.example"},
        headers=issued.issuer.auth,
    )
    assert r.status_code == 200, r.text
    before = statements()
    assert verify(first, issued.credential)["verdict"] == "verified"
    # After a change: the counter, the hosted issuers, the issuer and its keys, the
    # issuer and its list; each once.
    assert statements() - before <= 6


def test_a_trust_registry_change_shows_at_once(
    apps: tuple[FastAPI, FastAPI], tmp_path: Path
) -> None:
    first, _ = apps
    credential = signed(first.state.ctx.loader)
    path = tmp_path / "trust.json"

    def write(name: str) -> None:
        path.write_text(json.dumps({"issuers": [{"id": KEY.controller, "name": name}]}))

    write("Northwind Institute A")
    first.state.trust_registry = TrustRegistry(path)
    known = next(c for c in verify(first, credential)["checks"] if c["code"] == "issuer.known")
    assert "Northwind Institute A" in known["message"]
    stat = path.stat()
    # The same size and modification time: only the file's identity and change time move.
    replacement = tmp_path / "trust.json.new"
    replacement.write_text(
        json.dumps({"issuers": [{"id": KEY.controller, "name": "Northwind Institute B"}]})
    )
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    replacement.replace(path)
    known = next(c for c in verify(first, credential)["checks"] if c["code"] == "issuer.known")
    assert "Northwind Institute B" in known["message"]


def _drop_connections(database_url: str) -> None:
    """End every server connection to the test database (a restart, as pools see it)."""
    admin = sqlalchemy.create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                sqlalchemy.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        admin.dispose()


@pytest.mark.parametrize("idle_ping", [True, False])
def test_connections_the_server_dropped_are_replaced_never_a_500(
    apps: tuple[FastAPI, FastAPI],
    issued: Instance,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    idle_ping: bool,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    first, _ = apps
    assert first.state.engine.pool._pre_ping is False
    # Idle connections are pinged at checkout; busy ones are trusted until they fail.
    monkeypatch.setattr(db_engine, "PING_AFTER_IDLE_SECONDS", 0.0 if idle_ping else 3600.0)
    assert verify(first, issued.credential)["verdict"] == "verified"
    _drop_connections(database_url)
    client = TestClient(first, raise_server_exceptions=False)
    r = client.post("/api/v1/verify", json={"credential": issued.credential})
    assert r.status_code != 500, r.text
    if idle_ping:
        assert r.json()["verdict"] == "verified"
    # The pool has replaced what the server dropped.
    assert verify(first, issued.credential)["verdict"] == "verified"


def test_an_idle_connection_the_server_dropped_is_replaced_at_checkout(
    apps: tuple[FastAPI, FastAPI], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    first, _ = apps
    engine = first.state.engine
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 1"))
    _drop_connections(database_url)
    monkeypatch.setattr(db_engine, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as conn:  # the pooled one failed its ping; this one is new
        assert conn.execute(sqlalchemy.text("SELECT 1")).scalar() == 1


def test_verifications_in_threads_that_start_after_a_revocation_all_see_it(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    _, second = apps
    ctx = second.state.ctx
    registry = TrustRegistry(None)
    submission = Submission(issued.credential, "text")
    revoked_at: list[float] = []
    seen: list[tuple[float, str]] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            started = time.monotonic()
            outcome = verify_any(ctx, None, submission, registry=registry)
            seen.append((started, outcome.verdict))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    r = issued.client.post(
        f"/api/v1/credentials/{issued.issued['id']}/revoke", json={}, headers=issued.issuer.auth
    )
    assert r.status_code == 200, r.text
    revoked_at.append(time.monotonic())
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    before = [verdict for started, verdict in seen if started < revoked_at[0]]
    after = [verdict for started, verdict in seen if started > revoked_at[0]]
    assert "verified" in before
    assert after
    assert set(after) == {"not_verified"}


def test_names_of_nothing_we_host_take_no_room(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    first, _ = apps
    ctx = first.state.ctx
    assert verify(first, issued.credential)["verdict"] == "verified"
    resolver = HostedDidResolver(ctx.session_factory, ctx.settings)
    lists = hosted_status_lists(ctx)
    issuer_did = issued.credential["issuer"]["id"]
    with hosted_view(ctx.session_factory) as view:
        assert view is not None
        held = len(view.cache)
        assert held >= 3  # the hosted issuers, the issuer's DID document, its list
        for n in range(50):
            assert resolver(f"{issuer_did}x{n}") is None
            assert lists(f"{ctx.base_url}/elsewhere/{n}") is None
        assert len(view.cache) == held
