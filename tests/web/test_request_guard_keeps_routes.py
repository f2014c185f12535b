"""The request guard finds the route a request with a body goes to once per path, and
still finds it: the token check before the body and the 404 for a path nothing serves
do not change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.web import limits
from badgeworks.web.app import create_app
from tests.issuer_app import NOW
from tests.verifier_app import verifier_settings


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    settings = verifier_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    app = create_app(settings, clock=lambda: NOW)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def matched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the guard matched against the routes."""
    seen: list[str] = []
    real = limits._route_of

    def counted(scope: Any) -> Any:
        seen.append(scope["path"])
        return real(scope)

    monkeypatch.setattr(limits, "_route_of", counted)
    return seen


BODY = {"verifiableCredential": {"type": "X"}}


def test_a_path_is_matched_once(app: FastAPI, matched: list[str]) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(3):
            r = client.post("/credentials/verify", json=BODY)
            assert r.status_code in (400, 422), r.text
    assert matched == ["/credentials/verify"]


def test_what_the_route_needs_is_still_checked_before_the_body(
    app: FastAPI, matched: list[str]
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(2):
            # Issuing needs a token: refused before the body is read, every time.
            r = client.post("/credentials/issue", json={"credential": {}})
            assert r.status_code == 401, r.text
            assert r.json()["code"] == "auth.missing_token"
            r = client.post("/api/v1/no-such-thing", json={"a": 1})
            assert r.status_code == 404, r.text
    assert sorted(set(matched)) == ["/api/v1/no-such-thing", "/credentials/issue"]
    assert len(matched) == 2


def test_kept_paths_are_bounded(
    app: FastAPI, matched: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_KEPT_ROUTES", 2)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/api/v1/a", "/api/v1/b", "/api/v1/c", "/api/v1/a"):
            assert client.post(path, json={"a": 1}).status_code == 404
    # The third path dropped the first two; the first is matched again.
    assert matched == ["/api/v1/a", "/api/v1/b", "/api/v1/c", "/api/v1/a"]
