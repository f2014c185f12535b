"""Identifiers, issuance and completion under attack and under concurrency.

Every test runs against a real app served by uvicorn on loopback, once on SQLite and once
on PostgreSQL (``database_url``):

- another program cannot take a credential id reserved for one program's project (it is
  public in the endorsements signed before the badge), in any form our pages map to it,
  and a completion whose id was taken anyway fails at once instead of spinning;
- fifty simultaneous completions (and then a storm of retries) with a small connection
  pool answer only 201, 409 or an exact replay of the first response;
- endorsement ids cannot be enumerated from the invite number;
- a hosted page names the registered program that signed, never a name the caller put
  into a VC-API credential.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.engine import BACKGROUND_THREADS, REQUEST_THREADS, make_engine, pool_limits
from badgeworks.db.models import Credential
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs.issuers import get_issuer
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import TEST_SECRET, IssuerHandle, draft_project, make_issuer
from tests.servers import free_port, serve

VC2 = "https://www.w3.org/ns/credentials/v2"
HTML = {"Accept": "text/html"}
LD = {"Accept": "application/vc+ld+json"}
NONCE = re.compile(r'name="nonce" value="([0-9a-f]+)"')


@contextmanager
def served(
    database_url: str, tmp: Path, **overrides: Any
) -> Iterator[tuple[FastAPI, httpx.Client]]:
    """The app on ``database_url``, served on a loopback port that is its public URL."""
    port = overrides.pop("port", None) or free_port()
    base = f"http://127.0.0.1:{port}"
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=database_url,
        key_secret=TEST_SECRET,
        public_base_url=base,
        **overrides,
    )
    application = create_app(settings, clock=lambda: datetime.now(UTC))
    try:
        with serve(application, port), httpx.Client(base_url=base, timeout=120) as http:
            yield application, http
    finally:
        application.state.engine.dispose()


def draft(http: httpx.Client, who: IssuerHandle) -> int:
    """A draft project (with its achievement and candidate) through the API; its id."""
    # draft_project (tests/issuer_app.py) takes a TestClient, which is an httpx.Client.
    return draft_project(cast(TestClient, http), who)["project"]


def plain(who: IssuerHandle | None = None, **extra: Any) -> dict[str, Any]:
    """A minimal VC 2.0 credential for ``POST /credentials/issue``, issued by ``who``."""
    return {
        "@context": [VC2],
        "type": ["VerifiableCredential"],
        **({"issuer": who.did} if who is not None else {}),
        "credentialSubject": {"id": "did:example:alice", "name": "Alice"},
        **extra,
    }


def at_once(n: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``call(i)`` on ``n`` threads released together, each with its own connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(30)
            results[i] = call(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    failed = [r for r in results if not isinstance(r, httpx.Response)]
    assert not failed, failed[:3]
    return results


def sign_review(http: httpx.Client, who: IssuerHandle, project: int) -> dict[str, Any]:
    """Invite a mentor and let them sign; the public endorsement JSON."""
    r = http.post(
        f"/api/v1/projects/{project}/reviews",
        json={"name": "Grace Hopper", "email": "grace@example.org", "title": "Lead analyst"},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    path = httpx.URL(r.json()["review_url"]).path
    page = http.get(path, headers=HTML)
    match = NONCE.search(page.text)
    assert page.status_code == 200 and match, page.text[:300]
    r = http.post(
        path,
        data={"nonce": match.group(1), "rating.quality": "exceeds", "comment": "Excellent."},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    endorsement = http.get(r.headers["location"].split("?")[0], headers=LD)
    assert endorsement.status_code == 200
    document: dict[str, Any] = endorsement.json()
    return document


# ----------------------------------------------------------------- reserved credential ids


def test_another_program_cannot_issue_a_reserved_credential_id(
    database_url: str, tmp_path: Path
) -> None:
    with served(database_url, tmp_path) as (app, http):
        acme, globex = make_issuer(app, "acme"), make_issuer(app, "globex")
        project = draft(http, acme)
        endorsement = sign_review(http, acme, project)
        # What anyone can read: the endorsement names the badge's future URL.
        subject = endorsement["credentialSubject"]["id"]
        reserved = subject.rsplit("/", 1)[-1]
        assert uuid.UUID(reserved) and subject.endswith(f"/credentials/{reserved}")

        for claimed in (f"urn:uuid:{reserved}", f"URN:UUID:{reserved.upper()}"):
            started = time.monotonic()
            r = http.post(
                "/credentials/issue",
                json={"credential": plain(globex, id=claimed)},
                headers=globex.auth,
            )
            assert time.monotonic() - started < 5
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "vcapi.id_reserved"
            assert "reserved" in r.json()["error"]
        # The hosted URL itself is never accepted as a caller's id.
        r = http.post(
            "/credentials/issue",
            json={"credential": plain(globex, id=subject)},
            headers=globex.auth,
        )
        assert r.status_code == 422 and r.json()["code"] == "vcapi.id_not_hostable"

        # The program that reserved the id completes promptly, under that id.
        started = time.monotonic()
        r = http.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
        assert r.status_code == 201, r.text
        assert time.monotonic() - started < 20
        assert r.json()["id"] == reserved
        hosted = http.get(f"/credentials/{reserved}", headers=LD).json()
        with app.state.session_factory() as session:
            assert hosted["issuer"]["id"] == get_issuer(session, "acme").did
        assert hosted["endorsement"][0]["id"] == endorsement["id"]

        # Its id, now issued, is refused to everyone else too.
        r = http.post(
            "/credentials/issue",
            json={"credential": plain(globex, id=f"urn:uuid:{reserved}")},
            headers=globex.auth,
        )
        assert r.status_code == 422 and r.json()["code"] == "vcapi.id_taken"


def test_a_completion_whose_reserved_id_was_taken_fails_at_once(
    database_url: str, tmp_path: Path
) -> None:
    with served(database_url, tmp_path) as (app, http):
        acme, _ = make_issuer(app, "acme"), make_issuer(app, "globex")
        project = draft(http, acme)
        reserved = sign_review(http, acme, project)["credentialSubject"]["id"].rsplit("/", 1)[-1]
        # Data written before ids were checked: another program holds the reserved id,
        # with its status entries.
        ctx = app.state.ctx
        with app.state.session_factory() as session:
            globex = get_issuer(session, "globex")
            status_lists.allocate_entries(session, ctx, globex, reserved)
            session.add(
                Credential(
                    id=reserved,
                    issuer_id=globex.id or 0,
                    document="{}\n",
                    issued_at=datetime.now(UTC),
                )
            )
            session.commit()
        started = time.monotonic()
        r = http.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
        assert time.monotonic() - started < 5
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "credential.id_taken"
        # Nothing was held: the next write goes through at once.
        started = time.monotonic()
        r = http.post("/credentials/issue", json={"credential": plain(acme)}, headers=acme.auth)
        assert r.status_code == 201 and time.monotonic() - started < 5


def test_two_programs_racing_for_one_id_get_201_and_422_at_once(
    database_url: str, tmp_path: Path
) -> None:
    with served(database_url, tmp_path) as (app, http):
        acme, globex = make_issuer(app, "acme"), make_issuer(app, "globex")
        programs = [acme, globex]
        for _ in range(3):
            claimed = f"urn:uuid:{uuid.uuid4()}"

            def issue(i: int, claimed: str = claimed) -> httpx.Response:
                return http.post(
                    "/credentials/issue",
                    json={"credential": plain(programs[i], id=claimed)},
                    headers=programs[i].auth,
                )

            started = time.monotonic()
            answers = at_once(2, issue)
            assert time.monotonic() - started < 10
            got = sorted((r.status_code, r.json().get("code")) for r in answers)
            assert got == [(201, None), (422, "vcapi.id_taken")], [r.text[:200] for r in answers]


# ----------------------------------------------------------------- concurrent completions


def test_fifty_simultaneous_completions_answer_201_409_or_a_replay(
    database_url: str, tmp_path: Path
) -> None:
    # A pool far smaller than the threads serving requests: requests queue for a
    # connection, none may need two.
    with served(database_url, tmp_path, db_pool_size=3, db_max_overflow=2) as (app, http):
        acme = make_issuer(app, "acme")
        projects = [draft(http, acme) for _ in range(5)]
        auth = acme.auth

        def complete(i: int, key: str) -> httpx.Response:
            return http.post(
                f"/api/v1/projects/{projects[i % 5]}/complete",
                headers={**auth, "Idempotency-Key": key},
            )

        first = at_once(50, lambda i: complete(i, f"key-{i}"))
        seen = Counter((r.status_code, r.json().get("code")) for r in first)
        assert set(seen) <= {(201, None), (409, "project.already_completed")}, [
            r.text[:200] for r in first if r.status_code not in (201, 409)
        ]
        winners = {i % 5: r for i, r in enumerate(first) if r.status_code == 201}
        assert len(winners) == 5 and seen[(201, None)] == 5
        with app.state.session_factory() as session:
            assert len(session.exec(select(Credential)).all()) == 5

        # A retry storm: every key again, all at once.
        again = at_once(50, lambda i: complete(i, f"key-{i}"))
        for before, after in zip(first, again, strict=True):
            if before.status_code == 201:
                assert after.status_code == 201, after.text
                assert after.content == before.content
                assert after.headers["Idempotent-Replayed"] == "true"
                assert after.headers["content-type"] == before.headers["content-type"]
            else:
                assert after.status_code == 409, after.text
                assert after.json()["code"] == "project.already_completed"


def test_a_storm_of_one_key_issues_once_and_replays_exactly(
    database_url: str, tmp_path: Path
) -> None:
    with served(database_url, tmp_path, db_pool_size=2, db_max_overflow=0) as (app, http):
        acme = make_issuer(app, "acme")
        project = draft(http, acme)
        headers = {**acme.auth, "Idempotency-Key": "one-key"}
        url = f"/api/v1/projects/{project}/complete"
        storm = at_once(20, lambda _i: http.post(url, headers=headers))
        ok = [r for r in storm if r.status_code == 201]
        busy = [r for r in storm if r.status_code == 409]
        assert len(ok) + len(busy) == 20, [r.text[:200] for r in storm]
        assert ok and len({r.content for r in ok}) == 1
        assert all(r.json()["code"] == "idempotency.in_progress" for r in busy)
        assert all(int(r.headers["Retry-After"]) >= 1 for r in busy)
        retry = http.post(url, headers=headers)
        assert retry.status_code == 201 and retry.content == ok[0].content
        with app.state.session_factory() as session:
            assert len(session.exec(select(Credential)).all()) == 1


SERVER = """
import os, signal, sys
import uvicorn
from badgeworks.services.issuance import completion as issuance
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app

original = issuance.complete_project


def complete_then_die(*args, **kwargs):
    # The credential (and, with a key, its response) is committed; the process dies
    # before a byte of the answer leaves it.
    original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)


issuance.complete_project = complete_then_die
data_dir, database_url, secret, port = sys.argv[1:5]
settings = get_settings(
    data_dir=data_dir,
    database_url=database_url,
    key_secret=secret,
    public_base_url=f"http://127.0.0.1:{port}",
)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(port), log_level="warning")
"""


def test_a_server_killed_after_issuing_replays_the_credential_on_retry(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    with served(database_url, tmp_path, port=port) as (app, http):
        acme = make_issuer(app, "acme")
        project = draft(http, acme)
    headers = {**acme.auth, "Idempotency-Key": "killed"}
    url = f"/api/v1/projects/{project}/complete"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [str(tmp_path / "data"), database_url, TEST_SECRET, str(port)]
    server = subprocess.Popen([sys.executable, "-c", SERVER, *args], env=env)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            while True:
                try:
                    http.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.1)
            try:
                lost = http.post(url, headers=headers)
            except httpx.TransportError:
                lost = None
            assert lost is None, lost.text
        assert server.wait(30) == -signal.SIGKILL
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    # The client never got its answer and retries with the same key on a restarted
    # server: it gets the credential that was issued, not a conflict.
    with served(database_url, tmp_path, port=port) as (app, http):
        retry = http.post(url, headers=headers)
        assert retry.status_code == 201, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"
        with app.state.session_factory() as session:
            (stored,) = session.exec(select(Credential)).all()
        assert retry.json()["id"] == stored.id
        assert retry.json()["credential"] == json.loads(stored.document)


# ----------------------------------------------------------------- endorsement ids


def test_endorsement_ids_cannot_be_derived_from_the_invite_number(
    database_url: str, tmp_path: Path
) -> None:
    with served(database_url, tmp_path) as (app, http):
        acme = make_issuer(app, "acme")
        project = draft(http, acme)
        base = str(http.base_url).rstrip("/")
        ids = [sign_review(http, acme, project)["id"].rsplit("/", 1)[-1] for _ in range(2)]
        assert ids[0] != ids[1]
        guessable = {
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/review-invites/{n}")) for n in range(50)
        }
        for endorsement_id in ids:
            assert endorsement_id not in guessable
            assert uuid.UUID(endorsement_id).version == 4
        # Consecutive ids share no structure (random bits differ in about half of 122).
        diff = uuid.UUID(ids[0]).int ^ uuid.UUID(ids[1]).int
        assert 30 <= bin(diff).count("1") <= 100
        # Both are hosted where their ids say.
        for endorsement_id in ids:
            assert http.get(f"/endorsements/{endorsement_id}", headers=LD).status_code == 200


# ----------------------------------------------------------------- issuer names on pages


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def test_a_hosted_page_names_the_program_that_signed(database_url: str, tmp_path: Path) -> None:
    with served(database_url, tmp_path) as (app, http):
        make_issuer(app, "acme")  # "Acme Academy": the name being copied
        globex = make_issuer(app, "globex")
        with app.state.session_factory() as session:
            globex_did = get_issuer(session, "globex").did
        r = http.post(
            "/credentials/issue",
            json={
                "credential": plain(
                    issuer={"id": globex_did, "name": "Acme Academy"},
                    name="Certified Analyst",
                )
            },
            headers=globex.auth,
        )
        assert r.status_code == 201, r.text
        signed = r.json()["verifiableCredential"]
        # The signed document keeps what the caller asked to be signed …
        assert signed["issuer"]["name"] == "Acme Academy"
        path = httpx.URL(signed["id"]).path
        for lang in ("en", "es"):
            page = http.get(path, headers={**HTML, "Accept-Language": lang})
            assert page.status_code == 200
            text = _text(page.text)
            # … but our page says who signed it: the registered program of that DID.
            assert "Globex Academy" in text
            assert "Acme Academy" not in text


# ----------------------------------------------------------------- pool sizing


def test_the_pool_gives_every_request_thread_a_connection_by_default(tmp_path: Path) -> None:
    def limits(**overrides: Any) -> tuple[int, int]:
        return pool_limits(get_settings(data_dir=tmp_path, **overrides))

    wanted = REQUEST_THREADS + BACKGROUND_THREADS
    assert sum(limits()) == wanted and limits()[0] == 10
    assert limits(db_pool_size=5) == (5, wanted - 5)
    assert limits(db_max_overflow=45) == (3, 45)
    assert limits(db_pool_size=2, db_max_overflow=0) == (2, 0)
    engine = make_engine(
        get_settings(
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'pool.db'}",
            db_pool_size=4,
            db_max_overflow=1,
            db_pool_timeout=7,
        )
    )
    try:
        pool: Any = engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (4, 1, 7)
    finally:
        engine.dispose()
