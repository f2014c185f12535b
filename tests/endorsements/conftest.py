"""Fixtures for endorsement tests: a real local SMTP server and invite helpers."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from tests.web.conftest import (  # noqa: F401  (the web fixtures, shared)
    IssuerHandle,
    acme,
    app,
    client,
    globex,
    settings,
)

LINK = re.compile(r"http://127\.0\.0\.1:8000(/review/[A-Za-z0-9_-]+)")
NONCE = re.compile(r'name="nonce" value="([0-9a-f]+)"')
HTML = {"Accept": "text/html"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """Messages the local SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1:<free port>, in its own thread, for one test."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def invite(http: TestClient, who: IssuerHandle, project_id: int, **fields: Any) -> dict[str, Any]:
    body = {"name": "Grace Hopper", "email": "grace@example.org", "title": "Lead analyst"}
    body.update(fields)
    r = http.post(f"/api/v1/projects/{project_id}/reviews", json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def review_path(data: dict[str, Any]) -> str:
    match = LINK.match(data["review_url"])
    assert match, data["review_url"]
    return match.group(1)


def open_form(http: TestClient, path: str) -> str:
    """GET the review page; returns its nonce."""
    r = http.get(path, headers=HTML)
    assert r.status_code == 200, r.text
    match = NONCE.search(r.text)
    assert match
    return match.group(1)
