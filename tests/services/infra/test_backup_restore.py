"""``badgeworks backup`` and ``restore``: a live service backed up while it issues and
revokes, restored into a fresh database and data directory, where every credential still
verifies and the status lists are the ones backed up; and every refusal, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

from badgeworks.cli_service import service_commands
from badgeworks.db.engine import make_engine
from badgeworks.db.models import Credential, Revocation
from badgeworks.db.status import StatusList
from badgeworks.services.infra import backup
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.verification import pipeline
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, draft_project, issue_with_deliverables


def _admin(url: str) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@pytest.fixture
def fresh_target(tmp_path: Path, database_url: str, pg_admin_url: str) -> Iterator[Settings]:
    """Settings of an empty database and data directory of the same kind."""
    data_dir = tmp_path / "restored"
    if database_url.startswith("sqlite"):
        yield get_settings(data_dir=data_dir, key_secret=TEST_SECRET)
        return
    name = f"badgeworks_restore_{secrets.token_hex(6)}"
    admin = _admin(pg_admin_url)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield get_settings(data_dir=data_dir, database_url=url, key_secret=TEST_SECRET)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _issue_and_revoke(
    client: TestClient, acme: IssuerHandle, stop: threading.Event, started: threading.Event
) -> list[str]:
    """Issue (and revoke every third) until told to stop; the problems seen."""
    problems: list[str] = []
    n = 0
    while not stop.is_set() and n < 40:
        n += 1
        if n == 3:
            started.set()
        ids = draft_project(client, acme)
        r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
        if r.status_code != 201:
            problems.append(r.text)
            continue
        if n % 3 == 0:
            rid = r.json()["id"]
            r = client.post(f"/api/v1/credentials/{rid}/revoke", json={}, headers=acme.auth)
            if r.status_code != 200:
                problems.append(r.text)
    return problems


def test_a_live_service_backed_up_while_issuing_restores_and_verifies(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    settings: Settings,
    fresh_target: Settings,
    tmp_path: Path,
) -> None:
    issue_with_deliverables(client, acme)  # deliverables and images: blobs to back up
    for _ in range(3):
        ids = draft_project(client, acme)
        assert (
            client.post(
                f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth
            ).status_code
            == 201
        )
    stop = threading.Event()
    problems: list[str] = []
    started = threading.Event()
    writer = threading.Thread(
        target=lambda: problems.extend(_issue_and_revoke(client, acme, stop, started))
    )
    writer.start()
    try:
        assert started.wait(60)  # the writer is issuing: back up in the middle of it
        result = backup.backup(settings, tmp_path / "backup", now=NOW)
    finally:
        stop.set()
        writer.join(timeout=120)
    assert not problems, problems
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["format"] == "badgeworks-backup/1"
    assert (
        manifest["database"]["kind"] == make_url(settings.resolved_database_url).get_backend_name()
    )
    assert manifest["counts"]["credential"] >= 6 and manifest["counts"]["blob"] >= 3
    assert result.counts == manifest["counts"]

    # The key secret is in no file of the backup.
    for path in (tmp_path / "backup").rglob("*"):
        if path.is_file():
            assert TEST_SECRET.encode() not in path.read_bytes(), path
    assert not (tmp_path / "backup" / "key-secret").exists()

    restored = backup.restore(fresh_target, tmp_path / "backup")
    assert restored.counts == manifest["counts"]

    source = app.state.session_factory
    target_app = create_app(fresh_target, clock=lambda: NOW)
    try:
        ctx = target_app.state.ctx
        with target_app.state.session_factory() as session, source() as original:
            rows = session.exec(select(Credential)).all()
            assert len(rows) == manifest["counts"]["credential"]
            revoked = {r.credential_id for r in session.exec(select(Revocation)).all()}
            for row in rows:
                # Stored verbatim: the same text as the live service's row.
                assert original.get(Credential, row.id).document == row.document
                verdict = pipeline.verify(ctx, json.loads(row.document)).report.verdict
                expected = "not_verified" if row.id in revoked else "verified"
                assert verdict.startswith(expected), (row.id, verdict)
            # Every list says what the restored rows say, and a list whose version is the
            # live one's is the live one's document, byte for byte.
            assert status_lists.check(session) == []
            for listed in session.exec(select(StatusList)).all():
                live = original.get(StatusList, listed.id)
                assert live is not None
                if live.version == listed.version:
                    assert live.document == listed.document
                assert live.version >= listed.version
        # The restored deliverables are served, byte for byte.
        served = TestClient(target_app)
        for name in manifest["files"]:
            if name.startswith("blobs/"):
                r = served.get(f"/{name}")
                assert r.status_code == 200, name
                assert r.content == (tmp_path / "backup" / name).read_bytes()
    finally:
        target_app.state.engine.dispose()


def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    env = {
        "BADGEWORKS_DATA_DIR": str(settings.data_dir),
        "BADGEWORKS_DATABASE_URL": settings.resolved_database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
    }
    result = CliRunner().invoke(service_commands, list(args), env=env)
    return result.exit_code, result.output


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_refusals_leave_everything_as_it_was(
    client: TestClient,
    acme: IssuerHandle,
    settings: Settings,
    fresh_target: Settings,
    tmp_path: Path,
) -> None:
    issue_with_deliverables(client, acme)
    good = tmp_path / "good"
    code, out = _cli(settings, "backup", str(good))
    assert code == 0, out
    assert "backup written to" in out and "credential" in out

    # Backing up into a directory that holds something, or under a missing one.
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    code, out = _cli(settings, "backup", str(busy))
    assert code == 1 and "backup.target_not_empty" in out
    assert _tree(busy) == {"notes.txt": b"keep me"}
    code, out = _cli(settings, "backup", str(tmp_path / "no" / "such" / "dir"))
    assert code == 1 and "backup.target_missing" in out

    # Restoring from nothing, or over the live service's own (non-empty) database.
    code, out = _cli(fresh_target, "restore", str(tmp_path / "missing"))
    assert code == 1 and "backup.not_found" in out
    before = _tree(settings.data_dir / "blobs")
    code, out = _cli(settings, "restore", str(good))
    assert code == 1 and "backup.target_not_empty" in out and "nothing was restored" in out
    assert _tree(settings.data_dir / "blobs") == before

    # A backup changed after it was made is refused before anything is written.
    def tampered(change: object) -> Path:
        copy = tmp_path / f"copy-{secrets.token_hex(3)}"
        copy.mkdir()
        for name, data in _tree(good).items():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes(data)
        change(copy)  # type: ignore[operator]
        return copy

    def flip_blob(copy: Path) -> None:
        blob = next((copy / "blobs").iterdir())
        data = bytearray(blob.read_bytes())
        data[len(data) // 2] ^= 1
        blob.write_bytes(bytes(data))

    def flip_database(copy: Path) -> None:
        database = next(p for p in copy.iterdir() if p.name.startswith("database."))
        data = bytearray(database.read_bytes())
        data[-10] ^= 1
        database.write_bytes(bytes(data))

    def edit_manifest(edit: object) -> object:
        def change(copy: Path) -> None:
            manifest = json.loads((copy / "manifest.json").read_text())
            edit(manifest)  # type: ignore[operator]
            (copy / "manifest.json").write_text(json.dumps(manifest))

        return change

    def escape(manifest: dict[str, object]) -> None:
        files = manifest["files"]
        assert isinstance(files, dict)
        files["../outside"] = next(iter(files.values()))

    cases = {
        "blob changed": (flip_blob, "backup.tampered"),
        "database changed": (flip_database, "backup.tampered"),
        "extra file": (lambda c: (c / "blobs" / ("0" * 64)).write_bytes(b"x"), "backup.tampered"),
        "blob removed": (lambda c: next((c / "blobs").iterdir()).unlink(), "backup.tampered"),
        "manifest not JSON": (
            lambda c: (c / "manifest.json").write_text("{nope"),
            "backup.invalid",
        ),
        "manifest format": (edit_manifest(lambda m: m.update(format="other/9")), "backup.invalid"),
        "path outside": (edit_manifest(escape), "backup.invalid"),
        "counts not numbers": (
            edit_manifest(lambda m: m.update(counts={"credential": "many"})),
            "backup.invalid",
        ),
        "manifest removed": (lambda c: (c / "manifest.json").unlink(), "backup.not_found"),
    }
    for label, (change, expected) in cases.items():
        copy = tampered(change)
        code, out = _cli(fresh_target, "restore", str(copy))
        assert code == 1 and expected in out, (label, out)
        assert "nothing was restored" in out, (label, out)
        assert not (fresh_target.data_dir / "blobs").exists() or not _tree(
            fresh_target.data_dir / "blobs"
        ), label
        if fresh_target.database_url is None:
            assert not (fresh_target.data_dir / "badgeworks.db").exists(), label

    if fresh_target.database_url is not None:
        # A database that does not exist (yet): said in words, nothing written.
        missing = fresh_target.model_copy(
            update={"database_url": fresh_target.database_url + "_never_created"}
        )
        code, out = _cli(missing, "restore", str(good))
        assert code == 1 and "backup.database_unreachable" in out, out
        assert "Traceback" not in out

    # The untouched backup restores; then a second restore over it is refused.
    code, out = _cli(fresh_target, "restore", str(good))
    assert code == 0, out
    assert "restored" in out and "BADGEWORKS_KEY_SECRET" in out
    code, out = _cli(fresh_target, "restore", str(good))
    assert code == 1 and "backup.target_not_empty" in out


def test_a_backup_restores_only_into_its_own_kind_of_database(
    client: TestClient, acme: IssuerHandle, settings: Settings, tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one direction is enough")
    backup.backup(settings, tmp_path / "b", now=NOW)
    other = get_settings(
        data_dir=tmp_path / "pg",
        database_url="postgresql+psycopg://postgres@127.0.0.1:5432/never_created",
        key_secret=TEST_SECRET,
    )
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(other, tmp_path / "b")
    assert refused.value.code == "backup.kind_mismatch"


def test_a_tar_backup_restores_and_a_hostile_archive_is_refused(
    client: TestClient,
    acme: IssuerHandle,
    settings: Settings,
    fresh_target: Settings,
    tmp_path: Path,
) -> None:
    import io
    import tarfile

    issue_with_deliverables(client, acme)
    archive = tmp_path / "nightly.tar.gz"
    code, out = _cli(settings, "backup", str(archive))
    assert code == 0 and archive.is_file(), out
    with tarfile.open(archive) as packed:
        for member in packed.getmembers():
            content = packed.extractfile(member) if member.isfile() else None
            assert content is None or TEST_SECRET.encode() not in content.read(), member.name
    code, out = _cli(settings, "backup", str(archive))
    assert code == 1 and "backup.target_not_empty" in out

    def hostile(name: str, add: object) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w") as out_archive:
            add(out_archive)  # type: ignore[operator]
        return path

    def file_entry(archive_: tarfile.TarFile, name: str, data: bytes = b"x") -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive_.addfile(info, io.BytesIO(data))

    def link_entry(archive_: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("manifest.json")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive_.addfile(info)

    cases = [
        hostile("escape.tar", lambda a: file_entry(a, "../outside.txt")),
        hostile("absolute.tar", lambda a: file_entry(a, "/tmp/absolute.txt")),
        hostile("link.tar", link_entry),
        hostile("other.tar", lambda a: file_entry(a, "notes.txt")),
    ]
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not an archive at all")
    cases.append(garbage)
    for path in cases:
        code, out = _cli(fresh_target, "restore", str(path))
        assert code == 1 and "backup.invalid" in out and "nothing was restored" in out, (path, out)
    assert not (tmp_path / "outside.txt").exists()

    code, out = _cli(fresh_target, "restore", str(archive))
    assert code == 0, out
    engine = make_engine(fresh_target)
    try:
        with Session(engine) as session:
            assert len(session.exec(select(Credential)).all()) == 1
    finally:
        engine.dispose()
