"""scrypt and AES-GCM: the primitives behind secrets kept encrypted at rest.

``adapters/keystore.py`` seals signing keys and ``db/outbox.py`` seals message bodies, each
under a key derived from a secret; the format around these bytes is theirs.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt


def scrypt_key(secret: bytes, salt: bytes, *, n: int, r: int, p: int, length: int = 32) -> bytes:
    """Derive ``length`` bytes from ``secret`` with scrypt (RFC 7914)."""
    return Scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(secret)


def aes_gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-GCM encryption: ciphertext followed by the 16-byte tag."""
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aes_gcm_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """AES-GCM decryption; ``None`` when the tag does not verify (wrong key or tampering)."""
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        return None
