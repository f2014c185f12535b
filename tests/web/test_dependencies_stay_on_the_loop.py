"""The dependencies every anonymous verification resolves (the service context, and no
token) are answered on the event loop: no hop to a worker thread and back per request.
A token, when sent, is still checked (on a worker thread, in a short session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi import FastAPI
from fastapi.dependencies import utils as dependency_utils
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, make_issuer
from tests.verifier_app import verifier_settings
from tests.web.test_pages_cost_what_they_show import portfolio_with


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(
        verifier_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"), clock=lambda: NOW
    )
    yield app
    app.state.engine.dispose()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the dependencies FastAPI runs on a worker thread."""
    seen: list[str] = []
    real = run_in_threadpool  # what fastapi.dependencies.utils calls it by

    async def counted(call: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(call, "__name__", repr(call)))
        return await real(call, *args, **kwargs)

    monkeypatch.setattr(dependency_utils, "run_in_threadpool", counted)
    return seen


NOT_A_CREDENTIAL = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "X"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/verify", {"credential": NOT_A_CREDENTIAL}),
        ("/credentials/verify", {"verifiableCredential": NOT_A_CREDENTIAL}),
    ],
)
def test_an_anonymous_verification_resolves_its_dependencies_on_the_loop(
    app: FastAPI, hops: list[str], path: str, body: dict[str, Any]
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(path, json=body)
    assert r.status_code in (200, 400, 422), r.text
    assert hops == []


def test_a_sent_token_is_still_checked(app: FastAPI) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(
            "/credentials/verify",
            json={"verifiableCredential": NOT_A_CREDENTIAL},
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "auth.invalid_token"
        r = client.post(
            "/credentials/verify",
            json={"verifiableCredential": NOT_A_CREDENTIAL},
            headers={"Authorization": " "},
        )
        assert r.status_code == 401, r.text


@pytest.fixture
def thread_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call handed to a worker thread (FastAPI's and Starlette's alike)."""
    seen: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(call: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(call, "__name__", repr(call)))
        return await real(call, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return seen


def test_a_kept_page_is_answered_with_one_hop_to_a_worker_thread(
    settings: Settings, thread_calls: list[str]
) -> None:
    server = create_app(settings, clock=lambda: NOW)
    try:
        acme = make_issuer(server, "acme")
        with TestClient(server, raise_server_exceptions=False) as client:
            portfolio, credentials = portfolio_with(client, acme, 1, handle="one-hop")
            html = {"Accept": "text/html", "Accept-Language": "en"}
            json_accept = {"Accept": "application/vc+ld+json"}
            for path, headers in (
                (portfolio, html),
                (credentials[0], html),
                (credentials[0], json_accept),
            ):
                first = client.get(path, headers=headers)  # rendered, and kept
                assert first.status_code == 200, first.text
                thread_calls.clear()
                again = client.get(path, headers=headers)
                assert again.status_code == 200, again.text
                assert again.content == first.content
                assert len(thread_calls) == 1, (path, thread_calls)
            thread_calls.clear()
            missing = client.get("/p/nobody-here", headers=html)
            assert missing.status_code == 404, missing.text
            assert len(thread_calls) == 1, thread_calls
    finally:
        server.state.engine.dispose()
