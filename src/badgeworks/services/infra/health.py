"""Readiness: may this process take traffic? (``/readyz``; docs/operations.md, "Health").

Three checks, each with a stable code and a sentence an operator can act on:

- ``ready.database``: the database answers a query;
- ``ready.migrations``: the database is at the migration head this code ships (a process
  older or newer than the schema is not ready; ``badgeworks db upgrade`` moves it);
- ``ready.key_secret``: a usable key secret is set and is the one the stored keys are
  encrypted with (its fingerprint, or the previous secret's during a rotation, is the one
  recorded in the database), so signing works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import text
from sqlalchemy.engine import Engine

from badgeworks.adapters.keystore import check_secret
from badgeworks.core.errors import BadgeworksError
from badgeworks.db.migrate import current_revision, head_revision
from badgeworks.services.infra import secrets
from badgeworks.settings import Settings


@dataclass
class Readiness:
    """The result: ``checks`` maps each check to ``ok`` or its failure code."""

    checks: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    reason: str | None = None

    @property
    def ready(self) -> bool:
        return self.code is None

    def fail(self, check: str, code: str, reason: str) -> None:
        self.checks[check] = code
        if self.code is None:
            self.code, self.reason = code, reason


@cache
def _head() -> str | None:
    return head_revision()


def readiness(engine: Engine, settings: Settings) -> Readiness:
    """Run the three checks (a failed database check skips the two that need it)."""
    result = Readiness()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or pool error means "not reachable"
        result.fail(
            "database",
            "ready.database",
            f"the database cannot be reached ({type(exc).__name__}); check that it is "
            "running and that BADGEWORKS_DATABASE_URL points at it",
        )
        result.checks.update(migrations="skipped", key_secret="skipped")
        return result
    result.checks["database"] = "ok"
    try:
        current = current_revision(engine)
    except Exception as exc:
        current = f"unreadable ({type(exc).__name__})"
    head = _head()
    if current != head:
        result.fail(
            "migrations",
            "ready.migrations",
            f"the database is at migration {current or 'none'} but this release expects "
            f"{head}; run `badgeworks db upgrade` (or restart a process of this release)",
        )
    else:
        result.checks["migrations"] = "ok"
    try:
        current_secret = check_secret(
            settings.key_secret.get_secret_value() if settings.key_secret else None
        )
        previous = settings.key_secret_previous
        names = [current_secret] + ([previous.get_secret_value()] if previous else [])
        with engine.connect() as connection:
            fitting = secrets.fits_stored_fingerprint(connection, names)
    except BadgeworksError as exc:
        result.fail("key_secret", "ready.key_secret", f"the key secret is not usable: {exc}")
        return result
    if not fitting:
        result.fail(
            "key_secret",
            "ready.key_secret",
            "the key secret is not the one the stored keys are encrypted with (the database "
            "records another fingerprint: was the secret rotated by another process?); set "
            "BADGEWORKS_KEY_SECRET to the current secret and restart",
        )
    else:
        result.checks["key_secret"] = "ok"
    return result
