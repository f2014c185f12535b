"""``core.holder_proof``: the OpenID4VCI 1.0 ``jwt`` key proof, in pure code — each key
form (did:key Ed25519 and P-256, did:jwk, jwk) accepted, each broken part refused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from badgeworks.core import multibase
from badgeworks.core.encoding import b64url_decode, b64url_encode
from badgeworks.core.holder_proof import HolderProofError, did_jwk, holder_key, key_of_kid
from tests.issuer_app import NOW
from tests.services.exchange.wallet_holder import BASE, Wallet


def _did_key_p256(jwk: dict[str, Any]) -> str:
    x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
    point = bytes([2 + (y[-1] & 1)]) + x
    return "did:key:" + multibase.encode_base58btc(b"\x80\x24" + point)


@pytest.mark.parametrize(
    ("alg", "binding"),
    [("EdDSA", "did:key"), ("EdDSA", "did:jwk"), ("EdDSA", "jwk"), ("ES256", "jwk")],
)
def test_accepted_key_forms(alg: str, binding: str) -> None:
    wallet = Wallet(alg, binding)
    key = holder_key(wallet.proof("n-1"), audience=BASE, now=NOW)
    assert (key.did, key.alg, key.nonce) == (wallet.did, alg, "n-1")
    assert key.jwk == wallet.jwk


def test_did_key_with_a_p256_key() -> None:
    wallet = Wallet("ES256", "jwk")
    did = _did_key_p256(wallet.jwk)
    assert did.startswith("did:key:zDn")
    assert key_of_kid(f"{did}#{did.removeprefix('did:key:')}") == (did, wallet.jwk)
    header = {"typ": "openid4vci-proof+jwt", "alg": "ES256", "kid": f"{did}#{did[8:]}"}
    key = holder_key(wallet.proof("n", header=header), audience=BASE, now=NOW)
    assert key.did == did


def test_did_jwk_is_the_sorted_compact_key() -> None:
    jwk = {"x": "abc", "kty": "OKP", "crv": "Ed25519"}
    text = b64url_decode(did_jwk(jwk).removeprefix("did:jwk:"))
    assert json.loads(text) == jwk and text == b'{"crv":"Ed25519","kty":"OKP","x":"abc"}'


def test_an_audience_list_may_hold_ours() -> None:
    wallet = Wallet()
    assert holder_key(wallet.proof("n", aud=["x", BASE]), audience=BASE, now=NOW)


@pytest.mark.parametrize(
    ("kid", "why"),
    [
        ("did:key:z6MkWrong", "did:key"),
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "neither"),
        ("did:jwk:bm90LWpzb24", "did:jwk"),
        ("did:web:example.com#key-1", "did:key or did:jwk"),
        (
            "did:jwk:" + b64url_encode(b'{"kty":"OKP","crv":"Ed25519","x":"a","d":"b"}') + "#0",
            "private",
        ),
    ],
)
def test_refused_kids(kid: str, why: str) -> None:
    with pytest.raises(HolderProofError) as refused:
        key_of_kid(kid)
    assert refused.value.code == "invalid_proof"
    assert why in refused.value.message


def test_a_proof_must_be_fresh_and_for_us() -> None:
    wallet = Wallet()
    for proof in (
        wallet.proof("n", aud="https://other.example"),
        wallet.proof("n", iat=(NOW - timedelta(minutes=6)).timestamp()),
        wallet.proof("n", iat=(NOW + timedelta(minutes=6)).timestamp()),
        wallet.proof(
            "n", payload={"aud": BASE, "iat": int(NOW.timestamp()), "nonce": "n", "exp": 1}
        ),
        wallet.proof("n", payload={"aud": BASE, "iat": True, "nonce": "n"}),
    ):
        with pytest.raises(HolderProofError) as refused:
            holder_key(proof, audience=BASE, now=NOW)
        assert refused.value.code == "invalid_proof"
    with pytest.raises(HolderProofError) as refused:
        holder_key(wallet.proof(None), audience=BASE, now=NOW)
    assert refused.value.code == "invalid_nonce"
    with pytest.raises(HolderProofError) as refused:
        holder_key(wallet.proof("n" * 201), audience=BASE, now=NOW)
    assert refused.value.code == "invalid_nonce"


@pytest.mark.parametrize("token", [None, 7, "", "a.b", "a.b.c.d", "x" * 9000, "..."])
def test_not_a_proof(token: Any) -> None:
    with pytest.raises(HolderProofError):
        holder_key(token, audience=BASE, now=NOW)
