"""Content-addressed blobs: layout, immutability, streaming limits, digest validation."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from badgeworks.adapters.blobstore import BlobStore
from badgeworks.core.errors import InputError

DATA = b"a deliverable\n" * 1000
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def _leftovers(store: BlobStore) -> list[Path]:
    incoming = store.root / ".incoming"
    return list(incoming.iterdir()) if incoming.exists() else []


def test_put_returns_sha256_and_uses_the_two_level_layout(store: BlobStore) -> None:
    assert store.put(DATA) == DIGEST
    expected = store.root / DIGEST[:2] / DIGEST[2:4] / DIGEST
    assert store.path(DIGEST) == expected
    assert expected.read_bytes() == DATA
    assert store.exists(DIGEST)
    assert store.size(DIGEST) == len(DATA)
    with store.open(DIGEST) as f:
        assert f.read() == DATA
    assert _leftovers(store) == []


def test_blobs_are_read_only_and_owner_only(store: BlobStore) -> None:
    store.put(DATA)
    assert stat.S_IMODE(store.path(DIGEST).stat().st_mode) == 0o400
    for directory in (store.root, store.path(DIGEST).parent, store.root / ".incoming"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_putting_again_never_overwrites(store: BlobStore) -> None:
    store.put(DATA)
    inode = store.path(DIGEST).stat().st_ino
    assert store.put(DATA) == DIGEST
    assert store.put_stream([DATA], max_bytes=len(DATA)) == (DIGEST, len(DATA))
    assert store.path(DIGEST).stat().st_ino == inode
    assert _leftovers(store) == []


def test_empty_blob(store: BlobStore) -> None:
    digest = store.put(b"")
    assert digest == hashlib.sha256(b"").hexdigest()
    assert store.size(digest) == 0


def test_put_stream_hashes_while_writing(store: BlobStore) -> None:
    chunks = [DATA[i : i + 1000] for i in range(0, len(DATA), 1000)]
    assert store.put_stream(iter(chunks), max_bytes=len(DATA)) == (DIGEST, len(DATA))
    assert store.path(DIGEST).read_bytes() == DATA
    assert _leftovers(store) == []


def test_put_stream_over_the_limit_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(InputError) as info:
        store.put_stream([DATA, b"x"], max_bytes=len(DATA))
    assert info.value.code == "input.too_large"
    assert not store.exists(DIGEST)
    assert _leftovers(store) == []
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_put_stream_that_fails_midway_leaves_nothing(store: BlobStore) -> None:
    def broken() -> Iterator[bytes]:
        yield DATA
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        store.put_stream(broken(), max_bytes=10 * len(DATA))
    assert _leftovers(store) == []
    assert not store.exists(DIGEST)


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "../" * 21 + "a",
        DIGEST.upper(),
        DIGEST[:-1],
        DIGEST + "0",
        DIGEST[:-1] + "g",
        DIGEST + "\n",
        "/etc/passwd",
        "..",
    ],
)
def test_invalid_digests_are_refused(store: BlobStore, digest: str) -> None:
    for method in (store.path, store.exists, store.size, store.open):
        with pytest.raises(InputError) as info:
            method(digest)
        assert info.value.code == "input.invalid_digest"


def test_missing_blob(store: BlobStore) -> None:
    assert not store.exists(DIGEST)
    with pytest.raises(FileNotFoundError):
        store.open(DIGEST)
    with pytest.raises(FileNotFoundError):
        store.size(DIGEST)


def test_publish_without_hard_links_falls_back_to_replace(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise PermissionError("hard links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    assert store.put(DATA) == DIGEST
    assert store.path(DIGEST).read_bytes() == DATA
    assert stat.S_IMODE(store.path(DIGEST).stat().st_mode) == 0o400
    assert _leftovers(store) == []
