"""Copying a local blob store into an S3-compatible bucket (``badgeworks storage
copy-to-s3``).

Idempotent and resumable: a blob already in the bucket under its digest (uploaded with
that digest, the same size) is left alone, so a copy stopped halfway is finished by
running it again. Each local file is hashed before it is sent (one that no longer matches
its name is reported, not copied), and each uploaded object is read back and checked
against its digest. The local store is never changed. See docs/storage.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from badgeworks.adapters.blobstore import BlobStore, StorageError
from badgeworks.adapters.s3_blobstore import S3BlobStore

_CHUNK = 256 * 1024


@dataclass
class CopyReport:
    """What a copy did: blobs sent, blobs the bucket already held, and the digests of
    local files that did not match their name (left out) or failed their check after
    upload."""

    copied: int = 0
    present: int = 0
    #: Objects under a blob's name that did not match it, replaced by the local file.
    repaired: int = 0
    corrupt_local: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every local blob is now in the bucket, checked."""
        return not self.corrupt_local and not self.failed


def _local_digest(source: BlobStore, digest: str) -> str:
    hasher = hashlib.sha256()
    with source.open(digest) as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _state(target: S3BlobStore, digest: str, size: int, check_existing: bool) -> str:
    """``present`` (the bucket holds the blob, uploaded with its digest, the same size, and
    with ``check_existing`` read back whole and checked), ``missing`` or ``changed``."""
    held = target.stored_digest(digest)
    if held is None:
        return "missing"
    if held != digest or target.size(digest) != size:
        return "changed"
    if check_existing:
        try:
            target.open(digest).close()
        except StorageError as error:
            if error.code == "blob.corrupt":
                return "changed"
            raise
    return "present"


def copy_to_s3(
    source: BlobStore,
    target: S3BlobStore,
    *,
    check_existing: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> CopyReport:
    """Copy every blob of ``source`` into ``target``; ``progress(digest, outcome)`` is told
    of each (``copied``, ``present``, ``repaired``, ``corrupt``, ``failed``).

    An object already under a blob's name that was not uploaded with its digest or has
    another size (or, with ``check_existing``, whose bytes no longer match) is replaced by
    the local file: the repair of an object changed in the bucket.
    """
    report = CopyReport()

    def tell(digest: str, outcome: str) -> None:
        if progress is not None:
            progress(digest, outcome)

    def fail(digest: str) -> None:
        report.failed.append(digest)
        tell(digest, "failed")

    for digest in source.digests():
        size = source.size(digest)
        try:
            state = _state(target, digest, size, check_existing)
        except (StorageError, FileNotFoundError):
            fail(digest)
            continue
        if state == "present":
            report.present += 1
            tell(digest, "present")
            continue
        if _local_digest(source, digest) != digest:
            # The local file no longer holds the bytes its name promises: never copied.
            report.corrupt_local.append(digest)
            tell(digest, "corrupt")
            continue
        try:
            with source.open(digest) as handle:
                if state == "missing":
                    target.put_stream(iter(lambda: handle.read(_CHUNK), b""), max_bytes=size)
                else:
                    target.restore(digest, handle)
            with target.open(digest) as check:
                whole = check.seek(0, 2) == size
        except (StorageError, FileNotFoundError):
            whole = False
        if not whole:
            fail(digest)
            continue
        if state == "missing":
            report.copied += 1
            tell(digest, "copied")
        else:
            report.repaired += 1
            tell(digest, "repaired")
    return report
