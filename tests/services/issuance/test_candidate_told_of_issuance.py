"""Telling the candidate: issuing a credential (one, or a bulk file) queues an email to the
candidate in their credential's language, with the credential's page, their portfolio, the
sign-in page and how to share; the outbox delivers it through a real (local) SMTP server,
and a failed delivery stays in the outbox. Staff turn it off per issuance. A bulk run
sends nothing while it issues, and running the file again queues nothing twice. Both
databases.
"""

from __future__ import annotations

import time
from email.header import decode_header, make_header
from email.message import Message

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.adapters.smtp import Mail, SmtpError
from badgeworks.db.outbox import OutboxMessage
from badgeworks.services.infra import outbox
from tests.issuer_app import ACHIEVEMENT, IssuerHandle, draft_project
from tests.servers import Inbox

BASE = "http://127.0.0.1:8000"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name,external_id\n"
CSV = {"Content-Type": "text/csv"}


def _deliver(app: FastAPI, port: int) -> outbox.SendResult:
    settings = app.state.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    )
    sender = outbox.smtp_sender(settings)
    total = outbox.SendResult()
    with app.state.session_factory() as session:
        while True:
            result = outbox.send_pending(session, app.state.ctx, sender.send, limit=500)
            total.sent += result.sent
            total.failed += result.failed
            if not result.sent and not result.failed:
                return total


def _text(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _subject(mail: Message) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _messages(app: FastAPI) -> list[OutboxMessage]:
    with app.state.session_factory() as session:
        return outbox.list_messages(session, limit=10_000)


def test_completing_a_project_emails_the_candidate_through_the_outbox(
    app: FastAPI, client: TestClient, acme: IssuerHandle, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    ids = draft_project(client, acme)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    issued = r.json()
    # Queued with the credential, not sent by the request.
    (queued,) = _messages(app)
    assert queued.status == "pending" and queued.to == "ada@example.org"
    assert queued.reference == f"credential_issued:{issued['id']}"
    assert inbox.messages == []

    assert _deliver(app, port).sent == 1
    (mail,) = inbox.messages
    assert mail["To"] == "ada@example.org"
    assert _subject(mail) == "Your credential: Data Analysis Micro-internship"
    text = _text(mail)
    assert "Hello Ada Lovelace," in text
    assert issued["url"] in text  # the credential's page
    r = client.get(f"/api/v1/candidates/{ids['candidate']}/portfolio", headers=acme.auth)
    assert r.status_code == 200, r.text
    assert r.json()["url"] in text  # their portfolio
    assert f"{BASE}/me/sign-in?lang=en" in text
    assert "LinkedIn" in text and f"{BASE}/verify" in text
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    assert f'href="{issued["url"]}"' in html.get_payload(decode=True).decode()  # type: ignore[union-attr]


def test_a_spanish_credential_is_announced_in_spanish(
    app: FastAPI, client: TestClient, acme: IssuerHandle, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    spanish = {**ACHIEVEMENT, "name": "Microprácticas de análisis", "in_language": "es"}
    r = client.post(f"/api/v1/issuers/{acme.slug}/achievements", json=spanish, headers=acme.auth)
    assert r.status_code == 201, r.text
    ids = draft_project(client, acme)
    r = client.patch(
        f"/api/v1/projects/{ids['project']}",
        json={"achievement_id": r.json()["id"]},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    assert _deliver(app, port).sent == 1
    (mail,) = inbox.messages
    assert _subject(mail) == "Tu credencial: Microprácticas de análisis"
    text = _text(mail)
    assert "Hola, Ada Lovelace:" in text and "portafolio" in text
    assert f"{BASE}/me/sign-in?lang=es" in text


def test_staff_can_issue_without_telling_the_candidate(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    r = client.post(
        f"/api/v1/projects/{ids['project']}/complete?notify_candidate=false", headers=acme.auth
    )
    assert r.status_code == 201, r.text
    assert _messages(app) == []
    r = client.post(
        f"/api/v1/projects/{ids['project']}/complete?notify_candidate=maybe", headers=acme.auth
    )
    assert r.status_code == 422, r.text


def test_a_failed_delivery_stays_in_the_outbox(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text

    def down(_mail: Mail) -> None:
        raise SmtpError("connection refused")

    with app.state.session_factory() as session:
        result = outbox.send_pending(session, app.state.ctx, down)
    assert result.failed == 1 and result.sent == 0
    (row,) = _messages(app)
    assert row.status == "pending" and row.attempts == 1
    assert "connection refused" in (row.last_error or "")


def _bulk_then_again(
    app: FastAPI, client: TestClient, acme: IssuerHandle, smtp: tuple[Inbox, int], rows: int
) -> None:
    """Every message is queued with its row's credential and none is sent while the file
    is issued (the local SMTP server receives nothing until the outbox runs); the same
    file again queues nothing; the outbox then delivers each message once."""
    inbox, port = smtp
    # The service knows the SMTP server from the start: still nothing goes out mid-run.
    app.state.settings = app.state.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    )
    achievement = draft_project(client, acme)["achievement"]
    body = HEADER + "".join(
        f"{achievement},Person {i},p{i}@example.org,Project {i},Host,row-{i}\n" for i in range(rows)
    )
    started = time.monotonic()
    r = client.post(f"/api/v1/issuers/{acme.slug}/batches", content=body, headers=acme.auth | CSV)
    assert r.status_code == 200, r.text
    print(f"bulk of {rows} rows, mail queued: {time.monotonic() - started:.1f} s")
    assert sum(1 for row in r.json()["rows"] if row["outcome"] == "issued") == rows
    assert inbox.messages == []
    queued = _messages(app)
    assert len(queued) == rows and {m.status for m in queued} == {"pending"}
    assert len({m.reference for m in queued}) == rows

    # The same file again: every row is skipped as already issued, nothing is queued.
    again = client.post(
        f"/api/v1/issuers/{acme.slug}/batches", content=body, headers=acme.auth | CSV
    )
    assert again.status_code == 200, again.text
    assert {row["reason"] for row in again.json()["rows"]} == {"already_issued"}
    assert len(_messages(app)) == rows

    assert _deliver(app, port).sent == rows
    assert sorted(m["To"] for m in inbox.messages) == sorted(
        f"p{i}@example.org" for i in range(rows)
    )
    # Delivered once: running the outbox again sends nothing.
    assert _deliver(app, port).sent == 0


def test_a_bulk_file_queues_one_message_per_candidate_and_a_rerun_none(
    app: FastAPI, client: TestClient, acme: IssuerHandle, smtp_server: tuple[Inbox, int]
) -> None:
    # 25 rows: grouped transactions of 10 and a partial one (bulk.GROUP).
    _bulk_then_again(app, client, acme, smtp_server, 25)


@pytest.mark.slow
@sqlite_only
def test_a_bulk_file_of_200_rows_sends_nothing_while_it_issues(
    app: FastAPI, client: TestClient, acme: IssuerHandle, smtp_server: tuple[Inbox, int]
) -> None:
    # Several bulk groups and progress saves: the queued mail waits for the outbox.
    _bulk_then_again(app, client, acme, smtp_server, 200)


def test_a_bulk_file_can_leave_the_candidates_untold(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    achievement = draft_project(client, acme)["achievement"]
    body = HEADER + f"{achievement},Grace Hopper,grace@example.org,Compilers,Host,row-1\n"
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/batches?notify_candidates=false",
        content=body,
        headers=acme.auth | CSV,
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["outcome"] == "issued"
    assert _messages(app) == []
