"""Backups: a consistent snapshot of the database and the blob store, and its restore.

A backup is a directory:

- ``manifest.json``: the format (``badgeworks-backup/1``), when it was made, the database
  kind and its migration revision, row counts, and the sha256 and size of every other file;
- ``database.sqlite3`` (SQLite's online backup API: one consistent copy while the service
  writes) or ``database.pgdump`` (``pg_dump`` custom format, taken in a snapshot the
  counts are read in too, so the two agree);
- ``blobs/<sha256>``: every deliverable and image, each checked against its name, read
  through the configured blob store (``<data dir>/blobs`` or the bucket of
  ``BADGEWORKS_STORAGE_URL``); the manifest records the store's kind (``storage``).

The issuers' and endorsers' keys are in the database, encrypted under the key secret; the
secret itself is never in a backup (nor the development ``key-secret`` file), so a
restored service needs the same ``BADGEWORKS_KEY_SECRET``.

The database is copied first and the blobs after: a blob is stored before any row names
it and never changes, so every blob the copied rows name is there when the blobs are
copied. The backup is written into a hidden directory beside the target and renamed into
place when complete, so a failed backup leaves nothing that looks like one.

``restore`` checks the whole backup (format, names, sizes, digests) before it writes
anything, refuses a database or blob store that is not empty, restores (the blobs into
the store the target is configured with, local or a bucket), migrates to the head of this
release, and compares the row counts with the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from badgeworks.adapters import pg_dump
from badgeworks.adapters.blobstore import Blobs, BlobStore, StorageError, open_blob_store
from badgeworks.adapters.private_files import private_dir
from badgeworks.core.errors import BadgeworksError
from badgeworks.db.engine import make_engine
from badgeworks.db.migrate import current_revision, upgrade
from badgeworks.settings import Settings

FORMAT = "badgeworks-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
BLOBS = "blobs"
#: The tables whose rows a manifest counts (and a restore compares).
COUNTED = (
    "issuer",
    "issuer_key",
    "credential",
    "revocation",
    "status_change",
    "status_list",
    "endorser_status_list",
)
_DIGEST = re.compile(r"[0-9a-f]{64}")
#: The largest manifest read (a backup of a million blobs is about 100 MB of manifest).
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


class BackupError(BadgeworksError):
    """A backup or restore refused or failed; the message says what to do."""

    code = "backup.failed"


@dataclass
class BackupResult:
    """What a backup wrote (or a restore read)."""

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest.get("counts", {}))


# --- shared ---------------------------------------------------------------------------


def _kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {name} database", code="backup.unsupported")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(
            "an in-memory SQLite database cannot be backed up or restored",
            code="backup.unsupported",
        )
    return Path(database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _counts(connection: Connection) -> dict[str, int]:
    present = set(inspect(connection).get_table_names())
    return {
        table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() or 0)
        for table in COUNTED
        if table in present
    }


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    heads = [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    return ",".join(sorted(heads)) or None


# --- backup ---------------------------------------------------------------------------


def _check_target(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(
            f"{dest} already exists and is not an empty directory; choose a new directory "
            "for the backup (nothing was written)",
            code="backup.target_not_empty",
        )
    if not dest.parent.is_dir():
        raise BackupError(
            f"the directory {dest.parent} does not exist; create it first",
            code="backup.target_missing",
        )


def _snapshot_sqlite(url: str, target: Path) -> tuple[dict[str, int], str | None, set[str]]:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path}", code="backup.no_database")
    # The online backup API copies a consistent image while other connections write:
    # pages=0 copies everything in one step under one read transaction.
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy, pages=0)
            # A plain rollback-journal file: reading the copy later (counting it here,
            # checking it before a restore) leaves no -wal or -shm file beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        source.close()
    engine = _file_engine(target)
    try:
        with engine.connect() as connection:
            return _counts(connection), _revision(connection), _referenced(connection)
    finally:
        engine.dispose()


def _file_engine(path: Path) -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(f"sqlite:///{path}", poolclass=NullPool)


def _snapshot_postgresql(
    engine: Engine, url: str, target: Path
) -> tuple[dict[str, int], str | None, set[str]]:
    # One REPEATABLE READ transaction exports its snapshot; pg_dump reads the same one, so
    # the dump holds exactly the rows counted here, however many are written meanwhile.
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar())
            counts = _counts(connection)
            revision = _revision(connection)
            referenced = _referenced(connection)
            try:
                pg_dump.dump(url, target, snapshot=snapshot)
            except pg_dump.ToolFailed as exc:
                raise BackupError(f"pg_dump failed: {exc}", code="backup.dump_failed") from None
    return counts, revision, referenced


#: The columns that name a blob: every one the copied rows name must be in the backup.
REFERENCES = (
    ("deliverable", "sha256"),
    ("issuer", "image_sha256"),
    ("achievement_version", "image_sha256"),
    ("portfolio", "photo_sha256"),
)


def _referenced(connection: Connection) -> set[str]:
    """Every blob digest the rows of ``connection``'s database name."""
    present = set(inspect(connection).get_table_names())
    names: set[str] = set()
    for table, column in REFERENCES:
        if table not in present:
            continue
        rows = connection.execute(
            text(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
        )
        names.update(str(row[0]) for row in rows if _DIGEST.fullmatch(str(row[0])))
    return names


def _store_kind(store: Blobs) -> str:
    return "local" if isinstance(store, BlobStore) else "s3"


def _storage_failed(store: Blobs, doing: str) -> BackupError:
    return BackupError(
        f"the blob store {store.describe()} could not {doing}; check that it is reachable "
        "and try again (nothing was written)",
        code="backup.storage_unavailable",
    )


def _corrupt(store: Blobs, name: str) -> BackupError:
    return BackupError(
        f"the stored blob {name} does not match its digest (it was changed in the blob store "
        f"{store.describe()}); restore that file from an older backup (or, for a bucket, "
        "badgeworks storage copy-to-s3 --check-existing from a local copy), then back up "
        "again; nothing was written",
        code="backup.blob_corrupt",
    )


def _copy_blobs(store: Blobs, target: Path, referenced: set[str]) -> dict[str, int]:
    """Every blob of ``store``, and every one the backed-up rows name, into
    ``target/<sha256>``, each checked against its name as it is copied."""
    copied: dict[str, int] = {}
    try:
        listed = set(store.digests())
    except StorageError:
        raise _storage_failed(store, "list its files") from None
    wanted = sorted(listed | referenced)
    if not wanted:
        return copied
    private_dir(target)
    for name in wanted:
        out = target / name
        digest = hashlib.sha256()
        try:
            with store.open(name) as handle, out.open("xb") as sink:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    sink.write(chunk)
        except FileNotFoundError:
            out.unlink(missing_ok=True)
            raise BackupError(
                f"the database names the blob {name}, which the blob store "
                f"{store.describe()} does not hold (deleted while the backup ran, or lost); "
                "run the backup again, and if this persists restore that file from an older "
                "backup",
                code="backup.blob_missing",
            ) from None
        except StorageError as error:
            if error.code != "blob.corrupt":
                raise _storage_failed(store, "be read") from None
            raise _corrupt(store, name) from None
        if digest.hexdigest() != name:
            raise _corrupt(store, name)
        os.chmod(out, 0o400)
        copied[name] = out.stat().st_size
    return copied


def is_tar(path: Path) -> bool:
    """Whether ``path`` names a tar archive (``.tar``, ``.tar.gz``, ``.tgz``)."""
    return path.name.endswith((".tar", ".tar.gz", ".tgz"))


def backup(settings: Settings, dest: Path, *, now: datetime) -> BackupResult:
    """Write a backup of the service's database and blobs into ``dest``: a new or empty
    directory, or a new tar archive when ``dest`` ends in ``.tar``, ``.tar.gz`` or ``.tgz``."""
    dest = Path(dest).absolute()
    if is_tar(dest):
        return _backup_to_tar(settings, dest, now=now)
    _check_target(dest)
    url = settings.resolved_database_url
    kind = _kind(url)
    store = open_blob_store(settings)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        os.chmod(work, 0o700)
        if kind == "sqlite":
            database = SQLITE_FILE
            counts, revision, referenced = _snapshot_sqlite(url, work / database)
        else:
            database = PG_FILE
            with _engine(settings) as engine:
                counts, revision, referenced = _snapshot_postgresql(engine, url, work / database)
        blobs = _copy_blobs(store, work / BLOBS, referenced)
        files = {
            database: {"sha256": _sha256(work / database), "size": (work / database).stat().st_size}
        }
        for name, size in blobs.items():
            files[f"{BLOBS}/{name}"] = {"sha256": name, "size": size}
        counts["blob"] = len(blobs)
        manifest = {
            "format": FORMAT,
            "created": now.isoformat(),
            "database": {"kind": kind, "file": database, "migration": revision},
            "storage": {"kind": _store_kind(store)},
            "counts": counts,
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if dest.exists():
            dest.rmdir()  # empty, checked above
        os.rename(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(dest, manifest)


def _backup_to_tar(settings: Settings, dest: Path, *, now: datetime) -> BackupResult:
    if dest.exists():
        raise BackupError(
            f"{dest} already exists; choose a new file name for the backup (nothing was written)",
            code="backup.target_not_empty",
        )
    if not dest.parent.is_dir():
        raise BackupError(
            f"the directory {dest.parent} does not exist; create it first",
            code="backup.target_missing",
        )
    with tempfile.TemporaryDirectory(prefix=".badgeworks-backup-", dir=dest.parent) as work:
        result = backup(settings, Path(work) / "backup", now=now)
        partial = Path(work) / "archive"
        mode = "w:gz" if dest.name.endswith(("gz", ".tgz")) else "w"
        with tarfile.open(partial, mode) as archive:  # type: ignore[call-overload]
            for path in sorted(result.path.rglob("*")):
                archive.add(path, arcname=str(path.relative_to(result.path)), recursive=False)
        os.chmod(partial, 0o600)
        os.link(partial, dest)  # never replaces a file that appeared meanwhile
    return BackupResult(dest, result.manifest)


#: The most bytes a tar backup may unpack to (its manifest still decides every file).
MAX_UNPACKED_BYTES = 1 << 40


def _members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    total = 0
    members = []
    for member in archive:
        name = member.name.removeprefix("./")
        blob = name.startswith(BLOBS + "/") and bool(_DIGEST.fullmatch(name[len(BLOBS) + 1 :]))
        allowed = name in (MANIFEST, SQLITE_FILE, PG_FILE, BLOBS) or blob
        if not allowed or not (member.isfile() or member.isdir()):
            raise _refuse(
                f"the archive holds an entry a backup may not: {member.name[:80]!r}",
                "backup.invalid",
            )
        total += member.size
        if total > MAX_UNPACKED_BYTES:
            raise _refuse("the archive unpacks to more than any backup", "backup.invalid")
        members.append(member)
    return members


def _unpack(archive_path: Path, into: Path) -> Path:
    """The tar backup unpacked into ``into``: regular files and directories only, each
    named as a backup names its files; anything else refuses the whole archive."""
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            archive.extractall(into, members=_members(archive), filter="data")
    except (OSError, tarfile.TarError):
        raise _refuse(f"{archive_path} is not a readable tar archive", "backup.invalid") from None
    return into


# --- restore --------------------------------------------------------------------------


def _refuse(message: str, code: str = "backup.invalid") -> BackupError:
    return BackupError(message + "; nothing was restored", code=code)


def read_manifest(src: Path) -> dict[str, Any]:
    """The backup's manifest, checked for shape (not yet its files)."""
    path = src / MANIFEST
    if not src.is_dir():
        raise _refuse(f"{src} is not a directory holding a backup", "backup.not_found")
    if not path.is_file():
        raise _refuse(f"{src} has no {MANIFEST}: it is not a badgeworks backup", "backup.not_found")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise _refuse(f"{MANIFEST} is larger than any backup's")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(f"{MANIFEST} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise _refuse(f"{MANIFEST} is not a {FORMAT} manifest (format {str(found)[:40]!r})")
    database = manifest.get("database")
    files = manifest.get("files")
    counts = manifest.get("counts")
    if (
        not isinstance(database, dict)
        or database.get("kind") not in ("sqlite", "postgresql")
        or database.get("file") != (SQLITE_FILE if database.get("kind") == "sqlite" else PG_FILE)
        or not isinstance(files, dict)
        or database.get("file") not in files
        or not isinstance(counts, dict)
        or not all(isinstance(v, int) and v >= 0 for v in counts.values())
    ):
        raise _refuse(f"{MANIFEST} does not describe a database and its files")
    for name, entry in files.items():
        blob = (
            isinstance(name, str)
            and name.startswith(BLOBS + "/")
            and bool(_DIGEST.fullmatch(name[len(BLOBS) + 1 :]))
        )
        if not (blob or name == database["file"]):
            raise _refuse(f"{MANIFEST} names a file it may not: {str(name)[:80]!r}")
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not _DIGEST.fullmatch(entry["sha256"])
            or not isinstance(entry.get("size"), int)
            or (blob and entry["sha256"] != name[len(BLOBS) + 1 :])
        ):
            raise _refuse(f"{MANIFEST} has a malformed entry for {name[:80]!r}")
    return manifest


def check_backup(src: Path) -> dict[str, Any]:
    """The manifest, once every file it names is present with its size and digest and the
    backup holds no other file."""
    src = Path(src).absolute()
    manifest = read_manifest(src)
    files: dict[str, dict[str, Any]] = manifest["files"]
    present = {
        str(path.relative_to(src)) for path in src.rglob("*") if path.is_file() or path.is_symlink()
    } - {MANIFEST}
    extra = sorted(present - set(files))
    if extra:
        raise _refuse(
            f"the backup holds a file its manifest does not name: {extra[0][:80]!r}",
            "backup.tampered",
        )
    for name, entry in sorted(files.items()):
        path = src / name
        if path.is_symlink() or not path.is_file():
            raise _refuse(f"the backup's file {name[:80]!r} is missing", "backup.tampered")
        if path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            raise _refuse(
                f"the backup's file {name[:80]!r} does not match its manifest (changed or "
                "damaged since the backup was made)",
                "backup.tampered",
            )
    return manifest


def _check_empty_target(store: Blobs, engine: Engine) -> None:
    _check_blobs_empty(store)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables:
        raise _refuse(
            f"the target database is not empty ({len(tables)} tables, e.g. {tables[0]!r}); "
            "restore into a new, empty database",
            "backup.target_not_empty",
        )


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    try:
        yield engine
    except OperationalError as exc:
        raise _unreachable(exc) from None
    finally:
        engine.dispose()


def _unreachable(exc: OperationalError) -> BackupError:
    reason = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else type(exc).__name__
    return BackupError(
        f"the database cannot be reached ({reason}); check BADGEWORKS_DATABASE_URL, and for a "
        "restore create the empty database first; nothing was restored or written",
        code="backup.database_unreachable",
    )


def restore(settings: Settings, src: Path) -> BackupResult:
    """Rebuild the (empty) database and blob store of ``settings`` from the backup ``src``
    (a backup directory, or a tar archive of one)."""
    src = Path(src).absolute()
    if src.is_file() and is_tar(src):
        with tempfile.TemporaryDirectory(prefix=".badgeworks-restore-") as work:
            unpacked = _unpack(src, Path(work))
            result = restore(settings, unpacked)
            return BackupResult(src, result.manifest)
    manifest = check_backup(src)
    url = settings.resolved_database_url
    kind = _kind(url)
    if manifest["database"]["kind"] != kind:
        raise _refuse(
            f"the backup holds a {manifest['database']['kind']} database and the target is "
            f"{kind}; restore into the same kind of database",
            "backup.kind_mismatch",
        )
    database_file = src / manifest["database"]["file"]
    store = open_blob_store(settings)
    if kind == "sqlite":
        # A SQLite file is only looked at (never created) before the checks pass.
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size > 0:
            with _engine(settings) as engine:
                _check_empty_target(store, engine)
        else:
            _check_blobs_empty(store)
        _restore_sqlite(database_file, target)
    else:
        with _engine(settings) as engine:
            _check_empty_target(store, engine)
        try:
            pg_dump.restore(url, database_file)
        except pg_dump.ToolFailed as exc:
            raise BackupError(
                f"pg_restore failed, and rolled back: {exc}", code="backup.restore_failed"
            ) from None
    _restore_blobs(store, src, manifest)
    with _engine(settings) as engine:
        upgrade(engine)
        with engine.connect() as connection:
            counts = _counts(connection)
        revision = current_revision(engine)
    expected = {k: v for k, v in manifest["counts"].items() if k in COUNTED}
    different = {k: (v, counts.get(k, 0)) for k, v in expected.items() if counts.get(k, 0) != v}
    if different:
        table, (want, got) = next(iter(sorted(different.items())))
        raise BackupError(
            f"the restored database has {got} {table} row(s) where the backup counted {want}",
            code="backup.count_mismatch",
        )
    result = BackupResult(src, manifest)
    result.manifest = {**manifest, "restored_migration": revision}
    return result


def _check_blobs_empty(store: Blobs) -> None:
    """Refuse a blob store that holds anything: a local one with any file (even a stray
    one), a bucket with any blob under its prefix."""
    if isinstance(store, BlobStore):
        blobs = store.root
        if blobs.is_dir() and any(p.is_file() for p in blobs.rglob("*")):
            raise _refuse(
                f"the blob store {blobs} is not empty; restore into a new data directory",
                "backup.target_not_empty",
            )
        return
    try:
        store.check()
        first = next(iter(store.digests()), None)
    except BadgeworksError as error:
        raise _refuse(
            f"the blob store {store.describe()} cannot be used: "
            + error.message.removeprefix("refusing to start: "),
            "backup.storage_unavailable",
        ) from None
    if first is not None:
        raise _refuse(
            f"the blob store {store.describe()} is not empty (it holds {first}); restore into "
            "a new bucket or prefix",
            "backup.target_not_empty",
        )


def _restore_blobs(store: Blobs, src: Path, manifest: dict[str, Any]) -> None:
    """Every blob of the (checked) backup into ``store``, each hashed again as it is
    written; a bucket also checks each upload against its SHA-256."""
    for name in sorted(manifest["files"]):
        if not name.startswith(BLOBS + "/"):
            continue
        expected = name[len(BLOBS) + 1 :]
        try:
            with (src / name).open("rb") as handle:
                digest, _size = store.put_stream(
                    iter(lambda: handle.read(_CHUNK), b""), max_bytes=2**62
                )
        except StorageError:
            raise BackupError(
                f"the blob store {store.describe()} could not store the blob {expected}; the "
                "database is restored but its files are not all there: empty the database "
                "and the blob store, then restore again",
                code="backup.storage_unavailable",
            ) from None
        if digest != expected:
            raise BackupError(
                f"the blob {name} changed while it was restored", code="backup.tampered"
            )


def _restore_sqlite(source: Path, target: Path) -> None:
    backup_copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        verdict = backup_copy.execute("PRAGMA integrity_check").fetchone()
        if not verdict or verdict[0] != "ok":
            raise _refuse("the backup's database fails SQLite's integrity check", "backup.tampered")
        private_dir(target.parent)
        fd, partial_name = tempfile.mkstemp(prefix=f".{target.name}.restore-", dir=target.parent)
        os.close(fd)
        partial = Path(partial_name)
        try:
            out = sqlite3.connect(partial)
            try:
                backup_copy.backup(out, pages=0)
            finally:
                out.close()
            os.chmod(partial, 0o600)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        backup_copy.close()
