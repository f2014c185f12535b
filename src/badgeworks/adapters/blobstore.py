"""Immutable, content-addressed file storage for deliverables and images.

A blob is stored once under its sha256: ``root/ab/cd/abcd…`` (the first two bytes of
the hex digest make two directory levels, so no directory grows past 65,536 entries).
Blobs are written to a temporary file under ``root/.incoming``, fsynced, made read-only
and owner-only (0o400, in 0700 directories) and then published with a single link/rename,
so a reader sees either no blob or the whole blob. An existing blob is never overwritten.
The one deletion is of a candidate's portfolio photo that was replaced or removed
(``delete``). With ``BADGEWORKS_STORAGE_URL=s3://…`` the blobs live in a bucket instead
(``s3_blobstore.S3BlobStore``, the same interface, ``Blobs``); ``open_blob_store`` picks
the one the settings name. See docs/storage.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from badgeworks.adapters.private_files import private_dir
from badgeworks.core.errors import ConfigError, InputError

if TYPE_CHECKING:
    from badgeworks.settings import Settings

_DIGEST = re.compile(r"[0-9a-f]{64}")
_HEX2 = re.compile(r"[0-9a-f]{2}")
_INCOMING = ".incoming"
#: Read-only and owner-only: deliverables and photos are nobody else's business.
_READ_ONLY = 0o400


class StorageError(ConfigError):
    """The blob store cannot be used as it should: unreachable, or a stored file that no
    longer matches its digest (``blob.corrupt``). Answered 503 with its message."""

    code = "storage.unavailable"


def check_digest(sha256: str) -> str:
    # The digest becomes a path, so anything but 64 lowercase hex digits (``..``, ``/``,
    # NUL, upper case aliases) is refused before it gets near the file system.
    if not isinstance(sha256, str) or not _DIGEST.fullmatch(sha256):
        raise InputError(
            f"{sha256!r:.80} is not a sha256 digest (64 lowercase hex digits)",
            code="input.invalid_digest",
        )
    return sha256


def _fsync_dir(directory: Path) -> None:
    # Makes the new directory entry durable (POSIX); not possible on every platform.
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Blobs(Protocol):
    """What services use of a blob store, local (``BlobStore``) or in a bucket
    (``S3BlobStore``)."""

    def describe(self) -> str: ...
    def check(self) -> None: ...
    def exists(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def local_path(self, sha256: str) -> Path | None: ...
    def put(self, data: bytes) -> str: ...
    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> tuple[str, int]: ...
    def delete(self, sha256: str) -> bool: ...
    def digests(self) -> Iterator[str]: ...
    def signed_url(
        self, sha256: str, *, media_type: str, attachment_name: str | None, seconds: int
    ) -> str | None: ...


def open_blob_store(settings: Settings) -> Blobs:
    """The blob store the settings name: the bucket of ``storage_url`` (``s3://…``), else
    ``<data_dir>/blobs``. A bad ``storage_url`` raises ``ConfigError``
    ``config.storage_url``; nothing is contacted until ``check()`` or the first use."""
    if settings.storage_url:
        from badgeworks.adapters.s3_blobstore import S3BlobStore

        return S3BlobStore.from_settings(settings)
    return BlobStore(settings.data_dir / "blobs")


class BlobStore:
    """Content-addressed blobs under ``root``; the sha256 hex digest is the blob's name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        """Where the blobs are, for messages."""
        return str(self.root)

    def check(self) -> None:
        """Nothing to check: the directory is made on the first write."""

    def local_path(self, sha256: str) -> Path | None:
        """The blob's file, or None if it is not stored."""
        path = self.path(sha256)
        return path if path.is_file() else None

    def signed_url(
        self, sha256: str, *, media_type: str, attachment_name: str | None, seconds: int
    ) -> str | None:
        """Always None: a local blob is served by the service itself."""
        check_digest(sha256)
        return None

    def digests(self) -> Iterator[str]:
        """Every stored blob's digest, in name order (``.incoming`` and stray files are
        not blobs and are skipped)."""
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if not (len(first.name) == 2 and first.is_dir() and _HEX2.fullmatch(first.name)):
                continue
            for second in sorted(first.iterdir()):
                if not (second.is_dir() and _HEX2.fullmatch(second.name)):
                    continue
                for blob in sorted(second.iterdir()):
                    name = blob.name
                    if (
                        _DIGEST.fullmatch(name)
                        and name.startswith(first.name + second.name)
                        and blob.is_file()
                    ):
                        yield name

    def path(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        digest = check_digest(sha256)
        return self.root / digest[0:2] / digest[2:4] / digest

    def exists(self, sha256: str) -> bool:
        """True if the blob is stored."""
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The blob's size in bytes; ``FileNotFoundError`` if it is not stored."""
        return self.path(sha256).stat().st_size

    def open(self, sha256: str) -> BinaryIO:
        """The blob opened for binary reading; ``FileNotFoundError`` if it is not stored."""
        return self.path(sha256).open("rb")

    def delete(self, sha256: str) -> bool:
        """Remove the blob; True if it was there. Only for blobs no row refers to (the
        caller checks): a candidate's replaced or removed portfolio photo."""
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def put(self, data: bytes) -> str:
        """Store ``data``; return its sha256 hex digest. Storing it again is a no-op."""
        data = bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if self.exists(digest):
            return digest
        self._write_and_publish(digest, (data,))
        return digest

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> tuple[str, int]:
        """Store the concatenated ``chunks``; return ``(sha256, size)``.

        Hashes while writing, so the upload is never held in memory. Past ``max_bytes``
        raises ``InputError`` (``input.too_large``) and leaves no file behind.
        """
        incoming = self._incoming_dir()
        fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix="blob-")
        tmp = Path(tmp_name)
        try:
            hasher = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise InputError(
                            f"the upload is larger than the limit of {max_bytes} bytes",
                            code="input.too_large",
                            max_bytes=max_bytes,
                        )
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            self._publish(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)
        return digest, size

    def _incoming_dir(self) -> Path:
        # Temporary files live on the same file system as the blobs, so publishing is one
        # atomic link or rename, never a copy.
        return private_dir(self.root / _INCOMING)

    def _write_and_publish(self, digest: str, chunks: Iterable[bytes]) -> None:
        fd, tmp_name = tempfile.mkstemp(dir=self._incoming_dir(), prefix="blob-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            self._publish(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)

    def _publish(self, tmp: Path, digest: str) -> None:
        """Move the fsynced temporary file into place as read-only, never overwriting."""
        final = self.path(digest)
        if final.exists():
            return
        os.chmod(tmp, _READ_ONLY)
        private_dir(final.parent)
        try:
            # A hard link fails if the name exists, so two concurrent writers of the same
            # blob cannot replace each other's file; the temporary name is removed after.
            os.link(tmp, final)
        except FileExistsError:
            return
        except OSError:
            # File systems without hard links: os.replace is still atomic, and a blob
            # that appeared meanwhile has the same content by construction.
            with contextlib.suppress(FileNotFoundError):
                os.replace(tmp, final)
        _fsync_dir(final.parent)
