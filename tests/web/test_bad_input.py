"""Every endpoint, driven with malformed input: never a 500, always the one error shape."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle, draft_project, make_issuer

SHAPE_KEYS = {"ok", "status", "code", "error", "request_id"}


def assert_shape(r: object, context: object) -> None:
    status = r.status_code  # type: ignore[attr-defined]
    assert status < 500, (context, status, r.text)  # type: ignore[attr-defined]
    if status >= 400:
        body = r.json()  # type: ignore[attr-defined]
        if _wallet_protocol(context) and "error_description" in body:
            # The wallet protocols answer with OAuth 2.0's error shape, which wallets read
            # (docs/wallets.md): a registered ``error`` and words in ``error_description``.
            # (A path the router refuses before the endpoint runs has the service's shape.)
            assert body["error"] in OAUTH_ERRORS, (context, body)
            assert isinstance(body["error_description"], str) and body["error_description"]
            return
        assert set(body) == SHAPE_KEYS, (context, body)
        assert body["ok"] is False and body["status"] == status
        assert isinstance(body["code"], str) and body["code"]
        assert isinstance(body["error"], str) and body["error"]


#: OAuth 2.0 (RFC 6749), OpenID4VCI 1.0 and OpenID4VP 1.0 error codes.
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_grant",
    "invalid_client",
    "invalid_token",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_proof",
    "invalid_nonce",
    "invalid_credential_request",
    "unknown_credential_configuration",
    "unknown_credential_identifier",
    "unsupported_credential_format",
    "credential_request_denied",
    "access_denied",
    "vp_formats_not_supported",
    "invalid_request_uri_method",
    "invalid_transaction_data",
    # 429 from the per-address limit, with Retry-After (not registered by OAuth).
    "too_many_requests",
}


def _wallet_protocol(context: object) -> bool:
    path = context[1] if isinstance(context, tuple) and len(context) > 1 else ""
    return isinstance(path, str) and path.startswith(("/oid4vci/", "/oid4vp/"))


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


@dataclass
class Reply:
    """An ASGI response, with just the parts of a TestClient response ``assert_shape`` reads."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


# The headers TestClient sends with every request (``Accept`` matters to negotiation).
_CLIENT_HEADERS = [
    (b"host", b"testserver"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"connection", b"keep-alive"),
    (b"user-agent", b"testclient"),
]


async def call_asgi(
    app: FastAPI, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> Reply:
    """Send one request straight to the ASGI app, with the scope TestClient would build.

    The sweep below makes ~11,000 requests. TestClient starts a thread and an event loop
    for each one and passes every ASGI message between threads, which took most of this
    test's time; here they all run on one event loop. A ``body`` of None sends no
    Content-Length, like TestClient without ``content``.
    """
    scope_headers = list(_CLIENT_HEADERS)
    scope_headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
    ]
    if body is not None:
        scope_headers.append((b"content-length", str(len(body)).encode("ascii")))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": unquote(path),
        "raw_path": path.encode("ascii"),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": scope_headers,
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
        "extensions": {"http.response.debug": {}, "http.response.trailers": {}},
        "state": {},
    }
    request_sent = False
    response_complete = asyncio.Event()
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if request_sent:
            # As a real client does, stay connected until the whole response has arrived.
            await response_complete.wait()
            return {"type": "http.disconnect"}
        request_sent = True
        return {"type": "http.request", "body": body or b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                response_complete.set()

    try:
        await app(scope, receive, send)  # type: ignore[arg-type]
    except Exception as exc:  # assert_shape reports it, as the 500 it is
        return Reply(500, f"the app raised {exc!r}".encode())
    return Reply(status, b"".join(chunks))


def database_state(app: FastAPI, tables: list[sqlalchemy.Table]) -> dict[str, Any]:
    """Every row of every table, and every file under the data directory."""
    state: dict[str, Any] = {}
    with app.state.engine.connect() as conn:
        for table in tables:
            if table.name == GUESS_COUNTERS:
                continue
            state[table.name] = sorted(
                (tuple(row) for row in conn.execute(table.select())), key=repr
            )
    data_dir = Path(app.state.settings.data_dir)
    state["files"] = sorted(
        (str(f.relative_to(data_dir)), f.stat().st_size) for f in data_dir.rglob("*") if f.is_file()
    )
    return state


_WRITE = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE
)
_PENDING = "bad_input_pending_writes"
#: The one table a rejected request may write: a wrong admin token or password is counted
#: there, so that guessing is limited across every worker (docs/security.md).
GUESS_COUNTERS = "staff_login_limit"


@contextmanager
def committed_writes(engine: sqlalchemy.Engine) -> Iterator[list[str]]:
    """The write statements ``engine`` commits while inside (rolled-back ones are dropped)."""
    committed: list[str] = []

    def on_execute(conn: sqlalchemy.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if _WRITE.match(statement) and GUESS_COUNTERS not in statement:
            conn.info.setdefault(_PENDING, []).append(statement)

    def on_commit(conn: sqlalchemy.Connection) -> None:
        committed.extend(conn.info.pop(_PENDING, []))

    def on_rollback(conn: sqlalchemy.Connection) -> None:
        conn.info.pop(_PENDING, None)

    listeners = [
        ("before_cursor_execute", on_execute),
        ("commit", on_commit),
        ("rollback", on_rollback),
    ]
    for name, listener in listeners:
        sqlalchemy.event.listen(engine, name, listener)  # type: ignore[arg-type]
    try:
        yield committed
    finally:
        for name, listener in listeners:
            sqlalchemy.event.remove(engine, name, listener)  # type: ignore[arg-type]


def test_every_endpoint_with_malformed_input(
    app: FastAPI, client: TestClient, routes: list[tuple[str, str]], acme: IssuerHandle
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
    metadata = sqlalchemy.MetaData()
    metadata.reflect(app.state.engine)
    tables = list(metadata.sorted_tables)
    assert tables

    async def sweep(writes: list[str]) -> None:
        before = database_state(app, tables)
        for method, template in routes:
            accepted = False
            # A route without parameters gives the same path for every value: send it once.
            for path in dict.fromkeys(_fill(template, value) for value in values):
                for auth in tokens:
                    if method in ("GET", "DELETE"):
                        cases = [((method, path, auth), auth, None)]
                    else:
                        cases = [
                            ((method, path, name, auth), {**headers, **auth}, body)  # type: ignore[misc]
                            for name, headers, body in BODIES
                        ]
                    for context, request_headers, body in cases:
                        done = len(writes)
                        r = await call_asgi(app, method, path, request_headers, body)
                        assert_shape(r, context)
                        if method == "GET":
                            # A read writes nothing, whoever asks and whatever it answers.
                            assert writes[done:] == [], ("a GET wrote", context)
                        elif method != "DELETE":
                            # Every body above is malformed: accepting one means it was
                            # ignored (or worse), even on a route that reads no body.
                            assert r.status_code >= 400, ("a malformed body was accepted", context)
                        if r.status_code < 400:
                            accepted = True
                        else:
                            assert writes[done:] == [], ("a rejected request wrote", context)
            # The same, without trusting the statement log: rows and files are unchanged.
            # (Only GETs and DELETEs are accepted here; a DELETE may change things.)
            after = database_state(app, tables)
            if not accepted or method == "GET":
                assert after == before, ("the database changed", method, template)
            before = after

    with committed_writes(app.state.engine) as writes:
        asyncio.run(sweep(writes))
    # The statement log does hear this engine's writes.
    with committed_writes(app.state.engine) as writes:
        make_issuer(app, "listener")
    assert writes


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
