"""A completed project stays as its credential describes it, however edits race the completion.

Completing a project signs holding no lock and then marks it complete with a
compare-and-set; editing it (``PATCH``) and adding or removing deliverables run at the same
time from other requests. These tests perform that race for real against served apps (one
app with many request threads, and two server processes on one database), on SQLite and
PostgreSQL, then check for every project: its fields and its deliverables (ids, URLs,
digests) are exactly what its credential says, every change the API accepted was committed
before the credential was issued, and every refused change is a 409 ``project.completed``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlmodel import col, select

from badgeworks.db.models import AuditEvent, Credential
from tests.issuer_app import IssuerHandle, make_issuer
from tests.servers import free_port
from tests.services.issuance.test_completion_signs_outside_the_write_lock import server_process
from tests.services.issuance.test_issuance_under_attack import draft, served

#: Projects completed at once, and per project the threads changing it, how many changes
#: each makes while the completion runs, and how many more once it has answered 201.
PROJECTS = 4
EDITORS = 3
CHANGES = 10
AFTER = 2
#: The audit actions of a change to a project or its deliverables.
CHANGE_ACTIONS = ("project.update", "deliverable.add", "deliverable.remove")
#: What a change may answer: done, or refused because the project is completed.
ACCEPTED = {200, 201, 204}
REFUSED = (409, "project.completed")


def _digest(data: bytes) -> str:
    """``digestMultibase`` of ``data``: multihash sha2-256, base64url without padding."""
    multihash = b"\x12\x20" + hashlib.sha256(data).digest()
    return "u" + base64.urlsafe_b64encode(multihash).decode().rstrip("=")


class Race:
    """What the threads sent and were answered, shared between them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: (what, project, status, code, body, sent after the completion's 201)
        self.answers: list[tuple[str, int, int, str | None, str, bool]] = []
        self.uploads: dict[str, bytes] = {}
        self.completed: dict[int, str] = {}
        self.finished: set[int] = set()

    def note(self, what: str, project: int, r: httpx.Response, after: bool = False) -> None:
        code = None
        if r.headers.get("content-type", "").startswith("application/json") and r.content:
            code = r.json().get("code")
        with self.lock:
            self.answers.append((what, project, r.status_code, code, r.text[:300], after))

    def wait_for(self, project: int) -> bool:
        """Until the completion of ``project`` has answered; whether it answered 201."""
        deadline = time.monotonic() + 120
        while project not in self.finished:
            assert time.monotonic() < deadline, f"project {project}'s completion never answered"
            time.sleep(0.01)
        return project in self.completed


def _complete(http: httpx.Client, who: IssuerHandle, project: int, race: Race) -> None:
    try:
        _complete_until_done(http, who, project, race)
    finally:
        with race.lock:
            race.finished.add(project)


def _complete_until_done(http: httpx.Client, who: IssuerHandle, project: int, race: Race) -> None:
    # A busy project (edited while signing, again and again) is retried, as a client would.
    for _ in range(50):
        r = http.post(f"/api/v1/projects/{project}/complete", headers=who.auth)
        race.note("complete", project, r)
        if r.status_code == 201:
            with race.lock:
                race.completed[project] = r.json()["id"]
            return
        if r.status_code != 409 or r.json().get("code") != "project.busy":
            return


def _edit(http: httpx.Client, who: IssuerHandle, project: int, editor: int, race: Race) -> None:
    rng = random.Random(project * 100 + editor)
    mine: list[int] = []
    for n in range(CHANGES + AFTER):
        if n >= CHANGES and not race.wait_for(project):
            return  # not completed: _check_answers says why
        after = project in race.completed
        tag = f"{project}-{editor}-{n}"
        kind = rng.choice(
            ["title", "link", "file", "remove"] if mine else ["title", "link", "file"]
        )
        if kind == "title":
            r = http.patch(
                f"/api/v1/projects/{project}", json={"title": f"Edit {tag}"}, headers=who.auth
            )
        elif kind == "link":
            r = http.post(
                f"/api/v1/projects/{project}/links",
                json={"name": f"Link {tag}", "url": f"https://example.org/work/{tag}"},
                headers=who.auth,
            )
        elif kind == "file":
            data = f"deliverable {tag}\n".encode()
            r = http.post(
                f"/api/v1/projects/{project}/deliverables",
                files={"file": (f"{tag}.txt", data, "text/plain")},
                data={"name": f"File {tag}"},
                headers=who.auth,
            )
            with race.lock:
                race.uploads[hashlib.sha256(data).hexdigest()] = data
        else:
            gone = mine.pop(rng.randrange(len(mine)))
            r = http.delete(f"/api/v1/projects/{project}/deliverables/{gone}", headers=who.auth)
        race.note(kind, project, r, after)
        if kind in ("link", "file") and r.status_code == 201:
            mine.append(r.json()["id"])


def _run(threads: list[Callable[[], None]]) -> None:
    """Run every callable on its own thread, released together."""
    barrier = threading.Barrier(len(threads))
    failures: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        try:
            barrier.wait(60)
            call()
        except BaseException as error:  # reported below, with the others
            failures.append(error)

    started = [threading.Thread(target=run, args=(c,), daemon=True) for c in threads]
    for t in started:
        t.start()
    for t in started:
        t.join(300)
    assert not failures, failures[:3]
    assert not any(t.is_alive() for t in started)


@contextmanager
def _clients(bases: list[str], count: int) -> Iterator[list[httpx.Client]]:
    """``count`` clients, each with its own connection, spread over ``bases``."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(httpx.Client(base_url=bases[i % len(bases)], timeout=120))
            for i in range(count)
        ]


def _race(bases: list[str], who: IssuerHandle, projects: list[int], race: Race) -> None:
    per_project = 1 + EDITORS
    with _clients(bases, len(projects) * per_project) as clients:
        calls: list[Callable[[], None]] = []
        for p, project in enumerate(projects):
            mine = clients[p * per_project : (p + 1) * per_project]
            calls.append(partial(_complete, mine[0], who, project, race))
            calls += [partial(_edit, mine[1 + e], who, project, e, race) for e in range(EDITORS)]
        _run(calls)


def _check_answers(race: Race, projects: list[int]) -> None:
    """Every answer is a success or a clean refusal (never a 500), and every change sent
    once the completion had answered was refused."""
    for what, project, status, code, body, after in race.answers:
        if what == "complete":
            assert status == 201 or (status == 409 and code == "project.busy"), body
        elif after:
            assert (status, code) == REFUSED, (what, project, body)
        else:
            assert status in ACCEPTED or (status, code) == REFUSED, (what, project, body)
    assert sorted(race.completed) == sorted(projects), race.completed
    late = Counter(p for what, p, _s, _c, _b, after in race.answers if what != "complete" and after)
    assert all(late[p] >= EDITORS * AFTER for p in projects), late


def _check_as_signed(app: FastAPI, http: httpx.Client, who: IssuerHandle, race: Race) -> None:
    """Every completed project is exactly what its credential says, and every change the
    API accepted was committed before the credential was issued."""
    for project, credential_id in race.completed.items():
        shown = http.get(f"/api/v1/projects/{project}", headers=who.auth).json()
        assert shown["status"] == "completed" and shown["credential_id"] == credential_id
        with app.state.session_factory() as session:
            row = session.get(Credential, credential_id)
            assert row is not None
            document = json.loads(row.document)
            events = session.exec(
                select(AuditEvent.id, AuditEvent.action, AuditEvent.target).order_by(
                    col(AuditEvent.id)
                )
            ).all()
        assert document["description"].startswith(f"Project: {shown['title']}."), (
            shown["title"],
            document["description"],
        )
        files = [d for d in shown["deliverables"] if d["sha256"]]
        assert [e["id"] for e in document.get("evidence", [])] == [
            d["url"] for d in shown["deliverables"]
        ], (project, document.get("evidence"), shown["deliverables"])
        assert [e["name"] for e in document.get("evidence", [])] == [
            d["name"] for d in shown["deliverables"]
        ]
        assert [(r["id"], r["digestMultibase"]) for r in document.get("relatedResource", [])] == [
            (d["url"], _digest(race.uploads[d["sha256"]])) for d in files
        ]
        issued_at = next(
            i for i, action, target in events if target == f"credential:{credential_id}"
        )
        late = [
            (i, action)
            for i, action, target in events
            if target == f"project:{project}" and action in CHANGE_ACTIONS and i > issued_at
        ]
        assert late == [], f"changes committed after project {project} was completed: {late}"
    accepted = sum(
        1 for what, _p, status, *_rest in race.answers if what != "complete" and status in ACCEPTED
    )
    recorded = sum(1 for _i, action, _t in events if action in CHANGE_ACTIONS)
    assert recorded >= accepted  # every accepted change is in the log (setup added more)


def _seed(http: httpx.Client, who: IssuerHandle, race: Race) -> list[int]:
    projects = [draft(http, who) for _ in range(PROJECTS)]
    for project in projects:
        data = f"first deliverable of {project}\n".encode()
        r = http.post(
            f"/api/v1/projects/{project}/deliverables",
            files={"file": ("first.txt", data, "text/plain")},
            data={"name": "First"},
            headers=who.auth,
        )
        assert r.status_code == 201, r.text
        race.uploads[hashlib.sha256(data).hexdigest()] = data
    return projects


def test_edits_racing_completions_never_change_a_completed_project(
    database_url: str, tmp_path: Path
) -> None:
    race = Race()
    with served(database_url, tmp_path) as (app, http):
        acme = make_issuer(app, "acme")
        projects = _seed(http, acme, race)
        _race([str(http.base_url)], acme, projects, race)
        _check_answers(race, projects)
        _check_as_signed(app, http, acme, race)


def test_edits_racing_completions_in_two_server_processes(
    database_url: str, tmp_path: Path
) -> None:
    # The issuer's did:web names the first port: the last app serves there too.
    ports = [free_port(), free_port()]
    race = Race()
    with served(database_url, tmp_path, port=ports[0]) as (app, http):
        acme = make_issuer(app, "acme")
        projects = _seed(http, acme, race)
    with (
        server_process(database_url, tmp_path, ports[0]),
        server_process(database_url, tmp_path, ports[1]),
    ):
        _race([f"http://127.0.0.1:{port}" for port in ports], acme, projects, race)
    _check_answers(race, projects)
    with served(database_url, tmp_path, port=ports[0]) as (app, http):
        _check_as_signed(app, http, acme, race)
