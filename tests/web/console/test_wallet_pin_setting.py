"""The console's wallet PIN setting: an owner turns it on and off on Settings (the API
reads the same setting, the audit trail records each change), other staff only read it.
Both databases."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.models import AuditEvent
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _api(client: TestClient, acme: IssuerHandle) -> bool:
    r = client.get("/api/v1/issuers/acme/wallet", headers=acme.auth)
    assert r.status_code == 200, r.text
    return bool(r.json()["pin_required"])


def test_owner_turns_the_pin_on_and_off(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    (box,) = Page(client.get("/console/acme/settings").text).all("input", id="wallet-pin")
    assert "checked" not in box and box["name"] == "pin_required"
    assert _api(client, acme) is False

    r = client.post(
        "/console/acme/settings/wallet", data={"csrf_token": csrf, "pin_required": "true"}
    )
    assert r.status_code == 200, r.text
    assert "The wallet setting is saved." in Page(r.text).text
    (box,) = Page(r.text).all("input", id="wallet-pin")
    assert "checked" in box
    assert _api(client, acme) is True

    # Unticked, the browser sends nothing: the PIN is off again.
    r = client.post("/console/acme/settings/wallet", data={"csrf_token": csrf})
    assert r.status_code == 200, r.text
    assert _api(client, acme) is False
    with app.state.session_factory() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "issuer.wallet_pin"))
        assert [e.detail["pin_required"] for e in events] == [True, False]

    # A forged form changes nothing.
    r = client.post("/console/acme/settings/wallet", data={"pin_required": "true"})
    assert r.status_code == 403
    assert _api(client, acme) is False

    spanish = Page(client.get("/console/acme/settings?lang=es").text).text
    assert "Las ofertas para carteras piden un PIN" in spanish


def test_other_staff_only_read_it(app: FastAPI, client: TestClient, acme: IssuerHandle) -> None:
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    page = Page(client.get("/console/acme/settings").text)
    assert not page.all("input", id="wallet-pin")
    assert "No: a wallet offer works without a PIN" in page.text
    r = client.post(
        "/console/acme/settings/wallet", data={"csrf_token": csrf, "pin_required": "true"}
    )
    assert r.status_code == 403
    assert _api(client, acme) is False
