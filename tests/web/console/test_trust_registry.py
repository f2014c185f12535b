"""The console's settings show the verifier's trust registry, read-only; an unusable
registry is reported without its path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import csrf_of
from tests.issuer_app import IssuerHandle

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _use_registry(app: FastAPI, path: Path | None) -> None:
    ctx = app.state.ctx
    ctx.settings = ctx.settings.model_copy(update={"verify_trust_registry": path})


def test_settings_show_the_trust_registry_read_only(
    app: FastAPI, client: TestClient, acme: IssuerHandle, tmp_path: Path
) -> None:
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    sign_in(client, "viewer@acme.example")
    r = client.get("/console/acme/settings")
    assert r.status_code == 200 and "No trust registry is configured" in r.text
    assert 'id="trust-registry"' not in r.text

    registry = tmp_path / "trust.json"
    registry.write_text(
        json.dumps(
            {
                "issuers": [
                    {"id": "did:web:uni.example", "name": "Example University"},
                    {
                        "id": "https://bootcamp.example/issuer",
                        "name": "<script>alert(1)</script> Bootcamp",
                        "url": "https://bootcamp.example",
                        "note": "vetted 2025",
                    },
                ]
            }
        ),
        "utf-8",
    )
    _use_registry(app, registry)
    r = client.get("/console/acme/settings")
    assert r.status_code == 200
    table = r.text[r.text.index('id="trust-registry"') :]
    table = table[: table.index("</table>")]
    assert "did:web:uni.example" in table and "Example University" in table
    assert "https://bootcamp.example/issuer" in table and "https://bootcamp.example" in table
    assert "&lt;script&gt;" in table and "<script>" not in table
    assert "these 2 issuers" in r.text
    # Read-only: no form posts anything about the registry.
    assert not re.search(r'action="[^"]*trust', r.text)
    es = client.get("/console/acme/settings?lang=es")
    assert "estos 2 emisores" in es.text


def test_an_unusable_trust_registry_is_reported_without_its_path(
    app: FastAPI, client: TestClient, acme: IssuerHandle, tmp_path: Path
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    sign_in(client, "owner@acme.example")
    for content in ("{not json", json.dumps({"issuers": [{"name": "no id"}]}), None):
        registry = tmp_path / "secret-dir" / "trust.json"
        registry.parent.mkdir(exist_ok=True)
        if content is None:
            registry.unlink(missing_ok=True)
        else:
            registry.write_text(content, "utf-8")
        _use_registry(app, registry)
        r = client.get("/console/acme/settings")
        assert r.status_code == 200, r.text
        assert "its file cannot be used" in r.text and "config.trust_registry" in r.text
        assert "secret-dir" not in r.text
        # The rest of the page still works.
        assert csrf_of(r.text)
