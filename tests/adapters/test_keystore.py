"""Private keys at rest: round trip, tamper and wrong-secret failures, secret checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from badgeworks.adapters import keystore
from badgeworks.adapters.keystore import (
    EXAMPLE_KEY_SECRET,
    check_secret,
    decrypt_seed,
    encrypt_seed,
    example_keys_dir,
    is_example_key,
    secret_fingerprint,
)
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.encoding import b64url_decode, b64url_encode
from badgeworks.core.errors import ConfigError, KeyFormatError

SECRET = "a-test-secret-that-is-long-enough"
SEED = bytes(range(32))


def test_round_trip() -> None:
    token = encrypt_seed(SEED, SECRET)
    assert decrypt_seed(token, SECRET) == SEED


def test_token_format_is_versioned_ascii_with_fresh_salt_and_nonce() -> None:
    first = encrypt_seed(SEED, SECRET)
    second = encrypt_seed(SEED, SECRET)
    assert first != second
    assert first.isascii()
    version, salt, nonce, ciphertext = first.split(".")
    assert version == "bw1"
    assert len(b64url_decode(salt)) == 16
    assert len(b64url_decode(nonce)) == 12
    assert len(b64url_decode(ciphertext)) == 32 + 16
    assert first.split(".")[1] != second.split(".")[1]


def test_wrong_secret_fails_without_leaking() -> None:
    token = encrypt_seed(SEED, SECRET)
    wrong = "another-secret-entirely-123"
    with pytest.raises(KeyFormatError) as info:
        decrypt_seed(token, wrong)
    assert info.value.code == "key.decrypt_failed"
    message = str(info.value)
    for leaked in (wrong, SECRET, SEED.hex(), *token.split(".")[1:]):
        assert leaked not in message


@pytest.mark.parametrize("part", [1, 2, 3])
def test_any_altered_part_fails(part: int) -> None:
    parts = encrypt_seed(SEED, SECRET).split(".")
    raw = bytearray(b64url_decode(parts[part]))
    raw[0] ^= 1
    parts[part] = b64url_encode(bytes(raw))
    with pytest.raises(KeyFormatError) as info:
        decrypt_seed(".".join(parts), SECRET)
    assert info.value.code == "key.decrypt_failed"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "bw1.a.b",
        "bw2.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "bw1.!!!.AAAAAAAAAAAAAAAA.AAAA",
        "bw1.AAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "bw1.AAAAAAAAAAAAAAAAAAAAAA=.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(KeyFormatError) as info:
        decrypt_seed(token, SECRET)
    assert info.value.code == "key.decrypt_failed"


def test_version_label_is_bound_to_the_ciphertext() -> None:
    # Relabelling a token is detected by the AEAD, not just by the parser.
    parts = encrypt_seed(SEED, SECRET).split(".")
    salt, nonce, ciphertext = (b64url_decode(p) for p in parts[1:])
    with pytest.raises(KeyFormatError):
        keystore._open(ciphertext, SECRET, salt, nonce, b"bw0")


def test_encrypt_refuses_a_non_seed() -> None:
    with pytest.raises(KeyFormatError) as info:
        encrypt_seed(b"short", SECRET)
    assert info.value.code == "key.invalid"


def test_fingerprint_is_stable_distinct_and_does_not_contain_the_secret() -> None:
    fp = secret_fingerprint(SECRET)
    assert fp == secret_fingerprint(SECRET)
    assert fp != secret_fingerprint(SECRET + "x")
    assert fp.startswith("sfp1.") and len(fp) == 5 + 32
    assert SECRET not in fp


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_check_secret_missing(secret: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        check_secret(secret)
    assert info.value.code == "config.key_secret_missing"


@pytest.mark.parametrize("secret", [EXAMPLE_KEY_SECRET, f" {EXAMPLE_KEY_SECRET}\n", "short-secret"])
def test_check_secret_refuses_example_and_short(secret: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_secret(secret)
    assert info.value.code == "config.example_secret"
    assert secret.strip() not in str(info.value)


def test_check_secret_accepts_a_good_secret() -> None:
    assert check_secret(SECRET) == SECRET
    assert check_secret("x" * 16) == "x" * 16


def test_config_error_default_code() -> None:
    assert ConfigError("x").code == "config.invalid"


def test_example_env_publishes_exactly_the_refused_secret() -> None:
    env = (example_keys_dir() / "example.env").read_text("utf-8")
    assert "DO NOT USE" in env
    values = [
        line.split("=", 1)[1]
        for line in env.splitlines()
        if line.startswith("BADGEWORKS_KEY_SECRET=")
    ]
    assert values == [EXAMPLE_KEY_SECRET]


def test_is_example_key_reads_the_directory_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519KeyPair.generate()
    other = Ed25519KeyPair.generate()
    monkeypatch.setattr(keystore, "example_keys_dir", lambda: tmp_path)
    assert not is_example_key(key.public_key_multibase)
    (tmp_path / "not-json.json").write_text("{", "utf-8")
    (tmp_path / "notes.txt").write_text(key.public_key_multibase, "utf-8")
    assert not is_example_key(key.public_key_multibase)
    (tmp_path / "example-issuer.key.json").write_text(
        json.dumps({"type": "Multikey", "publicKeyMultibase": key.public_key_multibase}), "utf-8"
    )
    assert is_example_key(key.public_key_multibase)
    assert not is_example_key(other.public_key_multibase)


def test_every_published_example_key_is_refused() -> None:
    files = sorted(example_keys_dir().glob("*.json"))
    for path in files:
        data = json.loads(path.read_text("utf-8"))
        if isinstance(data, dict) and "publicKeyMultibase" in data:
            assert is_example_key(data["publicKeyMultibase"]), path.name
    assert not is_example_key(Ed25519KeyPair.generate().public_key_multibase)
