"""Per-client rate limits on candidate sign-in: asking for links, and opening or using them.

Beyond the limit: a 429 page in the visitor's language with ``Retry-After``, nothing sent
or written, and the same page whether or not the address is known.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.candidate_access import CandidateLink
from badgeworks.services.accounts.candidate_access import SignInLimits
from badgeworks.services.infra.rate_limit import RateLimiter
from badgeworks.settings import Settings
from tests.html_page import Page, csrf_of
from tests.web.candidate_sign_in import EMAIL, last_link, outbox_count, request_link
from tests.web.test_bad_input import committed_writes

UNKNOWN = "nobody@example.org"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small limits, so a test reaches them in a few requests."""
    return settings.model_copy(
        update={
            "candidate_sign_in_rate_per_minute": 1.0,
            "candidate_sign_in_rate_burst": 2,
            "candidate_link_rate_per_minute": 1.0,
            "candidate_link_rate_burst": 3,
        }
    )


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: FastAPI, settings: Settings) -> Clock:
    """The app's limits as configured, on a clock the test controls."""
    clock = Clock()
    app.state.candidate_limits = SignInLimits(
        links=RateLimiter(
            per_minute=settings.candidate_sign_in_rate_per_minute,
            burst=settings.candidate_sign_in_rate_burst,
            clock=clock,
        ),
        redeem=RateLimiter(
            per_minute=settings.candidate_link_rate_per_minute,
            burst=settings.candidate_link_rate_burst,
            clock=clock,
        ),
    )
    return clock


def ask(client: TestClient, email: str, **headers: str) -> object:
    page = client.get("/me/sign-in")
    return client.post(
        "/me/sign-in", data={"email": email, "csrf_token": csrf_of(page.text)}, headers=headers
    )


def links_stored(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(session.exec(select(CandidateLink)).all())


def assert_limited(r: object, text: str) -> None:
    assert r.status_code == 429, r.text  # type: ignore[attr-defined]
    assert r.headers["retry-after"].isdigit() and int(r.headers["retry-after"]) >= 1  # type: ignore[attr-defined]
    assert r.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    assert text in Page(r.text).text  # type: ignore[attr-defined]


# --- asking for links ------------------------------------------------------------------


def test_asking_for_links_is_limited_per_client(
    app: FastAPI, client: TestClient, known: int, clock: Clock
) -> None:
    assert ask(client, EMAIL).status_code == 200  # type: ignore[attr-defined]
    assert ask(client, UNKNOWN).status_code == 200  # type: ignore[attr-defined]
    assert outbox_count(app) == 1 and links_stored(app) == 1
    with committed_writes(app.state.engine) as writes:
        known_reply = ask(client, EMAIL)
        unknown_reply = ask(client, UNKNOWN)
    assert writes == []  # nothing sent, nothing written
    assert outbox_count(app) == 1 and links_stored(app) == 1
    assert_limited(known_reply, "Too many sign-in links were asked for from your network")
    assert "Wait 1 minutes" not in known_reply.text  # type: ignore[attr-defined]
    assert "Wait 60 seconds" in Page(known_reply.text).text  # type: ignore[attr-defined]
    assert known_reply.headers["retry-after"] == "60"  # type: ignore[attr-defined]
    # The same answer whether or not the address is known.
    assert unknown_reply.status_code == known_reply.status_code  # type: ignore[attr-defined]
    assert unknown_reply.text == known_reply.text  # type: ignore[attr-defined]
    assert unknown_reply.headers["retry-after"] == known_reply.headers["retry-after"]  # type: ignore[attr-defined]

    # A token comes back after a minute (1 a minute), and then one request goes through.
    clock.now += 60
    request_link(client)
    assert outbox_count(app) == 2
    assert ask(client, EMAIL).status_code == 429  # type: ignore[attr-defined]


def test_the_limit_is_per_client_address(
    app: FastAPI, client: TestClient, known: int, clock: Clock
) -> None:
    for _ in range(2):
        ask(client, UNKNOWN)
    assert ask(client, UNKNOWN).status_code == 429  # type: ignore[attr-defined]
    # A forwarded-for header is not trusted by the app: uvicorn's --proxy-headers, for
    # addresses allowed to send it, is what sets the client address.
    spoofed = ask(client, UNKNOWN, **{"X-Forwarded-For": "203.0.113.9"})
    assert spoofed.status_code == 429  # type: ignore[attr-defined]
    elsewhere = TestClient(app, raise_server_exceptions=False, client=("198.51.100.7", 40000))
    request_link(elsewhere)
    assert outbox_count(app) == 1
    # IPv6 clients are grouped by /64, as on the public verifier.
    for host in ("2001:db8::1", "2001:db8::2"):
        v6 = TestClient(app, raise_server_exceptions=False, client=(host, 40000))
        assert ask(v6, UNKNOWN).status_code == 200  # type: ignore[attr-defined]
    v6 = TestClient(app, raise_server_exceptions=False, client=("2001:db8::3", 40000))
    assert ask(v6, UNKNOWN).status_code == 429  # type: ignore[attr-defined]


def test_the_limited_page_speaks_spanish(
    app: FastAPI, client: TestClient, known: int, clock: Clock
) -> None:
    for _ in range(2):
        ask(client, UNKNOWN)
    clock.now += 30  # half a token back: the wait is 30 seconds
    r = ask(client, EMAIL, **{"Accept-Language": "es-ES,es;q=0.9"})
    assert_limited(r, "Se han pedido demasiados enlaces para entrar desde tu red")
    page = Page(r.text)  # type: ignore[attr-defined]
    assert page.all("html")[0]["lang"] == "es"
    assert "Espera 30 segundos" in page.text
    assert r.headers["retry-after"] == "30"  # type: ignore[attr-defined]
    assert "/me/sign-in" in page.hrefs()


def test_limits_come_from_settings(app: FastAPI, client: TestClient, known: int) -> None:
    # No injected clock: the app builds its limits from the settings (burst 2).
    assert ask(client, UNKNOWN).status_code == 200  # type: ignore[attr-defined]
    assert ask(client, UNKNOWN).status_code == 200  # type: ignore[attr-defined]
    assert ask(client, UNKNOWN).status_code == 429  # type: ignore[attr-defined]
    limits = app.state.candidate_limits
    assert isinstance(limits, SignInLimits)
    assert (limits.links.burst, limits.redeem.burst) == (2.0, 3.0)


def test_zero_turns_the_limits_off(settings: Settings) -> None:
    off = settings.model_copy(
        update={
            "candidate_sign_in_rate_per_minute": 0,
            "candidate_sign_in_rate_burst": 0,
            "candidate_link_rate_per_minute": 0,
            "candidate_link_rate_burst": 0,
        }
    )
    limits = SignInLimits.from_settings(off)
    assert limits.links.disabled and limits.redeem.disabled
    assert all(limits.links.take("192.0.2.1") is None for _ in range(100))
    assert all(limits.redeem.take("192.0.2.1") is None for _ in range(100))


# --- opening and using links -----------------------------------------------------------


def test_guessing_links_is_limited(
    app: FastAPI, client: TestClient, known: int, clock: Clock
) -> None:
    request_link(client)
    link = last_link(app)
    # Guesses spend the client's tokens (GET and POST alike); burst 3.
    assert client.get("/me/link/guess-1").status_code == 410
    assert client.post("/me/link/guess-2", data={"nonce": "x"}).status_code == 403
    assert client.get("/me/link/guess-3").status_code == 410
    with committed_writes(app.state.engine) as writes:
        r = client.get("/me/link/guess-4")
        assert_limited(r, "Too many sign-in links were opened from your network")
        # Even the real link is refused now, and stays unused.
        assert client.get(link).status_code == 429
        assert client.post(link, data={"nonce": "x"}, follow_redirects=False).status_code == 429
    assert writes == []
    with app.state.session_factory() as session:
        assert session.exec(select(CandidateLink)).one().used_at is None
    # The page does not tell a live link from a guess.
    assert client.get(link).text.replace(link, "") == r.text.replace("/me/link/guess-4", "")

    # A minute later one token is back: the real link opens, then (another minute) signs in.
    clock.now += 60
    page = client.get(link)
    assert page.status_code == 200
    clock.now += 60
    done = client.post(link, data={"nonce": csrf_of(page.text, "nonce")}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/me"
