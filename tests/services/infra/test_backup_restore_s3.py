"""``backup`` and ``restore`` with the blobs in an S3-compatible bucket (a real moto server,
``tests/s3_support.py``): a bucket-backed service restored into a fresh bucket, a local
backup restored into a bucket, and the refusals (a changed object, a bucket that is not
empty, a bucket that does not exist). SQLite: the database side runs on both elsewhere."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.adapters.blobstore import BlobStore
from badgeworks.cli_service import service_commands
from badgeworks.db.models import Credential, Revocation
from badgeworks.services.infra import backup
from badgeworks.services.verification import pipeline
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import (
    NOW,
    TEST_SECRET,
    IssuerHandle,
    draft_project,
    issue_with_deliverables,
    make_issuer,
)
from tests.s3_support import key_of, new_bucket, raw_client, s3_settings


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only here."""
    return f"sqlite:///{tmp_path}/badgeworks.db"


@pytest.fixture
def bucket_app(settings: Settings, s3_endpoint: str, bucket: str) -> Iterator[FastAPI]:
    """The service with its blobs in ``bucket``."""
    application = create_app(s3_settings(settings, s3_endpoint, bucket), clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


def _fresh(tmp_path: Path, name: str = "restored") -> Settings:
    return get_settings(
        data_dir=tmp_path / name,
        database_url=f"sqlite:///{tmp_path / name}.db",
        key_secret=TEST_SECRET,
    )


def _issue(client: TestClient, who: IssuerHandle) -> None:
    issue_with_deliverables(client, who)  # an achievement image, a PNG and a PDF
    ids = draft_project(client, who)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/credentials/{r.json()['id']}/revoke", json={}, headers=who.auth)
    assert r.status_code == 200, r.text


def _blob_names(manifest: dict[str, object]) -> list[str]:
    files = manifest["files"]
    assert isinstance(files, dict)
    return sorted(name[len("blobs/") :] for name in files if name.startswith("blobs/"))


def _check_restored(target: Settings, backup_dir: Path, manifest: dict[str, object]) -> None:
    """Every credential of the restored service verifies (a revoked one does not), and
    every blob of the backup is served from the target's store, byte for byte."""
    app = create_app(target, clock=lambda: NOW)
    try:
        ctx = app.state.ctx
        with app.state.session_factory() as session:
            rows = session.exec(select(Credential)).all()
            assert len(rows) == manifest["counts"]["credential"] >= 2  # type: ignore[index]
            revoked = {r.credential_id for r in session.exec(select(Revocation)).all()}
            assert revoked
            for row in rows:
                verdict = pipeline.verify(ctx, json.loads(row.document)).report.verdict
                expected = "not_verified" if row.id in revoked else "verified"
                assert verdict.startswith(expected), (row.id, verdict)
        served = TestClient(app)
        for digest in _blob_names(manifest):
            r = served.get(f"/blobs/{digest}")
            assert r.status_code == 200, digest
            assert r.content == (backup_dir / "blobs" / digest).read_bytes()
            assert hashlib.sha256(r.content).hexdigest() == digest
    finally:
        app.state.engine.dispose()


def test_a_bucket_backed_service_restores_into_a_fresh_bucket(
    bucket_app: FastAPI, settings: Settings, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    client = TestClient(bucket_app, raise_server_exceptions=False)
    _issue(client, make_issuer(bucket_app, "acme"))
    source = s3_settings(settings, s3_endpoint, bucket)
    result = backup.backup(source, tmp_path / "backup", now=NOW)

    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["storage"] == {"kind": "s3"}
    assert result.manifest == manifest
    names = _blob_names(manifest)
    assert len(names) >= 3 and manifest["counts"]["blob"] == len(names)
    s3 = raw_client(s3_endpoint)
    in_bucket = {
        entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket, Prefix="blobs/")["Contents"]
    }
    assert in_bucket == {key_of(name) for name in names}  # every object, no more
    for name in names:
        copy = tmp_path / "backup" / "blobs" / name
        assert copy.read_bytes() == s3.get_object(Bucket=bucket, Key=key_of(name))["Body"].read()
    # Nothing went to the local disk: the service's blobs are in the bucket.
    assert not (settings.data_dir / "blobs").exists()

    fresh = new_bucket(s3_endpoint, "restored")
    target = s3_settings(_fresh(tmp_path), s3_endpoint, fresh)
    restored = backup.restore(target, tmp_path / "backup")
    assert restored.counts == manifest["counts"]
    assert not (target.data_dir / "blobs").exists()
    restored_keys = {
        entry["Key"] for entry in s3.list_objects_v2(Bucket=fresh, Prefix="blobs/")["Contents"]
    }
    assert restored_keys == in_bucket
    for name in names:
        head = s3.head_object(Bucket=fresh, Key=key_of(name))
        assert head["Metadata"]["sha256"] == name  # uploaded with its digest
    _check_restored(target, tmp_path / "backup", manifest)

    # A second restore into the same, now full, bucket is refused before the database
    # is touched.
    again = s3_settings(_fresh(tmp_path, "again"), s3_endpoint, fresh)
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(again, tmp_path / "backup")
    assert refused.value.code == "backup.target_not_empty"
    assert f"s3://{fresh}/blobs" in refused.value.message
    assert not (tmp_path / "again.db").exists()


def test_a_local_backup_restores_into_a_bucket(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    settings: Settings,
    tmp_path: Path,
    s3_endpoint: str,
    bucket: str,
) -> None:
    _issue(client, acme)
    backup.backup(settings, tmp_path / "backup.tar.gz", now=NOW)
    restored = backup.restore(
        s3_settings(_fresh(tmp_path), s3_endpoint, bucket), tmp_path / "backup.tar.gz"
    )
    assert restored.manifest["storage"] == {"kind": "local"}
    names = _blob_names(restored.manifest)
    assert sorted(BlobStore(settings.data_dir / "blobs").digests()) == names
    s3 = raw_client(s3_endpoint)
    for name in names:
        body = s3.get_object(Bucket=bucket, Key=key_of(name))["Body"].read()
        assert hashlib.sha256(body).hexdigest() == name
    unpacked = tmp_path / "unpacked"
    backup._unpack(tmp_path / "backup.tar.gz", unpacked)
    _check_restored(s3_settings(_fresh(tmp_path), s3_endpoint, bucket), unpacked, restored.manifest)


def test_a_changed_object_in_the_bucket_refuses_the_backup(
    bucket_app: FastAPI, settings: Settings, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    client = TestClient(bucket_app, raise_server_exceptions=False)
    _issue(client, make_issuer(bucket_app, "acme"))
    s3 = raw_client(s3_endpoint)
    keys = sorted(e["Key"] for e in s3.list_objects_v2(Bucket=bucket, Prefix="blobs/")["Contents"])
    victim = keys[-1].rsplit("/", 1)[1]
    # Someone else with the bucket's keys replaces the object's bytes.
    s3.put_object(Bucket=bucket, Key=keys[-1], Body=b"not what was uploaded")
    source = s3_settings(settings, s3_endpoint, bucket)
    for dest in (tmp_path / "backup", tmp_path / "backup.tar"):
        with pytest.raises(backup.BackupError) as refused:
            backup.backup(source, dest, now=NOW)
        assert refused.value.code == "backup.blob_corrupt"
        assert victim in refused.value.message
        assert f"s3://{bucket}/blobs" in refused.value.message
    # Nothing that looks like a backup, nor a partial one, is left.
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == []


def test_a_blob_the_rows_name_but_the_bucket_lost_refuses_the_backup(
    bucket_app: FastAPI, settings: Settings, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    client = TestClient(bucket_app, raise_server_exceptions=False)
    _issue(client, make_issuer(bucket_app, "acme"))
    s3 = raw_client(s3_endpoint)
    key = s3.list_objects_v2(Bucket=bucket, Prefix="blobs/")["Contents"][0]["Key"]
    s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(backup.BackupError) as refused:
        backup.backup(s3_settings(settings, s3_endpoint, bucket), tmp_path / "backup", now=NOW)
    assert refused.value.code == "backup.blob_missing"
    assert key.rsplit("/", 1)[1] in refused.value.message
    assert not (tmp_path / "backup").exists()


def test_restore_refuses_a_bucket_that_is_missing_or_holds_blobs(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    settings: Settings,
    tmp_path: Path,
    s3_endpoint: str,
    bucket: str,
) -> None:
    _issue(client, acme)
    backup.backup(settings, tmp_path / "backup", now=NOW)
    missing = s3_settings(_fresh(tmp_path), s3_endpoint, "no-such-bucket")
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(missing, tmp_path / "backup")
    assert refused.value.code == "backup.storage_unavailable"
    assert "does not exist" in refused.value.message
    assert "nothing was restored" in refused.value.message

    raw_client(s3_endpoint).put_object(Bucket=bucket, Key=key_of("ab" * 32), Body=b"x")
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(s3_settings(_fresh(tmp_path), s3_endpoint, bucket), tmp_path / "backup")
    assert refused.value.code == "backup.target_not_empty"
    assert not (tmp_path / "restored.db").exists()
    assert [
        e["Key"] for e in raw_client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    ] == [key_of("ab" * 32)]


def _cli(target: Settings, endpoint: str, bucket: str, *args: str) -> tuple[int, str]:
    env = {
        "BADGEWORKS_DATA_DIR": str(target.data_dir),
        "BADGEWORKS_DATABASE_URL": target.resolved_database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_STORAGE_URL": f"s3://{bucket}/blobs",
        "BADGEWORKS_S3_ENDPOINT_URL": endpoint,
        "BADGEWORKS_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = CliRunner().invoke(service_commands, list(args), env=env)
    return result.exit_code, result.output


def test_the_commands_back_up_a_bucket_and_restore_it_into_another(
    bucket_app: FastAPI, settings: Settings, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    client = TestClient(bucket_app, raise_server_exceptions=False)
    _issue(client, make_issuer(bucket_app, "acme"))
    code, output = _cli(settings, s3_endpoint, bucket, "backup", str(tmp_path / "b.tar"))
    assert code == 0, output
    assert "backup written to" in output
    fresh = new_bucket(s3_endpoint, "restored")
    target = _fresh(tmp_path)
    code, output = _cli(target, s3_endpoint, fresh, "restore", str(tmp_path / "b.tar"))
    assert code == 0, output
    source = {e["Key"] for e in raw_client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]}
    copied = {e["Key"] for e in raw_client(s3_endpoint).list_objects_v2(Bucket=fresh)["Contents"]}
    assert copied == source and len(copied) >= 3


def test_a_bucket_that_stops_answering_fails_the_backup_cleanly(
    bucket_app: FastAPI, settings: Settings, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    client = TestClient(bucket_app, raise_server_exceptions=False)
    _issue(client, make_issuer(bucket_app, "acme"))
    s3 = raw_client(s3_endpoint)
    for entry in s3.list_objects_v2(Bucket=bucket)["Contents"]:
        s3.delete_object(Bucket=bucket, Key=entry["Key"])
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(backup.BackupError) as failed:
        backup.backup(s3_settings(settings, s3_endpoint, bucket), tmp_path / "backup", now=NOW)
    assert failed.value.code == "backup.storage_unavailable"
    assert f"s3://{bucket}/blobs" in failed.value.message
    assert [p.name for p in tmp_path.iterdir() if "backup" in p.name] == []
