"""``make run`` (``serve --demo``): absolute URLs that answer, and a second run reuses the demo."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from badgeworks.cli_service import service_commands
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.db.models import (
    Achievement,
    AchievementVersion,
    ApiToken,
    Candidate,
    Credential,
    Deliverable,
    Issuer,
    Project,
)
from badgeworks.db.portfolio import Portfolio
from badgeworks.services.accounts import staff, tokens
from badgeworks.services.context import build_context
from badgeworks.services.demo import PORTFOLIO_HANDLE, DemoResult, seed_demo
from badgeworks.services.errors import AuthError
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app

SECRET = "test-only-key-secret-0123456789"
BASE = "http://127.0.0.1:8000"
DEMO_TABLES = (
    Issuer,
    Achievement,
    AchievementVersion,
    Candidate,
    Project,
    Deliverable,
    Credential,
    Portfolio,
)


@pytest.fixture
def demo_settings(database_url: str, tmp_path: Path) -> Settings:
    return get_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        key_secret=SECRET,
        public_base_url=BASE,
    )


def counts(session: Session) -> dict[str, int]:
    return {
        t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in DEMO_TABLES
    }


def urls_of(result: DemoResult) -> list[str]:
    return [
        result.home_url,
        result.credential_url,
        result.json_url,
        result.verify_url,
        result.portfolio_url,
        result.console_url,
        result.docs_url,
        result.did_document_url,
        result.sign_in_url,
        *result.blob_urls,
    ]


def test_seeding_twice_reuses_the_demo(demo_settings: Settings) -> None:
    engine = make_engine(demo_settings)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        ctx = build_context(demo_settings, factory)
        with factory() as session:
            first = seed_demo(session, ctx)
            after_first = counts(session)
        with factory() as session:
            second = seed_demo(session, ctx)
            after_second = counts(session)
            assert after_second == after_first
            assert after_first["Credential"] == 1 and after_first["Deliverable"] == 3
            assert first.created and not second.created
            assert urls_of(second) == urls_of(first)
            assert all(u.startswith(BASE + "/") for u in urls_of(first))
            assert first.portfolio_url == f"{BASE}/p/{PORTFOLIO_HANDLE}"
            assert first.console_url == f"{BASE}/console/"
            assert first.verify_url.startswith(f"{BASE}/verify?url=http%3A%2F%2F127.0.0.1")
            # A fresh token each run; both work (the first is not revoked behind the user's back).
            assert second.token != first.token
            assert tokens.authenticate(session, first.token) is not None
            assert tokens.authenticate(session, second.token) is not None
            assert session.exec(select(func.count()).select_from(ApiToken)).one() == 2
            # The console password is reset: only the newest one signs in.
            assert second.console_email == first.console_email
            assert second.console_password != first.console_password
            now = datetime.now(UTC)
            staff.authenticate(
                session, second.console_email, second.console_password, client="t", now=now
            )
            with pytest.raises(AuthError):
                staff.authenticate(
                    session, first.console_email, first.console_password, client="t", now=now
                )
    finally:
        engine.dispose()


PRINTED_URL = re.compile(r"https?://\S+")


def _seed_cli(demo_settings: Settings) -> str:
    env: dict[str, Any] = {
        "BADGEWORKS_DATABASE_URL": demo_settings.resolved_database_url,
        "BADGEWORKS_DATA_DIR": str(demo_settings.data_dir),
        "BADGEWORKS_KEY_SECRET": SECRET,
        "BADGEWORKS_PUBLIC_BASE_URL": BASE,
    }
    result = CliRunner().invoke(service_commands, ["seed-demo"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_printed_urls_answer_and_a_second_run_prints_the_same(demo_settings: Settings) -> None:
    first = _seed_cli(demo_settings)
    second = _seed_cli(demo_settings)
    assert first.startswith("Demo ready")
    assert second.startswith("Demo already present")
    assert "nothing was created again" in second
    urls = PRINTED_URL.findall(first)
    assert urls == PRINTED_URL.findall(second)
    for needed in ("/credentials/", "/verify?url=", "/p/demo-candidate", "/console/", "/docs"):
        assert any(needed in u for u in urls), needed
    assert f"{BASE}/" in urls and f"{BASE}/me/sign-in" in urls
    assert "ada@example.org" in first
    assert "did.json" in first and "/blobs/" in first
    assert "password is reset on every run" in second and "shown only now" in second
    token = re.search(r"\b(bwt_\S+)", second)
    assert token is not None

    app = create_app(demo_settings)
    try:
        client = TestClient(app)
        for url in urls:
            headers = {"Accept": "text/html"} if "/credentials/" in url else {}
            r = client.get(url, headers=headers)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
        r = client.get("/console/", follow_redirects=False)
        assert r.status_code in (302, 303)  # to the sign-in page, which answered above
        verdict = client.get(next(u for u in urls if "/verify?url=" in u))
        # The demo's deliverables live on this (not running) server, so the digest check
        # may only warn; nothing may fail.
        assert re.search(r'data-verdict="verified(_with_warnings)?"', verdict.text)
        r = client.get(
            "/api/v1/issuers/demo-academy/credentials",
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        assert r.status_code == 200 and r.headers["X-Total-Count"] == "1"
    finally:
        app.state.engine.dispose()
