"""The key-encryption secret: a development default, and a check that it never changed.

``ensure_dev_key_secret`` is a local development convenience: a random secret kept in
``<data_dir>/key-secret``. Only ``seed-demo`` and ``serve --demo`` use it, and only when
``BADGEWORKS_KEY_SECRET`` is not set. The file is created with mode 0600 and never holds
the example secret.

``check_key_secret`` runs at start-up: it records the secret's fingerprint the first time
and refuses a different secret later, while issuer keys encrypted with the first exist.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from functools import lru_cache

from pydantic import SecretStr
from sqlalchemy import Connection, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from badgeworks.adapters.keystore import decrypt_seed, secret_fingerprint
from badgeworks.adapters.private_files import private_dir
from badgeworks.core.errors import ConfigError, KeyFormatError
from badgeworks.db.models import IssuerKey
from badgeworks.db.service_meta import ServiceMeta
from badgeworks.settings import Settings

SECRET_FILE = "key-secret"
#: The ``service_meta`` row holding the fingerprint of the secret the keys are encrypted with.
FINGERPRINT_NAME = "key_secret_fingerprint"


def ensure_dev_key_secret(settings: Settings) -> tuple[Settings, str | None]:
    """Settings with a key secret; the second value says where one was read or made."""
    if settings.key_secret is not None and settings.key_secret.get_secret_value().strip():
        return settings, None
    path = settings.data_dir / SECRET_FILE
    private_dir(settings.data_dir)  # owner-only from the start, like every data directory
    if path.exists():
        value = path.read_text("utf-8").strip()
        note = f"using the development key secret in {path}"
    else:
        value = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        note = (
            f"BADGEWORKS_KEY_SECRET is not set: generated a random development secret in "
            f"{path} (mode 0600). Set BADGEWORKS_KEY_SECRET in production"
        )
    return settings.model_copy(update={"key_secret": SecretStr(value)}), note


@lru_cache(maxsize=8)
def _fingerprint(secret: str) -> str:
    # scrypt takes tens of milliseconds; tests and the CLI build many apps per process.
    return secret_fingerprint(secret)


def _changed(count: int) -> ConfigError:
    return ConfigError(
        "refusing to start: BADGEWORKS_KEY_SECRET is not the secret the "
        f"{count} stored issuer key(s) were encrypted with (its fingerprint differs from "
        "the one recorded at first start), so nothing could be signed. Set the original "
        "secret again; the secret must be the same on every process sharing this database",
        code="config.key_secret_changed",
    )


def check_key_secret(session: Session, secret: str, *, now: datetime) -> None:
    """Record the secret's fingerprint on first start; ``ConfigError`` if it changed.

    - No fingerprint stored yet: if issuer keys exist (a database from before this check),
      one is decrypted to prove the secret fits; then the fingerprint is stored.
    - A different fingerprint stored and issuer keys exist:
      ``config.key_secret_changed``. Without keys the new fingerprint simply replaces it.

    The secret itself is never stored or quoted; only ``secret_fingerprint`` (scrypt).
    """
    fingerprint = _fingerprint(secret)
    keys = session.exec(select(func.count()).select_from(IssuerKey)).one()
    stored = session.get(ServiceMeta, FINGERPRINT_NAME)
    if stored is not None and stored.value == fingerprint:
        return
    if keys:
        if stored is not None:
            raise _changed(keys)
        newest = session.exec(select(IssuerKey).order_by(col(IssuerKey.id).desc())).first()
        try:
            decrypt_seed(newest.encrypted_secret if newest else "", secret)
        except KeyFormatError:
            raise _changed(keys) from None
    row = stored or ServiceMeta(name=FINGERPRINT_NAME, value=fingerprint)
    row.value = fingerprint
    row.updated_at = now
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # Another process recorded it at the same moment: compare with theirs.
        session.rollback()
        theirs = session.get(ServiceMeta, FINGERPRINT_NAME)
        if theirs is not None and theirs.value != fingerprint and keys:
            raise _changed(keys) from None


def fits_stored_fingerprint(connection: Connection, candidates: list[str]) -> bool:
    """Whether one of ``candidates`` is the secret whose fingerprint the database records
    (True when none is recorded yet: the first start records it)."""
    stored = connection.execute(
        text("SELECT value FROM service_meta WHERE name = :name"), {"name": FINGERPRINT_NAME}
    ).scalar()
    if stored is None:
        return True
    return any(_fingerprint(candidate) == stored for candidate in candidates)
