"""Deliverables in an S3-compatible bucket: a real S3 server (moto, in server mode, its own
process) on a free port over HTTP, the app on SQLite and PostgreSQL, and the copy command.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from badgeworks.adapters.blobstore import BlobStore, StorageError
from badgeworks.adapters.s3_blobstore import S3BlobStore, parse_storage_url
from badgeworks.cli import badgeworks
from badgeworks.core.errors import ConfigError, InputError
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, draft_project, make_issuer
from tests.s3_support import key_of, raw_client, s3_settings
from tests.servers import free_port

KEYS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing", "s3_region": "us-east-1"}


def upload(client: TestClient, data: bytes, media: str = "application/pdf") -> str:
    who = make_issuer(client.app, "acme")  # type: ignore[arg-type]
    ids = draft_project(client, who)
    r = client.post(
        f"/api/v1/projects/{ids['project']}/deliverables",
        files={"file": ("report.pdf", data, media)},
        data={"name": "Final report"},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    digest: str = r.json()["sha256"]
    assert digest == hashlib.sha256(data).hexdigest()
    return digest


DATA = b"%PDF-1.4\n% the churn report\n" + bytes(range(256)) * 40


@pytest.fixture
def no_database(tmp_path: Path) -> Settings:
    """Settings whose database is never reached: for what is refused before it is."""
    return get_settings(
        data_dir=tmp_path / "data",
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        key_secret=TEST_SECRET,
    )


@pytest.fixture
def s3_client_app(settings: Settings, s3_endpoint: str, bucket: str) -> Iterator[TestClient]:
    app = create_app(s3_settings(settings, s3_endpoint, bucket), clock=lambda: NOW)
    yield TestClient(app, raise_server_exceptions=False)
    app.state.engine.dispose()


def test_an_upload_lands_in_the_bucket_under_its_digest_and_is_streamed_back(
    s3_client_app: TestClient, settings: Settings, s3_endpoint: str, bucket: str
) -> None:
    digest = upload(s3_client_app, DATA)
    stored = raw_client(s3_endpoint).get_object(Bucket=bucket, Key=key_of(digest))
    assert stored["Body"].read() == DATA
    assert stored["Metadata"]["sha256"] == digest
    # Nothing of it on the local disk.
    blobs = settings.data_dir / "blobs"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))

    r = s3_client_app.get(f"/blobs/{digest}")
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-length"] == str(len(DATA))
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_signed_url_redirect_serves_the_same_bytes_with_the_recorded_type(
    settings: Settings, s3_endpoint: str, bucket: str
) -> None:
    app = create_app(
        s3_settings(
            settings,
            s3_endpoint,
            bucket,
            storage_signed_urls=True,
            storage_signed_url_seconds=60,
        ),
        clock=lambda: NOW,
    )
    try:
        client = TestClient(app, raise_server_exceptions=False)
        html = b"<html><script>alert(1)</script></html>"
        digest = upload(client, html, media="text/html")
        r = client.get(f"/blobs/{digest}", follow_redirects=False)
        assert r.status_code == 302
        assert r.headers["cache-control"] == "no-store"
        location = r.headers["location"]
        assert location.startswith(f"{s3_endpoint}/{bucket}/{key_of(digest)}?")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert query["X-Amz-Expires"] == ["60"]
        fetched = httpx.get(location)
        assert fetched.status_code == 200
        assert fetched.content == html
        # Uploaded HTML is a download there too, with the type recorded at upload.
        assert fetched.headers["content-type"] == "text/html"
        assert fetched.headers["content-disposition"] == f'attachment; filename="{digest[:16]}"'
        # The link is signed: changing the key it names makes it worthless.
        assert httpx.get(location.replace(digest, "0" * 64)).status_code == 403
    finally:
        app.state.engine.dispose()


def test_a_tampered_object_is_refused_streamed_or_signed(
    s3_client_app: TestClient, settings: Settings, s3_endpoint: str, bucket: str
) -> None:
    digest = upload(s3_client_app, DATA)
    signed = create_app(
        s3_settings(settings, s3_endpoint, bucket, storage_signed_urls=True), clock=lambda: NOW
    )
    try:
        signed_client = TestClient(signed, raise_server_exceptions=False)
        # Checked and linked once while intact ...
        assert signed_client.get(f"/blobs/{digest}", follow_redirects=False).status_code == 302
        tampered = DATA.replace(b"churn", b"CHURN")
        raw_client(s3_endpoint).put_object(
            Bucket=bucket, Key=key_of(digest), Body=tampered, Metadata={"sha256": digest}
        )
        # ... and refused once changed, by either way of serving.
        for client in (s3_client_app, signed_client):
            r = client.get(f"/blobs/{digest}", follow_redirects=False, headers={"Accept": "*/*"})
            assert r.status_code == 503
            body = r.json()
            assert body["code"] == "blob.corrupt"
            assert "does not match its digest" in body["error"]
            # Visitors are not told where the files are kept (the log says).
            assert bucket not in r.text
            assert b"CHURN" not in r.content
    finally:
        signed.state.engine.dispose()


def _store(endpoint: str, bucket: str, prefix: str = "blobs") -> S3BlobStore:
    base = get_settings(storage_url=f"s3://{bucket}/{prefix}", s3_endpoint_url=endpoint, **KEYS)
    return S3BlobStore.from_settings(base)


def test_the_store_interface_on_a_bucket(s3_endpoint: str, bucket: str) -> None:
    store = _store(s3_endpoint, bucket)
    store.check()
    digest = store.put(b"photo bytes")
    assert store.put(b"photo bytes") == digest
    assert store.exists(digest) and store.size(digest) == len(b"photo bytes")
    with store.open(digest) as handle:
        assert handle.read() == b"photo bytes"
    streamed, size = store.put_stream(iter([b"a" * 10, b"b" * 10]), max_bytes=20)
    assert size == 20 and store.exists(streamed)
    assert sorted(store.digests()) == sorted([digest, streamed])
    # Too large: refused, and nothing stored.
    with pytest.raises(InputError) as too_large:
        store.put_stream(iter([b"c" * 15, b"c" * 15]), max_bytes=20)
    assert too_large.value.code == "input.too_large"
    assert sorted(store.digests()) == sorted([digest, streamed])
    assert store.delete(digest) and not store.delete(digest)
    assert not store.exists(digest)
    with pytest.raises(FileNotFoundError):
        store.open(digest)
    # A digest from a URL never becomes a key outside the prefix.
    for hostile in ("../" + "a" * 61, "A" * 64, "a" * 63, "a" * 64 + "\x00"):
        with pytest.raises(InputError):
            store.exists(hostile)
    # Objects under the prefix that are not blobs are not listed as blobs.
    raw = raw_client(s3_endpoint)
    raw.put_object(Bucket=bucket, Key="blobs/readme.txt", Body=b"x")
    raw.put_object(Bucket=bucket, Key=f"blobs/00/00/{streamed}", Body=b"x")
    assert list(store.digests()) == [streamed]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://bucket/prefix", "only s3:// URLs"),
        ("s3://", "not an S3 bucket name"),
        ("s3://Upper_Case", "not an S3 bucket name"),
        ("s3://bucket/../other", "is not allowed"),
        ("s3://bucket/a//b/%2e%2e", "is not allowed"),
        ("s3://bucket/prefix\n", "is not allowed"),
    ],
)
def test_a_malformed_storage_url_stops_start_up_with_a_clear_error(
    no_database: Settings, url: str, why: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        create_app(no_database.model_copy(update={"storage_url": url}))
    assert refused.value.code == "config.storage_url"
    assert why in refused.value.message and "BADGEWORKS_STORAGE_URL" in refused.value.message


def test_a_missing_bucket_or_unreachable_store_stops_start_up(
    no_database: Settings, s3_endpoint: str
) -> None:
    # Checked before the database is touched (this one does not exist).
    settings = no_database
    with pytest.raises(ConfigError) as missing:
        create_app(s3_settings(settings, s3_endpoint, "no-such-bucket"))
    assert missing.value.code == "config.storage_bucket_missing"
    assert "'no-such-bucket'" in missing.value.message
    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConfigError) as unreachable:
        create_app(s3_settings(settings, nobody, "deliverables", s3_timeout_seconds=1))
    assert unreachable.value.code == "config.storage_unreachable"


def _cli(env: dict[str, str], *args: str) -> Any:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BADGEWORKS_")}
    return CliRunner().invoke(badgeworks, list(args), env={**environment, **env})


def _env(settings: Settings, endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "BADGEWORKS_DATA_DIR": str(settings.data_dir),
        "BADGEWORKS_DATABASE_URL": settings.resolved_database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_STORAGE_URL": f"s3://{bucket}/blobs",
        "BADGEWORKS_S3_ENDPOINT_URL": endpoint,
        "BADGEWORKS_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def test_copy_to_s3_moves_a_local_store_and_the_app_then_serves_from_the_bucket(
    settings: Settings, s3_endpoint: str, bucket: str
) -> None:
    local_app = create_app(settings, clock=lambda: NOW)
    try:
        digest = upload(TestClient(local_app), DATA)
        other = local_app.state.ctx.blobs.put(b"an achievement image")
    finally:
        local_app.state.engine.dispose()
    env = _env(settings, s3_endpoint, bucket)

    first = _cli(env, "storage", "copy-to-s3")
    assert first.exit_code == 0, first.output
    assert "2 copied, 0 already in the bucket" in first.output
    raw = raw_client(s3_endpoint)
    assert raw.get_object(Bucket=bucket, Key=key_of(digest))["Body"].read() == DATA

    # Idempotent: nothing is sent again.
    again = _cli(env, "storage", "copy-to-s3", "--quiet")
    assert again.exit_code == 0, again.output
    assert "0 copied, 2 already in the bucket" in again.output
    # Resumable: a blob missing from the bucket (an interrupted copy) is sent.
    raw.delete_object(Bucket=bucket, Key=key_of(other))
    resumed = _cli(env, "storage", "copy-to-s3")
    assert resumed.exit_code == 0, resumed.output
    assert f"copied   {other}" in resumed.output
    assert "1 copied, 1 already in the bucket" in resumed.output

    served = create_app(s3_settings(settings, s3_endpoint, bucket), clock=lambda: NOW)
    try:
        # The local copy is gone: the bytes can only come from the bucket.
        local = BlobStore(settings.data_dir / "blobs").path(digest)
        local.chmod(0o600)
        local.unlink()
        r = TestClient(served).get(f"/blobs/{digest}")
        assert r.status_code == 200 and r.content == DATA
    finally:
        served.state.engine.dispose()


def test_copy_to_s3_refuses_a_local_file_that_does_not_match_its_name(
    settings: Settings, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    store = BlobStore(tmp_path / "old-blobs")
    good = store.put(b"good bytes")
    bad = store.put(b"bytes that will be changed")
    store.path(bad).chmod(0o600)
    store.path(bad).write_bytes(b"changed on disk")
    env = _env(settings, s3_endpoint, bucket)
    result = _cli(env, "storage", "copy-to-s3", "--from", str(store.root))
    assert result.exit_code == 1
    assert f"corrupt  {bad}" in result.output
    assert "1 copied, 0 already in the bucket, 0 replaced (changed in the bucket), 1 local" in (
        result.output
    )
    assert _store(s3_endpoint, bucket).exists(good)
    assert not _store(s3_endpoint, bucket).exists(bad)
    assert not _store(s3_endpoint, bucket).exists(hashlib.sha256(b"changed on disk").hexdigest())


def test_copy_to_s3_needs_a_bucket(no_database: Settings, s3_endpoint: str, tmp_path: Path) -> None:
    env = _env(no_database, s3_endpoint, "no-such-bucket")
    BlobStore(tmp_path / "b").put(b"x")
    missing = _cli(env, "storage", "copy-to-s3", "--from", str(tmp_path / "b"))
    assert missing.exit_code == 2
    assert "config.storage_bucket_missing" in missing.output
    unset = _cli({**env, "BADGEWORKS_STORAGE_URL": ""}, "storage", "copy-to-s3")
    assert unset.exit_code == 2 and "BADGEWORKS_STORAGE_URL=s3://" in unset.output


def test_parse_storage_url_keeps_the_prefix_tidy() -> None:
    assert parse_storage_url("s3://bucket").url == "s3://bucket"
    location = parse_storage_url("s3://my.bucket-1/a/b/")
    assert (location.bucket, location.prefix) == ("my.bucket-1", "a/b")


def test_a_store_error_is_a_config_error() -> None:
    # The error handler answers it 503 with its message, as it does other config errors.
    assert issubclass(StorageError, ConfigError)


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_a_portfolio_photo_lives_in_the_bucket_and_is_never_redirected(
    settings: Settings, s3_endpoint: str, bucket: str
) -> None:
    from badgeworks.db.portfolio import Portfolio
    from badgeworks.services.accounts.candidate_access import SignedInCandidate, export_zip_file
    from badgeworks.services.portfolio import store as portfolio

    app = create_app(
        s3_settings(settings, s3_endpoint, bucket, storage_signed_urls=True), clock=lambda: NOW
    )
    try:
        client = TestClient(app, raise_server_exceptions=False)
        who = make_issuer(app, "acme")
        ids = draft_project(client, who)
        candidate = ids["candidate"]
        r = client.patch(
            f"/api/v1/candidates/{candidate}/portfolio",
            json={"handle": "ada", "visibility": "public", "show_name": True},
            headers=who.auth,
        )
        assert r.status_code == 200, r.text

        def put_photo() -> str:
            r = client.put(
                f"/api/v1/candidates/{candidate}/portfolio/photo",
                files={"file": ("me.jpg", _jpeg(), "image/jpeg")},
                data={"caption": "Ada"},
                headers=who.auth,
            )
            assert r.status_code == 200, r.text
            with app.state.session_factory() as session:
                row = portfolio.find_for_candidate(session, candidate)
                assert isinstance(row, Portfolio) and row.photo_sha256
                return row.photo_sha256

        first = put_photo()
        raw = raw_client(s3_endpoint)
        stored = raw.get_object(Bucket=bucket, Key=key_of(first))["Body"].read()
        served = client.get("/p/ada/photo", follow_redirects=False)
        # Served by the service, after the portfolio's choices: never a link to the bucket.
        assert served.status_code == 200 and served.content == stored
        assert client.get(f"/blobs/{first}", follow_redirects=False).status_code == 404

        # The data export reads the photo and the deliverable from the bucket.
        digest = upload_to(client, who, ids["project"], DATA)
        with app.state.session_factory() as session:
            archive = export_zip_file(
                session,
                app.state.ctx,
                SignedInCandidate(email="ada@example.org", session_id=0, csrf_token=""),
            )
        import zipfile

        with archive, zipfile.ZipFile(archive) as opened:
            names = opened.namelist()
            assert opened.read(f"portfolio/{candidate}/photo.jpg") == stored
            (deliverable,) = [n for n in names if n.startswith("deliverables/")]
            assert opened.read(deliverable) == DATA
        assert digest

        # A tampered photo is not shown: the page has no photo until it is restored.
        raw.put_object(Bucket=bucket, Key=key_of(first), Body=stored + b"x")
        refused = client.get("/p/ada/photo")
        assert refused.status_code == 404 and stored not in refused.content
        # A replaced photo's object is deleted from the bucket.
        raw.put_object(Bucket=bucket, Key=key_of(first), Body=stored)
        client.delete(f"/api/v1/candidates/{candidate}/portfolio/photo", headers=who.auth)
        assert "Contents" not in raw.list_objects_v2(Bucket=bucket, Prefix=key_of(first))
    finally:
        app.state.engine.dispose()


def upload_to(client: TestClient, who: Any, project: int, data: bytes) -> str:
    r = client.post(
        f"/api/v1/projects/{project}/deliverables",
        files={"file": ("report.pdf", data, "application/pdf")},
        data={"name": "Final report"},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    digest: str = r.json()["sha256"]
    return digest


def test_the_local_store_lists_its_blobs_and_never_signs(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    assert list(store.digests()) == []
    a, b = store.put(b"a"), store.put(b"b")
    # Strays are not blobs: temporary files, misplaced names, other files.
    (store.root / ".incoming" / "blob-x").write_bytes(b"half")
    (store.root / "readme").write_bytes(b"x")
    misplaced = store.root / "00" / "00"
    misplaced.mkdir(parents=True)
    (misplaced / a).write_bytes(b"a")
    assert list(store.digests()) == sorted([a, b])
    assert store.local_path(a) == store.path(a)
    assert store.local_path("0" * 64) is None
    assert store.signed_url(a, media_type="text/plain", attachment_name=None, seconds=60) is None


def test_an_object_store_that_stops_answering_is_a_503_not_a_500() -> None:
    dead = get_settings(
        storage_url="s3://deliverables/blobs",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_timeout_seconds=1,
        **KEYS,
    )
    store = S3BlobStore.from_settings(dead)
    for attempt in (lambda: store.exists("a" * 64), lambda: store.put(b"x")):
        with pytest.raises(StorageError) as down:
            attempt()
        assert down.value.code == "storage.unavailable"
        assert "deliverables" not in down.value.message


def test_a_bucket_removed_while_the_service_runs_is_a_503_on_upload(
    s3_client_app: TestClient, s3_endpoint: str, bucket: str
) -> None:
    who = make_issuer(s3_client_app.app, "acme")  # type: ignore[arg-type]
    ids = draft_project(s3_client_app, who)
    raw_client(s3_endpoint).delete_bucket(Bucket=bucket)
    r = s3_client_app.post(
        f"/api/v1/projects/{ids['project']}/deliverables",
        files={"file": ("report.pdf", DATA, "application/pdf")},
        data={"name": "Final report"},
        headers=who.auth,
    )
    assert r.status_code == 503
    assert r.json()["code"] == "storage.unavailable"
    assert bucket not in r.text
    project = s3_client_app.get(f"/api/v1/projects/{ids['project']}", headers=who.auth).json()
    assert project["deliverables"] == []


def test_service_commands_refuse_a_missing_bucket_first(
    no_database: Settings, s3_endpoint: str, tmp_path: Path
) -> None:
    env = {
        **_env(no_database, s3_endpoint, "no-such-bucket"),
        "BADGEWORKS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }
    result = _cli(env, "issuers", "list")
    assert result.exit_code == 1
    assert "error [config.storage_bucket_missing]" in result.output
    assert "'no-such-bucket'" in result.output


def test_copy_to_s3_replaces_objects_changed_in_the_bucket(
    no_database: Settings, s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    store = BlobStore(tmp_path / "old-blobs")
    same_size = store.put(b"the assessed report")
    other_size = store.put(b"the assessed dataset")
    env = _env(no_database, s3_endpoint, bucket)
    assert _cli(env, "storage", "copy-to-s3", "--from", str(store.root)).exit_code == 0
    raw = raw_client(s3_endpoint)
    # Changed in the bucket: one keeps its size and claims its digest, one does not.
    raw.put_object(
        Bucket=bucket,
        Key=key_of(same_size),
        Body=b"the ALTERED  report",
        Metadata={"sha256": same_size},
    )
    raw.put_object(Bucket=bucket, Key=key_of(other_size), Body=b"short")
    plain = _cli(env, "storage", "copy-to-s3", "--from", str(store.root))
    assert plain.exit_code == 0, plain.output
    assert f"repaired {other_size}" in plain.output
    assert "0 copied, 1 already in the bucket, 1 replaced" in plain.output
    checked = _cli(env, "storage", "copy-to-s3", "--from", str(store.root), "--check-existing")
    assert checked.exit_code == 0, checked.output
    assert f"repaired {same_size}" in checked.output
    assert "0 copied, 1 already in the bucket, 1 replaced" in checked.output
    bucket_store = _store(s3_endpoint, bucket)
    for digest, data in (
        (same_size, b"the assessed report"),
        (other_size, b"the assessed dataset"),
    ):
        with bucket_store.open(digest) as handle:
            assert handle.read() == data


def test_the_object_store_refuses_bytes_that_are_not_the_digest(
    s3_endpoint: str, bucket: str
) -> None:
    import io

    store = _store(s3_endpoint, bucket)
    digest = hashlib.sha256(b"what the name promises").hexdigest()
    with pytest.raises(InputError) as refused:
        store.restore(digest, io.BytesIO(b"something else"))
    assert refused.value.code == "input.digest_mismatch"
    assert not store.exists(digest)
    store.restore(digest, io.BytesIO(b"what the name promises"))
    with store.open(digest) as handle:
        assert handle.read() == b"what the name promises"
