"""The key-encryption secret: a development default, a check that it never changed, and
its rotation.

``ensure_dev_key_secret`` is a local development convenience: a random secret kept in
``<data_dir>/key-secret``. Only ``seed-demo`` and ``serve --demo`` use it, and only when
``BADGEWORKS_KEY_SECRET`` is not set. The file is created with mode 0600 and never holds
the example secret.

``check_key_secret`` runs at start-up: it records the secret's fingerprint the first time
and refuses a different secret later, while issuer keys encrypted with the first exist
(unless the first is given as the previous secret: a rotation in progress).

``rotate_secret`` re-encrypts every record under a new secret while the service runs
(``badgeworks keys rotate-secret``; docs/deployment.md): issuers' and endorsers' keys and
the sealed outbox bodies, each row in its own short transaction with a compare-and-set,
then records the new fingerprint. ``slot_secret`` keeps the status lists' index
permutation (``status_lists.slot_key``) the same across rotations.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from pydantic import SecretStr
from sqlalchemy import Connection, func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from badgeworks.adapters.keystore import (
    check_secret,
    decrypt_seed,
    encrypt_seed,
    open_text,
    seal_text,
    secret_fingerprint,
)
from badgeworks.adapters.private_files import private_dir
from badgeworks.core.errors import ConfigError, KeyFormatError
from badgeworks.db.models import IssuerKey
from badgeworks.db.outbox import derive_seal_key, is_sealed, seal, unseal
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


def check_key_secret(
    session: Session, secret: str, *, now: datetime, previous: str | None = None
) -> None:
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
    if previous and stored is not None and stored.value == _fingerprint(previous):
        # The secret is being rotated (docs/deployment.md): the records are still under
        # the previous secret, which this process reads; `keys rotate-secret` moves them.
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


# --- rotation -----------------------------------------------------------------------

#: The ``service_meta`` row holding the status lists' slot secret, sealed under the key
#: secret (written at the first rotation; before it, the slot secret is the key secret).
SLOT_SECRET_NAME = "status_slot_secret"


def active_secret(connection: Connection, secrets: tuple[str, ...]) -> str:
    """Of ``secrets`` (current, previous), the one the database's fingerprint names (the
    records are under it); the current one when none is recorded or none matches."""
    stored = connection.execute(
        text("SELECT value FROM service_meta WHERE name = :name"), {"name": FINGERPRINT_NAME}
    ).scalar()
    for candidate in secrets:
        if stored is not None and _fingerprint(candidate) == stored:
            return candidate
    return secrets[0]


_SLOT_SECRETS: dict[tuple[int, tuple[str, ...]], str] = {}


def slot_secret(engine: Engine, secrets: tuple[str, ...]) -> str:
    """The secret the status lists' slot permutation is keyed with: the one the lists were
    started under, the same before, during and after any rotation of the key secret, so an
    index handed out before a rotation is never handed out again after it."""
    remembered = (id(engine), secrets)
    if remembered not in _SLOT_SECRETS:
        with engine.connect() as connection:
            _SLOT_SECRETS[remembered] = read_slot_secret(connection, secrets)
    return _SLOT_SECRETS[remembered]


def read_slot_secret(connection: Connection, secrets: tuple[str, ...]) -> str:
    """``slot_secret`` read on a connection the caller already holds (a writer inside its
    transaction must not wait for a second connection from the pool)."""
    sealed = connection.execute(
        text("SELECT value FROM service_meta WHERE name = :name"), {"name": SLOT_SECRET_NAME}
    ).scalar()
    if sealed is None:
        return active_secret(connection, secrets)
    opened = [open_text(str(sealed), candidate) for candidate in secrets]
    found = next((o for o in opened if o is not None), None)
    if found is None:
        raise ConfigError(
            "the status lists' slot secret is sealed under another key secret: "
            "BADGEWORKS_KEY_SECRET was rotated by another process; set the current "
            "secret and restart",
            code="config.key_secret_changed",
        )
    return found


@dataclass
class Rotation:
    """What a rotation re-encrypted (or, checked, would), by kind of record."""

    issuer_keys: int = 0
    endorser_keys: int = 0
    outbox_bodies: int = 0
    unreadable: list[str] = field(default_factory=list)
    fingerprint_moved: bool = False

    @property
    def pending(self) -> int:
        return self.issuer_keys + self.endorser_keys + self.outbox_bodies


def _keys_under(
    connection: Connection, table: str, new: str, old: str, *, apply: bool, result: Rotation
) -> int:
    moved = 0
    rows = connection.execute(
        text(f"SELECT id, encrypted_secret FROM {table} WHERE encrypted_secret IS NOT NULL")
    ).all()
    connection.commit()  # each row is then moved in a transaction of its own
    for row_id, token in rows:
        try:
            decrypt_seed(token, new)
            continue
        except KeyFormatError:
            pass
        try:
            seed = decrypt_seed(token, old)
        except KeyFormatError:
            result.unreadable.append(f"{table} {row_id}")
            continue
        moved += 1
        if apply:
            with connection.begin():
                # Compare-and-set: a row changed meanwhile (a key rotated by staff) keeps
                # its new value and is looked at again on the next run.
                connection.execute(
                    text(
                        f"UPDATE {table} SET encrypted_secret = :new "
                        "WHERE id = :id AND encrypted_secret = :old"
                    ),
                    {"new": encrypt_seed(seed, new), "id": row_id, "old": token},
                )
    return moved


def _outbox_under(connection: Connection, new: str, old: str, *, apply: bool) -> int:
    new_key, old_key = derive_seal_key(new), derive_seal_key(old)
    moved = 0
    rows = connection.execute(
        text(
            "SELECT id, body_text, body_html FROM outbox_message "
            "WHERE body_text LIKE 'bwseal1:%' OR body_html LIKE 'bwseal1:%'"
        )
    ).all()
    connection.commit()
    for row_id, body_text, body_html in rows:
        changes: dict[str, str] = {}
        for column, value in (("body_text", body_text), ("body_html", body_html)):
            if not is_sealed(value) or unseal(new_key, value) is not None:
                continue
            opened = unseal(old_key, value)
            if opened is not None:
                changes[column] = seal(new_key, opened)
        if not changes:
            continue
        moved += 1
        if apply:
            with connection.begin():
                sets = ", ".join(f"{column} = :{column}" for column in changes)
                connection.execute(
                    text(
                        f"UPDATE outbox_message SET {sets} WHERE id = :id "
                        "AND body_text = :old_text AND body_html = :old_html"
                    ),
                    {**changes, "id": row_id, "old_text": body_text, "old_html": body_html},
                )
    return moved


def rotate_secret(
    engine: Engine, new: str, old: str | None, *, now: datetime, apply: bool = True
) -> Rotation:
    """Re-encrypt every record under ``new`` (from ``old``), then record ``new``'s
    fingerprint; with ``apply=False`` only count what is still under ``old``.

    Safe while the service runs, provided every process reads both secrets
    (``BADGEWORKS_KEY_SECRET`` = ``new``, ``BADGEWORKS_KEY_SECRET_PREVIOUS`` = ``old``):
    each row is moved in its own transaction, and a process finds either token readable.
    Running it again moves what is left (nothing, once done).
    """
    new = check_secret(new)
    result = Rotation()
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT value FROM service_meta WHERE name = :name"), {"name": FINGERPRINT_NAME}
        ).scalar()
        connection.commit()
        known = {_fingerprint(new)} | ({_fingerprint(old)} if old else set())
        if stored is not None and stored not in known:
            raise ConfigError(
                "neither BADGEWORKS_KEY_SECRET nor BADGEWORKS_KEY_SECRET_PREVIOUS is the "
                "secret the stored keys are encrypted with (the database records another "
                "fingerprint); set BADGEWORKS_KEY_SECRET_PREVIOUS to the secret in use",
                code="config.key_secret_changed",
            )
        if old is None or not old.strip():
            if stored is not None and stored != _fingerprint(new):
                raise ConfigError(
                    "set BADGEWORKS_KEY_SECRET_PREVIOUS to the secret being replaced",
                    code="config.key_secret_missing",
                )
            return result
        if apply:
            _keep_slot_secret(connection, new, old, now=now)
        result.issuer_keys = _keys_under(
            connection, "issuer_key", new, old, apply=apply, result=result
        )
        result.endorser_keys = _keys_under(
            connection, "endorser", new, old, apply=apply, result=result
        )
        result.outbox_bodies = _outbox_under(connection, new, old, apply=apply)
        if apply and not result.unreadable and stored != _fingerprint(new):
            with connection.begin():
                _put_meta(connection, FINGERPRINT_NAME, _fingerprint(new), now)
            result.fingerprint_moved = True
    return result


def _keep_slot_secret(connection: Connection, new: str, old: str, *, now: datetime) -> None:
    """Seal the slot secret under ``new``: the previous secret's value at the first
    rotation (the lists were keyed with it), the stored one at later rotations."""
    with connection.begin():
        sealed = connection.execute(
            text("SELECT value FROM service_meta WHERE name = :name"), {"name": SLOT_SECRET_NAME}
        ).scalar()
        if sealed is None:
            value = active_secret(connection, (old, new))
        else:
            value = open_text(str(sealed), new) or open_text(str(sealed), old) or ""
            if not value:
                raise ConfigError(
                    "the status lists' slot secret opens with neither secret; set "
                    "BADGEWORKS_KEY_SECRET_PREVIOUS to the secret in use",
                    code="config.key_secret_changed",
                )
            if open_text(str(sealed), new) is not None:
                return
        _put_meta(connection, SLOT_SECRET_NAME, seal_text(value, new), now)


def _put_meta(connection: Connection, name: str, value: str, now: datetime) -> None:
    updated = connection.execute(
        text("UPDATE service_meta SET value = :value, updated_at = :now WHERE name = :name"),
        {"name": name, "value": value, "now": now},
    )
    if not getattr(updated, "rowcount", 0):
        connection.execute(
            text("INSERT INTO service_meta (name, value, updated_at) VALUES (:name, :value, :now)"),
            {"name": name, "value": value, "now": now},
        )
