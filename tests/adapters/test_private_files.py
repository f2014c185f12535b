"""Owner-only directories and files, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from badgeworks.adapters.private_files import private_dir, private_file, private_sqlite_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_new_directories_and_files_are_owner_only(tmp_path: Path, umask: int) -> None:
    deep = private_dir(tmp_path / "a" / "b" / "c")
    for path in (tmp_path / "a", tmp_path / "a" / "b", deep):
        assert mode(path) == 0o700, path
    db = private_sqlite_file(deep / "badgeworks.db")
    assert mode(db) == 0o600 and db.stat().st_size == 0


def test_existing_ones_lose_group_and_other_access(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o755)
    db = data / "x.db"
    wal = data / "x.db-wal"
    for path in (db, wal):
        path.write_bytes(b"")
        os.chmod(path, 0o644)
    private_dir(data)
    private_sqlite_file(db)
    assert (mode(data), mode(db), mode(wal)) == (0o700, 0o600, 0o600)
    private_file(db)  # already private: unchanged
    assert mode(db) == 0o600


def test_a_sqlite_uri_filename_is_left_to_sqlite(tmp_path: Path) -> None:
    target = Path(f"{tmp_path / 'x.db'}?mode=ro")
    private_sqlite_file(target)
    assert list(tmp_path.iterdir()) == []
