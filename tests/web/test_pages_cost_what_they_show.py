"""The portfolio and credential pages keep verification reports, and stay current.

A hosted credential's report is computed once and kept (``services.verification.kept``);
status, dates and keys are read in the page's own fixed queries, so a revocation, a
suspension, a changed key or a date passing shows on the very next view, whichever
server process made the change. A page costs the same number of statements for one
credential as for twenty, and no deliverable is read to show its digest check.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from badgeworks.services.programs import issuers
from badgeworks.services.verification.kept import KEPT
from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.issuer_app import ACHIEVEMENT, BASE, NOW, Issued, IssuerHandle, make_issuer
from tests.plain_credentials import issue_plain, row_id

HTML = {"Accept": "text/html", "Accept-Language": "en"}
_STATE = re.compile(r'class="status-badge status-([a-z_]+)"')


@pytest.fixture(autouse=True)
def _fresh_reports() -> Iterator[None]:
    KEPT.clear()
    yield
    KEPT.clear()


def states(html: str) -> list[str]:
    """The status badge of every card on a page, in order."""
    return _STATE.findall(html)


def _project(client: TestClient, who: IssuerHandle, achievement: int, candidate: int) -> str:
    """A project of ``candidate`` with one uploaded deliverable, completed; its URL path."""
    r = client.post(
        f"/api/v1/issuers/{who.slug}/projects",
        json={
            "achievement_id": achievement,
            "candidate_id": candidate,
            "title": "Churn analysis",
            "summary": "Cleaned two years of sales data.",
            "host": {"name": "Northwind Traders", "url": "https://northwind.example"},
            "start_date": "2025-03-03",
            "end_date": "2025-03-28",
        },
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    project = r.json()["id"]
    r = client.post(
        f"/api/v1/projects/{project}/deliverables",
        files={"file": ("notes.txt", f"notes of project {project}".encode(), "text/plain")},
        data={"name": "Notes"},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/projects/{project}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["url"]).removeprefix(BASE)


def portfolio_with(
    client: TestClient, who: IssuerHandle, count: int, *, handle: str, **achievement: Any
) -> tuple[str, list[str]]:
    """A public portfolio of a new candidate with ``count`` credentials: its path and the
    credential pages' paths."""
    r = client.post(
        f"/api/v1/issuers/{who.slug}/achievements",
        json={**ACHIEVEMENT, **achievement},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    ach = r.json()["id"]
    r = client.post(
        f"/api/v1/issuers/{who.slug}/candidates",
        json={"name": f"Candidate {handle}", "emails": [f"{handle}@example.org"]},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    candidate = r.json()["id"]
    paths = [_project(client, who, ach, candidate) for _ in range(count)]
    r = client.patch(
        f"/api/v1/candidates/{candidate}/portfolio",
        json={"handle": handle, "visibility": "public"},
        headers=who.auth,
    )
    assert r.status_code == 200, r.text
    return f"/p/{handle}", paths


def count_statements(app: FastAPI, action: Callable[[], object]) -> int:
    """How many SQL statements ``action`` runs on the app's engine."""
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def _view(client: TestClient, path: str) -> str:
    r = client.get(path, headers=HTML)
    assert r.status_code == 200, r.text
    return r.text


def test_a_portfolio_costs_the_same_statements_for_one_credential_and_twenty(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    one, _ = portfolio_with(client, acme, 1, handle="one-badge")
    twenty, _ = portfolio_with(client, acme, 20, handle="twenty-badges")
    assert states(_view(client, twenty)) == ["valid"] * 20
    assert states(_view(client, one)) == ["valid"]
    computed = KEPT.computed
    # Viewed again: every report is re-used, and the reads do not grow with the cards.
    small = count_statements(app, lambda: _view(client, one))
    large = count_statements(app, lambda: _view(client, twenty))
    assert KEPT.computed == computed and KEPT.reused >= 21
    assert small == large, (small, large)
    assert large <= 20, large


def test_a_page_shows_no_deliverable_file_read(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    issued: Issued,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The digest check shown is the one recorded when the file was stored."""
    r = client.patch(
        f"/api/v1/candidates/{issued.candidate}/portfolio",
        json={"handle": "ada-files"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text

    def no_reading(sha256: str) -> object:
        raise AssertionError(f"the blob {sha256} was read to show a page")

    monkeypatch.setattr(app.state.ctx.blobs, "open", no_reading)
    for path in ("/p/ada-files", issued.path):
        html = _view(client, path)
        assert html.count('class="digest digest-ok"') == 2, path
        assert "digest-mismatch" not in html and "digest-unavailable" not in html


def test_a_revocation_made_by_another_process_shows_at_once(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings
) -> None:
    portfolio, paths = portfolio_with(client, acme, 3, handle="three-badges")
    assert states(_view(client, portfolio)) == ["valid"] * 3
    assert states(_view(client, paths[1])) == ["valid"]
    # A second server process on the same database (its own kept reports) revokes.
    other = create_app(settings, clock=lambda: NOW)
    try:
        cid = paths[1].rsplit("/", 1)[-1]
        r = TestClient(other).post(
            f"/api/v1/credentials/{cid}/revoke", json={"reason": "fraud"}, headers=acme.auth
        )
        assert r.status_code == 200, r.text
    finally:
        other.state.engine.dispose()
    shown = states(_view(client, portfolio))
    assert sorted(shown) == ["revoked", "valid", "valid"]
    assert states(_view(client, paths[1])) == ["revoked"]
    assert states(_view(client, paths[0])) == ["valid"]


def test_suspension_and_its_end_show_at_once(client: TestClient, acme: IssuerHandle) -> None:
    vc = issue_plain(client, acme)
    cid = row_id(vc)
    page = f"/credentials/{cid}"
    assert states(_view(client, page)) == ["valid"]
    base = f"/api/v1/credentials/{cid}"
    assert client.post(f"{base}/suspend", json={}, headers=acme.auth).status_code == 200
    assert states(_view(client, page)) == ["suspended"]
    assert client.post(f"{base}/unsuspend", json={}, headers=acme.auth).status_code == 200
    assert states(_view(client, page)) == ["valid"]
    assert client.post(f"{base}/revoke", json={}, headers=acme.auth).status_code == 200
    assert states(_view(client, page)) == ["revoked"]


def test_a_changed_issuer_key_is_never_shown_as_verified(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings
) -> None:
    portfolio, paths = portfolio_with(client, acme, 2, handle="two-badges")
    assert states(_view(client, portfolio)) == ["valid"] * 2
    computed = KEPT.computed
    assert states(_view(client, portfolio)) == ["valid"] * 2
    assert KEPT.computed == computed  # kept

    # A key rotation in another process: verified afresh (the old key is still published).
    other = create_app(settings, clock=lambda: NOW)
    try:
        with other.state.session_factory() as session:
            issuers.rotate_key(
                session, other.state.ctx, issuers.get_issuer(session, "acme"), actor="test"
            )
    finally:
        other.state.engine.dispose()
    assert states(_view(client, portfolio)) == ["valid"] * 2
    assert KEPT.computed == computed + 2

    # The key the credentials name now holds another public key: the signatures fail.
    globex = make_issuer(app, "globex")
    assert globex.slug == "globex"
    with app.state.engine.begin() as conn:
        foreign = conn.execute(
            text(
                "SELECT k.public_key_multibase FROM issuer_key k JOIN issuer i "
                "ON i.id = k.issuer_id WHERE i.slug = 'globex'"
            )
        ).scalar_one()
        conn.execute(
            text(
                "UPDATE issuer_key SET public_key_multibase = :pk WHERE number = 1 AND "
                "issuer_id = (SELECT id FROM issuer WHERE slug = 'acme')"
            ),
            {"pk": foreign},
        )
    assert states(_view(client, portfolio)) == ["invalid"] * 2
    assert states(_view(client, paths[0])) == ["invalid"]


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def clocked(settings: Settings, clock: list[datetime]) -> Iterator[TestClient]:
    """A client of an app whose clock the test moves."""
    application = create_app(settings, clock=lambda: clock[0])
    yield TestClient(application, raise_server_exceptions=False)
    application.state.engine.dispose()


def test_validity_dates_are_read_against_the_clock_of_each_view(
    clocked: TestClient, clock: list[datetime]
) -> None:
    acme = make_issuer(clocked.app, "acme")  # type: ignore[arg-type]
    portfolio, paths = portfolio_with(
        clocked, acme, 1, handle="dated-badge", default_validity_days=30
    )
    clock[0] = NOW + timedelta(days=1)
    assert states(_view(clocked, portfolio)) == ["valid"]
    computed = KEPT.computed
    clock[0] = NOW + timedelta(days=29)
    assert states(_view(clocked, portfolio)) == ["valid"]
    assert KEPT.computed == computed  # no date was crossed: the kept report stands
    clock[0] = NOW + timedelta(days=31)
    assert states(_view(clocked, portfolio)) == ["expired"]
    assert states(_view(clocked, paths[0])) == ["expired"]
    clock[0] = NOW - timedelta(days=1)
    assert states(_view(clocked, portfolio)) == ["not_yet_valid"]
    clock[0] = NOW + timedelta(days=2)
    assert states(_view(clocked, portfolio)) == ["valid"]


def test_threads_viewing_while_a_credential_is_revoked_agree(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    portfolio, paths = portfolio_with(client, acme, 4, handle="four-badges")
    errors: list[BaseException] = []
    seen: list[list[str]] = []

    def views(rounds: int) -> None:
        try:
            http = TestClient(app)
            for _ in range(rounds):
                seen.append(states(_view(http, portfolio)))
        except BaseException as exc:
            errors.append(exc)

    def crowd() -> None:
        threads = [threading.Thread(target=views, args=(3,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors

    crowd()  # every thread starts with no kept report: they compute and keep together
    assert seen == [["valid"] * 4] * 12
    cid = paths[2].rsplit("/", 1)[-1]
    r = client.post(f"/api/v1/credentials/{cid}/revoke", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text
    seen.clear()
    crowd()
    assert len(seen) == 12 and all(sorted(s) == ["revoked"] + ["valid"] * 3 for s in seen)


_LATER = re.compile(r'data-kind="later" data-verified="(true|false)"')


def test_a_later_endorsement_is_kept_until_its_endorser_list_changes(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    from badgeworks.db.endorsements import Endorsement, Endorser
    from badgeworks.services.lifecycle import status_lists
    from tests.issuer_app import draft_project
    from tests.mentor_reviews import invite, open_form, review_path

    ids = draft_project(client, acme)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    page = str(r.json()["url"]).removeprefix(BASE)
    path = review_path(invite(client, acme, ids["project"]))
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "Great work."})
    assert r.status_code == 201, r.text
    endorsement_id = str(r.json()["url"]).rsplit("/", 1)[-1]

    assert _LATER.findall(_view(client, page)) == ["true"]
    computed = KEPT.computed
    assert _LATER.findall(_view(client, page)) == ["true"]
    assert KEPT.computed == computed  # the endorsement's report was kept too

    # The endorser's list changes (the bit is set, the list re-signed, its version bumped)
    # without any other row saying so: the next view verifies afresh and sees it.
    with app.state.session_factory() as session:
        stored = session.get(Endorsement, endorsement_id)
        assert stored is not None
        endorser = session.get(Endorser, stored.endorser_id)
        assert endorser is not None
        status_lists.set_bit(session, app.state.ctx, endorser, endorsement_id, "revocation", 1)
        session.commit()
    assert _LATER.findall(_view(client, page)) == ["false"]
