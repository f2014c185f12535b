"""PostgreSQL's own dump and restore programs (``pg_dump``, ``pg_restore``), run for backups.

The database URL is given to them without its password, which goes in ``PGPASSWORD``
instead, so it never shows in a process list. Their error output is returned cut short,
with the password removed if it appears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from badgeworks.core.errors import ConfigError


class ToolFailed(Exception):
    """A dump or restore program ended with an error; ``str()`` is its cut error output."""


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"{name} is not installed; install PostgreSQL's client programs (Debian: "
            "apt-get install postgresql-client) to back up or restore a PostgreSQL database",
            code="backup.tool_missing",
        )
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """``url`` as a libpq URL without password, and the environment carrying it."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(arguments: list[str], env: dict[str, str], secret: str | None) -> None:
    done = subprocess.run(arguments, env=env, capture_output=True, check=False, timeout=3600)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        if secret:
            message = message.replace(secret, "***")
        raise ToolFailed(message[-1000:] or f"exit status {done.returncode}")


def dump(url: str, target: Path, *, snapshot: str | None = None) -> None:
    """``pg_dump`` in the custom format into ``target`` (at ``snapshot`` when given: an
    exported snapshot the caller holds open, so the dump and its counts agree)."""
    address, env = _libpq(url)
    arguments = [_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    if snapshot:
        arguments.append(f"--snapshot={snapshot}")
    arguments += ["--file", str(target), address]
    _run(arguments, env, make_url(url).password)


def restore(url: str, source: Path) -> None:
    """``pg_restore`` of a custom-format dump into the (empty) database at ``url``, in one
    transaction: on any error nothing is left behind."""
    address, env = _libpq(url)
    arguments = [
        _program("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--dbname",
        address,
        str(source),
    ]
    _run(arguments, env, make_url(url).password)
