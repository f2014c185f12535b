"""The CLI: invite a mentor, list and send the outbox through a real local SMTP server;
failed deliveries are recorded and retried, then given up."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from badgeworks.cli_service import service_commands
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.services.context import build_context
from badgeworks.services.infra import outbox
from badgeworks.settings import get_settings
from tests.mentor_reviews import LINK
from tests.servers import Inbox, free_port

SECRET = "test-only-key-secret-0123456789"


def test_cli_invite_list_send(tmp_path: Path, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    runner = CliRunner()
    env = {
        "BADGEWORKS_DATABASE_URL": f"sqlite:///{tmp_path / 'bw.db'}",
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_KEY_SECRET": SECRET,
    }

    def run(*args: str, code: int = 0, extra: dict[str, str] | None = None) -> str:
        result = runner.invoke(service_commands, list(args), env={**env, **(extra or {})})
        assert result.exit_code == code, (args, result.output)
        return result.stdout

    run("seed-demo")
    link = run("mentors", "invite", "1", "--mentor", "grace@example.org", "--title", "Lead").strip()
    assert LINK.match(link)
    run("mentors", "invite", "999", "--mentor", "grace@example.org", code=1)
    run("mentors", "invite", "1", "--mentor", "not-an-email", code=2)
    assert "pending" in run("outbox", "list")
    # No SMTP server configured: a clear error, nothing changes.
    run("outbox", "send", code=1)
    smtp = {
        "BADGEWORKS_SMTP_HOST": "127.0.0.1",
        "BADGEWORKS_SMTP_PORT": str(port),
        "BADGEWORKS_SMTP_SECURITY": "none",
        "BADGEWORKS_SMTP_FROM": "badges@program.example",
    }
    assert "sent 1, failed 0" in run("outbox", "send", extra=smtp)
    (mail,) = inbox.messages
    assert mail["From"] == "badges@program.example"
    plain = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    assert link in plain.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "sent" in run("outbox", "list", "--status", "sent")
    assert run("outbox", "list", "--status", "pending") == ""


def test_failed_delivery_is_retried_then_given_up(tmp_path: Path) -> None:
    settings = get_settings(
        database_url=f"sqlite:///{tmp_path / 'bw.db'}",
        data_dir=tmp_path / "data",
        key_secret=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nothing listens there
        smtp_security="none",
        smtp_timeout=2,
    )
    engine = make_engine(settings)
    from badgeworks.db.migrate import upgrade

    upgrade(engine)
    factory = make_session_factory(engine)
    ctx = build_context(settings, factory)
    try:
        with factory() as session:
            outbox.enqueue(
                session, to="a@example.org", subject="s", text="t", html="<p>t</p>", now=ctx.clock()
            )
            session.commit()
            sender = outbox.smtp_sender(settings)
            for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
                result = outbox.send_pending(session, ctx, sender.send)
                (row,) = outbox.list_messages(session)
                assert row.attempts == attempt and row.last_error
                assert "127.0.0.1" in row.last_error
            assert result.gave_up == 1 and row.status == "failed"
            assert outbox.send_pending(session, ctx, sender.send).sent == 0
    finally:
        engine.dispose()
