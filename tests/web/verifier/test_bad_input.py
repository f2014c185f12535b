"""Every kind of bad input, on the API and the page: a clear 4xx, never a 500, and
never a fetch to a forbidden address. Plus the rate limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.verification.public import shared_fetcher
from badgeworks.web.app import create_app
from tests.adapters.test_fetcher import PUBLIC_IP, FakeDns
from tests.did_key_badges import KEY, signed
from tests.issuer_app import NOW
from tests.servers import Loopback, Route
from tests.signers import sign_vc_jwt
from tests.verifier_app import PNG_1X1, Instance, verifier_settings

SHAPE = {"ok", "status", "code", "error", "request_id"}


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body: dict[str, Any] = r.json()
    assert set(body) == SHAPE, body
    assert body["ok"] is False and body["status"] == status
    assert body["error"]
    if code is not None:
        assert body["code"] == code, body
    return body


def token() -> str:
    return sign_vc_jwt({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x"}, KEY)


TWO = json.dumps([{"@context": [], "type": ["VerifiableCredential"]}] * 2)
# Each: (name, text, expected code). The same text is pasted on the page and sent as the
# API's JSON body (``credential`` wrapper) where that makes sense.
TEXTS: list[tuple[str, str, str]] = [
    ("garbage", "\x07garbage )(*&^%$", "input.not_json"),
    ("empty", "   \n ", "verify.empty"),
    ("two credentials in a list", TWO, "verify.multiple_credentials"),
    ("two credentials back to back", '{"a": 1}\n{"b": 2}', "verify.multiple_credentials"),
    ("a number", "42", "verify.not_credential"),
    ("a JSON string", '"hello"', "verify.not_credential"),
    ("a truncated JWS (two parts)", "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0", "verify.jws_malformed"),
    ("a truncated JWS (one part)", "eyJhbGciOiJFZERTQSJ9", "verify.jws_malformed"),
    ("100,000 deep", "[" * 100_000, "input.too_deep"),
    ("duplicate keys", '{"id": "a", "id": "b"}', "input.duplicate_key"),
    ("NaN", '{"a": NaN}', "input.not_json"),
    ("a presentation", '{"type": ["VerifiablePresentation"]}', "verify.presentation"),
]


@pytest.mark.parametrize(("name", "text", "code"), TEXTS, ids=[t[0] for t in TEXTS])
def test_bad_text_on_api_and_page(vclient: TestClient, name: str, text: str, code: str) -> None:
    r = vclient.post(
        "/api/v1/verify",
        content=text.encode(),
        headers={"Content-Type": "application/json"},
    )
    body = assert_error(r, 400)
    assert body["error"].startswith("Could not verify because"), body
    if code not in ("verify.empty", "verify.jws_malformed"):
        assert body["code"] == code
    r = vclient.post("/api/v1/verify", json={"credential": text})
    assert_error(r, 400, code if code != "input.not_json" or name != "empty" else None)
    page = vclient.post("/verify", files={"credential": (None, text)})
    assert page.status_code == 400, page.text[:300]
    assert 'id="credential-error"' in page.text
    assert "Could not verify because" in page.text
    upload = vclient.post("/api/v1/verify", files={"file": ("c.json", text.encode(), "text/plain")})
    assert_error(upload, 400)


FILES: list[tuple[str, bytes, str]] = [
    ("png without credential", PNG_1X1, "baking.no_credential"),
    ("truncated png", PNG_1X1[:40], "baking.corrupt"),
    ("svg with a doctype", b'<!DOCTYPE svg [<!ENTITY x "y">]><svg/>', "baking.unsafe_xml"),
    (
        "svg without credential",
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        "baking.no_credential",
    ),
    ("jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "input.binary"),
    ("nul bytes", b"\x00\x01\x02garbage", "input.binary"),
    ("latin-1", b'{"name": "caf\xe9"}', "input.not_utf8"),
    ("empty file", b"", "verify.bad_request"),
]


@pytest.mark.parametrize(("name", "data", "code"), FILES, ids=[f[0] for f in FILES])
def test_bad_files(vclient: TestClient, name: str, data: bytes, code: str) -> None:
    r = vclient.post(
        "/api/v1/verify", files={"file": ("upload.bin", data, "application/octet-stream")}
    )
    assert_error(r, 400, code)
    page = vclient.post("/verify", files={"file": ("upload.bin", data, "application/octet-stream")})
    assert page.status_code == 400
    assert ('id="file-error"' in page.text) or ('id="credential-error"' in page.text)


def test_huge_uploads_are_refused_before_reading(vclient: TestClient) -> None:
    hundred_mb = 100 * 1024 * 1024
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        chunk = b"\0" * (1024 * 1024)
        for _ in range(100):
            sent += len(chunk)
            yield chunk

    headers = {
        "Content-Type": "multipart/form-data; boundary=xx",
        "Content-Length": str(hundred_mb),
    }
    r = vclient.post("/api/v1/verify", content=body(), headers=headers)
    assert_error(r, 413, "input.too_large")
    page = vclient.post("/verify", content=body(), headers=headers)
    assert page.status_code == 413
    assert "The upload is too large" in page.text
    # Without Content-Length, the stream is cut off at the cap.
    r = vclient.post(
        "/api/v1/verify",
        content=(b"\0" * 65536 for _ in range(64)),
        headers={"Content-Type": "multipart/form-data; boundary=xx"},
    )
    assert_error(r, 413, "input.too_large")


def test_malformed_api_requests(vclient: TestClient, ours: Instance) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"json": {"url": 5}}, 400, "verify.bad_request"),
        ({"json": {"jws": ["x"]}}, 400, "verify.bad_request"),
        ({"json": {"jws": "not a jws"}}, 400, "verify.jws_malformed"),
        ({"json": {"surprise": 1}}, 400, "verify.bad_request"),
        ({"json": {}}, 400, "verify.bad_request"),
        (
            {"json": {"credential": ours.credential, "url": "https://x.example/"}},
            400,
            "verify.bad_request",
        ),
        ({"json": {"credential": ours.credential, "email": 5}}, 400, "verify.email_invalid"),
        ({"json": {"credential": 5}}, 400, "verify.not_credential"),
        ({"json": {"credential": None}}, 400, "verify.not_credential"),
        ({"content": b"<xml/>", "headers": {"Content-Type": "application/xml"}}, 415, None),  # type: ignore[list-item]
        ({"content": b"x", "headers": {"Content-Type": "text/csv"}}, 415, None),  # type: ignore[list-item]
        (  # type: ignore[list-item]
            {
                "content": b"--zz\r\nbroken",
                "headers": {"Content-Type": "multipart/form-data; boundary=zz"},
            },
            400,
            None,
        ),
        ({"files": {"email": (None, "a@b.example")}}, 400, "verify.bad_request"),
        (  # type: ignore[list-item]
            {
                "files": [
                    ("file", ("a.json", b"{}", "application/json")),
                    ("file", ("b.json", b"{}", "application/json")),
                ]
            },
            400,
            None,
        ),
        (
            {"files": {"credential": (None, ours.text), "url": (None, "https://x.example/")}},
            400,
            "verify.bad_request",
        ),
    ]
    for kwargs, status, code in cases:
        r = vclient.post("/api/v1/verify", **kwargs)
        assert_error(r, status, code)
    assert_error(vclient.get("/api/v1/verify"), 405)


@pytest.fixture
def recording_loopback() -> Iterator[Loopback]:
    server = Loopback()
    server.routes["/c"] = Route(b'{"@context": []}', "application/vc+ld+json")
    yield server
    server.close()


def test_forbidden_urls_are_never_fetched(
    vclient: TestClient, recording_loopback: Loopback
) -> None:
    port = recording_loopback.port
    urls = [
        f"http://127.0.0.1:{port}/c",
        f"http://localhost:{port}/c",
        f"http://[::1]:{port}/c",
        f"http://[::ffff:127.0.0.1]:{port}/c",
        f"http://2130706433:{port}/c",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/c",
        "http://0.0.0.0/c",
    ]
    for url in urls:
        r = vclient.post("/api/v1/verify", json={"url": url})
        body = assert_error(r, 400, "fetch.forbidden_address")
        assert body["error"].startswith("Could not verify because we could not fetch")
        page = vclient.get("/verify", params={"url": url})
        assert page.status_code == 400
        assert 'id="url-error"' in page.text
        form = vclient.post("/verify", files={"url": (None, url)})
        assert form.status_code == 400
    for url in ("file:///etc/passwd", "ftp://example.org/c", "gopher://x/", "javascript:alert(1)"):
        assert_error(vclient.post("/api/v1/verify", json={"url": url}), 400, "fetch.bad_url")
    assert recording_loopback.requests == []


def test_a_redirect_to_a_forbidden_address_is_not_followed(
    vapp: FastAPI, vclient: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetcher = shared_fetcher(vapp.state.ctx)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        target = {
            "/to-metadata": "http://169.254.169.254/latest/meta-data/iam",
            "/to-loopback": "http://127.0.0.1:8000/admin",
            "/to-v6": "http://[::1]/",
            "/to-private-name": "https://internal.example/secret",
        }[request.url.path]
        return httpx.Response(302, headers={"Location": target})

    client = httpx.Client(
        transport=httpx.MockTransport(handler), follow_redirects=False, trust_env=False
    )
    monkeypatch.setattr(fetcher, "_client", client)
    monkeypatch.setattr(
        fetcher, "_getaddrinfo", FakeDns({"internal.example": ["10.1.2.3"]}, default=PUBLIC_IP)
    )
    fetcher.clear_cache()
    for path in ("/to-metadata", "/to-loopback", "/to-v6", "/to-private-name"):
        r = vclient.post("/api/v1/verify", json={"url": f"http://redirector.example{path}"})
        assert_error(r, 400, "fetch.forbidden_address")
        page = vclient.get("/verify", params={"url": f"http://redirector.example{path}"})
        assert page.status_code == 400
    # Only the public first hop was ever requested.
    assert all(url.startswith(f"http://{PUBLIC_IP}") or "redirector" in url for url in seen)
    assert not any("169.254" in url or "127.0.0.1" in url or "10.1.2.3" in url for url in seen)


def test_rate_limit(tmp_path: Path) -> None:
    application = create_app(
        verifier_settings(tmp_path, verify_rate_burst=3, verify_rate_per_minute=1),
        clock=lambda: NOW,
    )
    try:
        credential = signed(application.state.ctx.loader)
        first = TestClient(application, raise_server_exceptions=False, client=("198.51.100.7", 1))
        for _ in range(3):
            assert first.post("/api/v1/verify", json=credential).status_code == 200
        r = first.post("/api/v1/verify", json=credential)
        assert_error(r, 429, "rate.limited")
        assert int(r.headers["Retry-After"]) >= 1
        page = first.post("/verify", files={"credential": (None, json.dumps(credential))})
        assert page.status_code == 429
        assert "Retry-After" in page.headers
        assert "Too many verifications" in page.text
        assert first.get("/verify?url=https://example.org/c").status_code == 429
        # The empty form is not limited; another address has its own bucket.
        assert first.get("/verify").status_code == 200
        other = TestClient(application, raise_server_exceptions=False, client=("203.0.113.9", 1))
        assert other.post("/api/v1/verify", json=credential).status_code == 200
        # The VC-API's verify endpoints share the buckets (a presentation is up to 50
        # credentials' worth of work).
        for path, body in (
            ("/credentials/verify", {"verifiableCredential": credential}),
            ("/presentations/verify", {"verifiablePresentation": {}}),
        ):
            r = first.post(path, json=body)
            assert_error(r, 429, "rate.limited")
            assert int(r.headers["Retry-After"]) >= 1
        assert (
            other.post("/credentials/verify", json={"verifiableCredential": credential}).status_code
            == 200
        )
    finally:
        application.state.engine.dispose()
