"""Every refusal of the OpenID4VCI endpoints, with the spec's error code, and nothing
issued or stored: replayed and expired codes, wrong PINs, bad and replayed proofs, wrong
nonces, other keys, oversized and malformed tokens, formats we do not issue."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.core.encoding import b64url_encode
from badgeworks.db.outbox import OutboxMessage
from badgeworks.db.wallet import WalletCredential, WalletNonce, WalletOffer
from badgeworks.settings import Settings
from tests.issuer_app import NOW, Issued, IssuerHandle
from tests.services.exchange.wallet_holder import (
    BASE,
    JWT,
    LDP,
    PRE_AUTH,
    Wallet,
    access_token,
    ask,
    c_nonce,
    fetch_offer,
    issue_plain,
    make_offer,
    offer_uri,
    redeem,
    request_body,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Room for the many requests these tests make; the rate-limit test lowers it again.
    return settings.model_copy(update={"wallet_rate_per_minute": 600.0, "wallet_rate_burst": 600})


@pytest.fixture
def issued(app: FastAPI, client: TestClient, acme: IssuerHandle) -> Issued:
    return issue_plain(client, acme)


def _wallet_rows(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(session.exec(select(WalletCredential)).all())


def _code(client: TestClient, link: str) -> str:
    return str(fetch_offer(client, link)["grants"][PRE_AUTH]["pre-authorized_code"])


def _refused(r: Any, status: int, error: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == error, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.json()["error_description"]


# ------------------------------------------------------------------------------ token


def _code_redeemed_once(app: FastAPI, client: TestClient, issued: Issued) -> None:
    link = make_offer(app, issued.id).link
    code = _code(client, link)
    assert redeem(client, code).status_code == 200
    _refused(redeem(client, code), 400, "invalid_grant")
    # The offer itself is gone once redeemed.
    assert client.get(offer_uri(link).removeprefix(BASE)).status_code == 404
    # Malformed offer ids are simply not found.
    for offer_id in ("x", "..%2F..%2Fetc", "A" * 43 + "!", "A" * 64):
        r = client.get(f"/oid4vci/offers/{offer_id}")
        assert r.status_code in (404, 422), (offer_id, r.text)
        assert "pre-authorized_code" not in r.text


def _unknown_and_expired_codes(app: FastAPI, client: TestClient, issued: Issued) -> None:
    _refused(redeem(client, "x" * 43), 400, "invalid_grant")
    link = make_offer(app, issued.id, minutes=1).link
    code = _code(client, link)
    app.state.ctx.clock = lambda: NOW + timedelta(minutes=2)
    _refused(redeem(client, code), 400, "invalid_grant")
    assert client.get(offer_uri(link).removeprefix(BASE)).status_code == 404


def _malformed_token_requests(app: FastAPI, client: TestClient, issued: Issued) -> None:
    code = _code(client, make_offer(app, issued.id).link)
    r = client.post("/oid4vci/token", data={"grant_type": "authorization_code", "code": code})
    _refused(r, 400, "unsupported_grant_type")
    _refused(client.post("/oid4vci/token", data={"grant_type": PRE_AUTH}), 400, "invalid_request")
    r = client.post("/oid4vci/token", json={"grant_type": PRE_AUTH, "pre-authorized_code": code})
    _refused(r, 400, "invalid_request")
    r = client.post(
        "/oid4vci/token",
        content=f"grant_type={PRE_AUTH}&pre-authorized_code={code}&pre-authorized_code=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _refused(r, 400, "invalid_request")
    _refused(redeem(client, "c" * 5000), 400, "invalid_request")
    # An offer without a PIN refuses one (OpenID4VCI 1.0 §6.3).
    _refused(redeem(client, code, "123456"), 400, "invalid_request")
    # None of these used the code up.
    assert redeem(client, code).status_code == 200


def _pin_on(client: TestClient, acme: IssuerHandle) -> None:
    r = client.put(
        f"/api/v1/issuers/{acme.slug}/wallet", json={"pin_required": True}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/issuers/{acme.slug}/wallet", headers=acme.auth).json() == {
        "pin_required": True
    }


def _emailed_pin(app: FastAPI) -> str:
    with app.state.session_factory() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    pins = [r for r in rows if r.reference.startswith("wallet_pin:")]
    assert pins, [r.reference for r in rows]
    found = re.search(r"\n\n(\d{6})\n\n", pins[-1].body_text)
    assert found, pins[-1].body_text
    return found.group(1)


def _pin_is_emailed_apart_and_required(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    _pin_on(client, acme)
    made = make_offer(app, issued.id)
    assert made.pin_required
    offer = fetch_offer(client, made.link)
    tx = offer["grants"][PRE_AUTH]["tx_code"]
    assert tx["input_mode"] == "numeric" and tx["length"] == 6 and tx["description"]
    pin = _emailed_pin(app)
    assert pin not in made.link and pin not in json.dumps(offer)
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    _refused(redeem(client, code), 400, "invalid_request")
    wrong = "000000" if pin != "000000" else "111111"
    _refused(redeem(client, code, wrong), 400, "invalid_grant")
    r = redeem(client, code, pin)
    assert r.status_code == 200, r.text


def _five_wrong_pins_end_the_offer(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    _pin_on(client, acme)
    made = make_offer(app, issued.id)
    code = _code(client, made.link)
    pin = _emailed_pin(app)
    wrong = "000000" if pin != "000000" else "111111"
    for _ in range(5):
        _refused(redeem(client, code, wrong), 400, "invalid_grant")
    _refused(redeem(client, code, pin), 400, "invalid_grant")


# ------------------------------------------------------------------------------ credential


def test_access_token_is_required(app: FastAPI, client: TestClient, issued: Issued) -> None:
    body = request_body(LDP, Wallet().proof(c_nonce(client)))
    r = client.post("/oid4vci/credential", json=body)
    _refused(r, 401, "invalid_token")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    _refused(ask(client, "not-a-token", body), 401, "invalid_token")
    _refused(ask(client, "t" * 5000, body), 401, "invalid_token")
    r = client.post("/oid4vci/credential", json=body, headers={"Authorization": "Basic abc"})
    _refused(r, 401, "invalid_token")
    token = access_token(client, make_offer(app, issued.id).link)
    app.state.ctx.clock = lambda: NOW + timedelta(minutes=11)
    _refused(ask(client, token, body), 401, "invalid_token")
    assert _wallet_rows(app) == 0


@pytest.fixture
def token(app: FastAPI, client: TestClient, issued: Issued) -> str:
    return access_token(client, make_offer(app, issued.id).link)


def _formats_we_do_not_issue(app: FastAPI, client: TestClient, token: str) -> None:
    proof = Wallet().proof(c_nonce(client))
    _refused(
        ask(client, token, request_body("OpenBadgeCredential_mso_mdoc", proof)),
        400,
        "unknown_credential_configuration",
    )
    r = ask(client, token, {"format": "vc+sd-jwt", "proofs": {"jwt": [proof]}})
    _refused(r, 400, "unsupported_credential_format")
    r = ask(client, token, {"credential_identifier": "x", "proofs": {"jwt": [proof]}})
    _refused(r, 400, "invalid_credential_request")
    _refused(ask(client, token, ["not", "an", "object"]), 400, "invalid_credential_request")
    r = client.post(
        "/oid4vci/credential",
        content=b'{"credential_configuration_id": "a", "credential_configuration_id": "b"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert _wallet_rows(app) == 0


def _claims(nonce: str) -> dict[str, Any]:
    return {"aud": BASE, "iat": int(NOW.timestamp()), "nonce": nonce}


def _proof_cases() -> dict[str, Callable[[Wallet, str], str]]:
    other = Wallet()
    es = Wallet("ES256", "jwk")

    def signed_by_another_key(w: Wallet, n: str) -> str:
        # The header names the wallet's key; another key signs.
        head, body, _ = w.proof(n).split(".")
        return f"{head}.{body}.{b64url_encode(other.sign(f'{head}.{body}'.encode()))}"

    def tampered_payload(w: Wallet, n: str) -> str:
        head, _, sig = w.proof(n).split(".")
        forged = b64url_encode(json.dumps(_claims(n)).encode())
        return f"{head}.{forged}.{sig}"

    def alg_none(w: Wallet, n: str) -> str:
        head = b64url_encode(json.dumps({**w.header(), "alg": "none"}).encode())
        body = b64url_encode(json.dumps(_claims(n)).encode())
        return f"{head}.{body}."

    return {
        "wrong_typ": lambda w, n: w.proof(n, header={**w.header(), "typ": "JWT"}),
        "alg_hs256": lambda w, n: w.proof(n, header={**w.header(), "alg": "HS256"}),
        "alg_none": alg_none,
        "wrong_audience": lambda w, n: w.proof(n, aud="https://evil.example"),
        "too_old": lambda w, n: w.proof(n, iat=NOW.timestamp() - 3600),
        "in_the_future": lambda w, n: w.proof(n, iat=NOW.timestamp() + 3600),
        "no_iat": lambda w, n: w.proof(n, payload={"aud": BASE, "nonce": n}),
        "signed_by_another_key": signed_by_another_key,
        "tampered_payload": tampered_payload,
        "kid_and_jwk": lambda w, n: w.proof(n, header={**w.header(), "jwk": w.jwk}),
        "private_jwk": lambda w, n: es.proof(
            n, header={"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": es.private}
        ),
        "kid_not_a_did": lambda w, n: w.proof(
            n, header={**w.header(), "kid": "https://a.example/k"}
        ),
        "crit_header": lambda w, n: w.proof(n, header={**w.header(), "crit": ["exp"]}),
        "eddsa_named_es256": lambda w, n: w.proof(n, header={**w.header(), "alg": "ES256"}),
        "not_a_jwt": lambda w, n: "not.a-jwt",
        "oversized": lambda w, n: w.proof(
            n, payload={"aud": BASE, "iat": int(NOW.timestamp()), "nonce": n, "pad": "x" * 9000}
        ),
        "bad_base64": lambda w, n: "eyJ!!!.eyJ.abc",
    }


def test_bad_proofs_are_invalid_proof(app: FastAPI, client: TestClient, token: str) -> None:
    wallet = Wallet()
    for case, make in sorted(_proof_cases().items()):
        proof = make(wallet, c_nonce(client))
        r = ask(client, token, request_body(LDP, proof))
        assert (r.status_code, r.json()["error"]) == (400, "invalid_proof"), (case, r.text)
    assert _wallet_rows(app) == 0
    # The token still works for a good proof.
    r = ask(client, token, request_body(LDP, wallet.proof(c_nonce(client))))
    assert r.status_code == 200, r.text


def _missing_proofs(app: FastAPI, client: TestClient, token: str) -> None:
    _refused(ask(client, token, {"credential_configuration_id": LDP}), 400, "invalid_proof")
    proof = Wallet().proof(c_nonce(client))
    two = {"credential_configuration_id": LDP, "proofs": {"jwt": [proof, proof]}}
    _refused(ask(client, token, two), 400, "invalid_proof")
    other_type = {"credential_configuration_id": LDP, "proofs": {"ldp_vp": [{}]}}
    _refused(ask(client, token, other_type), 400, "invalid_proof")
    assert _wallet_rows(app) == 0


def test_nonces(app: FastAPI, client: TestClient, token: str) -> None:
    wallet = Wallet()
    # No nonce, and one we never handed out.
    _refused(ask(client, token, request_body(LDP, wallet.proof(None))), 400, "invalid_nonce")
    _refused(ask(client, token, request_body(LDP, wallet.proof("made-up"))), 400, "invalid_nonce")
    # A nonce is used once: the replayed proof is refused, even for another format.
    nonce = c_nonce(client)
    assert ask(client, token, request_body(LDP, wallet.proof(nonce))).status_code == 200
    _refused(ask(client, token, request_body(JWT, wallet.proof(nonce))), 400, "invalid_nonce")
    # An expired nonce.
    late = c_nonce(client)
    app.state.ctx.clock = lambda: NOW + timedelta(minutes=6)
    proof = wallet.proof(late, iat=(NOW + timedelta(minutes=6)).timestamp())
    _refused(ask(client, token, request_body(JWT, proof)), 400, "invalid_nonce")
    assert _wallet_rows(app) == 1
    # Nonces are stored only as hashes, and used ones are gone.
    with app.state.session_factory() as session:
        hashes = [n.nonce_hash for n in session.exec(select(WalletNonce))]
    assert late not in hashes and nonce not in hashes


def _each_format_once_per_offer(app: FastAPI, client: TestClient, token: str) -> None:
    wallet = Wallet()
    assert ask(client, token, request_body(JWT, wallet.proof(c_nonce(client)))).status_code == 200
    r = ask(client, token, request_body(JWT, wallet.proof(c_nonce(client))))
    _refused(r, 400, "credential_request_denied")
    assert _wallet_rows(app) == 1


def _oversized_request_body(app: FastAPI, client: TestClient, token: str) -> None:
    body = {"credential_configuration_id": LDP, "proofs": {"jwt": ["a" * 40_000]}}
    r = ask(client, token, body)
    assert r.status_code == 413
    assert _wallet_rows(app) == 0


def test_offers_are_rate_limited(app: FastAPI, client: TestClient, issued: Issued) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"wallet_rate_per_minute": 1.0, "wallet_rate_burst": 3}
    )
    statuses = [client.post("/oid4vci/nonce").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    r = client.post("/oid4vci/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": "x"})
    _refused(r, 429, "too_many_requests")
    assert int(r.headers["retry-after"]) >= 1
    with app.state.session_factory() as session:
        # Only the issuance email's offer exists, and nothing redeemed it.
        offers = session.exec(select(WalletOffer)).all()
        assert [o.redeemed_at for o in offers] == [None]
        assert len(session.exec(select(WalletNonce)).all()) == 3  # only the allowed ones


def test_token_endpoint_refusals(app: FastAPI, client: TestClient, issued: Issued) -> None:
    _code_redeemed_once(app, client, issued)
    _malformed_token_requests(app, client, issued)
    _unknown_and_expired_codes(app, client, issued)  # moves the clock: last


def test_pins(app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued) -> None:
    _pin_is_emailed_apart_and_required(app, client, acme, issued)
    _five_wrong_pins_end_the_offer(app, client, acme, issued)


def test_credential_request_refusals(app: FastAPI, client: TestClient, token: str) -> None:
    _formats_we_do_not_issue(app, client, token)
    _missing_proofs(app, client, token)
    _oversized_request_body(app, client, token)
    _each_format_once_per_offer(app, client, token)
