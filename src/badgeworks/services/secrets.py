"""Local development convenience: a random key secret kept in ``<data_dir>/key-secret``.

Only ``seed-demo`` and ``serve --demo`` use it, and only when ``BADGEWORKS_KEY_SECRET``
is not set. The file is created with mode 0600 and never holds the example secret.
"""

from __future__ import annotations

import os
import secrets

from pydantic import SecretStr

from badgeworks.settings import Settings

SECRET_FILE = "key-secret"


def ensure_dev_key_secret(settings: Settings) -> tuple[Settings, str | None]:
    """Settings with a key secret; the second value says where one was read or made."""
    if settings.key_secret is not None and settings.key_secret.get_secret_value().strip():
        return settings, None
    path = settings.data_dir / SECRET_FILE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
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
