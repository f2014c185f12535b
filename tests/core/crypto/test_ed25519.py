"""Ed25519 key pairs, Multikey round trips and the verify primitive."""

from __future__ import annotations

import pytest

from badgeworks.core import did_key
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair, ed25519_verify
from badgeworks.core.errors import KeyFormatError
from badgeworks.core.multikey import (
    decode_public_key,
    decode_secret_key,
    encode_public_key,
    encode_secret_key,
)
from tests.conftest import EDDSA, read_json

VECTOR_KEY = read_json(EDDSA / "keyPair.json")
SET_KEYS = read_json(EDDSA / "proof-set-chain" / "multiKeyPairs.json")


def vector_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.from_multibase(
        VECTOR_KEY["publicKeyMultibase"], VECTOR_KEY["privateKeyMultibase"]
    )


def test_from_multibase_defaults_to_did_key() -> None:
    key = vector_key()
    did = "did:key:" + VECTOR_KEY["publicKeyMultibase"]
    assert key.controller == did
    assert key.id == did_key.verification_method_id(did)
    assert key.public_key_multibase == VECTOR_KEY["publicKeyMultibase"]
    assert key.secret_key_multibase == VECTOR_KEY["privateKeyMultibase"]


@pytest.mark.parametrize("name", sorted(SET_KEYS))
def test_vector_key_pairs_match(name: str) -> None:
    pair = SET_KEYS[name]
    key = Ed25519KeyPair.from_multibase(pair["publicKeyMultibase"], pair["privateKeyMultibase"])
    assert key.public_key_multibase == pair["publicKeyMultibase"]


def test_multikey_round_trips() -> None:
    key = Ed25519KeyPair.generate()
    assert key.secret_seed is not None
    assert decode_public_key(encode_public_key(key.public_key)) == key.public_key
    assert decode_secret_key(encode_secret_key(key.secret_seed)) == key.secret_seed
    assert key.public_key_multibase.startswith("z6Mk")
    assert key.secret_key_multibase.startswith("z3u2")
    again = Ed25519KeyPair.from_multibase(key.public_key_multibase, key.secret_key_multibase)
    assert again == key


def test_generate_with_controller() -> None:
    key = Ed25519KeyPair.generate(controller="did:web:issuer.example")
    assert key.controller == "did:web:issuer.example"
    assert key.id == f"did:web:issuer.example#{key.public_key_multibase}"
    key2 = Ed25519KeyPair.generate(controller="did:web:issuer.example", key_id="did:web:x#k1")
    assert key2.id == "did:web:x#k1"


def test_mismatched_secret_is_refused() -> None:
    other = Ed25519KeyPair.generate()
    with pytest.raises(KeyFormatError) as info:
        Ed25519KeyPair.from_multibase(VECTOR_KEY["publicKeyMultibase"], other.secret_key_multibase)
    assert info.value.code == "key.mismatch"


def test_wrong_prefixes_are_refused() -> None:
    with pytest.raises(KeyFormatError):
        Ed25519KeyPair.from_multibase(VECTOR_KEY["privateKeyMultibase"])
    with pytest.raises(KeyFormatError):
        Ed25519KeyPair.from_multibase(
            VECTOR_KEY["publicKeyMultibase"], VECTOR_KEY["publicKeyMultibase"]
        )


def test_sign_and_verify() -> None:
    key = vector_key()
    signature = key.sign(b"hello")
    assert len(signature) == 64
    assert ed25519_verify(key.public_key, signature, b"hello")
    assert not ed25519_verify(key.public_key, signature, b"hellO")
    assert not ed25519_verify(Ed25519KeyPair.generate().public_key, signature, b"hello")


@pytest.mark.parametrize(
    ("public", "signature"),
    [(b"\0" * 31, b"\0" * 64), (b"\0" * 32, b"\0" * 63), (b"\0" * 32, b"\0" * 64)],
)
def test_verify_never_raises(public: bytes, signature: bytes) -> None:
    assert ed25519_verify(public, signature, b"data") is False


def test_verify_only_key_cannot_sign() -> None:
    key = Ed25519KeyPair.from_multibase(VECTOR_KEY["publicKeyMultibase"])
    assert not key.can_sign
    with pytest.raises(KeyFormatError) as info:
        key.sign(b"x")
    assert info.value.code == "key.no_secret"
    with pytest.raises(KeyFormatError):
        _ = key.secret_key_multibase


def test_repr_hides_the_secret() -> None:
    key = vector_key()
    assert key.secret_seed is not None
    assert key.secret_seed.hex() not in repr(key)
    assert VECTOR_KEY["privateKeyMultibase"] not in repr(key)
