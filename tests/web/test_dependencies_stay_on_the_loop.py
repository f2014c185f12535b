"""The dependencies every anonymous verification resolves (the service context, and no
token) are answered on the event loop: no hop to a worker thread and back per request.
A token, when sent, is still checked (on a worker thread, in a short session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies import utils as dependency_utils
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

from badgeworks.web.app import create_app
from tests.issuer_app import NOW
from tests.verifier_app import verifier_settings


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
