"""Replays as real races against a served app, on SQLite and PostgreSQL: two wallets
redeeming one pre-authorized code, and two credential requests carrying one nonce, at the
same moment. Exactly one of each succeeds, and one wallet copy is stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.wallet import WalletCredential, WalletOffer
from badgeworks.settings import Settings
from tests.issuer_app import Issued, IssuerHandle
from tests.servers import serve
from tests.services.exchange.wallet_holder import (
    JWT,
    LDP,
    PRE_AUTH,
    Wallet,
    fetch_offer,
    issue_plain,
    make_offer,
    request_body,
)

RACERS = 4


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"wallet_rate_per_minute": 600.0, "wallet_rate_burst": 600})


@pytest.fixture
def issued(app: FastAPI, client: TestClient, acme: IssuerHandle) -> Issued:
    return issue_plain(client, acme)


def at_once(n: int, call: Callable[[httpx.Client], httpx.Response], base: str) -> list[Any]:
    """``call`` on ``n`` threads released together, each with its own connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            try:
                barrier.wait(30)
                results[i] = call(http)
            except Exception as exc:
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, httpx.Response) for r in results), results
    return results


def test_one_code_redeemed_by_racing_wallets(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    code = fetch_offer(client, make_offer(app, issued.id).link)["grants"][PRE_AUTH][
        "pre-authorized_code"
    ]
    form = {"grant_type": PRE_AUTH, "pre-authorized_code": code}
    with serve(app) as base:
        results = at_once(RACERS, lambda http: http.post("/oid4vci/token", data=form), base)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [400] * (RACERS - 1), [r.text for r in results]
    assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}
    with app.state.session_factory() as session:
        offer = session.exec(
            select(WalletOffer).where(col(WalletOffer.redeemed_at).is_not(None))
        ).one()
    winner = next(r for r in results if r.status_code == 200)
    assert offer.token_hash is not None and offer.redeemed_at is not None
    assert winner.json()["token_type"] == "Bearer"


def test_one_nonce_used_by_racing_requests(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    wallet = Wallet()
    # Each racer holds its own access token, so only the nonce is shared.
    tokens = []
    for _ in range(RACERS):
        link = make_offer(app, issued.id).link
        code = fetch_offer(client, link)["grants"][PRE_AUTH]["pre-authorized_code"]
        r = client.post(
            "/oid4vci/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code}
        )
        tokens.append(r.json()["access_token"])
    nonce = client.post("/oid4vci/nonce").json()["c_nonce"]
    proof = wallet.proof(nonce)
    queue = list(tokens)
    lock = threading.Lock()

    def call(http: httpx.Client) -> httpx.Response:
        with lock:
            token = queue.pop()
        config = LDP if len(queue) % 2 else JWT
        return http.post(
            "/oid4vci/credential",
            json=request_body(config, proof),
            headers={"Authorization": f"Bearer {token}"},
        )

    with serve(app) as base:
        results = at_once(RACERS, call, base)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [400] * (RACERS - 1), [r.text for r in results]
    assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_nonce"}
    with app.state.session_factory() as session:
        assert len(session.exec(select(WalletCredential)).all()) == 1
