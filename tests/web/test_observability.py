"""Metrics, request ids, JSON logs, liveness and readiness, on SQLite and PostgreSQL.

The counters live in the test process's prometheus-client registry, shared by every app
the process builds, so each test reads them before and after and checks the change.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from badgeworks.web.observability import configure_logging
from tests.issuer_app import NOW, IssuerHandle, issue_with_deliverables

LOOPBACK = ("127.0.0.1", 40000)
SAMPLE = re.compile(r"^([a-z_]+)(\{.*\})? (\S+)$")


def scrape(app: FastAPI, **headers: str) -> dict[str, float]:
    """The metrics text as ``{'name{labels}': value}`` (read as a loopback client)."""
    r = TestClient(app, client=LOOPBACK).get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in r.text.splitlines():
        match = SAMPLE.match(line)
        if match:
            samples[match[1] + (match[2] or "")] = float(match[3])
    return samples


def change(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def test_metrics_count_issuing_verifying_and_revoking(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    before = scrape(app)
    issued = issue_with_deliverables(client, acme)
    r = client.post("/api/v1/verify", json={"credential": issued.credential})
    assert r.status_code == 200 and r.json()["verified"], r.text
    r = client.post(f"/api/v1/credentials/{issued.id}/revoke", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/verify", json={"credential": issued.credential})
    assert r.status_code == 422 and not r.json()["verified"], r.text
    after = scrape(app)

    assert change(before, after, "badgeworks_credentials_issued_total") == 1
    assert change(before, after, 'badgeworks_verifications_total{outcome="verified"}') == 1
    assert change(before, after, 'badgeworks_verifications_total{outcome="not_verified"}') == 1
    assert change(before, after, 'badgeworks_status_changes_total{action="revoke"}') == 1
    route = (
        'badgeworks_http_request_duration_seconds_count{method="POST",'
        'route="/api/v1/credentials/{credential_id}/revoke",status="2xx"}'
    )
    assert change(before, after, route) == 1, [k for k in after if "revoke" in k]
    # The queue gauges are there: the candidate's notice waits in the outbox.
    assert after['badgeworks_outbox_messages{status="pending"}'] >= 1
    assert 'badgeworks_bulk_jobs{status="running"}' in after
    assert 'badgeworks_jobs{state="dead"}' in after
    assert "badgeworks_job_oldest_due_age_seconds" in after
    # No private data and no ids in any label: route templates only.
    text_ = TestClient(app, client=LOOPBACK).get("/metrics").text
    assert issued.id not in text_
    assert "ada@example.org" not in text_ and "acme" not in text_


def test_a_refused_issue_is_not_counted(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    before = scrape(app)
    r = client.post("/api/v1/projects/999999/complete", headers=acme.auth)
    assert r.status_code == 404
    assert change(before, scrape(app), "badgeworks_credentials_issued_total") == 0


def test_metrics_answer_loopback_or_the_token_only(settings: Settings) -> None:
    token = "metrics-scraper-token-0123456789"
    app = create_app(
        settings.model_copy(update={"metrics_token": SecretStr(token)}), clock=lambda: NOW
    )
    try:
        remote = TestClient(app, client=("203.0.113.9", 5555))
        r = remote.get("/metrics")
        assert r.status_code == 403 and r.json()["code"] == "metrics.forbidden"
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert remote.get("/metrics", headers={"Authorization": token}).status_code == 403
        ok = remote.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "badgeworks_http_request_duration_seconds" in ok.text
        # A proxy on this host forwards remote clients from loopback: they need the token.
        proxied = TestClient(app, client=LOOPBACK)
        assert (
            proxied.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
        )
        assert proxied.get("/metrics").status_code == 200
    finally:
        app.state.engine.dispose()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        yield stream
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler.get_name() == "badgeworks":
                root.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_log_lines_carry_the_request_id_of_the_response(
    client: TestClient, json_log: io.StringIO
) -> None:
    r = client.get("/api/v1/issuers/nobody/achievements")
    request_id = r.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id)
    assert r.json()["request_id"] == request_id
    lines = _lines(json_log)
    access = [line for line in lines if line["logger"] == "badgeworks.access"]
    assert access, lines
    line = access[-1]
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/issuers/{slug}/achievements"
    assert line["status"] == r.status_code
    assert isinstance(line["duration_ms"], float)
    assert {"time", "level", "message"} <= set(line)
    # Another request, another id.
    assert client.get("/healthz").headers["X-Request-ID"] != request_id


def test_a_500_carries_the_request_id_in_the_header_body_page_and_log(
    app: FastAPI, json_log: io.StringIO
) -> None:
    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("boom")

    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/boom-for-test")
    assert r.status_code == 500
    request_id = r.headers["X-Request-ID"]
    assert r.json()["request_id"] == request_id
    logged = [line for line in _lines(json_log) if line["request_id"] == request_id]
    assert any(line["level"] == "ERROR" and "exception" in line for line in logged), logged
    assert any(line["logger"] == "badgeworks.access" and line["status"] == 500 for line in logged)
    page = client.get("/boom-for-test", headers={"Accept": "text/html"})
    assert page.status_code == 500
    assert f"<code>{page.headers['X-Request-ID']}</code>" in page.text
    assert "Reference" in page.text
    spanish = client.get("/boom-for-test", headers={"Accept": "text/html", "Accept-Language": "es"})
    assert "Referencia" in spanish.text


def test_a_request_id_from_a_client_is_ignored_without_trusted_proxies(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "chosen-by-client"})
    assert r.headers["X-Request-ID"] != "chosen-by-client"


HOSTILE_IDS = ["bad id with spaces", "x" * 65, "line\nbreak", "<script>", "", "é"]


def test_a_proxy_request_id_is_kept_only_when_well_formed(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"}), clock=lambda: NOW
    )
    try:
        client = TestClient(app, raise_server_exceptions=False)
        good = client.get("/nothing-here", headers={"X-Request-ID": "edge-7f3a:42.b"})
        assert good.headers["X-Request-ID"] == "edge-7f3a:42.b"
        assert good.json()["request_id"] == "edge-7f3a:42.b"
        for sent in HOSTILE_IDS:
            bad = client.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8")})
            assert re.fullmatch(r"[0-9a-f]{16}", bad.headers["X-Request-ID"]), sent
    finally:
        app.state.engine.dispose()


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {
        "ok": True,
        "checks": {"database": "ok", "migrations": "ok", "key_secret": "ok"},
    }


def test_readiness_is_503_when_the_migration_head_is_behind(
    app: FastAPI, client: TestClient
) -> None:
    with app.state.engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = '0026_bulk_job_notify_candidates'")
        )
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["code"] == "ready.migrations" and body["checks"]["migrations"] == "ready.migrations"
    assert "0026_bulk_job_notify_candidates" in body["error"] and "db upgrade" in body["error"]
    assert body["request_id"] == r.headers["X-Request-ID"]
    # Liveness does not depend on the database.
    assert client.get("/healthz").status_code == 200


def test_readiness_is_503_when_another_secret_was_recorded(
    app: FastAPI, client: TestClient
) -> None:
    with app.state.engine.begin() as connection:
        connection.execute(
            text("UPDATE service_meta SET value = 'sfp1.00' WHERE name = 'key_secret_fingerprint'")
        )
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["code"] == "ready.key_secret"
    assert "BADGEWORKS_KEY_SECRET" in r.json()["error"]


def test_readiness_is_503_when_the_database_is_unreachable(
    app: FastAPI, client: TestClient
) -> None:
    working = app.state.engine
    app.state.engine = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    try:
        r = client.get("/readyz")
    finally:
        app.state.engine.dispose()
        app.state.engine = working
    assert r.status_code == 503
    body = r.json()
    assert body["code"] == "ready.database"
    assert body["checks"] == {
        "database": "ready.database",
        "migrations": "skipped",
        "key_secret": "skipped",
    }
    assert "postgres@" not in body["error"]
