"""Every answer the response endpoint refuses, with the spec's error code and ours, on
SQLite and PostgreSQL: replays from another request, another audience, someone else's
credential, forged, tampered, malformed and oversized tokens, unknown, used and expired
requests. A refusal leaves only its code on a waiting request, never the answer."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from badgeworks.core.encoding import b64url_encode
from badgeworks.core.loader import DocumentLoader
from tests.did_key_badges import KEY
from tests.services.exchange.oid4vp_app import WalletWorld, make_world, world  # noqa: F401
from tests.signers import encode_jws, sign_vc_jwt
from tests.wallet_holders import (
    badge_for,
    did_jwk_holder,
    did_key_holder,
    issue_to,
    jwt_vp,
    post_answer,
    start,
)


def refused(r: Any, code: str, error: str = "invalid_request", status: int = 400) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert body["error"] == error
    assert body["error_description"]
    assert r.headers["Cache-Control"] == "no-store"


def test_replays_and_other_audiences_are_refused(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    first, second = start(http), start(http)
    # A presentation made for the first request, posted to the second: a replay.
    refused(post_answer(http, second, "open_badge", world.vp(first)), "oid4vp.nonce_mismatch")
    # The right nonce, another verifier's client identifier.
    other = world.vp(second, audience="redirect_uri:https://elsewhere.example/responses/1")
    refused(post_answer(http, second, "open_badge", other), "oid4vp.audience_mismatch")
    # The second request is still open, and says why the last answer was refused.
    assert world.status(second) == {
        "state": "waiting",
        "verdict": None,
        "refusal": "oid4vp.audience_mismatch",
    }
    page = http.get(f"/verify/wallet/{second['request_id']}")
    assert "it was made for another verifier" in page.text
    # The genuine answer is accepted; the same answer again is refused as used.
    answer = world.vp(second)
    assert post_answer(http, second, "open_badge", answer).status_code == 200
    refused(post_answer(http, second, "open_badge", answer), "oid4vp.used")
    assert world.status(second)["state"] == "answered"


def test_someone_elses_credential_is_refused(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    other = did_key_holder()
    theirs = issue_to(http, world.issuer, other.did)
    request = start(http)
    # Our holder signs a presentation of a credential about someone else: both
    # signatures are good, but the signer is not the credential's subject.
    vp = world.vp(request, credential=theirs)
    refused(post_answer(http, request, "open_badge", vp), "oid4vp.holder_mismatch")
    # The same with a JWT presentation by a did:jwk holder.
    jwk_holder = did_jwk_holder()
    token = jwt_vp(
        jwk_holder,
        sign_vc_jwt(badge_for(other.did, KEY.controller), KEY),
        nonce=request["nonce"],
        audience=request["client_id"],
        iat=int(world.clock.now.timestamp()),
    )
    refused(post_answer(http, request, "open_badge_jwt", token), "oid4vp.holder_mismatch")
    # A presentation naming another holder than its signer.
    vp = world.vp(request)
    vp_named = copy.deepcopy(vp)
    vp_named["holder"] = other.did
    refused(post_answer(http, request, "open_badge", vp_named), "oid4vp.holder_signature")


def test_forged_and_tampered_presentations_are_refused(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    request = start(http)
    vp = world.vp(request)
    # Changed after the holder signed it.
    tampered = copy.deepcopy(vp)
    tampered["verifiableCredential"][0]["name"] = "Chief Data Officer"
    refused(post_answer(http, request, "open_badge", tampered), "oid4vp.holder_signature")
    # Not signed at all.
    unsigned = {k: v for k, v in vp.items() if k != "proof"}
    refused(post_answer(http, request, "open_badge", unsigned), "oid4vp.holder_signature")
    # JWT presentations: the unsigned algorithm, a shared-secret one, a forged signature,
    # a key carried in the token, another nonce, another audience, an expired one.
    holder = did_jwk_holder()
    credential = sign_vc_jwt(badge_for(holder.did, KEY.controller), KEY)
    now = int(world.clock.now.timestamp())

    def jwt(**kw: Any) -> str:
        return jwt_vp(
            holder,
            credential,
            nonce=kw.pop("nonce", request["nonce"]),
            audience=kw.pop("audience", request["client_id"]),
            iat=now,
            **kw,
        )

    good = jwt()
    head, body, _ = good.split(".")
    none = b64url_encode(json.dumps({"alg": "none", "kid": holder.kid}).encode())
    refused(
        post_answer(http, request, "open_badge_jwt", f"{none}.{body}.AAAA"),
        "oid4vp.format",
        "vp_formats_not_supported",
    )
    hs = b64url_encode(json.dumps({"alg": "HS256", "kid": holder.kid}).encode())
    refused(
        post_answer(http, request, "open_badge_jwt", f"{hs}.{body}.AAAA"),
        "oid4vp.format",
        "vp_formats_not_supported",
    )
    forged = f"{head}.{body}.{b64url_encode(b'x' * 64)}"
    refused(post_answer(http, request, "open_badge_jwt", forged), "oid4vp.holder_signature")
    with_jwk = jwt(header={"alg": "ES256", "kid": holder.kid, "jwk": {"kty": "EC"}})
    refused(post_answer(http, request, "open_badge_jwt", with_jwk), "oid4vp.malformed")
    refused(post_answer(http, request, "open_badge_jwt", jwt(nonce="n0")), "oid4vp.nonce_mismatch")
    refused(
        post_answer(http, request, "open_badge_jwt", jwt(audience="https://x.example")),
        "oid4vp.audience_mismatch",
    )
    refused(
        post_answer(http, request, "open_badge_jwt", jwt(exp=now - 60)), "oid4vp.holder_signature"
    )
    # The kid of a DID method we do not resolve for holders.
    web_kid = jwt(header={"alg": "ES256", "kid": "did:web:evil.example#key-1"})
    refused(post_answer(http, request, "open_badge_jwt", web_kid), "oid4vp.holder_signature")
    # After all that, the request is still open and the good answer is accepted.
    r = post_answer(http, request, "open_badge_jwt", good)
    assert r.status_code == 200, r.text


def test_a_tampered_credential_is_an_accepted_answer_that_did_not_verify(
    world: WalletWorld,  # noqa: F811
) -> None:
    http = world.client
    request = start(http)
    changed = copy.deepcopy(world.credential)
    changed["name"] = "Chief Data Officer"
    # The holder signed the presentation over the changed credential: the binding holds,
    # the credential's own signature does not.
    r = post_answer(http, request, "open_badge", world.vp(request, credential=changed))
    assert r.status_code == 200, r.text
    assert world.status(request)["verdict"] == "not_verified"
    page = http.get(f"/verify/wallet/{request['request_id']}")
    assert 'data-verdict="not_verified"' in page.text


def test_malformed_answers_are_refused(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    request = start(http)
    path = request["response_uri"].removeprefix("http://127.0.0.1:8000")
    state = request["state"]
    vp = world.vp(request)
    cases: list[tuple[dict[str, str], str]] = [
        ({"state": state}, "oid4vp.malformed"),
        ({"state": state, "vp_token": "{"}, "oid4vp.malformed"),
        ({"state": state, "vp_token": '["x"]'}, "oid4vp.malformed"),
        ({"state": state, "vp_token": json.dumps({"other": [vp]})}, "oid4vp.malformed"),
        ({"state": state, "vp_token": json.dumps({"open_badge": vp})}, "oid4vp.malformed"),
        ({"state": state, "vp_token": json.dumps({"open_badge": [vp, vp]})}, "oid4vp.malformed"),
        (
            {"state": state, "vp_token": json.dumps({"open_badge": [vp], "open_badge_jwt": ["x"]})},
            "oid4vp.malformed",
        ),
        (
            {"state": state, "vp_token": '{"open_badge": [{"a": 1}], "open_badge": [1]}'},
            "oid4vp.malformed",
        ),
        (
            {"state": state, "vp_token": json.dumps({"open_badge_jwt": ["not.a.jwt"]})},
            "oid4vp.malformed",
        ),
        ({"state": state, "vp_token": json.dumps({"open_badge_jwt": [vp]})}, "oid4vp.format"),
        ({"state": state, "vp_token": json.dumps({"open_badge": ["eyJ"]})}, "oid4vp.format"),
        ({"state": "wrong", "vp_token": json.dumps({"open_badge": [vp]})}, "oid4vp.state_mismatch"),
        ({"vp_token": json.dumps({"open_badge": [vp]})}, "oid4vp.state_mismatch"),
        (
            {"state": state, "vp_token": json.dumps({"open_badge": [{"type": "X"}]})},
            "oid4vp.malformed",
        ),
    ]
    for form, code in cases:
        r = http.post(path, data=form)
        error = "vp_formats_not_supported" if code == "oid4vp.format" else "invalid_request"
        refused(r, code, error)
    deep = "[" * 200 + "]" * 200
    refused(http.post(path, data={"state": state, "vp_token": deep}), "oid4vp.malformed")
    # Not a form at all.
    r = http.post(path, json={"vp_token": {"open_badge": [vp]}, "state": state})
    refused(r, "oid4vp.media_type", status=415)
    # A field given twice.
    r = http.post(
        path,
        content=f"state={state}&state={state}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused(r, "oid4vp.malformed")
    assert world.status(request)["state"] == "waiting"


def test_oversized_answers_are_refused_before_reading(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    request = start(http)
    big = {"open_badge": [{**world.vp(request), "padding": "x" * (64 * 1024)}]}
    r = post_answer(http, request, "open_badge", big["open_badge"][0])
    refused(r, "oid4vp.too_large", status=413)
    assert world.status(request)["state"] == "waiting"


def test_unknown_used_and_expired_requests(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    request = start(http)
    rows = world.rows()
    vp = world.vp(request)
    # An unknown request: refused, and nothing is stored.
    unknown = {**request, "response_uri": "http://127.0.0.1:8000/oid4vp/responses/nope"}
    refused(post_answer(http, unknown, "open_badge", vp), "oid4vp.unknown_request")
    long_id = {**request, "response_uri": "http://127.0.0.1:8000/oid4vp/responses/" + "a" * 300}
    refused(post_answer(http, long_id, "open_badge", vp), "oid4vp.unknown_request")
    assert world.rows() == rows
    assert http.get("/verify/wallet/nope").status_code == 404
    assert http.get("/verify/wallet/nope/status").status_code == 404
    # Expired: ten minutes later the answer is refused and the page says so.
    world.clock.advance(minutes=10, seconds=1)
    refused(post_answer(http, request, "open_badge", vp), "oid4vp.expired")
    assert world.status(request) == {"state": "expired", "verdict": None, "refusal": None}
    page = http.get(f"/verify/wallet/{request['request_id']}")
    assert page.status_code == 200 and "This request has expired" in page.text
    assert 'http-equiv="refresh"' not in page.text
    # A day after expiry, starting a new request deletes it.
    world.clock.advance(days=1, minutes=1)
    start(http)
    assert http.get(f"/verify/wallet/{request['request_id']}").status_code == 404


def test_a_declined_answer_and_a_narrowed_request(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    request = start(http, issuer="did:web:someone-else.example")
    path = request["response_uri"].removeprefix("http://127.0.0.1:8000")
    r = http.post(path, data={"error": "access_denied", "state": request["state"]})
    assert r.status_code == 200 and r.json() == {}
    assert world.status(request)["refusal"] == "oid4vp.declined"
    # Our credential is from another issuer than the one asked for.
    refused(post_answer(http, request, "open_badge", world.vp(request)), "oid4vp.not_requested")
    narrowed = start(http, issuer=world.issuer.did)
    assert post_answer(http, narrowed, "open_badge", world.vp(narrowed)).status_code == 200


def test_the_start_form_refuses_bad_narrowing(world: WalletWorld) -> None:  # noqa: F811
    http = world.client
    rows = world.rows()
    for form in (
        {"issuer": "not a url"},
        {"achievement": "https://x.example/" + "a" * 300},
        {"issuer": "did:web:a.example", "achievement": "https://x.example/a"},
    ):
        r = http.post("/verify/wallet", data=form)
        assert r.status_code == 400
        assert 'aria-invalid="true"' in r.text or 'role="alert"' in r.text
        r = http.post("/verify/wallet", data=form, headers={"Accept": "application/json"})
        assert r.status_code == 400 and r.json()["code"] == "oid4vp.filter_invalid"
    assert world.rows() == rows
    r = http.post("/verify/wallet", data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/verify/wallet/")


def test_starting_and_answering_are_rate_limited(
    database_url: str, tmp_path: Path, loader: DocumentLoader
) -> None:
    for limited in make_world(
        database_url, tmp_path, loader, verify_rate_burst=2, verify_rate_per_minute=1
    ):
        http = limited.client
        request = start(http)
        path = request["response_uri"].removeprefix("http://127.0.0.1:8000")
        assert http.post(path, data={"state": "x"}).status_code == 400
        r = http.post(path, data={"state": "x"})
        refused(r, "rate.limited", status=429)
        assert int(r.headers["Retry-After"]) >= 1
        page = http.post("/verify/wallet", data={})
        assert page.status_code == 429
        assert "Too many requests from your address" in page.text


def test_a_jwt_answer_signed_without_kid_or_with_a_bad_did_jwk(
    world: WalletWorld,  # noqa: F811
) -> None:
    http = world.client
    request = start(http)
    holder = did_jwk_holder()
    payload = {"aud": request["client_id"], "nonce": request["nonce"], "vp": {}}
    no_kid = encode_jws({"alg": "ES256"}, payload, holder.sign)
    refused(post_answer(http, request, "open_badge_jwt", no_kid), "oid4vp.holder_signature")
    bad = encode_jws({"alg": "ES256", "kid": "did:jwk:!!!#0"}, payload, holder.sign)
    refused(post_answer(http, request, "open_badge_jwt", bad), "oid4vp.holder_signature")
