"""What the public verifier's tests share: its settings, an app's own credential, a
second served instance, and the report's check codes.

Building an app runs the migrations (about 2 s), so most verifier tests share one SQLite
app per module (``vapp``, registered for every test by the root conftest's
``pytest_plugins``); tests that serve a verifier themselves use the settings directly.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, draft_project, make_issuer
from tests.servers import free_port, serve


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


#: A valid 1x1 grey PNG, built here so its CRCs are right.
PNG_1X1 = (
    b"\x89PNG\r\n\x1a\n"
    + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + _chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    + _chunk(b"IEND", b"")
)
REPORT_PDF = b"%PDF-1.4\n% the intern's final report\n"


def verifier_settings(tmp: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    """Settings like tests/issuer_app.py's, with room for the verifier's tests."""
    values: dict[str, Any] = {
        "data_dir": tmp / "data",
        "database_url": database_url or f"sqlite:///{(tmp / 'badgeworks.db').resolve()}",
        "key_secret": TEST_SECRET,
        "public_base_url": "http://127.0.0.1:8000",
        "max_upload_bytes": 256 * 1024,
        "max_json_bytes": 256 * 1024,
        "verify_max_json_bytes": 128 * 1024,
        "verify_max_file_bytes": 192 * 1024,
        "verify_rate_burst": 100_000,
        "fetch_timeout": 3.0,
    }
    values.update(overrides)
    return get_settings(**values)


@dataclass
class Instance:
    """One app with an issuer and a credential it issued (with an uploaded deliverable)."""

    app: FastAPI
    client: TestClient
    issuer: IssuerHandle
    issued: dict[str, Any]
    text: str

    @property
    def credential(self) -> dict[str, Any]:
        import json

        parsed: dict[str, Any] = json.loads(self.text)
        return parsed


def issue_through_api(application: FastAPI, http: TestClient, slug: str = "acme") -> Instance:
    """Issue one credential the way an issuer does: achievement, candidate, project."""
    who = make_issuer(application, slug)
    ids = draft_project(http, who)
    r = http.post(
        f"/api/v1/projects/{ids['project']}/deliverables",
        files={"file": ("report.pdf", REPORT_PDF, "application/pdf")},
        data={"name": "Final report", "genre": "report"},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    r = http.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    issued = r.json()
    path = issued["url"].split("/credentials/", 1)[1]
    hosted = http.get(f"/credentials/{path}", headers={"Accept": "application/vc+ld+json"})
    assert hosted.status_code == 200
    return Instance(application, http, who, issued, hosted.text)


@contextmanager
def served_instance(
    tmp: Path, slug: str = "acme", **overrides: Any
) -> Iterator[tuple[Instance, str]]:
    """A badgeworks instance with its own database, served by uvicorn on a loopback
    port and issuing as did:web, with one credential issued through its API; yields it
    and its base URL. ``overrides`` go to ``verifier_settings``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = verifier_settings(tmp, public_base_url=base, **overrides)
    application = create_app(settings, clock=lambda: NOW)
    http = TestClient(application, raise_server_exceptions=False)
    instance = issue_through_api(application, http, slug=slug)
    try:
        with serve(application, port):
            yield instance, base
    finally:
        application.state.engine.dispose()


@pytest.fixture(scope="module")
def vapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """One SQLite app per module; its fetcher refuses private addresses (as in production)."""
    application = create_app(verifier_settings(tmp_path_factory.mktemp("vapp")), clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def vclient(vapp: FastAPI) -> TestClient:
    return TestClient(vapp, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def ours(vapp: FastAPI, vclient: TestClient) -> Instance:
    """A credential issued by ``vapp`` itself."""
    return issue_through_api(vapp, vclient)


def codes(body: dict[str, Any], check: str | None = None) -> dict[str, str]:
    """code → outcome for the report's checks (optionally of one area)."""
    return {c["code"]: c["outcome"] for c in body["checks"] if check in (None, c["check"])}
