"""Attacks on staff accounts, console sign-in and the admin token, against a served app.

Each test runs on SQLite and on PostgreSQL. Traffic goes to 127.0.0.1 only; different
"client addresses" are real loopback source addresses (127.0.0.2, 127.0.0.3…), so the
server sees them exactly as it would see different machines.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import select

from badgeworks.cli import badgeworks
from badgeworks.core.errors import ConfigError
from badgeworks.db.console import StaffLoginLimit, StaffSession
from badgeworks.services.accounts import staff
from badgeworks.services.infra import outbox
from badgeworks.services.programs import issuers
from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.console_staff import PASSWORD, add_staff, fast_scrypt  # noqa: F401
from tests.html_page import csrf_of
from tests.issuer_app import NOW, make_issuer
from tests.servers import serve

ATTACKER_PASSWORD = "chosen-by-the-other-program"
ACME_TYPED = "typed-by-the-acme-owner"
ADMIN = "admin-test-token-0123456789-abcdefghij"


class Clock:
    """A clock the test moves by hand (sign-in locks are measured on it)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def served(settings: Settings, clock: Clock) -> Iterator[tuple[str, FastAPI]]:
    """The app on the test's database, served by uvicorn on a free loopback port."""
    application = create_app(settings, clock=clock)
    try:
        with serve(application) as base:
            yield base, application
    finally:
        application.state.engine.dispose()


def browser(base: str, address: str = "127.0.0.1") -> httpx.Client:
    """An HTTP client whose connections come from loopback ``address``."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, timeout=60)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    page = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )


def signed_in(base: str, email: str, password: str, address: str = "127.0.0.1") -> httpx.Client:
    client = browser(base, address)
    r = sign_in(client, email, password)
    assert r.status_code == 303, r.text
    return client


def session_csrf(client: httpx.Client, path: str) -> str:
    return csrf_of(client.get(path, follow_redirects=True).text)


@pytest.fixture
def counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every password hash the server verifies, counted (the attack's real cost)."""
    seen: list[int] = []
    lock = threading.Lock()
    real: Callable[[str, str | None], bool] = staff.check_password

    def counting(password: str, stored: str | None) -> bool:
        with lock:
            seen.append(1)
        return real(password, stored)

    monkeypatch.setattr(staff, "check_password", counting)
    return seen


# ----------------------------------------------------------------------------- sign-in limits


def test_thirty_parallel_wrong_passwords_check_at_most_the_limit_and_the_owner_still_signs_in(
    served: tuple[str, FastAPI], counted_checks: list[int]
) -> None:
    base, app = served
    make_issuer(app, "acme")
    add_staff(app, "acme", "owner@acme.example", "owner")
    attacker = browser(base, "127.0.0.2")
    token = csrf_of(attacker.get("/console/login").text)
    cookies = dict(attacker.cookies)

    def guess(i: int) -> httpx.Response:
        with browser(base, "127.0.0.2") as c:
            return c.post(
                "/console/login",
                data={"email": "owner@acme.example", "password": f"guess {i}", "csrf_token": token},
                cookies=cookies,
            )

    with ThreadPoolExecutor(30) as pool:
        statuses = sorted(r.status_code for r in pool.map(guess, range(30)))
    assert len(counted_checks) <= staff.MAX_FAILURES_PER_EMAIL, statuses
    assert statuses.count(401) == len(counted_checks)
    assert statuses.count(429) == 30 - len(counted_checks)
    refused = attacker.post(
        "/console/login",
        data={"email": "owner@acme.example", "password": PASSWORD, "csrf_token": token},
    )
    # Even the right password is not checked from the locked address.
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "bw_console" not in refused.headers.get("set-cookie", "")
    # The owner, from their own address, is not locked out by someone else's failures.
    owner = signed_in(base, "owner@acme.example", PASSWORD, "127.0.0.3")
    assert owner.get("/console/acme/").status_code == 200


@pytest.mark.usefixtures("fast_scrypt")
def test_locks_back_off_exponentially_and_one_address_cannot_spray_accounts(
    served: tuple[str, FastAPI], clock: Clock, counted_checks: list[int]
) -> None:
    base, app = served
    make_issuer(app, "acme")
    add_staff(app, "acme", "owner@acme.example", "owner")
    client = browser(base, "127.0.0.2")
    waits = []
    for _round in range(3):
        for _ in range(staff.MAX_FAILURES_PER_EMAIL):
            assert sign_in(client, "owner@acme.example", "wrong guess").status_code == 401
        locked = sign_in(client, "owner@acme.example", "wrong guess")
        assert locked.status_code == 429
        waits.append(int(locked.headers["Retry-After"]))
        clock.now += timedelta(seconds=waits[-1] - 5)
        assert sign_in(client, "owner@acme.example", PASSWORD).status_code == 429
        clock.now += timedelta(seconds=10)
    assert waits == [60, 120, 240]
    assert sign_in(client, "owner@acme.example", PASSWORD).status_code == 303

    # A looser cap per address over all accounts: spraying many accounts stops too.
    sprayer = browser(base, "127.0.0.4")
    statuses = [
        sign_in(sprayer, f"person{i}@acme.example", "wrong guess").status_code
        for i in range(staff.MAX_FAILURES_PER_CLIENT + 3)
    ]
    assert statuses[: staff.MAX_FAILURES_PER_CLIENT] == [401] * staff.MAX_FAILURES_PER_CLIENT
    assert statuses[staff.MAX_FAILURES_PER_CLIENT :] == [429, 429, 429]

    # Counters with nothing left to remember are dropped, so guessing cannot grow the table.
    assert _limit_rows(app) > staff.MAX_FAILURES_PER_CLIENT
    clock.now += staff.FORGET_STRIKES + staff.MAX_LOCK
    assert sign_in(browser(base, "127.0.0.5"), "someone@acme.example", "x").status_code == 401
    assert _limit_rows(app) == 2  # the two counters of that last attempt


def _limit_rows(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(session.exec(select(StaffLoginLimit)).all())


# ----------------------------------------------------------------------------- pre-takeover


def _outbox_link(app: FastAPI, email: str) -> str:
    with app.state.session_factory() as session:
        bodies = [m.body_text for m in outbox.list_messages(session) if m.to == email]
    assert bodies, f"no message to {email}"
    found = re.search(r"/console/password/([A-Za-z0-9_-]+)", bodies[-1] or "")
    assert found, bodies[-1]
    return found.group(1)


@pytest.mark.usefixtures("fast_scrypt")
def test_another_program_cannot_pre_set_the_password_of_an_account_a_program_adds(
    served: tuple[str, FastAPI],
) -> None:
    base, app = served
    make_issuer(app, "acme")
    make_issuer(app, "globex")
    add_staff(app, "acme", "owner@acme.example", "owner")
    add_staff(app, "globex", "boss@globex.example", "owner")

    # Globex's owner creates an account for Acme's future hire, with a password they chose.
    boss = signed_in(base, "boss@globex.example", PASSWORD, "127.0.0.2")
    r = boss.post(
        "/console/globex/settings/staff",
        data={
            "email": "newhire@acme.example",
            "role": "viewer",
            "password": ATTACKER_PASSWORD,
            "csrf_token": session_csrf(boss, "/console/globex/settings"),
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    created_page = r.text

    # Acme's owner adds the address with a password of their own; the page says what happened.
    owner = signed_in(base, "owner@acme.example", PASSWORD, "127.0.0.3")
    r = owner.post(
        "/console/acme/settings/staff",
        data={
            "email": "newhire@acme.example",
            "role": "issuer",
            "password": ACME_TYPED,
            "csrf_token": session_csrf(owner, "/console/acme/settings"),
        },
        follow_redirects=True,
        headers={"Accept-Language": "es"},
    )
    assert r.status_code == 200
    # Acme's typed password was not stored; Globex's password opens Globex only.
    assert (
        sign_in(browser(base, "127.0.0.5"), "newhire@acme.example", ACME_TYPED).status_code == 401
    )
    attacker = signed_in(base, "newhire@acme.example", ATTACKER_PASSWORD, "127.0.0.2")
    assert attacker.get("/console/acme/").status_code == 404
    assert "/console/acme/" not in attacker.get("/console/", follow_redirects=True).text
    # Both owners were told, in words, what happened (Acme's in Spanish).
    assert "created with the first password" in created_page
    assert "ya tenía una cuenta" in r.text and "no se cambió" in r.text
    # Globex may no longer set this shared account's password.
    newhire_id = next(
        m.staff_id for m, s in _members(app, "globex") if s.email == "newhire@acme.example"
    )
    r = boss.post(
        f"/console/globex/settings/staff/{newhire_id}/password",
        data={
            "password": "another-attacker-pass",
            "csrf_token": session_csrf(boss, "/console/globex/settings"),
        },
    )
    assert r.status_code == 403 and "another program" in r.text

    # The person uses the link sent to their own address: Acme opens, and every session
    # (the attacker's included) ends.
    token = _outbox_link(app, "newhire@acme.example")
    person = browser(base, "127.0.0.6")
    form = person.get(f"/console/password/{token}")
    assert form.status_code == 200
    r = person.post(
        f"/console/password/{token}",
        data={"password": "the-person-chose-this", "csrf_token": csrf_of(form.text)},
    )
    assert r.status_code == 303
    assert attacker.get("/console/globex/", follow_redirects=False).status_code == 303
    assert sign_in(person, "newhire@acme.example", ATTACKER_PASSWORD).status_code == 401
    assert sign_in(person, "newhire@acme.example", "the-person-chose-this").status_code == 303
    assert person.get("/console/acme/").status_code == 200
    # The link works once.
    replay = browser(base, "127.0.0.7")
    again = replay.post(
        f"/console/password/{token}",
        data={
            "password": "replayed-link-pass",
            "csrf_token": csrf_of(replay.get("/console/login").text),
        },
    )
    assert again.status_code == 410


def _members(app: FastAPI, slug: str) -> list[tuple[Any, Any]]:
    with app.state.session_factory() as session:
        return staff.issuer_staff(session, issuers.get_issuer(session, slug))


@pytest.mark.usefixtures("fast_scrypt")
def test_cli_staff_create_says_an_account_exists_and_leaves_its_password_alone(
    served: tuple[str, FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, app = served
    app_settings: Settings = app.state.settings
    make_issuer(app, "acme")
    make_issuer(app, "globex")
    add_staff(app, "globex", "newhire@acme.example", "owner", password=ATTACKER_PASSWORD)
    for name, value in {
        "BADGEWORKS_DATABASE_URL": app_settings.resolved_database_url,
        "BADGEWORKS_DATA_DIR": str(app_settings.data_dir),
        "BADGEWORKS_KEY_SECRET": app_settings.key_secret.get_secret_value()
        if app_settings.key_secret
        else "",
        "BADGEWORKS_PUBLIC_BASE_URL": base,
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(
        badgeworks,
        [
            "staff",
            "create",
            "newhire@acme.example",
            "--issuer",
            "acme",
            "--role",
            "owner",
            "--password-stdin",
        ],
        input=ACME_TYPED + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "already had an account" in result.output and "NOT changed" in result.output
    assert "was not used" in result.output and "link" in result.output
    assert sign_in(browser(base), "newhire@acme.example", ACME_TYPED).status_code == 401
    attacker = signed_in(base, "newhire@acme.example", ATTACKER_PASSWORD, "127.0.0.2")
    assert attacker.get("/console/acme/").status_code == 404
    assert _outbox_link(app, "newhire@acme.example")


# ----------------------------------------------------------------------------- sessions


def _live_sessions(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return sum(1 for s in session.query(StaffSession).all() if s.ended_at is None)


@pytest.mark.usefixtures("fast_scrypt")
def test_changing_a_password_ends_the_accounts_other_sessions(
    served: tuple[str, FastAPI],
) -> None:
    base, app = served
    make_issuer(app, "acme")
    add_staff(app, "acme", "owner@acme.example", "owner")
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    laptop = signed_in(base, "owner@acme.example", PASSWORD, "127.0.0.2")
    phone = signed_in(base, "owner@acme.example", PASSWORD, "127.0.0.3")
    viewer = signed_in(base, "viewer@acme.example", PASSWORD, "127.0.0.4")
    viewer_elsewhere = signed_in(base, "viewer@acme.example", PASSWORD, "127.0.0.5")

    r = laptop.post(
        "/console/account/password",
        data={
            "current": PASSWORD,
            "password": "a brand new passphrase",
            "csrf_token": session_csrf(laptop, "/console/account/password"),
        },
    )
    assert r.status_code == 303
    assert laptop.get("/console/acme/").status_code == 200  # the session that changed it
    assert phone.get("/console/acme/", follow_redirects=False).status_code == 303  # ended

    # An owner resetting a member's password (the account is in no other program) ends
    # all of that member's sessions.
    member_id = next(s.id for _, s in _members(app, "acme") if s.email == "viewer@acme.example")
    r = laptop.post(
        f"/console/acme/settings/staff/{member_id}/password",
        data={
            "password": "reset by the owner",
            "csrf_token": session_csrf(laptop, "/console/acme/settings"),
        },
    )
    assert r.status_code == 303
    for client in (viewer, viewer_elsewhere):
        assert client.get("/console/acme/", follow_redirects=False).status_code == 303
    assert _live_sessions(app) == 1


# ----------------------------------------------------------------------------- admin token


def test_a_short_admin_token_refuses_to_start(settings: Settings) -> None:
    short = settings.model_copy(update={"admin_token": SecretStr("x" * 31)})
    with pytest.raises(ConfigError) as caught:
        create_app(short)
    assert caught.value.code == "config.admin_token" and "32" in caught.value.message


def test_wrong_admin_tokens_are_rate_limited_per_client(served: tuple[str, FastAPI]) -> None:
    base, _ = served
    body = {"slug": "northwind", "name": "Northwind", "did_method": "key"}

    def guess(i: int) -> httpx.Response:
        with browser(base, "127.0.0.2") as c:
            return c.post(
                "/api/v1/issuers", json=body, headers={"Authorization": f"Bearer guess-{i}"}
            )

    with ThreadPoolExecutor(30) as pool:
        responses = list(pool.map(guess, range(30)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(401) <= 10 and statuses.count(429) >= 20, statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["code"] == "auth.rate_limited" and "Retry-After" in limited.headers
    # The right token from the locked address is not even compared…
    with browser(base, "127.0.0.2") as c:
        r = c.post("/api/v1/issuers", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 429
    # …while the operator elsewhere is not affected.
    with browser(base, "127.0.0.3") as c:
        r = c.post("/api/v1/issuers", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 201, r.text


@pytest.mark.usefixtures("fast_scrypt")
def test_two_programs_adding_one_new_address_at_once_get_one_account_and_no_error(
    served: tuple[str, FastAPI],
) -> None:
    base, app = served
    make_issuer(app, "acme")
    make_issuer(app, "globex")
    add_staff(app, "acme", "owner@acme.example", "owner")
    add_staff(app, "globex", "boss@globex.example", "owner")
    owners = [
        ("acme", signed_in(base, "owner@acme.example", PASSWORD, "127.0.0.2")),
        ("globex", signed_in(base, "boss@globex.example", PASSWORD, "127.0.0.3")),
    ]
    forms = {slug: session_csrf(c, f"/console/{slug}/settings") for slug, c in owners}
    for n in range(3):
        email = f"shared{n}@example.org"
        barrier = threading.Barrier(2)

        def add(
            owner: tuple[str, httpx.Client],
            email: str = email,
            barrier: threading.Barrier = barrier,
        ) -> httpx.Response:
            slug, client = owner
            barrier.wait()
            return client.post(
                f"/console/{slug}/settings/staff",
                data={
                    "email": email,
                    "role": "viewer",
                    "password": f"typed by {slug} owner",
                    "csrf_token": forms[slug],
                },
                follow_redirects=True,
            )

        with ThreadPoolExecutor(2) as pool:
            pages = list(pool.map(add, owners))
        assert [p.status_code for p in pages] == [200, 200], [p.text[:300] for p in pages]
        told = sorted(
            "created" if "created with the first password" in p.text else "existing" for p in pages
        )
        assert told == ["created", "existing"]
        for slug in ("acme", "globex"):
            assert [s.email for _, s in _members(app, slug)].count(email) == 1
