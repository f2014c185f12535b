"""Issuers' private keys, encrypted at rest with the operator's key-encryption secret.

A stored key is an ASCII token ``bw1.<salt>.<nonce>.<ciphertext>`` (each part unpadded
base64url): AES-256-GCM under a key derived from the secret with scrypt and a random
16-byte salt per record. The version prefix is bound to the ciphertext as associated
data, so a token cannot be re-labelled as another format. See docs/storage.md.

This module also refuses the published example secret and example keys, so a service
copied from ``keys.example/`` cannot sign anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from badgeworks.adapters.resources import resource_dir
from badgeworks.core.crypto.symmetric import aes_gcm_open, aes_gcm_seal, scrypt_key
from badgeworks.core.encoding import b64url_decode, b64url_encode
from badgeworks.core.errors import ConfigError, KeyFormatError

#: scrypt cost for deriving the AES-256-GCM key from the key-encryption secret.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


def _derive_key(secret: str, salt: bytes) -> bytes:
    """A 32-byte key from ``secret`` with scrypt (n=2**14, r=8, p=1)."""
    return scrypt_key(secret.encode("utf-8"), salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)


def _seal(plaintext: bytes, secret: str, salt: bytes, nonce: bytes, aad: bytes) -> bytes:
    """AES-256-GCM encryption under the scrypt key of ``secret`` (ciphertext + 16-byte tag)."""
    return aes_gcm_seal(_derive_key(secret, salt), nonce, plaintext, aad)


def _open(ciphertext: bytes, secret: str, salt: bytes, nonce: bytes, aad: bytes) -> bytes:
    """Inverse of ``_seal``. ``KeyFormatError`` (``key.decrypt_failed``) if the tag is wrong."""
    opened = aes_gcm_open(_derive_key(secret, salt), nonce, ciphertext, aad)
    if opened is None:
        # The message must not echo the secret, the derived key or the ciphertext.
        raise KeyFormatError(
            "the stored private key could not be decrypted: the key-encryption secret "
            "(BADGEWORKS_KEY_SECRET) is not the one it was encrypted with, or the record "
            "is corrupted",
            code="key.decrypt_failed",
        )
    return opened


TOKEN_VERSION = "bw1"
SALT_BYTES = 16
NONCE_BYTES = 12
SEED_BYTES = 32
MIN_SECRET_CHARS = 16

#: The key-encryption secret published in ``keys.example/example.env``. Anyone can read
#: it, so ``check_secret`` refuses it.
EXAMPLE_KEY_SECRET = "example-only-do-not-use-this-secret"

# Domain separation: the fingerprint's scrypt salt can never equal a record's random salt
# by design (different length), and it names its purpose.
_FINGERPRINT_SALT = b"badgeworks/key-secret-fingerprint/v1"


def _malformed(reason: str) -> KeyFormatError:
    return KeyFormatError(
        f"the stored private key is not a {TOKEN_VERSION} token ({reason})",
        code="key.decrypt_failed",
    )


def encrypt_seed(seed: bytes, secret: str) -> str:
    """Encrypt a 32-byte Ed25519 seed: ``bw1.<salt>.<nonce>.<ciphertext>`` (base64url).

    Every call uses a fresh random salt and nonce, so encrypting the same seed twice
    gives different tokens.
    """
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise KeyFormatError("an Ed25519 secret key seed is 32 bytes", code="key.invalid")
    if not isinstance(secret, str) or not secret:
        raise ConfigError(
            "no key-encryption secret given (BADGEWORKS_KEY_SECRET)",
            code="config.key_secret_missing",
        )
    salt = os.urandom(SALT_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = _seal(seed, secret, salt, nonce, TOKEN_VERSION.encode("ascii"))
    return ".".join(
        (TOKEN_VERSION, b64url_encode(salt), b64url_encode(nonce), b64url_encode(ciphertext))
    )


def decrypt_seed(token: str, secret: str) -> bytes:
    """The seed from an ``encrypt_seed`` token.

    Raises ``KeyFormatError`` with code ``key.decrypt_failed`` when the token is
    malformed, the secret is wrong or the record was altered. The message never contains
    the secret or any key material.
    """
    if not isinstance(token, str):
        raise _malformed(f"expected text, got {type(token).__name__}")
    if not isinstance(secret, str) or not secret:
        raise ConfigError(
            "no key-encryption secret given (BADGEWORKS_KEY_SECRET)",
            code="config.key_secret_missing",
        )
    parts = token.split(".")
    if len(parts) != 4:
        raise _malformed(f"expected 4 dot-separated parts, found {len(parts)}")
    if parts[0] != TOKEN_VERSION:
        # Only the (short, non-secret) version label is quoted back.
        raise _malformed(f"unknown version label {parts[0][:12]!r}")
    if not all(parts[1:]):
        raise _malformed("a part is not base64url")
    try:
        salt, nonce, ciphertext = (b64url_decode(p) for p in parts[1:])
    except ValueError:
        raise _malformed("a part is not base64url") from None
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES or len(ciphertext) <= 16:
        raise _malformed("a part has the wrong length")
    seed = _open(ciphertext, secret, salt, nonce, TOKEN_VERSION.encode("ascii"))
    if len(seed) != SEED_BYTES:
        raise _malformed("the decrypted seed is not 32 bytes")
    return seed


def secret_fingerprint(secret: str) -> str:
    """A stable, non-reversible fingerprint of the secret: ``sfp1.<32 hex>``.

    Store it next to the encrypted keys; a different fingerprint at start-up means the
    operator changed ``BADGEWORKS_KEY_SECRET`` and the stored keys will not decrypt.
    scrypt (not a plain hash) keeps a leaked fingerprint from being cheap to brute-force.
    """
    return "sfp1." + _derive_key(secret, _FINGERPRINT_SALT)[:16].hex()


def check_secret(secret: str | None) -> str:
    """Return ``secret`` if it is fit to encrypt keys with, else raise ``ConfigError``.

    - missing or blank: ``config.key_secret_missing``;
    - shorter than 16 characters, or the published example secret:
      ``config.example_secret``.
    """
    if secret is None or not secret.strip():
        raise ConfigError(
            "BADGEWORKS_KEY_SECRET is not set; the service needs it to encrypt and use "
            "issuers' private keys",
            code="config.key_secret_missing",
        )
    if secret.strip() == EXAMPLE_KEY_SECRET:
        raise ConfigError(
            "BADGEWORKS_KEY_SECRET is the example secret published in keys.example/; "
            "generate your own (for example: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')",
            code="config.example_secret",
        )
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"BADGEWORKS_KEY_SECRET is {len(secret)} characters long; use at least "
            f"{MIN_SECRET_CHARS} (for example: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')",
            code="config.example_secret",
        )
    return secret


def example_keys_dir() -> Path:
    """The ``keys.example`` directory, found the way the bundled contexts are found."""
    return resource_dir("keys.example")


def is_example_key(public_key_multibase: str) -> bool:
    """True if ``public_key_multibase`` belongs to a key file published in ``keys.example/``.

    The ``*.json`` files are read at every call, so a key added there is refused at once.
    Files that are not key files (no string ``publicKeyMultibase``) are ignored.
    """
    for path in sorted(example_keys_dir().glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        entries = data if isinstance(data, list) else [data]
        for entry in entries:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("publicKeyMultibase"), str)
                and entry["publicKeyMultibase"] == public_key_multibase
            ):
                return True
    return False


def decrypt_seed_with(token: str, secrets: list[str] | tuple[str, ...]) -> bytes:
    """The seed from a token encrypted under any of ``secrets`` (during a rotation of the
    key secret: the new one, then the previous one). The first secret's error otherwise."""
    first: KeyFormatError | None = None
    for secret in secrets:
        try:
            return decrypt_seed(token, secret)
        except KeyFormatError as exc:
            first = first or exc
    if first is None:
        raise ConfigError(
            "no key-encryption secret given (BADGEWORKS_KEY_SECRET)",
            code="config.key_secret_missing",
        )
    raise first


#: The label of a short text sealed under the key secret (``seal_text``), bound like the
#: key records' label so neither can pass for the other.
TEXT_VERSION = "bwt1"


def seal_text(value: str, secret: str) -> str:
    """``value`` encrypted under ``secret``: ``bwt1.<salt>.<nonce>.<ciphertext>``."""
    salt = os.urandom(SALT_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = _seal(value.encode("utf-8"), secret, salt, nonce, TEXT_VERSION.encode("ascii"))
    return ".".join(
        (TEXT_VERSION, b64url_encode(salt), b64url_encode(nonce), b64url_encode(ciphertext))
    )


def open_text(token: str, secret: str) -> str | None:
    """The text ``seal_text`` sealed, or None if ``token`` is not one sealed under ``secret``."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] != TEXT_VERSION:
        return None
    try:
        salt, nonce, ciphertext = (b64url_decode(p) for p in parts[1:])
    except ValueError:
        return None
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES:
        return None
    opened = aes_gcm_open(_derive_key(secret, salt), nonce, ciphertext, TEXT_VERSION.encode())
    return opened.decode("utf-8") if opened is not None else None
