"""A candidate's wallet in Python, for the OpenID for Verifiable Presentations tests.

A holder with a ``did:key`` (Ed25519) or ``did:jwk`` (P-256) key, a credential issued to
that DID by an app's issuer through the VC-API (so it verifies as from a known issuer),
and the two presentations a wallet answers with (docs/wallets.md): an ``ldp_vp`` signed
with the holder's Data Integrity proof, and a ``jwt_vp_json``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.crypto import jose
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.encoding import b64url_encode
from badgeworks.core.identity import plain_identity_object
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.presentation import create_presentation, sign_presentation
from tests.issuer_app import IssuerHandle
from tests.signers import encode_jws, generate_jwk, jws_sign

ACHIEVEMENT_ID = "https://northwind.example/achievements/data-pipeline"
CANDIDATE = "Ada Lovelace"


@dataclass
class Holder:
    """A wallet's key: an Ed25519 ``did:key`` or a P-256 ``did:jwk``."""

    did: str
    kid: str
    alg: str
    ed25519: Ed25519KeyPair | None = None
    private_jwk: dict[str, Any] | None = None

    def sign(self, data: bytes) -> bytes:
        if self.ed25519 is not None:
            return self.ed25519.sign(data)
        assert self.private_jwk is not None
        return jws_sign(self.alg, self.private_jwk, data)


def did_key_holder() -> Holder:
    key = Ed25519KeyPair.generate()
    return Holder(did=key.controller, kid=key.id, alg="EdDSA", ed25519=key)


def did_jwk_holder() -> Holder:
    private = generate_jwk("ES256")
    public = jose.public_jwk(private)
    text = json.dumps(public, sort_keys=True, separators=(",", ":"))
    did = "did:jwk:" + b64url_encode(text.encode("utf-8"))
    return Holder(did=did, kid=did + "#0", alg="ES256", private_jwk=private)


def badge_for(holder_did: str, issuer_did: str) -> dict[str, Any]:
    """An unsigned OB 3.0 credential about ``holder_did``, naming the candidate."""
    achievement = ob.achievement(
        id=ACHIEVEMENT_ID,
        name="Data Pipeline Micro-internship",
        description="Built a tested ingestion pipeline for a host company.",
        criteria_narrative="Deliver a pipeline and present it.",
    )
    subject = ob.achievement_subject(
        id=holder_did,
        achievement=achievement,
        identifier=[plain_identity_object(CANDIDATE)],
    )
    return ob.achievement_credential(
        id=f"urn:uuid:{uuid.uuid4()}",
        issuer=ob.profile(id=issuer_did, name="Acme Academy"),
        valid_from="2025-05-01T09:00:00Z",
        subject=subject,
        name="Data Pipeline Micro-internship",
        credential_schema=False,
    )


def issue_to(http: TestClient, who: IssuerHandle, holder_did: str) -> dict[str, Any]:
    """A credential about ``holder_did``, issued and hosted by ``who`` (VC-API)."""
    body = badge_for(holder_did, who.did)
    body.pop("id", None)
    r = http.post("/credentials/issue", json={"credential": body}, headers=who.auth)
    assert r.status_code == 201, r.text
    vc: dict[str, Any] = r.json()["verifiableCredential"]
    return vc


def ldp_vp(
    holder: Holder,
    credential: dict[str, Any],
    loader: DocumentLoader,
    *,
    nonce: str,
    audience: str,
    now: datetime,
) -> dict[str, Any]:
    """A Data Integrity presentation by ``holder`` bound to ``nonce`` and ``audience``."""
    assert holder.ed25519 is not None
    vp = create_presentation([credential], holder=holder.did)
    return sign_presentation(vp, holder.ed25519, loader, now=now, challenge=nonce, domain=audience)


def jwt_vp(
    holder: Holder,
    credential: dict[str, Any] | str,
    *,
    nonce: str,
    audience: str,
    iat: int,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A ``jwt_vp_json`` presentation by ``holder`` bound to ``nonce`` and ``audience``."""
    payload = {
        "iss": holder.did,
        "aud": audience,
        "nonce": nonce,
        "iat": iat,
        "vp": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiablePresentation"],
            "holder": holder.did,
            "verifiableCredential": [credential],
        },
        **claims,
    }
    head = header if header is not None else {"alg": holder.alg, "typ": "JWT", "kid": holder.kid}
    return encode_jws(head, payload, holder.sign)


def start(http: TestClient, **form: str) -> dict[str, Any]:
    """Start a request as a tool does (``Accept: application/json``)."""
    r = http.post("/verify/wallet", data=form, headers={"Accept": "application/json"})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def post_answer(
    http: TestClient, request: dict[str, Any], query_id: str, presentation: Any, **extra: str
) -> Any:
    """Post ``presentation`` as the wallet does (``direct_post``)."""
    form = {
        "vp_token": json.dumps({query_id: [presentation]}),
        "state": request["state"],
        **extra,
    }
    path = request["response_uri"].removeprefix("http://127.0.0.1:8000")
    return http.post(path, data=form)
