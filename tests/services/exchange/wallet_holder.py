"""A wallet in Python for the OpenID4VCI tests: its key, its proofs, and the flow's steps.

The wallet holds a fresh Ed25519 key (named by ``did:key``, ``did:jwk`` or a ``jwk``
header) or a fresh P-256 key, and signs ``openid4vci-proof+jwt`` key proofs the way
OpenID4VCI 1.0 Appendix F.1 describes; the tests bend each part to make the proofs the
issuer must refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.crypto.jose import ed25519_public_jwk, public_jwk
from badgeworks.core.encoding import b64url_encode
from badgeworks.core.holder_proof import did_jwk
from badgeworks.db.models import Credential
from badgeworks.services.exchange import oid4vci
from tests.issuer_app import NOW, Issued, IssuerHandle, draft_project
from tests.signers import generate_jwk, jws_sign

BASE = "http://127.0.0.1:8000"
PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
LDP = "OpenBadgeCredential_ldp_vc"
JWT = "OpenBadgeCredential_jwt_vc_json"


def _part(value: Mapping[str, Any]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


class Wallet:
    """One wallet key: ``EdDSA`` (did:key, did:jwk or jwk) or ``ES256`` (did:jwk or jwk)."""

    def __init__(self, alg: str = "EdDSA", binding: str = "did:key") -> None:
        self.alg = alg
        self.binding = binding
        if alg == "EdDSA":
            self.ed = Ed25519KeyPair.generate()
            self.jwk = ed25519_public_jwk(self.ed.public_key)
        else:
            self.private = generate_jwk("ES256")
            self.jwk = public_jwk(self.private)
        if binding == "did:key":
            self.did = self.ed.controller
            self.kid: str | None = self.ed.id
        elif binding == "did:jwk":
            self.did = did_jwk(self.jwk)
            self.kid = f"{self.did}#0"
        else:
            self.did = did_jwk(self.jwk)
            self.kid = None

    def sign(self, signing_input: bytes) -> bytes:
        if self.alg == "EdDSA":
            return self.ed.sign(signing_input)
        return jws_sign("ES256", self.private, signing_input)

    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = {"typ": "openid4vci-proof+jwt", "alg": self.alg}
        if self.kid is not None:
            header["kid"] = self.kid
        else:
            header["jwk"] = self.jwk
        return header

    def proof(
        self,
        nonce: str | None,
        *,
        aud: Any = BASE,
        iat: float | None = None,
        header: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> str:
        """A key proof JWT; ``header``/``payload`` replace the usual ones when given."""
        claims: dict[str, Any] = {
            "aud": aud,
            "iat": int(iat if iat is not None else NOW.timestamp()),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        signing_input = f"{_part(header or self.header())}.{_part(payload or claims)}"
        return f"{signing_input}.{b64url_encode(self.sign(signing_input.encode()))}"


def make_offer(app: FastAPI, credential_id: str, *, minutes: int = 30) -> oid4vci.MadeOffer:
    """An offer of a hosted credential, made by the service as /me makes it."""
    ctx = app.state.ctx
    with app.state.session_factory() as session:
        row = session.get(Credential, credential_id)
        assert row is not None
        return oid4vci.make_offer(
            session, ctx, row, lifetime=timedelta(minutes=minutes), now=ctx.clock()
        )


def offer_uri(link: str) -> str:
    """The ``credential_offer_uri`` of an ``openid-credential-offer://`` link."""
    parsed = urlparse(link)
    assert parsed.scheme == "openid-credential-offer"
    return parse_qs(parsed.query)["credential_offer_uri"][0]


def fetch_offer(client: TestClient, link: str) -> dict[str, Any]:
    r = client.get(offer_uri(link).removeprefix(BASE))
    assert r.status_code == 200, r.text
    return dict(r.json())


def redeem(client: TestClient, code: str, tx_code: str | None = None) -> Any:
    data = {"grant_type": PRE_AUTH, "pre-authorized_code": code}
    if tx_code is not None:
        data["tx_code"] = tx_code
    return client.post("/oid4vci/token", data=data)


def access_token(client: TestClient, link: str, tx_code: str | None = None) -> str:
    offer = fetch_offer(client, link)
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    r = redeem(client, code, tx_code)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def c_nonce(client: TestClient) -> str:
    r = client.post("/oid4vci/nonce")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return str(r.json()["c_nonce"])


def ask(client: TestClient, token: str, body: Any) -> Any:
    return client.post(
        "/oid4vci/credential", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def request_body(config: str, proof: str) -> dict[str, Any]:
    return {"credential_configuration_id": config, "proofs": {"jwt": [proof]}}


def issue_plain(client: TestClient, who: IssuerHandle) -> Issued:
    """A credential issued for a project without deliverables (quicker to set up)."""
    ids = draft_project(client, who)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    body = r.json()
    return Issued(
        id=body["id"],
        url=body["url"],
        path=body["url"].removeprefix(BASE),
        candidate=ids["candidate"],
        project=ids["project"],
        deliverables={},
        credential=body["credential"],
    )
