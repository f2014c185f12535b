"""The settings page gives one account of where mail goes: console mail never also claims
an SMTP delivery interval or says that no SMTP server leaves messages waiting."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.settings import Settings
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _mail_section(app: FastAPI, client: TestClient, lang: str = "en") -> str:
    add_staff(app, "acme", "owner@acme.example", "owner")
    sign_in(client, "owner@acme.example")
    html = client.get(f"/console/acme/settings?lang={lang}").text
    heading = "Outbox (email)" if lang == "en" else "Bandeja de salida (correo)"
    start = html.index(heading)
    return Page(html[start : html.index("<h2>", start)]).text


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Console mail, delivered every 2 seconds, as the demo runs it."""
    return settings.model_copy(update={"mail_console": True, "outbox_interval_seconds": 2})


def test_console_mail_is_one_account(app: FastAPI, client: TestClient, acme: IssuerHandle) -> None:
    text = _mail_section(app, client)
    assert "printed in the server's terminal" in text
    assert "printed there every 2 seconds" in text
    assert "No SMTP server" not in text and "delivers queued messages" not in text
    spanish = _mail_section(app, client, "es")
    assert "cada 2 segundos" in spanish and "SMTP" not in spanish


@pytest.mark.parametrize("interval", [2, 0])
def test_without_smtp_or_console_mail_messages_wait(
    app: FastAPI, client: TestClient, acme: IssuerHandle, interval: int
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"mail_console": False, "outbox_interval_seconds": interval}
    )
    app.state.ctx.settings = app.state.settings
    text = _mail_section(app, client)
    assert "No SMTP server is configured" in text
    assert "delivers queued messages" not in text and "printed" not in text
