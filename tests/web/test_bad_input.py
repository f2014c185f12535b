"""Every endpoint, driven with malformed input: never a 500, always the one error shape."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import IssuerHandle, draft_project

SHAPE_KEYS = {"ok", "status", "code", "error"}


def assert_shape(r: object, context: object) -> None:
    status = r.status_code  # type: ignore[attr-defined]
    assert status < 500, (context, status, r.text)  # type: ignore[attr-defined]
    if status >= 400:
        body = r.json()  # type: ignore[attr-defined]
        assert set(body) == SHAPE_KEYS, (context, body)
        assert body["ok"] is False and body["status"] == status
        assert isinstance(body["code"], str) and body["code"]
        assert isinstance(body["error"], str) and body["error"]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


BODIES: list[tuple[str, dict[str, str], bytes]] = [
    ("bad json", {"Content-Type": "application/json"}, b'{"name": '),
    ("not an object", {"Content-Type": "application/json"}, b"[1, 2, 3]"),
    (
        "wrong types",
        {"Content-Type": "application/json"},
        b'{"name": 5, "emails": "x", "achievement_id": "one", "host": 3, "reason": []}',
    ),
    ("unknown field", {"Content-Type": "application/json"}, b'{"surprise": true}'),
    ("nul", {"Content-Type": "application/json"}, b'{"name": "\\u0000"}'),
    ("oversized", {"Content-Type": "application/json"}, b'{"name": "' + b"a" * 40000 + b'"}'),
    ("unsupported media", {"Content-Type": "application/xml"}, b"<a/>"),
    ("no content type", {}, b"hello"),
    ("bad multipart", {"Content-Type": "multipart/form-data; boundary=zz"}, b"--zz\r\nbroken"),
    ("bad csv", {"Content-Type": "text/csv"}, b"\xff\xfe,\n1,2\n"),
]


@pytest.fixture
def routes(app: FastAPI) -> list[tuple[str, str]]:
    # The OpenAPI document lists every API route, however routers are nested.
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


def test_every_endpoint_with_malformed_input(
    client: TestClient, routes: list[tuple[str, str]], acme: IssuerHandle
) -> None:
    assert len(routes) > 25
    ids = draft_project(client, acme)
    values = [
        "acme",
        str(ids["project"]),
        "999999",
        "99999999999",
        "-1",
        "x" * 300,
        "%00",
        "0" * 64,
    ]
    tokens = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer"},
        {"Authorization": "Digest x"},
        acme.auth,
    ]
    for method, template in routes:
        for value in values:
            path = _fill(template, value)
            for auth in tokens:
                if method in ("GET", "DELETE"):
                    r = client.request(method, path, headers=auth)
                    assert_shape(r, (method, path, auth))
                    continue
                for name, headers, body in BODIES:
                    r = client.request(method, path, content=body, headers={**headers, **auth})
                    assert_shape(r, (method, path, name, auth))


def test_router_level_errors_have_the_shape(client: TestClient, acme: IssuerHandle) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert_shape(r, "404")
    r = client.put("/api/v1/issuers/acme/candidates", headers=acme.auth)
    assert r.status_code == 405
    assert_shape(r, "405")
    r = client.post(
        "/api/v1/issuers/acme/candidates",
        content=b'{"name": "' + b"a" * 40000 + b'"}',
        headers={**acme.auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["code"] == "input.too_large"
    r = client.post(
        "/api/v1/issuers/acme/candidates",
        content=b"<a/>",
        headers={**acme.auth, "Content-Type": "application/xml"},
    )
    assert r.status_code == 415
    r = client.post(
        "/api/v1/issuers/acme/candidates",
        json={"name": "x", "emails": ["a@b.co"], "extra": 1},
        headers=acme.auth,
    )
    assert r.status_code == 422 and "extra" in r.json()["error"]
    r = client.post(
        "/api/v1/issuers/acme/candidates",
        content=b"{oops",
        headers={**acme.auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "input.not_json"


def test_oversized_upload_changes_nothing(client: TestClient, acme: IssuerHandle) -> None:
    ids = draft_project(client, acme)
    r = client.post(
        f"/api/v1/projects/{ids['project']}/deliverables",
        files={"file": ("big.bin", b"x" * (200 * 1024), "application/octet-stream")},
        data={"name": "Too big"},
        headers=acme.auth,
    )
    assert r.status_code == 413
    assert_shape(r, "upload")
    project = client.get(f"/api/v1/projects/{ids['project']}", headers=acme.auth).json()
    assert project["deliverables"] == []


def test_bad_image_is_refused(client: TestClient, acme: IssuerHandle) -> None:
    ids = draft_project(client, acme)
    r = client.put(
        f"/api/v1/achievements/{ids['achievement']}/image",
        files={"file": ("x.gif", b"GIF89a....", "image/gif")},
        data={"caption": "A badge"},
        headers=acme.auth,
    )
    assert r.status_code == 415
    assert_shape(r, "image")
