"""Simultaneous first requests with one ``Idempotency-Key`` issue once and answer alike."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.models import Credential, IdempotencyRecord
from badgeworks.services.errors import ConflictError
from badgeworks.services.infra import idempotency
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.programs.issuers import get_issuer
from tests.issuer_app import IssuerHandle, draft_project


def slow_issuance(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make signing take ``seconds``, so concurrent requests surely overlap."""
    original = issuance.complete_project

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(issuance, "complete_project", slow)


def at_once(n: int, call: Any) -> list[httpx.Response]:
    """Run ``call()`` on ``n`` threads released together; their responses in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def credentials(app: FastAPI) -> list[Credential]:
    with app.state.session_factory() as session:
        return list(session.exec(select(Credential)))


def test_simultaneous_first_requests_issue_once(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = draft_project(client, acme)
    slow_issuance(monkeypatch, 0.5)
    headers = {**acme.auth, "Idempotency-Key": "race-1"}
    url = f"/api/v1/projects/{ids['project']}/complete"
    responses = at_once(4, lambda: client.post(url, headers=headers))
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == 3
    assert len(credentials(app)) == 1


def test_a_second_request_gives_up_waiting_with_retry_after(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = draft_project(client, acme)
    slow_issuance(monkeypatch, 2.0)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    headers = {**acme.auth, "Idempotency-Key": "race-2"}
    url = f"/api/v1/projects/{ids['project']}/complete"
    first, second = at_once(2, lambda: client.post(url, headers=headers))
    codes = sorted([first.status_code, second.status_code])
    assert codes == [201, 409]
    busy = first if first.status_code == 409 else second
    assert busy.json()["code"] == "idempotency.in_progress"
    assert busy.json()["ok"] is False
    assert int(busy.headers["Retry-After"]) >= 1
    # Once the first has finished, the retry gets its response.
    retry = client.post(url, headers=headers)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert len(credentials(app)) == 1


def test_a_failed_first_request_frees_the_key(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = draft_project(client, acme)
    original = issuance.complete_project

    def fail_once(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(issuance, "complete_project", original)
        raise ConflictError("the signer is busy", code="test.busy")

    monkeypatch.setattr(issuance, "complete_project", fail_once)
    headers = {**acme.auth, "Idempotency-Key": "fail-then-retry"}
    url = f"/api/v1/projects/{ids['project']}/complete"
    assert client.post(url, headers=headers).json()["code"] == "test.busy"
    retry = client.post(url, headers=headers)
    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    again = client.post(url, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.text == retry.text


def test_a_stale_claim_is_taken_over(app: FastAPI, client: TestClient, acme: IssuerHandle) -> None:
    ids = draft_project(client, acme)
    url = f"/api/v1/projects/{ids['project']}/complete"
    # A process that claimed the key and died before answering left this behind.
    with app.state.session_factory() as session:
        session.add(
            IdempotencyRecord(
                issuer_id=get_issuer(session, "acme").id or 0,
                key="crashed",
                fingerprint=idempotency.fingerprint("POST", url, b""),
                status_code=idempotency.PENDING,
                response="",
                created_at=app.state.ctx.clock() - idempotency.STALE_AFTER - timedelta(seconds=1),
            )
        )
        session.commit()
    r = client.post(url, headers={**acme.auth, "Idempotency-Key": "crashed"})
    assert r.status_code == 201, r.text


def test_the_same_key_on_another_request_is_refused_even_while_pending(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = draft_project(client, acme)
    second = draft_project(client, acme)
    slow_issuance(monkeypatch, 1.0)
    headers = {**acme.auth, "Idempotency-Key": "shared"}
    results: dict[str, httpx.Response] = {}

    def complete(name: str, project: int) -> None:
        results[name] = client.post(f"/api/v1/projects/{project}/complete", headers=headers)

    t = threading.Thread(target=complete, args=("first", first["project"]))
    t.start()
    time.sleep(0.3)
    complete("second", second["project"])
    t.join(30)
    assert results["first"].status_code == 201
    assert results["second"].status_code == 422
    assert results["second"].json()["code"] == "idempotency.key_reused"
