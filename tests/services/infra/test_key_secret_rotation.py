"""Rotating the key-encryption secret while the service signs, on SQLite and PostgreSQL:
a process restarted with the new and the previous secret keeps signing during
``badgeworks keys rotate-secret``; afterwards every key record and sealed message opens with
the new secret alone, the status lists hand out indexes in the same order as before, a
process with only the old secret neither starts nor reports ready, and every credential
verifies."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import select

from badgeworks.adapters.keystore import decrypt_seed
from badgeworks.cli import badgeworks
from badgeworks.core.errors import ConfigError, KeyFormatError
from badgeworks.db.engine import make_engine
from badgeworks.db.models import Credential
from badgeworks.db.outbox import OutboxMessage, is_sealed
from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.services.infra.secrets import rotate_secret
from badgeworks.services.lifecycle.status_lists import permute
from badgeworks.services.verification import pipeline
from badgeworks.settings import Settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, draft_project

NEW_SECRET = "rotated-key-secret-0123456789-abcdef"


def _issue(client: TestClient, acme: IssuerHandle) -> int:
    ids = draft_project(client, acme)
    return client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth).status_code


def _with(settings: Settings, secret: str, previous: str | None) -> Settings:
    return settings.model_copy(
        update={
            "key_secret": SecretStr(secret),
            "key_secret_previous": SecretStr(previous) if previous else None,
        }
    )


def test_rotating_the_secret_while_signing(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings
) -> None:
    assert _issue(client, acme) == 201
    assert _issue(client, acme) == 201

    # Every process is restarted with the new secret and the previous one...
    both = create_app(_with(settings, NEW_SECRET, TEST_SECRET), clock=lambda: NOW)
    signer = TestClient(both, raise_server_exceptions=False)
    assert signer.get("/readyz").status_code == 200
    assert _issue(signer, acme) == 201  # keys still under the old secret

    # ...and keeps signing while the records are re-encrypted.
    stop = threading.Event()
    statuses: list[int] = []

    def keep_signing() -> None:
        while not stop.is_set() and len(statuses) < 30:
            statuses.append(_issue(signer, acme))

    writer = threading.Thread(target=keep_signing)
    writer.start()
    engine = make_engine(settings)
    try:
        while not statuses:
            stop.wait(0.05)
        moved = rotate_secret(engine, NEW_SECRET, TEST_SECRET, now=NOW)
        stop.wait(0.3)
    finally:
        stop.set()
        writer.join(timeout=120)
    assert statuses and set(statuses) == {201}, statuses
    assert moved.issuer_keys >= 1 and moved.outbox_bodies >= 1 and moved.fingerprint_moved
    assert not moved.unreadable
    # Once done, nothing is left under the old secret.
    again = rotate_secret(engine, NEW_SECRET, TEST_SECRET, now=NOW, apply=False)
    assert again.pending == 0

    with engine.connect() as connection:
        for (token,) in connection.execute(text("SELECT encrypted_secret FROM issuer_key")):
            decrypt_seed(token, NEW_SECRET)
            with pytest.raises(KeyFormatError):
                decrypt_seed(token, TEST_SECRET)
        for (body,) in connection.execute(text("SELECT body_text FROM outbox_message")):
            assert TEST_SECRET not in body and NEW_SECRET not in body
    engine.dispose()

    # A process with the new secret alone starts, reads the sealed mail, signs.
    new_only = create_app(_with(settings, NEW_SECRET, None), clock=lambda: NOW)
    fresh = TestClient(new_only, raise_server_exceptions=False)
    try:
        assert fresh.get("/readyz").status_code == 200
        assert _issue(fresh, acme) == 201
        with new_only.state.session_factory() as session:
            bodies = session.exec(select(OutboxMessage)).all()
            assert bodies and not any(is_sealed(m.body_text) for m in bodies)
            # The lists kept their permutation: slots 0…n-1 are the indexes the old
            # secret's key gives them, before, during and after the rotation.
            for listed in session.exec(select(StatusList)).all():
                label = f"badgeworks status-list slots\0status_list\0{listed.id}".encode()
                key = hmac.new(TEST_SECRET.encode(), label, hashlib.sha256).digest()
                expected = {permute(key, k, listed.entries) for k in range(listed.next_slot)}
                held = set(
                    session.exec(
                        select(StatusEntry.index).where(StatusEntry.list_id == listed.id)
                    ).all()
                )
                assert held == expected, listed.id
            ctx = new_only.state.ctx
            rows = session.exec(select(Credential)).all()
            assert len(rows) == 2 + 1 + len(statuses) + 1
            for row in rows:
                verdict = pipeline.verify(ctx, json.loads(row.document)).report.verdict
                assert verdict.startswith("verified"), (row.id, verdict)
    finally:
        new_only.state.engine.dispose()
        both.state.engine.dispose()

    # The process still running with the old secret alone is not ready, and could not
    # start again.
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["code"] == "ready.key_secret"
    with pytest.raises(ConfigError) as refused:
        create_app(settings, clock=lambda: NOW)
    assert refused.value.code == "config.key_secret_changed"


def test_the_rotation_command_refuses_without_the_secret_in_use(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the command calls the same rotation; once is enough")
    assert _issue(client, acme) == 201
    env = {
        "BADGEWORKS_DATA_DIR": str(settings.data_dir),
        "BADGEWORKS_DATABASE_URL": settings.resolved_database_url,
        "BADGEWORKS_KEY_SECRET": NEW_SECRET,
    }
    runner = CliRunner()
    # Without the previous secret: refused, in words.
    result = runner.invoke(badgeworks, ["keys", "rotate-secret"], env=env)
    assert result.exit_code == 1 and "BADGEWORKS_KEY_SECRET_PREVIOUS" in result.output
    # With a wrong previous secret: refused.
    wrong = {**env, "BADGEWORKS_KEY_SECRET_PREVIOUS": "not-the-secret-in-use-0123456789"}
    result = runner.invoke(badgeworks, ["keys", "rotate-secret"], env=wrong)
    assert result.exit_code == 1 and "config.key_secret_changed" in result.output
    # Checked, then done, then checked again.
    right = {**env, "BADGEWORKS_KEY_SECRET_PREVIOUS": TEST_SECRET}
    result = runner.invoke(badgeworks, ["keys", "rotate-secret", "--check"], env=right)
    assert result.exit_code == 1 and "1 issuer key(s)" in result.output, result.output
    result = runner.invoke(badgeworks, ["keys", "rotate-secret"], env=right)
    assert result.exit_code == 0 and "re-encrypted 1 issuer key(s)" in result.output, result.output
    assert "the new secret is recorded" in result.output
    result = runner.invoke(badgeworks, ["keys", "rotate-secret", "--check"], env=right)
    assert result.exit_code == 0 and "0 issuer key(s)" in result.output
    # The example secret is refused as the new one.
    example = {**right, "BADGEWORKS_KEY_SECRET": "example-only-do-not-use-this-secret"}
    result = runner.invoke(badgeworks, ["keys", "rotate-secret"], env=example)
    assert result.exit_code == 1 and "config.example_secret" in result.output
