"""The pre-authorized code flow of OpenID4VCI 1.0 end to end, as a wallet runs it: offer,
token, nonce, credential, for each format and each kind of wallet key; the wallet copy
verifies with our verifier, names the wallet's DID and is revoked with the hosted one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.core.vc_jwt import verify_vc_jwt
from badgeworks.core.verification.report import Report
from badgeworks.db.models import AuditEvent
from badgeworks.db.wallet import WalletCredential, WalletOffer
from badgeworks.services.verification.pipeline import verify
from tests.issuer_app import NOW, Issued, IssuerHandle, issue_with_deliverables
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
    request_body,
)


@pytest.fixture
def issued(app: FastAPI, client: TestClient, acme: IssuerHandle) -> Issued:
    return issue_plain(client, acme)


def test_metadata_names_the_endpoints_and_both_formats(client: TestClient) -> None:
    meta = client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == BASE
    assert meta["credential_endpoint"] == f"{BASE}/oid4vci/credential"
    assert meta["nonce_endpoint"] == f"{BASE}/oid4vci/nonce"
    configs = meta["credential_configurations_supported"]
    assert configs[LDP]["format"] == "ldp_vc"
    assert configs[LDP]["credential_definition"]["type"] == [
        "VerifiableCredential",
        "OpenBadgeCredential",
    ]
    assert "@context" in configs[LDP]["credential_definition"]
    assert configs[JWT]["format"] == "jwt_vc_json"
    for config in configs.values():
        assert config["cryptographic_binding_methods_supported"] == ["did:key", "did:jwk", "jwk"]
        assert config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == [
            "EdDSA",
            "ES256",
        ]
    auth = client.get("/.well-known/oauth-authorization-server").json()
    assert auth["issuer"] == BASE
    assert auth["token_endpoint"] == f"{BASE}/oid4vci/token"
    assert auth["pre-authorized_grant_anonymous_access_supported"] is True
    assert PRE_AUTH in auth["grant_types_supported"]


def test_offer_by_reference(app: FastAPI, client: TestClient, issued: Issued) -> None:
    made = make_offer(app, issued.id)
    assert made.link.startswith("openid-credential-offer://?credential_offer_uri=http%3A%2F%2F")
    offer = fetch_offer(client, made.link)
    assert offer["credential_issuer"] == BASE
    assert offer["credential_configuration_ids"] == [LDP, JWT]
    grant = offer["grants"][PRE_AUTH]
    assert len(grant["pre-authorized_code"]) >= 40
    assert "tx_code" not in grant
    # Only hashes are stored: neither the offer id nor the code appears in the row.
    with app.state.session_factory() as session:
        rows = session.exec(select(WalletOffer)).all()
        stored = json.dumps([row.model_dump(mode="json") for row in rows])
    assert made.offer_id not in stored
    assert grant["pre-authorized_code"] not in stored


#: Each kind of wallet key: Ed25519 by did:key, did:jwk and jwk; P-256 by jwk and did:jwk.
KEYS = [("EdDSA", "did:key"), ("EdDSA", "did:jwk"), ("ES256", "jwk"), ("ES256", "did:jwk")]


def _flow(app: FastAPI, client: TestClient, issued: Issued, wallet: Wallet) -> None:
    """One wallet through the whole flow, both formats, with one offer."""
    token = access_token(client, make_offer(app, issued.id).link)
    hosted: dict[str, Any] = dict(issued.credential)

    r = ask(client, token, request_body(LDP, wallet.proof(c_nonce(client))))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    ldp = r.json()["credentials"][0]["credential"]
    assert ldp["id"].startswith("urn:uuid:") and ldp["id"] != hosted["id"]
    assert ldp["credentialSubject"]["id"] == wallet.did
    for name in ("issuer", "validFrom", "credentialStatus", "evidence", "type", "@context"):
        assert ldp.get(name) == hosted.get(name), name
    assert ldp["credentialSubject"]["achievement"] == hosted["credentialSubject"]["achievement"]
    ctx = app.state.ctx
    report = verify(ctx, ldp, now=NOW).report
    assert report.verified, report.failures()

    # The single 'proof' object earlier drafts send is accepted too.
    proof = {"proof_type": "jwt", "jwt": wallet.proof(c_nonce(client))}
    r = ask(client, token, {"credential_configuration_id": JWT, "proof": proof})
    assert r.status_code == 200, r.text
    jwt = r.json()["credentials"][0]["credential"]
    assert isinstance(jwt, str) and jwt.count(".") == 2
    credential, checks = verify_vc_jwt(jwt, key_resolver=ctx.loader.load, now=NOW)
    assert credential is not None, checks
    assert credential["credentialSubject"]["id"] == wallet.did
    assert credential["credentialStatus"] == hosted["credentialStatus"]
    report = verify(ctx, jwt, now=NOW).report
    assert report.verified, report.failures()

    with app.state.session_factory() as session:
        rows = session.exec(
            select(WalletCredential).where(WalletCredential.holder == wallet.did)
        ).all()
    assert {(w.format, w.credential_id) for w in rows} == {
        ("ldp_vc", issued.id),
        ("jwt_vc_json", issued.id),
    }
    # Stored verbatim: the exact text the wallet received.
    assert {w.document for w in rows} == {
        json.dumps(ldp, ensure_ascii=False, separators=(",", ":")),
        jwt,
    }


def test_full_flow_each_key_both_formats(app: FastAPI, client: TestClient, issued: Issued) -> None:
    for alg, binding in KEYS:
        _flow(app, client, issued, Wallet(alg, binding))
    # Each issue is in the issuer's audit trail.
    with app.state.session_factory() as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "credential.wallet_issue")
        ).all()
    assert sorted(e.detail["format"] for e in events) == ["jwt_vc_json"] * 4 + ["ldp_vc"] * 4
    assert {e.target for e in events} == {f"credential:{issued.id}"}


def _status(report: Report) -> str:
    return next(c.code for c in report.checks if c.check == "status" and c.outcome == "fail")


def test_revoking_the_hosted_credential_revokes_the_wallet_copies(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    wallet = Wallet()
    token = access_token(client, make_offer(app, issued.id).link)
    ldp = ask(client, token, request_body(LDP, wallet.proof(c_nonce(client)))).json()
    jwt = ask(client, token, request_body(JWT, wallet.proof(c_nonce(client)))).json()
    ldp_copy = ldp["credentials"][0]["credential"]
    jwt_copy = jwt["credentials"][0]["credential"]
    ctx = app.state.ctx
    assert verify(ctx, ldp_copy, now=NOW).report.verified

    r = client.post(
        f"/api/v1/credentials/{issued.id}/revoke",
        json={"reason": "Issued in error"},
        headers=acme.auth,
    )
    assert r.status_code in (200, 201), r.text

    for copy in (ldp_copy, jwt_copy):
        report = verify(ctx, copy, now=NOW).report
        assert not report.verified
        assert _status(report) == "status.revoked", report.failures()

    # A revoked credential gets no new offer and no new wallet copy.
    other = Wallet()
    r = ask(client, token, request_body(LDP, other.proof(c_nonce(client))))
    assert r.status_code == 400
    assert r.json()["error"] == "credential_request_denied"


def test_wallet_copy_keeps_the_evidence(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    hosted = issue_with_deliverables(client, acme)
    wallet = Wallet()
    token = access_token(client, make_offer(app, hosted.id).link)
    r = ask(client, token, request_body(LDP, wallet.proof(c_nonce(client))))
    assert r.status_code == 200, r.text
    copy = r.json()["credentials"][0]["credential"]
    original: dict[str, Any] = dict(hosted.credential)
    assert copy["evidence"] == original["evidence"] and len(copy["evidence"]) == 3
    for name in ("relatedResource", "endorsement", "credentialStatus", "validFrom", "name"):
        assert copy.get(name) == original.get(name), name
    subject = {k: v for k, v in copy["credentialSubject"].items() if k != "id"}
    assert subject == original["credentialSubject"]
    assert verify(app.state.ctx, copy, now=NOW).report.verified
    assert copy["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"

    # An issuer that signs with eddsa-jcs-2022 signs its wallet copies with it too.
    r = client.patch(
        "/api/v1/issuers/acme", json={"cryptosuite": "eddsa-jcs-2022"}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    r = ask(client, token, request_body(LDP, Wallet().proof(c_nonce(client))))
    assert r.json()["error"] == "credential_request_denied"  # this offer's ldp_vc was issued
    token = access_token(client, make_offer(app, hosted.id).link)
    r = ask(client, token, request_body(LDP, wallet.proof(c_nonce(client))))
    assert r.status_code == 200, r.text
    jcs = r.json()["credentials"][0]["credential"]
    assert jcs["proof"][0]["cryptosuite"] == "eddsa-jcs-2022"
    assert verify(app.state.ctx, jcs, now=NOW).report.verified
