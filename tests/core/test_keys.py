"""The JSON key-file format: round trips and the errors a bad file gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import KeyFormatError
from badgeworks.core.keys import key_pair_from_json, key_pair_to_json

EXAMPLE_KEY = Path(__file__).parents[2] / "keys.example" / "example-issuer.key.json"


def good() -> dict[str, Any]:
    return key_pair_to_json(Ed25519KeyPair.generate())


def test_round_trip_with_secret() -> None:
    key = Ed25519KeyPair.generate()
    data = key_pair_to_json(key, created="2025-01-01T00:00:00Z")
    assert data["type"] == "Multikey"
    assert data["created"] == "2025-01-01T00:00:00Z"
    assert key_pair_from_json(json.loads(json.dumps(data))) == key


def test_round_trip_public_only() -> None:
    key = Ed25519KeyPair.generate()
    data = key_pair_to_json(key, include_secret=False)
    assert "secretKeyMultibase" not in data
    loaded = key_pair_from_json(data)
    assert loaded.secret_seed is None
    assert loaded.public_key == key.public_key


def test_non_did_key_controller() -> None:
    key = Ed25519KeyPair.generate(
        controller="did:web:issuer.example", key_id="did:web:issuer.example#k1"
    )
    assert key_pair_from_json(key_pair_to_json(key)) == key


def test_example_key_file_is_labelled_and_loads() -> None:
    data = json.loads(EXAMPLE_KEY.read_text("utf-8"))
    key = key_pair_from_json(data)
    assert key.can_sign
    readme = (EXAMPLE_KEY.parent / "README.md").read_text("utf-8")
    assert "NEVER USE" in readme


@pytest.mark.parametrize("value", [None, [], "z6Mk", 42])
def test_non_object_is_refused(value: Any) -> None:
    with pytest.raises(KeyFormatError) as info:
        key_pair_from_json(value)
    assert info.value.code == "key.invalid"


@pytest.mark.parametrize("field", ["type", "id", "controller", "publicKeyMultibase"])
def test_missing_field_is_named(field: str) -> None:
    data = good()
    del data[field]
    with pytest.raises(KeyFormatError) as info:
        key_pair_from_json(data)
    assert info.value.code == "key.invalid"
    assert field in str(info.value)


def _bad(mutate: dict[str, Any], field: str) -> None:
    data = {**good(), **mutate}
    with pytest.raises(KeyFormatError) as info:
        key_pair_from_json(data)
    assert info.value.code == "key.invalid"
    assert field in str(info.value), str(info.value)


def test_wrong_type() -> None:
    _bad({"type": "Ed25519VerificationKey2020"}, "type")


def test_wrong_public_prefix() -> None:
    data = good()
    _bad({"publicKeyMultibase": data["secretKeyMultibase"]}, "publicKeyMultibase")


def test_wrong_secret_prefix() -> None:
    data = good()
    _bad({"secretKeyMultibase": data["publicKeyMultibase"]}, "secretKeyMultibase")


def test_mismatched_secret() -> None:
    _bad({"secretKeyMultibase": good()["secretKeyMultibase"]}, "secretKeyMultibase")


def test_did_key_controller_must_match_public_key() -> None:
    other = good()
    _bad({"controller": other["controller"]}, "controller")
    _bad({"id": other["id"]}, "id")


def test_unknown_field_is_refused_with_a_hint() -> None:
    data = good()
    data["privateKeyMultibase"] = data.pop("secretKeyMultibase")
    with pytest.raises(KeyFormatError) as info:
        key_pair_from_json(data)
    assert "privateKeyMultibase" in str(info.value)
    assert "secretKeyMultibase" in str(info.value)


def test_non_string_field() -> None:
    _bad({"publicKeyMultibase": 12}, "publicKeyMultibase")
    _bad({"created": 2025}, "created")
