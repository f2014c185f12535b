"""Content-addressed blobs in an S3-compatible bucket (``BADGEWORKS_STORAGE_URL=s3://…``).

The same interface as ``blobstore.BlobStore``, and the same names: a blob is the object
``<prefix>/ab/cd/abcd…`` (the local store's layout, so ``aws s3 sync data/blobs
s3://bucket/prefix`` and ``badgeworks storage copy-to-s3`` give the same keys). The bucket
is reachable by more than this service, so every read is checked: an object is read whole
into a private temporary file while it is hashed, and only handed on when its sha256 is
its name; anything else raises ``StorageError`` ``blob.corrupt`` and no byte of it is
served. Uploads carry their SHA-256 (``x-amz-checksum-sha256``), so the server refuses a
body damaged on the way. See docs/storage.md.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from badgeworks.adapters.blobstore import StorageError, check_digest
from badgeworks.core.errors import ConfigError, InputError

if TYPE_CHECKING:
    from badgeworks.settings import Settings

log = logging.getLogger(__name__)

#: Bucket names as S3 allows them (3-63 lowercase letters, digits, dots and hyphens).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_PART = re.compile(r"[A-Za-z0-9._=+-]{1,200}")
_KEY_TAIL = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
#: Reads up to this size stay in memory while they are checked; larger ones spill to disk.
SPOOL_BYTES = 1024 * 1024
_CHUNK = 256 * 1024
#: Objects whose ETag was checked, kept per process for signed URLs (digest → ETag).
_VERIFIED_KEPT = 4096


@dataclass(frozen=True)
class S3Location:
    """Where the blobs live: a bucket and a key prefix (no leading or trailing slash)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        """The location as ``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_storage_url(url: str) -> S3Location:
    """``s3://bucket[/prefix]`` as an ``S3Location``; ``ConfigError`` ``config.storage_url``
    for anything else (another scheme, a bad bucket name, ``..`` or empty parts)."""

    def refuse(why: str) -> ConfigError:
        return ConfigError(
            f"refusing to start: BADGEWORKS_STORAGE_URL {url!r:.120} is not usable: {why} "
            "(expected s3://bucket or s3://bucket/prefix; unset it to keep files in the "
            "data directory)",
            code="config.storage_url",
        )

    if not url.startswith("s3://"):
        raise refuse("only s3:// URLs are supported")
    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise refuse(f"{bucket!r:.70} is not an S3 bucket name")
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    for part in parts:
        if part in (".", "..") or not _PREFIX_PART.fullmatch(part):
            raise refuse(
                f"the prefix part {part!r:.70} is not allowed (letters, digits and . _ = + -)"
            )
    return S3Location(bucket, "/".join(parts))


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client from the settings: endpoint, region and keys, each falling back
    to boto3's usual sources (``AWS_*`` environment variables, shared config, roles)."""
    import boto3
    from botocore.config import Config

    endpoint = settings.s3_endpoint_url or None
    config = Config(
        signature_version="s3v4",
        connect_timeout=settings.s3_timeout_seconds,
        read_timeout=settings.s3_timeout_seconds,
        retries={"max_attempts": 3, "mode": "standard"},
        # S3-compatible servers (MinIO, Ceph, moto) at their own endpoint want paths;
        # AWS itself takes the bucket in the host name.
        s3={"addressing_style": "path" if endpoint else "auto"},
    )
    key_id = settings.s3_access_key_id
    secret = settings.s3_secret_access_key
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=settings.s3_region or None,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=config,
    )


def _status(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _missing(error: Exception) -> bool:
    return _status(error) in ("404", "NoSuchKey", "NotFound")


class S3BlobStore:
    """Content-addressed blobs in ``location``'s bucket, read and written through ``client``."""

    def __init__(self, location: S3Location, client: Any) -> None:
        self.location = location
        self.client = client
        self._verified: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        """The store ``settings.storage_url`` names (not contacted until used)."""
        return cls(parse_storage_url(settings.storage_url or ""), s3_client(settings))

    def describe(self) -> str:
        """Where the blobs are, for messages."""
        return self.location.url

    def key(self, sha256: str) -> str:
        """The object key of the blob ``sha256``."""
        digest = check_digest(sha256)
        tail = f"{digest[0:2]}/{digest[2:4]}/{digest}"
        return f"{self.location.prefix}/{tail}" if self.location.prefix else tail

    def _errors(self, what: str, error: Exception) -> StorageError:
        # Visitors may read the message (a 503): the bucket and the cause go to the log.
        log.warning("the object store %s could not %s: %s", self.location.url, what, error)
        return StorageError(
            f"the file store could not {what}; try again later", code="storage.unavailable"
        )

    def check(self) -> None:
        """Refuse to start unless the bucket exists and these credentials may use it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.location.bucket)
        except ClientError as error:
            code = _status(error)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise ConfigError(
                    f"refusing to start: the bucket {self.location.bucket!r} of "
                    "BADGEWORKS_STORAGE_URL does not exist; create it first",
                    code="config.storage_bucket_missing",
                ) from None
            raise ConfigError(
                f"refusing to start: the bucket {self.location.bucket!r} of "
                f"BADGEWORKS_STORAGE_URL refused access ({code}); check the S3 credentials",
                code="config.storage_unreachable",
            ) from None
        except BotoCoreError as error:
            raise ConfigError(
                f"refusing to start: the object store of BADGEWORKS_STORAGE_URL cannot be "
                f"reached ({error})",
                code="config.storage_unreachable",
            ) from None

    def _head(self, sha256: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return cast(
                "dict[str, Any]",
                self.client.head_object(Bucket=self.location.bucket, Key=self.key(sha256)),
            )
        except ClientError as error:
            if _missing(error):
                return None
            raise self._errors("be read", error) from None
        except BotoCoreError as error:
            raise self._errors("be reached", error) from None

    def exists(self, sha256: str) -> bool:
        """True if the blob is stored."""
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int:
        """The blob's size in bytes; ``FileNotFoundError`` if it is not stored."""
        head = self._head(sha256)
        if head is None:
            raise FileNotFoundError(self.key(sha256))
        return int(head["ContentLength"])

    def local_path(self, sha256: str) -> Path | None:
        """Always None: the blob is not a local file."""
        check_digest(sha256)
        return None

    def _download_checked(self, sha256: str) -> tuple[IO[bytes], str]:
        """The blob read whole into a private temporary file and checked against its
        name; with the object's ETag. ``FileNotFoundError`` if it is not stored."""
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(sha256)
        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(key) from None
            raise self._errors("be read", error) from None
        except BotoCoreError as error:
            raise self._errors("be reached", error) from None
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        hasher = hashlib.sha256()
        body = answer["Body"]
        try:
            try:
                for chunk in body.iter_chunks(_CHUNK):
                    hasher.update(chunk)
                    spool.write(chunk)
            finally:
                body.close()
        except (BotoCoreError, OSError) as error:
            spool.close()
            raise self._errors("be read whole", error) from None
        if hasher.hexdigest() != sha256:
            spool.close()
            self._forget(sha256)
            log.error(
                "the object %s/%s does not match its digest (it was changed in the bucket); "
                "restore it from a backup",
                self.location.url,
                key,
            )
            raise StorageError(
                f"the stored file {sha256[:16]}… does not match its digest and is not served; "
                "an operator must restore it from a backup",
                code="blob.corrupt",
            )
        spool.seek(0)
        return cast("IO[bytes]", spool), str(answer.get("ETag", ""))

    def open(self, sha256: str) -> BinaryIO:
        """The blob, checked against its digest, for binary reading (a temporary file the
        caller closes); ``FileNotFoundError`` if it is not stored, ``StorageError``
        ``blob.corrupt`` if its bytes are not what the name says."""
        handle, etag = self._download_checked(sha256)
        self._remember(sha256, etag)
        return cast(BinaryIO, handle)

    def _remember(self, sha256: str, etag: str) -> None:
        if not etag:
            return
        with self._lock:
            self._verified[sha256] = etag
            self._verified.move_to_end(sha256)
            while len(self._verified) > _VERIFIED_KEPT:
                self._verified.popitem(last=False)

    def _forget(self, sha256: str) -> None:
        with self._lock:
            self._verified.pop(sha256, None)

    def signed_url(
        self, sha256: str, *, media_type: str, attachment_name: str | None, seconds: int
    ) -> str:
        """A presigned GET URL of the blob, valid ``seconds``, that makes the object store
        answer with ``media_type`` (and as a download when ``attachment_name`` is given).

        The object is checked against its digest first (once per ETag and process): a
        changed object is refused with ``blob.corrupt``, never linked to. On a versioned
        bucket the link names the checked version, so a later change cannot be served
        through it. ``FileNotFoundError`` if the blob is not stored.
        """
        head = self._head(sha256)
        if head is None:
            raise FileNotFoundError(self.key(sha256))
        etag = str(head.get("ETag", ""))
        with self._lock:
            known = bool(etag) and self._verified.get(sha256) == etag
        if not known:
            handle, etag = self._download_checked(sha256)
            handle.close()
            self._remember(sha256, etag)
        params: dict[str, Any] = {
            "Bucket": self.location.bucket,
            "Key": self.key(sha256),
            "ResponseContentType": media_type,
            "ResponseCacheControl": f"private, max-age={seconds}",
        }
        if attachment_name is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{attachment_name}"'
        version = head.get("VersionId")
        if version and version != "null":
            params["VersionId"] = version
        return str(
            self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        )

    def put(self, data: bytes) -> str:
        """Store ``data``; return its sha256 hex digest. Storing it again is a no-op."""
        data = bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if not self.exists(digest):
            self._upload(digest, data)
        return digest

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> tuple[str, int]:
        """Store the concatenated ``chunks``; return ``(sha256, size)``.

        The upload is hashed into a private temporary file (never held in memory) and
        sent once whole, so the bucket never holds part of one. Past ``max_bytes`` raises
        ``InputError`` (``input.too_large``) and nothing is stored.
        """
        hasher = hashlib.sha256()
        size = 0
        with tempfile.TemporaryFile() as spool:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise InputError(
                        f"the upload is larger than the limit of {max_bytes} bytes",
                        code="input.too_large",
                        max_bytes=max_bytes,
                    )
                hasher.update(chunk)
                spool.write(chunk)
            digest = hasher.hexdigest()
            if not self.exists(digest):
                spool.seek(0)
                self._upload(digest, cast(BinaryIO, spool))
        return digest, size

    def restore(self, sha256: str, body: BinaryIO) -> None:
        """Upload ``body`` (a seekable file) as the blob ``sha256`` over whatever object
        holds that name: the repair of an object changed in the bucket. Bytes whose sha256
        is not ``sha256`` are refused (``InputError`` ``input.digest_mismatch``) before
        anything is sent."""
        digest = check_digest(sha256)
        hasher = hashlib.sha256()
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            hasher.update(chunk)
        if hasher.hexdigest() != digest:
            raise InputError(
                f"these bytes are not the blob {digest[:16]}…", code="input.digest_mismatch"
            )
        body.seek(0)
        self._upload(digest, body)
        self._forget(digest)

    def _upload(self, digest: str, body: bytes | BinaryIO) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.location.bucket,
                Key=self.key(digest),
                Body=body,
                ContentType="application/octet-stream",
                # The server checks the body against it and refuses a damaged upload.
                ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
                Metadata={"sha256": digest},
            )
        except (ClientError, BotoCoreError) as error:
            raise self._errors("store a file", error) from None

    def delete(self, sha256: str) -> bool:
        """Remove the blob; True if it was there. Only for blobs no row refers to (the
        caller checks): a candidate's replaced or removed portfolio photo."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.exists(sha256):
            return False
        try:
            self.client.delete_object(Bucket=self.location.bucket, Key=self.key(sha256))
        except (ClientError, BotoCoreError) as error:
            raise self._errors("delete a file", error) from None
        self._forget(sha256)
        return True

    def digests(self) -> Iterator[str]:
        """Every stored blob's digest (objects under the prefix with another name are
        not blobs and are skipped); ``StorageError`` if the bucket cannot be listed."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.location.prefix}/" if self.location.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=prefix
        )
        try:
            for page in pages:
                for entry in page.get("Contents", []):
                    match = _KEY_TAIL.fullmatch(str(entry["Key"])[len(prefix) :])
                    if match and match[3].startswith(match[1] + match[2]):
                        yield match[3]
        except (ClientError, BotoCoreError) as error:
            raise self._errors("list its files", error) from None

    def stored_digest(self, sha256: str) -> str | None:
        """The sha256 the object was uploaded with (its metadata), or None if absent."""
        head = self._head(sha256)
        if head is None:
            return None
        return str(head.get("Metadata", {}).get("sha256", "")) or ""
