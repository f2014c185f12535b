"""The outbox: messages the service wants delivered (sign-in and review links), sent later.

Writing a message is part of the same transaction as the thing it announces, so a link
is never mailed for an invite that was rolled back. ``badgeworks outbox send`` (or the
server's own worker) delivers pending messages and records each attempt.

The bodies hold live sign-in and review links, so they are **sealed at rest**: the
``SealedText`` column type encrypts each body with AES-256-GCM as it is written and
decrypts it as it is read, under a key derived (scrypt) from the service's key secret
and bound to the engine with ``bind_seal_key``. The database (its file, a backup, a
PostgreSQL dump) then holds ``bwseal1:…`` instead of the link. Code reading
``OutboxMessage.body_text`` sees the plain text. A body written in clear (by an older
release, or through an engine with no key) is read as it is; one sealed under another
secret stays sealed, which ``is_sealed`` tells.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Column, Dialect, Text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from badgeworks.core.crypto.symmetric import aes_gcm_open, aes_gcm_seal, scrypt_key
from badgeworks.db.models import timestamp_field

SEAL_PREFIX = "bwseal1:"
#: Domain separation: this key can never equal the key that protects issuer keys (those
#: use a random salt per record) or the secret's fingerprint.
_SEAL_SALT = b"badgeworks/outbox-body/v1"
_SEAL_AAD = b"badgeworks outbox body"
_NONCE_BYTES = 12
#: Where an engine's dialect carries its sealing key (see ``bind_seal_key``).
_KEY_ATTRIBUTE = "badgeworks_outbox_key"


@lru_cache(maxsize=8)
def derive_seal_key(secret: str) -> bytes:
    """The 32-byte outbox key for ``secret`` (scrypt n=2**14, r=8, p=1; cached)."""
    return scrypt_key(secret.encode("utf-8"), _SEAL_SALT, n=2**14, r=8, p=1)


#: Where an engine's dialect carries the keys it opens bodies with (the sealing key first,
#: then, during a rotation of the key secret, the previous secret's).
_OPEN_ATTRIBUTE = "badgeworks_outbox_open_keys"


def bind_seal_key(engine: Engine, secret: str, previous: str | None = None) -> None:
    """Seal outbox bodies written through ``engine`` under ``secret``'s outbox key, and
    open those sealed under it or, while the key secret is rotated, under ``previous``'s."""
    key = derive_seal_key(secret)
    setattr(engine.dialect, _KEY_ATTRIBUTE, key)
    keys = (key, derive_seal_key(previous)) if previous else (key,)
    setattr(engine.dialect, _OPEN_ATTRIBUTE, keys)


def seal(key: bytes, text: str) -> str:
    """``text`` encrypted: ``bwseal1:`` + base64url(nonce ‖ ciphertext ‖ tag)."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = aes_gcm_seal(key, nonce, text.encode("utf-8"), _SEAL_AAD)
    return SEAL_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, value: str) -> str | None:
    """The text ``seal`` sealed, or None if ``value`` is not one sealed under ``key``."""
    try:
        raw = base64.urlsafe_b64decode(value[len(SEAL_PREFIX) :].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    opened = aes_gcm_open(key, raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _SEAL_AAD)
    return opened.decode("utf-8") if opened is not None else None


def is_sealed(value: str | None) -> bool:
    """True if ``value`` (as read) is still sealed: no key, or another secret's key."""
    return bool(value) and str(value).startswith(SEAL_PREFIX)


class SealedText(TypeDecorator[str]):
    """Text sealed with the engine's outbox key on the way in, opened on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        key: bytes | None = getattr(dialect, _KEY_ATTRIBUTE, None)
        if value is None or key is None:
            return value
        return seal(key, value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(SEAL_PREFIX):
            return value
        keys: tuple[bytes, ...] = getattr(dialect, _OPEN_ATTRIBUTE, ())
        for key in keys:
            opened = unseal(key, value)
            if opened is not None:
                return opened
        return value


class OutboxMessage(SQLModel, table=True):
    """One email: ``status`` is ``pending``, ``sending`` (claimed by a sender), ``sent``,
    ``failed`` (gave up) or ``cancelled``.

    ``attempted_at`` is when the last delivery attempt started: while ``sending``, when the
    message was claimed (a claim older than the timeout is taken back).
    """

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int | None = Field(default=None, foreign_key="issuer.id", index=True)
    to: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_column=Column(SealedText, nullable=False))
    body_html: str = Field(sa_column=Column(SealedText, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=1000)
    reference: str = Field(default="", max_length=100)
    created_at: datetime = timestamp_field()
    sent_at: datetime | None = timestamp_field(nullable=True)
    attempted_at: datetime | None = timestamp_field(nullable=True)
