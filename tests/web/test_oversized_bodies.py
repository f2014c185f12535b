"""Oversized bodies: console form posts get an HTML 413 page in the page language, API
requests keep the JSON error shape, and nothing is saved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.models import Deliverable
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.issuer_app import IssuerHandle, draft_project
from tests.mentor_reviews import HTML

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _deliverables(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        return len(list(session.exec(select(Deliverable))))


def _chunked(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_oversized_console_upload_gets_an_html_page_in_the_page_language(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    path = f"/console/acme/projects/{ids['project']}/deliverables"
    big = b"x" * (app.state.settings.max_upload_bytes + 128 * 1024)
    r = client.post(
        path,
        data={"csrf_token": csrf, "name": "Report"},
        files={"file": ("report.txt", big, "text/plain")},
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert "<h1>What you sent is too large</h1>" in r.text
    assert "64 KB" in r.text and "Nothing was saved." in r.text
    assert '<html lang="en">' in r.text and 'href="/console/"' in r.text
    assert "input.too_large" in r.text

    r = client.post(
        path,
        data={"csrf_token": csrf, "name": "Report"},
        files={"file": ("report.txt", big, "text/plain")},
        headers={"Accept-Language": "es-ES,es;q=0.9"},
    )
    assert r.status_code == 413 and '<html lang="es">' in r.text
    assert "No se guardó nada." in r.text and "Volver a la consola" in r.text

    # A big urlencoded form (no Content-Length: the body streams in chunks) too.
    body = ("csrf_token=" + csrf + "&description=" + "y" * 200_000).encode()
    r = client.post(
        "/console/acme/achievements/new?lang=es",
        content=_chunked(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and "text/html" in r.headers["content-type"]
    assert "supera el límite de 64 KB" in r.text
    assert _deliverables(app) == 0
    assert len(client.get("/api/v1/issuers/acme/achievements", headers=acme.auth).json()) == 1


def test_oversized_api_bodies_keep_the_json_error_shape(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    big = b"x" * (app.state.settings.max_upload_bytes + 128 * 1024)
    for headers in ({}, HTML):
        r = client.post(
            f"/api/v1/projects/{ids['project']}/deliverables",
            data={"name": "Report"},
            files={"file": ("report.txt", big, "text/plain")},
            headers={**acme.auth, **headers},
        )
        assert r.status_code == 413 and r.headers["content-type"] == "application/json"
        assert r.json()["code"] == "input.too_large"
    # Outside /api/ and /console, the Accept header decides.
    path = "/review/" + "A" * 43 + "/upload"
    r = client.post(path, files={"file": ("e.json", big, "application/json")})
    assert r.status_code == 413 and r.json()["code"] == "input.too_large"
    r = client.post(path, files={"file": ("e.json", big, "application/json")}, headers=HTML)
    assert r.status_code == 413 and "text/html" in r.headers["content-type"]
    assert "Nothing was saved." in r.text and 'href="/console/"' not in r.text
    assert _deliverables(app) == 0
