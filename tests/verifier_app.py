"""What the public verifier's tests share: its settings, an app's own credential, and
did:key credentials signed here with the W3C vector key.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.identity import identity_object
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app
from tests.conftest import EDDSA, read_json
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, draft_project, make_issuer
from tests.servers import free_port, serve

ISSUED = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


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
def served_instance(tmp: Path, slug: str) -> Iterator[tuple[Instance, str]]:
    """Another badgeworks instance with its own database, served by uvicorn on a loopback
    port and issuing as did:web, with one credential issued through its API; yields it
    and its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    application = create_app(verifier_settings(tmp, public_base_url=base), clock=lambda: NOW)
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


# ------------------------------------------------------------------ did:key credentials


def vector_key() -> Ed25519KeyPair:
    pair = read_json(EDDSA / "keyPair.json")
    return Ed25519KeyPair.from_multibase(pair["publicKeyMultibase"], pair["privateKeyMultibase"])


KEY = vector_key()


def badge(key: Ed25519KeyPair = KEY, **overrides: Any) -> dict[str, Any]:
    """An unsigned OB 3.0 credential issued by ``key``'s did:key."""
    achievement = ob.achievement(
        id="https://northwind.example/achievements/data-pipeline",
        name="Data Pipeline Micro-internship",
        description="Built a tested ingestion pipeline for a host company.",
        criteria_narrative="Deliver a pipeline and present it.",
    )
    subject = ob.achievement_subject(
        achievement=achievement,
        identifier=[identity_object("ada@example.com", salt="s4lt")],
        role="Intern",
    )
    args: dict[str, Any] = {
        "id": "urn:uuid:6f1c2b1e-3c55-4a8e-9d43-2f0a8f6b7c11",
        "issuer": ob.profile(id=key.controller, name="Northwind Institute"),
        "valid_from": ob.xsd_datetime(ISSUED),
        "subject": subject,
        "name": "Data Pipeline Micro-internship",
        "credential_schema": False,
    }
    args.update(overrides)
    return ob.achievement_credential(**args)


def signed(loader: DocumentLoader, key: Ed25519KeyPair = KEY, **overrides: Any) -> dict[str, Any]:
    """``badge(**overrides)`` signed with eddsa-rdfc-2022."""
    return issue(badge(key, **overrides), key, loader, now=ISSUED)


def codes(body: dict[str, Any], check: str | None = None) -> dict[str, str]:
    """code → outcome for the report's checks (optionally of one area)."""
    return {c["code"]: c["outcome"] for c in body["checks"] if check in (None, c["check"])}
