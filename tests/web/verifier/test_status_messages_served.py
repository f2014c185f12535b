"""A credential whose status entry is two bits wide with messages (Bitstring Status List
v1.0 §2.1), its list fetched from a server that serves raw files as ``text/plain``: the
API's report carries the value and the message, and the verifier page shows them in
English and Spanish.

Only this module's verifier may fetch from 127.0.0.1 (``fetch_allow_private``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.proof import add_proof
from badgeworks.core.status import (
    encode_list,
    new_bitstring,
    set_status,
    status_entry,
    status_list_credential,
)
from badgeworks.web.app import create_app
from tests.did_key_badges import ISSUED, KEY, signed
from tests.issuer_app import NOW
from tests.servers import Loopback, Route
from tests.verifier_app import verifier_settings

MESSAGES = ["valid", "pending review", "revoked: issued in error", "undefined"]
REFERENCE = "https://northwind.example/status/reasons"


@pytest.fixture(scope="module")
def mapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    application = create_app(
        verifier_settings(tmp_path_factory.mktemp("mapp"), fetch_allow_private=True),
        clock=lambda: NOW,
    )
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def served(mapp: FastAPI, loopback: Loopback) -> dict[int, dict[str, Any]]:
    """A message list (entry 77 is 0x1) served as a raw file; a credential pointing at it."""
    loader = mapp.state.ctx.loader
    url = f"{loopback.base}/lists/messages.json"
    bits = new_bitstring(status_size=2)
    set_status(bits, 77, 1, 2)
    unsigned = status_list_credential(
        id=url,
        issuer=KEY.controller,
        purpose="message",
        encoded_list=encode_list(bits),
        valid_from=ISSUED,
    )
    body = json.dumps(add_proof(unsigned, KEY, loader, created=ISSUED)).encode()
    loopback.routes["/lists/messages.json"] = Route(body, "text/plain; charset=utf-8")
    entries: dict[int, dict[str, Any]] = {}
    for index in (76, 77):
        entry = status_entry(
            status_list_credential=url,
            index=index,
            purpose="message",
            status_size=2,
            status_messages=MESSAGES,
        )
        entry["statusReference"] = REFERENCE
        entries[index] = signed(loader, credential_status=entry)
    return entries


def _status(body: dict[str, Any]) -> dict[str, Any]:
    (check,) = [c for c in body["checks"] if c["check"] == "status"]
    return check


def test_the_report_carries_the_value_and_the_message(
    mapp: FastAPI, served: dict[int, dict[str, Any]]
) -> None:
    client = TestClient(mapp, raise_server_exceptions=False)
    r = client.post("/api/v1/verify", json=served[77])
    check = _status(r.json())
    assert (check["outcome"], check["code"]) == ("warning", "status.message")
    detail = check["detail"]
    assert (detail["status"], detail["valid"], detail["message"]) == (1, False, "pending review")
    assert (detail["statusSize"], detail["statusReference"]) == (2, [REFERENCE])
    r = client.post("/api/v1/verify", json=served[76])
    assert r.status_code == 200, r.text
    check = _status(r.json())
    assert (check["outcome"], check["detail"]["message"]) == ("pass", "valid")


@pytest.mark.parametrize(
    ("lang", "label", "link"),
    [("en", "Status:", "What this status means"), ("es", "Estado:", "Qué significa este estado")],
)
def test_the_verifier_page_shows_the_message(
    mapp: FastAPI, served: dict[int, dict[str, Any]], lang: str, label: str, link: str
) -> None:
    client = TestClient(mapp, raise_server_exceptions=False)
    page = client.post(f"/verify?lang={lang}", files={"credential": (None, json.dumps(served[77]))})
    assert page.status_code in (200, 422), page.text[:300]
    shown = page.text.split('class="status-message"', 1)[1].split("</span>", 1)[0]
    assert 'data-status-value="1"' in shown
    assert f"{label} <q>pending review</q>" in shown
    assert f'<a href="{REFERENCE}" rel="noopener nofollow">{link}</a>' in shown
