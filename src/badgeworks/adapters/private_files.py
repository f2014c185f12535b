"""Owner-only files and directories for what the service keeps on disk.

The data directory holds the SQLite database (with every sign-in token's hash, queued
mail and audit records), the blobs (deliverables, photos) and the development key
secret: no other local user may read any of it. Directories are created 0700 and files
0600 whatever the umask, and ones that exist already are tightened if we own them (an
installation from before this rule, or a directory made by hand).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("badgeworks.storage")

DIR_MODE = 0o700
FILE_MODE = 0o600
#: SQLite's companion files: journal, write-ahead log and shared-memory index.
SQLITE_SUFFIXES = ("-journal", "-wal", "-shm")


def _tighten(path: Path, mode: int) -> None:
    """Take group and other access away from ``path`` if we own it (else log why not)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if stat.S_IMODE(info.st_mode) & 0o077 == 0:
        return
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        log.warning("%s is readable by other users and not ours to change; fix its mode", path)
        return
    os.chmod(path, mode)
    log.warning("%s was readable by other users: now mode %o", path, mode)


def private_dir(path: Path) -> Path:
    """``path`` as an owner-only directory: missing ones (and missing parents) are created
    0700; an existing ``path`` we own loses group and other access."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        # mkdir's mode passes through the umask, which can only take bits away; a umask
        # of 0 is no problem, an odd one (0o277) would leave us without access.
        os.chmod(directory, DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as an owner-only file: created empty with 0600 if missing, else tightened."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        os.close(fd)
        os.chmod(path, FILE_MODE)
    return path


def private_sqlite_file(path: Path) -> Path:
    """The SQLite database file ``path`` created 0600 before SQLite opens it.

    SQLite gives its -journal, -wal and -shm files the database file's permissions, so
    they are owner-only too; existing ones are tightened here as well. A URI filename
    (``file:…`` or with ``?mode=…``) is left to SQLite.
    """
    if str(path).startswith("file:") or "?" in str(path):
        return path
    private_file(path)
    for suffix in SQLITE_SUFFIXES:
        _tighten(Path(f"{path}{suffix}"), FILE_MODE)
    return path
