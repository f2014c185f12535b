"""Asking a wallet for proof, end to end in Python: an employer starts a request, a
did:key (or did:jwk) holder's wallet answers with an ``ldp_vp`` or a ``jwt_vp_json``, and
the request's page shows the same report as any verification (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.loader import DocumentLoader
from tests.did_key_badges import KEY
from tests.html_page import Page
from tests.issuer_app import NOW, IssuerHandle
from tests.signers import sign_vc_jwt
from tests.wallet_holders import (
    CANDIDATE,
    badge_for,
    did_jwk_holder,
    did_key_holder,
    issue_to,
    jwt_vp,
    ldp_vp,
    post_answer,
    start,
)


def test_the_link_carries_the_request_by_value(client: TestClient) -> None:
    request = start(client)
    link = urlsplit(request["link"])
    assert link.scheme == "openid4vp"
    params = dict(parse_qsl(link.query))
    assert params["response_type"] == "vp_token"
    assert params["response_mode"] == "direct_post"
    assert params["client_id"] == "redirect_uri:" + params["response_uri"]
    assert params["response_uri"] == (
        f"http://127.0.0.1:8000/oid4vp/responses/{request['request_id']}"
    )
    assert params["nonce"] == request["nonce"] and len(params["nonce"]) >= 43
    dcql = json.loads(params["dcql_query"])
    assert [q["id"] for q in dcql["credentials"]] == ["open_badge", "open_badge_jwt"]
    assert [q["format"] for q in dcql["credentials"]] == ["ldp_vc", "jwt_vc_json"]
    assert dcql["credential_sets"] == [{"options": [["open_badge"], ["open_badge_jwt"]]}]
    assert "claims" not in dcql["credentials"][0]
    meta = json.loads(params["client_metadata"])
    assert meta["vp_formats_supported"]["jwt_vc_json"]["alg_values"] == ["EdDSA", "ES256"]
    shown = client.get(f"/verify/wallet/{request['request_id']}/request.json").json()
    assert shown["state"] == request["state"] and shown["status"] == "waiting"
    assert shown["link"] == request["link"]
    # Every request is fresh.
    again = start(client)
    assert again["nonce"] != request["nonce"] and again["state"] != request["state"]


def test_a_request_narrowed_to_an_achievement(client: TestClient) -> None:
    request = start(client, achievement="https://northwind.example/achievements/x")
    claims = request["dcql_query"]["credentials"][1]["claims"]
    assert claims == [
        {
            "id": "achievement",
            "path": ["credentialSubject", "achievement", "id"],
            "values": ["https://northwind.example/achievements/x"],
        }
    ]


def _page(client: TestClient, request: dict[str, Any]) -> Any:
    r = client.get(f"/verify/wallet/{request['request_id']}")
    assert r.status_code == 200, r.text
    return r


def test_ldp_vp_from_a_did_key_holder_is_verified(
    app: FastAPI, client: TestClient, acme: IssuerHandle, loader: DocumentLoader
) -> None:
    holder = did_key_holder()
    credential = issue_to(client, acme, holder.did)
    request = start(client)
    waiting = _page(client, request)
    assert '<noscript><meta http-equiv="refresh" content="4"></noscript>' in waiting.text
    assert '<script src="/static/wallet-verify.js" defer></script>' in waiting.text
    assert "script-src 'self'" in waiting.headers["Content-Security-Policy"]
    assert client.get(f"/verify/wallet/{request['request_id']}/status").json()["state"] == "waiting"

    vp = ldp_vp(
        holder, credential, loader, nonce=request["nonce"], audience=request["client_id"], now=NOW
    )
    r = post_answer(client, request, "open_badge", vp)
    assert r.status_code == 200, r.text
    assert r.json() == {}

    status = client.get(f"/verify/wallet/{request['request_id']}/status").json()
    assert status == {"state": "answered", "verdict": "verified", "refusal": None}
    page = _page(client, request)
    assert 'http-equiv="refresh"' not in page.text
    assert Page(page.text).all("div", id="verdict")[0]["data-verdict"] == "verified"
    assert CANDIDATE in page.text
    assert "Data Pipeline Micro-internship" in page.text
    assert holder.did in page.text


def test_jwt_vp_from_a_did_jwk_holder_with_a_vc_jwt(
    client: TestClient, loader: DocumentLoader
) -> None:
    holder = did_jwk_holder()
    credential = badge_for(holder.did, KEY.controller)
    token = sign_vc_jwt(credential, KEY)
    request = start(client)
    presentation = jwt_vp(
        holder,
        token,
        nonce=request["nonce"],
        audience=request["client_id"],
        iat=int(NOW.timestamp()),
    )
    r = post_answer(client, request, "open_badge_jwt", presentation)
    assert r.status_code == 200, r.text
    status = client.get(f"/verify/wallet/{request['request_id']}/status").json()
    # Issued by a did:key we do not know: genuine, with the unknown-issuer warning.
    assert status["state"] == "answered"
    assert status["verdict"] == "verified_with_warnings"
    page = _page(client, request)
    assert CANDIDATE in page.text
    assert "holder.bound" in page.text


def test_spanish_page(client: TestClient, acme: IssuerHandle) -> None:
    request = start(client)
    r = client.get(f"/verify/wallet/{request['request_id']}?lang=es")
    assert "Esperando a la cartera del candidato" in r.text
