"""Multikey encoding of Ed25519 keys (W3C Controlled Identifiers, "Multikey").

A public key is multicodec ``ed25519-pub`` (0xed 0x01) + 32 bytes, base58btc: ``z6Mk…``.
A secret key is multicodec ``ed25519-priv`` (0x80 0x26) + the 32-byte seed: ``z3u2…``.
"""

from __future__ import annotations

from .errors import KeyFormatError
from .multibase import decode_base58btc, encode_base58btc

ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"


def _encode(prefix: bytes, raw: bytes, wrong_length: str) -> str:
    if len(raw) != 32:
        raise KeyFormatError(wrong_length, code="key.invalid")
    return encode_base58btc(prefix + raw)


def _decode(prefix: bytes, value: str, not_ed25519: str, code: str) -> bytes:
    data = decode_base58btc(value)
    if len(data) != 34 or not data.startswith(prefix):
        raise KeyFormatError(not_ed25519, code=code)
    return data[2:]


def encode_public_key(raw: bytes) -> str:
    """Return the ``publicKeyMultibase`` for a raw 32-byte Ed25519 public key."""
    return _encode(ED25519_PUB_PREFIX, raw, "an Ed25519 public key is 32 bytes")


def decode_public_key(value: str) -> bytes:
    """Return the raw 32-byte Ed25519 public key from a ``publicKeyMultibase`` value."""
    wrong = f"publicKeyMultibase {value!r:.80} is not an Ed25519 Multikey (z6Mk…)"
    return _decode(ED25519_PUB_PREFIX, value, wrong, "key.unsupported")


def encode_secret_key(seed: bytes) -> str:
    """Return the ``secretKeyMultibase`` for a 32-byte Ed25519 seed."""
    return _encode(ED25519_PRIV_PREFIX, seed, "an Ed25519 secret key seed is 32 bytes")


def decode_secret_key(value: str) -> bytes:
    """Return the 32-byte Ed25519 seed from a ``secretKeyMultibase`` value."""
    # The message leaves the value out: it is a secret.
    wrong = "secretKeyMultibase is not an Ed25519 Multikey secret (z3u2…)"
    return _decode(ED25519_PRIV_PREFIX, value, wrong, "key.invalid")
