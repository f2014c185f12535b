"""An app for the wallet presentation tests: a clock the test moves, the verifier's limits
set per test, an issuer, and a did:key holder with a credential about them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from badgeworks.core.loader import DocumentLoader
from badgeworks.db.wallet_presentations import WalletPresentationRequest
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.wallet_holders import Holder, did_key_holder, issue_to, ldp_vp


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class WalletWorld:
    app: FastAPI
    client: TestClient
    clock: Clock
    issuer: IssuerHandle
    holder: Holder
    credential: dict[str, Any]
    loader: DocumentLoader
    extra: dict[str, Any] = field(default_factory=dict)

    def vp(self, request: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """The holder's ``ldp_vp`` answering ``request`` (``nonce``/``audience`` overridable)."""
        return ldp_vp(
            kw.pop("holder", self.holder),
            kw.pop("credential", self.credential),
            self.loader,
            nonce=kw.pop("nonce", request["nonce"]),
            audience=kw.pop("audience", request["client_id"]),
            now=self.clock.now,
        )

    def rows(self) -> int:
        with self.app.state.session_factory() as session:
            count: int = session.execute(
                select(func.count()).select_from(WalletPresentationRequest)
            ).scalar_one()
            return count

    def status(self, request: dict[str, Any]) -> dict[str, Any]:
        r = self.client.get(f"/verify/wallet/{request['request_id']}/status")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def make_world(
    database_url: str, tmp: Path, loader: DocumentLoader, **overrides: Any
) -> Iterator[WalletWorld]:
    settings = get_settings(
        **{
            "data_dir": tmp / "data",
            "database_url": database_url,
            "key_secret": TEST_SECRET,
            "public_base_url": "http://127.0.0.1:8000",
            "admin_token": "admin-test-token-0123456789-abcdefghij",
            "verify_rate_burst": 1000,
            **overrides,
        }
    )
    clock = Clock()
    application = create_app(settings, clock=clock)
    http = TestClient(application, raise_server_exceptions=False)
    issuer = make_issuer(application, "acme")
    holder = did_key_holder()
    credential = issue_to(http, issuer, holder.did)
    try:
        yield WalletWorld(application, http, clock, issuer, holder, credential, loader)
    finally:
        application.state.engine.dispose()


@pytest.fixture
def world(database_url: str, tmp_path: Path, loader: DocumentLoader) -> Iterator[WalletWorld]:
    yield from make_world(database_url, tmp_path, loader, verify_max_json_bytes=32 * 1024)
