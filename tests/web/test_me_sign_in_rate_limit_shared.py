"""Candidate sign-in limits counted in the database (``BADGEWORKS_RATE_LIMIT_STORE``, as
with several worker processes): a second app on the same database shares the count, and a
refused request writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.rate_limits import RateLimitWindow
from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW
from tests.web.candidate_sign_in import EMAIL, outbox_count
from tests.web.test_bad_input import committed_writes
from tests.web.test_me_sign_in_rate_limit import UNKNOWN, ask, assert_limited


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "candidate_sign_in_rate_per_minute": 1.0,
            "candidate_sign_in_rate_burst": 2,
            "candidate_link_rate_per_minute": 1.0,
            "candidate_link_rate_burst": 3,
            "rate_limit_store": "database",
        }
    )


@pytest.fixture
def second_app(settings: Settings) -> Iterator[FastAPI]:
    """Another process's app on the same database."""
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


def _counts(app: FastAPI) -> dict[str, int]:
    with app.state.session_factory() as session:
        return {row.name: row.hits for row in session.exec(select(RateLimitWindow))}


def test_asking_for_links_counts_across_apps(
    app: FastAPI, second_app: FastAPI, client: TestClient, known: int
) -> None:
    assert ask(client, EMAIL).status_code == 200  # type: ignore[attr-defined]
    other = TestClient(second_app, raise_server_exceptions=False)
    assert ask(other, UNKNOWN).status_code == 200  # type: ignore[attr-defined]
    assert _counts(app) == {"candidate.links": 2}
    with committed_writes(app.state.engine) as writes:
        refused_here = ask(client, EMAIL)
    with committed_writes(second_app.state.engine) as writes_there:
        refused_there = ask(other, EMAIL)
    assert writes == [] and writes_there == []
    assert_limited(refused_here, "Too many sign-in links were asked for from your network")
    assert_limited(refused_there, "Too many sign-in links were asked for from your network")
    assert outbox_count(app) == 1
    assert _counts(app) == {"candidate.links": 2}


def test_guessing_links_counts_across_apps(
    app: FastAPI, second_app: FastAPI, client: TestClient
) -> None:
    other = TestClient(second_app, raise_server_exceptions=False)
    guesses = [c.get(f"/me/link/{'x' * 43}") for c in (client, other, client)]
    assert [r.status_code for r in guesses] == [410, 410, 410]
    assert_limited(other.get(f"/me/link/{'y' * 43}"), "")
    assert client.post(f"/me/link/{'z' * 43}", data={"nonce": ""}).status_code == 429
    assert _counts(app) == {"candidate.redeem": 3}
