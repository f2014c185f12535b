"""Where a candidate meets a wallet offer: the link on /me and on the credential's page,
the offer page (QR code, openid-credential-offer:// link, expiry, PIN note) in English
and Spanish, the refusals of that page, and the offer in the issuance email, each of
which a wallet then redeems."""

from __future__ import annotations

import base64
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.outbox import OutboxMessage
from badgeworks.settings import Settings
from tests.html_page import Page, csrf_of
from tests.issuer_app import ACHIEVEMENT, Issued, IssuerHandle, make_issuer
from tests.services.exchange.wallet_holder import (
    LDP,
    PRE_AUTH,
    Wallet,
    access_token,
    ask,
    c_nonce,
    fetch_offer,
    issue_plain,
    request_body,
)
from tests.web.candidate_sign_in import sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"wallet_rate_per_minute": 600.0, "wallet_rate_burst": 600})


@pytest.fixture
def issued(app: FastAPI, client: TestClient, acme: IssuerHandle) -> Issued:
    return issue_plain(client, acme)


def _messages(app: FastAPI) -> list[OutboxMessage]:
    with app.state.session_factory() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def _offer_page(client: TestClient, credential_id: str, lang: str = "en") -> Page:
    page = client.get(f"/me/wallet/{credential_id}?lang={lang}")
    assert page.status_code == 200, page.text
    r = client.post(
        f"/me/wallet/{credential_id}?lang={lang}", data={"csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return Page(r.text)


def _link_of(page: Page) -> str:
    links = [h for h in page.hrefs() if h.startswith("openid-credential-offer://")]
    assert len(links) == 1, page.hrefs()
    return links[0]


def test_me_offers_each_credential_and_the_offer_works(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    sign_in(app, client)
    me = Page(client.get("/me").text)
    assert f"/me/wallet/{issued.id}" in me.hrefs()
    page = _offer_page(client, issued.id)
    assert "Your wallet offer" in page.text
    assert "works until" in page.text and "UTC" in page.text
    assert "PIN" not in page.text
    qr = page.all("img", class_="qr")
    assert len(qr) == 1 and qr[0]["alt"]
    svg = base64.b64decode(qr[0]["src"].removeprefix("data:image/svg+xml;base64,"))
    assert svg.startswith(b"<svg") or b"<svg" in svg[:200]
    # The link is a real offer: a wallet redeems it and gets the credential.
    wallet = Wallet()
    token = access_token(client, _link_of(page))
    r = ask(client, token, request_body(LDP, wallet.proof(c_nonce(client))))
    assert r.status_code == 200, r.text
    assert r.json()["credentials"][0]["credential"]["credentialSubject"]["id"] == wallet.did


def test_offer_page_in_spanish(app: FastAPI, client: TestClient, issued: Issued) -> None:
    sign_in(app, client)
    page = _offer_page(client, issued.id, "es")
    assert "Tu oferta para la cartera" in page.text
    assert "La oferta sirve hasta el" in page.text
    assert page.all("img", class_="qr")[0]["alt"].startswith("Código QR")


def test_each_visit_makes_a_new_single_use_offer(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    sign_in(app, client)
    first = _link_of(_offer_page(client, issued.id))
    second = _link_of(_offer_page(client, issued.id))
    assert first != second
    access_token(client, first)
    r = client.get("/oid4vci/offers/" + first.rsplit("%2F", 1)[-1])
    assert r.status_code == 404


def test_offer_page_refusals(app: FastAPI, client: TestClient, issued: Issued) -> None:
    # Not signed in: to the sign-in page, nothing made.
    r = client.get(f"/me/wallet/{issued.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me/sign-in"
    r = client.post(f"/me/wallet/{issued.id}", data={"csrf_token": "x"}, follow_redirects=False)
    assert r.status_code == 303
    sign_in(app, client)
    page = client.get(f"/me/wallet/{issued.id}")
    # A forged form (no or another CSRF token).
    r = client.post(f"/me/wallet/{issued.id}", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert "openid-credential-offer://" not in r.text
    # Someone else's credential, and one that does not exist.
    other = make_issuer(app, "globex")
    theirs = issue_plain_for(client, other)
    token = csrf_of(page.text)
    for credential_id in (theirs, "00000000-0000-4000-8000-000000000000", "x" * 36):
        r = client.post(f"/me/wallet/{credential_id}", data={"csrf_token": token})
        assert r.status_code == 404, r.text
        assert "not one of yours" in Page(r.text).text
        assert "openid-credential-offer://" not in r.text


def issue_plain_for(client: TestClient, who: IssuerHandle) -> str:
    """A credential of another program, for a candidate with another address."""
    r = client.post(f"/api/v1/issuers/{who.slug}/achievements", json=ACHIEVEMENT, headers=who.auth)
    assert r.status_code == 201, r.text
    achievement = r.json()["id"]
    r = client.post(
        f"/api/v1/issuers/{who.slug}/candidates",
        json={"name": "Bob", "emails": ["bob@example.org"]},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    project = {
        "achievement_id": achievement,
        "candidate_id": r.json()["id"],
        "title": "Other",
        "host": {"name": "Northwind Traders"},
        "results": [{"result_description": "quality", "achieved_level": "exceeds"}],
    }
    r = client.post(f"/api/v1/issuers/{who.slug}/projects", json=project, headers=who.auth)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/projects/{r.json()['id']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_with_a_pin_the_page_says_so_and_the_pin_comes_by_email(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    r = client.put(
        f"/api/v1/issuers/{acme.slug}/wallet", json={"pin_required": True}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    sign_in(app, client)
    page = _offer_page(client, issued.id)
    assert page.all("p", id="wallet-pin")
    pins = [m for m in _messages(app) if m.reference.startswith("wallet_pin:")]
    assert len(pins) == 1 and pins[0].to == "ada@example.org"
    pin = re.search(r"\n\n(\d{6})\n\n", pins[0].body_text)
    assert pin is not None
    assert pin.group(1) not in page.text
    offer = fetch_offer(client, _link_of(page))
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    form = {"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": pin.group(1)}
    assert client.post("/oid4vci/token", data=form).status_code == 200


def test_credential_page_links_to_the_offer(client: TestClient, issued: Issued) -> None:
    page = Page(client.get(issued.path, headers={"Accept": "text/html"}).text)
    assert f"/me/wallet/{issued.id}" in page.hrefs()


def test_issuance_email_carries_an_offer(app: FastAPI, client: TestClient, issued: Issued) -> None:
    mail = [m for m in _messages(app) if m.reference == f"credential_issued:{issued.id}"]
    assert len(mail) == 1
    link = re.search(r"openid-credential-offer://\S+", mail[0].body_text)
    assert link is not None
    html = Page(mail[0].body_html)
    assert link.group(0) in html.hrefs()
    qr = [i for i in html.all("img") if i["src"].endswith("/qr.png")]
    assert len(qr) == 1 and qr[0]["alt"]
    r = client.get(qr[0]["src"].removeprefix("http://127.0.0.1:8000"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")
    wallet = Wallet("ES256", "jwk")
    token = access_token(client, link.group(0))
    r = ask(client, token, request_body(LDP, wallet.proof(c_nonce(client))))
    assert r.status_code == 200, r.text


def test_making_offers_is_rate_limited(app: FastAPI, client: TestClient, issued: Issued) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"wallet_rate_per_minute": 1.0, "wallet_rate_burst": 2}
    )
    sign_in(app, client)
    token = csrf_of(client.get(f"/me/wallet/{issued.id}").text)
    statuses = [
        client.post(f"/me/wallet/{issued.id}", data={"csrf_token": token}) for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too many wallet offers" in Page(refused.text).text
    assert "openid-credential-offer://" not in refused.text
