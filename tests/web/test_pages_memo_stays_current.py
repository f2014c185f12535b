"""Anonymous page views are answered from the kept finished page, and it is never stale.

A warm view of a portfolio or a credential page reads one number (``pages_version``) and
sends the kept bytes (``services/portfolio/page_memo.py``, ``web/page_memo.py``). Every
change to what the pages show, made through another app on the same database (another
server process), moves that number, so the next view renders afresh; so does a date on
the page being crossed. Each language is its own page; ``?lang=`` and signed-in views
are never kept.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from badgeworks.services.portfolio.page_memo import PAGES, Freshness, KeptPage, PageMemo, freshness
from badgeworks.services.portfolio.readings import READINGS
from badgeworks.services.verification.kept import KEPT
from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.issuer_app import BASE, NOW, IssuerHandle, make_issuer
from tests.plain_credentials import issue_plain, row_id
from tests.web.test_pages_cost_what_they_show import portfolio_with, states

EN = {"Accept": "text/html", "Accept-Language": "en"}
ES = {"Accept": "text/html", "Accept-Language": "es"}
_LANG = re.compile(r'<html lang="([a-z]+)"')
_LATER = re.compile(r'data-kind="later" data-verified="(true|false)"')
#: After issuance: pages issued at ``NOW`` carry ``validFrom == NOW``, and a page is
#: never kept at the very instant of one of its dates.
LATER = NOW + timedelta(days=1)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    for memory in (PAGES, KEPT, READINGS):
        memory.clear()
    yield
    for memory in (PAGES, KEPT, READINGS):
        memory.clear()


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def server(settings: Settings, clock: list[datetime]) -> Iterator[FastAPI]:
    """The app whose pages are viewed."""
    application = create_app(settings, clock=lambda: clock[0])
    yield application
    application.state.engine.dispose()


@pytest.fixture
def other(settings: Settings, clock: list[datetime]) -> Iterator[TestClient]:
    """Another app on the same database (another server process): every change goes here."""
    application = create_app(settings, clock=lambda: clock[0])
    yield TestClient(application, raise_server_exceptions=False)
    application.state.engine.dispose()


@pytest.fixture
def viewer(server: FastAPI) -> TestClient:
    return TestClient(server, raise_server_exceptions=False)


@pytest.fixture
def acme(server: FastAPI) -> IssuerHandle:
    return make_issuer(server, "acme")


def view(app: FastAPI, client: TestClient, path: str, headers: dict[str, str] = EN) -> Any:
    """``GET path`` as a browser: the response, with ``statements`` (SQL run) added."""
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    event.listen(app.state.engine, "before_cursor_execute", listener)
    try:
        r = client.get(path, headers=headers)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", listener)
    assert r.status_code == 200, r.text
    r.statements = seen
    return r


def warm(app: FastAPI, client: TestClient, path: str, headers: dict[str, str] = EN) -> str:
    """The page rendered, then served from memory (one statement, the same bytes)."""
    first = view(app, client, path, headers)
    again = view(app, client, path, headers)
    assert len(again.statements) == 1, again.statements
    assert again.content == first.content
    return str(again.text)


def rendered(app: FastAPI, client: TestClient, path: str, headers: dict[str, str] = EN) -> str:
    """The page, which must have been rendered afresh (not served from memory)."""
    r = view(app, client, path, headers)
    assert len(r.statements) > 1, "served from memory after a change"
    return str(r.text)


def test_a_warm_view_is_one_statement_and_the_same_page(
    server: FastAPI, viewer: TestClient, acme: IssuerHandle, clock: list[datetime]
) -> None:
    portfolio, paths = portfolio_with(viewer, acme, 3, handle="warm-badges")
    clock[0] = LATER
    for path in (portfolio, paths[0]):
        first = view(server, viewer, path)
        assert len(first.statements) > 1
        again = view(server, viewer, path)
        assert again.statements == [again.statements[0]] and "service_meta" in again.statements[0]
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.headers["cache-control"] == "no-cache"
        assert "set-cookie" not in again.headers
    assert states(warm(server, viewer, portfolio)) == ["valid"] * 3


def test_status_changes_by_another_process_show_on_the_next_view(
    server: FastAPI,
    viewer: TestClient,
    other: TestClient,
    acme: IssuerHandle,
    clock: list[datetime],
) -> None:
    portfolio, paths = portfolio_with(viewer, acme, 2, handle="status-badges")
    plain = f"/credentials/{row_id(issue_plain(viewer, acme))}"
    clock[0] = LATER
    assert states(warm(server, viewer, portfolio)) == ["valid"] * 2
    assert states(warm(server, viewer, plain)) == ["valid"]
    steps = (("suspend", "suspended"), ("unsuspend", "valid"), ("revoke", "revoked"))
    for action, state in steps:
        r = other.post(f"/api/v1{plain}/{action}", json={}, headers=acme.auth)
        assert r.status_code == 200, r.text
        assert states(rendered(server, viewer, plain)) == [state]
        assert states(warm(server, viewer, plain)) == [state]
    assert states(warm(server, viewer, paths[0])) == ["valid"]
    r = other.post(f"/api/v1{paths[0]}/revoke", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text
    assert sorted(states(rendered(server, viewer, portfolio))) == ["revoked", "valid"]
    assert states(rendered(server, viewer, paths[0])) == ["revoked"]
    assert states(warm(server, viewer, paths[1])) == ["valid"]


def test_a_changed_issuer_key_in_another_process_is_never_shown_verified(
    server: FastAPI,
    viewer: TestClient,
    other: TestClient,
    acme: IssuerHandle,
    clock: list[datetime],
) -> None:
    portfolio, paths = portfolio_with(viewer, acme, 2, handle="key-badges")
    clock[0] = LATER
    assert states(warm(server, viewer, portfolio)) == ["valid"] * 2
    r = other.post("/api/v1/issuers/acme/keys", headers=acme.auth)
    assert r.status_code == 201, r.text
    assert states(rendered(server, viewer, portfolio)) == ["valid"] * 2  # old key published
    assert states(warm(server, viewer, paths[1])) == ["valid"]
    # The key the credentials name now holds another public key: the signatures fail.
    globex = make_issuer(other.app, "globex")  # type: ignore[arg-type]
    assert globex.slug == "globex"
    with other.app.state.engine.begin() as conn:  # type: ignore[attr-defined]
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
    assert states(rendered(server, viewer, portfolio)) == ["invalid"] * 2
    assert states(rendered(server, viewer, paths[1])) == ["invalid"]


def test_choices_and_names_changed_in_another_process_show_on_the_next_view(
    server: FastAPI,
    viewer: TestClient,
    other: TestClient,
    acme: IssuerHandle,
    clock: list[datetime],
) -> None:
    portfolio, paths = portfolio_with(viewer, acme, 3, handle="choice-badges")
    clock[0] = LATER
    cid = paths[2].rsplit("/", 1)[-1]
    assert "Candidate choice-badges" in warm(server, viewer, portfolio)
    candidate = _summary(other, acme, cid)["candidate_id"]

    r = other.patch(
        f"/api/v1/candidates/{candidate}/portfolio",
        json={"credentials": {cid: "hidden"}},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    assert states(rendered(server, viewer, portfolio)) == ["valid"] * 2
    assert states(warm(server, viewer, portfolio)) == ["valid"] * 2

    r = other.patch(
        f"/api/v1/candidates/{candidate}", json={"name": "Ada Byron"}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    page = rendered(server, viewer, portfolio)
    assert "Ada Byron" in page and "Candidate choice-badges" not in page
    assert "Ada Byron" in rendered(server, viewer, paths[0])

    r = other.patch(
        f"/api/v1/candidates/{candidate}/portfolio",
        json={"visibility": "hidden"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    assert viewer.get(portfolio, headers=EN).status_code == 404
    assert viewer.get(portfolio, headers=EN).status_code == 404


def _summary(client: TestClient, who: IssuerHandle, cid: str) -> dict[str, Any]:
    """The issuer's listing of credential ``cid``."""
    r = client.get(f"/api/v1/issuers/{who.slug}/credentials?limit=100", headers=who.auth)
    assert r.status_code == 200, r.text
    (found,) = [c for c in r.json() if c["id"] == cid]
    return dict(found)


def _endorsed(client: TestClient, who: IssuerHandle) -> tuple[str, str]:
    """A credential with a later endorsement: the page's path and the endorsement id."""
    from tests.issuer_app import draft_project
    from tests.mentor_reviews import invite, open_form, review_path

    ids = draft_project(client, who)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    page = str(r.json()["url"]).removeprefix(BASE)
    path = review_path(invite(client, who, ids["project"]))
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "Great work."})
    assert r.status_code == 201, r.text
    return page, str(r.json()["url"]).rsplit("/", 1)[-1]


def test_a_new_endorsement_made_in_another_process_shows_on_the_next_view(
    server: FastAPI,
    viewer: TestClient,
    other: TestClient,
    acme: IssuerHandle,
    clock: list[datetime],
) -> None:
    from tests.mentor_reviews import invite, open_form, review_path

    page, _ = _endorsed(other, acme)
    clock[0] = LATER
    assert _LATER.findall(warm(server, viewer, page)) == ["true"]
    cid = page.rsplit("/", 1)[-1]
    project = _summary(other, acme, cid)["project_id"]
    path = review_path(invite(other, acme, project, email="lin@example.org"))
    r = other.post(path, data={"nonce": open_form(other, path), "comment": "Careful work."})
    assert r.status_code == 201, r.text
    assert _LATER.findall(rendered(server, viewer, page)) == ["true", "true"]
    clock[0] = LATER + timedelta(hours=1)  # past the new endorsement's own date
    assert _LATER.findall(warm(server, viewer, page)) == ["true", "true"]


def test_a_date_crossed_shows_on_the_next_view(
    server: FastAPI, viewer: TestClient, acme: IssuerHandle, clock: list[datetime]
) -> None:
    portfolio, paths = portfolio_with(
        viewer, acme, 1, handle="dated-memo", default_validity_days=30
    )
    clock[0] = NOW + timedelta(days=1)
    assert states(warm(server, viewer, portfolio)) == ["valid"]
    clock[0] = NOW + timedelta(days=29)
    assert len(view(server, viewer, portfolio).statements) == 1  # no date crossed
    clock[0] = NOW + timedelta(days=31)
    assert states(rendered(server, viewer, portfolio)) == ["expired"]
    assert states(warm(server, viewer, paths[0])) == ["expired"]
    clock[0] = NOW - timedelta(days=1)  # a clock set back is a date crossed too
    assert states(rendered(server, viewer, portfolio)) == ["not_yet_valid"]
    assert states(rendered(server, viewer, paths[0])) == ["not_yet_valid"]
    clock[0] = NOW  # exactly on ``validFrom``: shown, never kept
    rendered(server, viewer, portfolio)
    assert states(rendered(server, viewer, portfolio)) == ["valid"]


def test_each_language_is_its_own_page_and_lang_choices_are_never_kept(
    server: FastAPI, viewer: TestClient, acme: IssuerHandle, clock: list[datetime]
) -> None:
    portfolio, paths = portfolio_with(viewer, acme, 1, handle="two-languages")
    clock[0] = LATER
    for path in (portfolio, paths[0]):
        assert _LANG.findall(warm(server, viewer, path, EN)) == ["en"]
        assert _LANG.findall(warm(server, viewer, path, ES)) == ["es"]
        assert _LANG.findall(warm(server, viewer, path, EN)) == ["en"]
        # ``?lang=`` answers set the cookie: rendered each time, in the language asked for.
        fresh = TestClient(server, raise_server_exceptions=False)
        for _ in range(2):
            r = view(server, fresh, f"{path}?lang=es", EN)
            assert len(r.statements) > 1 and _LANG.findall(r.text) == ["es"]
            assert "lang=es" in r.headers["set-cookie"]
        # The cookie then chooses the language over Accept-Language, and is kept as such.
        assert _LANG.findall(warm(server, fresh, path, EN)) == ["es"]
        assert _LANG.findall(warm(server, viewer, path, EN)) == ["en"]


def test_signed_in_and_token_views_are_never_kept(
    server: FastAPI, viewer: TestClient, acme: IssuerHandle, clock: list[datetime]
) -> None:
    portfolio, paths = portfolio_with(viewer, acme, 1, handle="signed-in-view")
    clock[0] = LATER
    warm(server, viewer, portfolio)
    signed_in = TestClient(server, raise_server_exceptions=False, cookies={"me_session": "x"})
    for path in (portfolio, paths[0]):
        for _ in range(2):
            assert len(view(server, signed_in, path).statements) > 1
            assert len(view(server, viewer, path, {**EN, **acme.auth}).statements) > 1


def test_an_unknown_page_is_not_kept(server: FastAPI, viewer: TestClient) -> None:
    for _ in range(2):
        assert viewer.get("/p/nobody-here", headers=EN).status_code == 404
        assert viewer.get("/credentials/urn-nothing", headers=EN).status_code == 404
    assert len(PAGES) == 0


def test_freshness_is_the_interval_between_the_dates_around_now() -> None:
    dates = (NOW - timedelta(days=2), NOW + timedelta(days=3), NOW + timedelta(days=1))
    held = freshness(dates, NOW)
    assert held == Freshness(after=NOW - timedelta(days=2), before=NOW + timedelta(days=1))
    assert held.holds_at(NOW + timedelta(hours=23)) and held.holds_at(NOW - timedelta(days=1))
    assert not held.holds_at(NOW + timedelta(days=1))
    assert not held.holds_at(NOW - timedelta(days=2))
    assert not freshness(dates, NOW - timedelta(days=2)).keepable  # on a date
    assert not freshness(dates, NOW, checked=False).keepable
    assert freshness((), NOW).holds_at(NOW + timedelta(days=9999))


_TABLE = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?([a-z_]+)"?', re.IGNORECASE)


def test_every_table_a_page_reads_bumps_the_counter(
    server: FastAPI, viewer: TestClient, acme: IssuerHandle, clock: list[datetime]
) -> None:
    """A cold render of each page (every report and reading computed, in another language
    than the signed one, with a later endorsement) reads only tables whose changes bump
    ``pages_version``; a table missing from the migration's list fails here."""
    migration = importlib.import_module("badgeworks.db.migrations.versions.0023_pages_version")
    watched = set(migration.WATCHED) | {"service_meta"}
    portfolio, _ = portfolio_with(viewer, acme, 2, handle="covered-tables")
    page, _ = _endorsed(viewer, acme)
    clock[0] = LATER
    read: set[str] = set()
    for path in (portfolio, page):
        for headers in (EN, ES):
            for memory in (PAGES, KEPT, READINGS):
                memory.clear()
            for statement in view(server, viewer, path, headers).statements:
                read |= {t.lower() for t in _TABLE.findall(statement)}
    assert {"credential", "status_list", "endorsement", "achievement_edition"} <= read
    assert read <= watched, sorted(read - watched)
    # And each watched table has its triggers in this database.
    with server.state.engine.connect() as conn:
        before = conn.execute(
            text("SELECT value FROM service_meta WHERE name = 'pages_version'")
        ).scalar_one()
    with server.state.engine.begin() as conn:
        conn.execute(text("UPDATE candidate SET name = name"))
    with server.state.engine.connect() as conn:
        after = conn.execute(
            text("SELECT value FROM service_meta WHERE name = 'pages_version'")
        ).scalar_one()
    assert int(after) > int(before)


def test_the_memory_keeps_at_most_its_budget_of_bytes() -> None:
    memo = PageMemo(limit=100, budget=1000)
    page = KeptPage(b"x" * 300, (), Freshness())
    for n in range(5):
        assert memo.keep(n, page)
    assert len(memo) == 3 and memo.size == 900
    assert memo.find(0, NOW) is None and memo.find(4, NOW) is page
    assert not memo.keep("big", KeptPage(b"x" * 1001, (), Freshness()))
    assert not memo.keep("unchecked", KeptPage(b"x", (), Freshness(keepable=False)))
    assert memo.keep(4, KeptPage(b"y" * 100, (), Freshness())) and memo.size == 700
