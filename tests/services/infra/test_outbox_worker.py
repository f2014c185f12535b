"""In-process outbox delivery: the worker thread, claiming (no double sends), stale
claims, console mail and ``serve --demo``'s mail choice.

Timing: nothing asserts how fast something happens, except that ``stop()`` returns well
within a generous bound while the worker waits out a one-hour interval. Everything else
polls with a generous deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from badgeworks.adapters.smtp import Mail, SmtpError
from badgeworks.cli_service import DEMO_OUTBOX_INTERVAL, demo_mail_settings, service_commands
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.db.outbox import OutboxMessage
from badgeworks.services.context import ServiceContext, build_context
from badgeworks.services.infra import outbox
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app
from tests.servers import Inbox

SECRET = "test-only-key-secret-0123456789"
DEADLINE = 60.0  # seconds; generous for a loaded 2-core machine


class Clock:
    """The real time plus an offset the test can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Env:
    settings: Settings
    engine: Engine
    factory: Callable[[], Session]
    ctx: ServiceContext
    clock: Clock

    def enqueue(self, n: int = 1, *, text: str = "body") -> list[int]:
        with self.factory() as session:
            rows = [
                outbox.enqueue(
                    session,
                    to=f"person{i}@example.org",
                    subject=f"message {i}",
                    text=f"{text} {i}",
                    html=f"<p>{text} {i}</p>",
                    now=self.ctx.clock(),
                )
                for i in range(n)
            ]
            session.commit()
            return [r.id or 0 for r in rows]

    def rows(self) -> list[OutboxMessage]:
        with self.factory() as session:
            return outbox.list_messages(session, limit=10_000)

    def send(
        self, sender: outbox.Sender, *, retry_delay: timedelta = timedelta(0)
    ) -> outbox.SendResult:
        with self.factory() as session:
            return outbox.send_pending(session, self.ctx, sender, retry_delay=retry_delay)


def _settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    return get_settings(
        database_url=database_url, data_dir=tmp_path / "data", key_secret=SECRET, **overrides
    )


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = _settings(database_url, tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_session_factory(engine)
    clock = Clock()
    try:
        yield Env(settings, engine, factory, build_context(settings, factory, clock=clock), clock)
    finally:
        engine.dispose()


@dataclass
class Recorder:
    """A sender that records what it was given (thread-safe), slowly enough to interleave."""

    delay: float = 0.0
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, mail: Mail) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.mails.append(mail)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {DEADLINE:g} s waiting for {what}")
        time.sleep(0.05)


# ----------------------------------------------------------------------------- the worker


def test_worker_delivers_through_smtp_and_stops_promptly(
    env: Env,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    settings = env.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    )
    sender = outbox.configured_sender(settings)
    assert sender is not None
    (message_id,) = env.enqueue(text="sign in at http://127.0.0.1:8000/me/link/abc")
    # A one-hour interval: the first run is immediate, then the worker only waits.
    worker = outbox.OutboxWorker(env.factory, env.ctx, sender, 3600)
    worker.start()
    try:
        wait_for(lambda: len(inbox.messages) == 1, "the message at the SMTP server")
        wait_for(lambda: env.rows()[0].status == "sent", "the message to be marked sent")
    finally:
        started = time.monotonic()
        worker.stop()
        stopped_in = time.monotonic() - started
    assert not worker.running
    assert stopped_in < 20  # the wait is cut short by the event, not sat out (3600 s)
    (mail,) = inbox.messages
    assert mail["To"] == "person0@example.org" and mail["Subject"] == "message 0"
    (row,) = env.rows()
    assert row.id == message_id and row.attempts == 1 and row.sent_at is not None
    assert row.body_text == outbox.DELIVERED_NOTE


def test_worker_survives_failures_and_keeps_delivering(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"factory": 0, "send": 0}
    delivered = Recorder()

    def flaky_factory() -> Session:
        calls["factory"] += 1
        if calls["factory"] == 1:
            raise RuntimeError("database unreachable (simulated)")
        return env.factory()

    def flaky_sender(mail: Mail) -> None:
        calls["send"] += 1
        if calls["send"] == 1:
            raise KeyError("a bug in the sender (simulated)")
        delivered(mail)

    env.enqueue()
    worker = outbox.OutboxWorker(
        flaky_factory, env.ctx, flaky_sender, 0.05, retry_delay=timedelta(0)
    )
    with caplog.at_level(logging.INFO, logger="badgeworks.outbox"):
        worker.start()
        try:
            wait_for(lambda: len(delivered.mails) == 1, "delivery after the failures")
            assert worker.running
        finally:
            worker.stop()
    assert not worker.running
    (row,) = env.rows()
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    logged = caplog.text
    assert "a delivery run failed" in logged and "database unreachable" in logged
    assert "the sender failed on message" in logged and "a bug in the sender" in logged


def test_a_failed_attempt_waits_for_the_retry_delay(env: Env) -> None:
    def down(_mail: Mail) -> None:
        raise SmtpError("connection refused (simulated)")

    env.enqueue()
    delay = timedelta(seconds=60)
    assert env.send(down, retry_delay=delay).failed == 1
    # Too soon: not even tried.
    assert env.send(Recorder(), retry_delay=delay).sent == 0
    (row,) = env.rows()
    assert row.status == "pending" and row.attempts == 1 and "refused" in (row.last_error or "")
    env.clock.offset += delay
    assert env.send(Recorder(), retry_delay=delay).sent == 1


# ----------------------------------------------------------------------------- claiming


@pytest.mark.parametrize("runs", [2, 4])
def test_concurrent_runs_deliver_each_message_exactly_once(env: Env, runs: int) -> None:
    ids = env.enqueue(24)
    sender = Recorder(delay=0.01)
    barrier = threading.Barrier(runs)
    results: list[outbox.SendResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=DEADLINE)
            results.append(env.send(sender))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    recipients = [m.to for m in sender.mails]
    assert sorted(recipients) == sorted(f"person{i}@example.org" for i in range(len(ids)))
    assert sum(r.sent for r in results) == len(ids)
    assert all(r.failed == 0 and r.gave_up == 0 for r in results)
    rows = env.rows()
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}


class Crash(BaseException):
    """The sender's process dying mid-delivery (escapes every ``except Exception``)."""


def _crash(_mail: Mail) -> None:
    raise Crash


def test_a_claim_left_by_a_crashed_sender_is_retried_after_the_timeout(env: Env) -> None:
    env.enqueue()
    with pytest.raises(Crash):
        env.send(_crash)
    (row,) = env.rows()
    assert row.status == "sending" and row.attempts == 1 and row.attempted_at is not None
    # While the claim is fresh, nobody else delivers the message.
    later = Recorder()
    result = env.send(later)
    assert result.sent == 0 and result.released == 0 and later.mails == []
    env.clock.offset += outbox.CLAIM_TIMEOUT - timedelta(seconds=5)
    assert env.send(later).sent == 0
    # After the timeout it is taken back and delivered.
    env.clock.offset += timedelta(seconds=10)
    result = env.send(later)
    assert result.released == 1 and result.sent == 1 and len(later.mails) == 1
    (row,) = env.rows()
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None


def test_a_stale_claim_out_of_attempts_gives_up(env: Env) -> None:
    env.enqueue()
    with env.factory() as session:
        (row,) = outbox.list_messages(session)
        row.attempts = outbox.MAX_ATTEMPTS - 1
        session.add(row)
        session.commit()
    with pytest.raises(Crash):
        env.send(_crash)
    env.clock.offset += outbox.CLAIM_TIMEOUT + timedelta(seconds=1)
    later = Recorder()
    result = env.send(later)
    assert result.gave_up == 1 and result.sent == 0 and later.mails == []
    (row,) = env.rows()
    assert row.status == "failed" and row.last_error == outbox.INTERRUPTED


# ----------------------------------------------------------------------------- console mail


def test_console_mail_prints_the_message_and_marks_it_sent(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = env.settings.model_copy(update={"mail_console": True, "smtp_host": "mail.example"})
    sender = outbox.configured_sender(settings)  # console wins over SMTP
    assert sender is not None
    env.enqueue(text="open http://127.0.0.1:8000/me/link/TOKEN")
    assert env.send(sender).sent == 1
    out = capsys.readouterr().out
    assert outbox.CONSOLE_RULE in out and "development only" in out
    assert "To:      person0@example.org" in out and "Subject: message 0" in out
    assert "open http://127.0.0.1:8000/me/link/TOKEN 0" in out
    assert "<p>" not in out  # the plain-text body only
    (row,) = env.rows()
    assert row.status == "sent" and row.body_text == outbox.DELIVERED_NOTE


def test_outbox_send_command_uses_console_mail(env: Env) -> None:
    env.enqueue(2)
    base = {
        "BADGEWORKS_DATABASE_URL": env.settings.resolved_database_url,
        "BADGEWORKS_DATA_DIR": str(env.settings.data_dir),
        "BADGEWORKS_KEY_SECRET": SECRET,
    }
    runner = CliRunner()
    unconfigured = runner.invoke(service_commands, ["outbox", "send"], env=base)
    assert unconfigured.exit_code == 1
    assert "outbox.not_configured" in unconfigured.output
    assert "BADGEWORKS_MAIL_CONSOLE" in unconfigured.output
    result = runner.invoke(
        service_commands, ["outbox", "send"], env={**base, "BADGEWORKS_MAIL_CONSOLE": "true"}
    )
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0, gave up 0" in result.stdout
    assert "To:      person0@example.org" in result.stdout
    assert "To:      person1@example.org" in result.stdout


def test_the_app_runs_the_worker_during_its_lifespan(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(database_url, tmp_path, mail_console=True, outbox_interval_seconds=0.1)
    app = create_app(settings)
    with TestClient(app):
        worker = app.state.outbox_worker
        assert isinstance(worker, outbox.OutboxWorker) and worker.running
        with app.state.session_factory() as session:
            outbox.enqueue(
                session,
                to="ada@example.org",
                subject="hi",
                text="t",
                html="<p>t</p>",
                now=app.state.ctx.clock(),
            )
            session.commit()

        def delivered() -> bool:
            with app.state.session_factory() as session:
                return bool(outbox.list_messages(session)[0].status == "sent")

        wait_for(delivered, "the app's worker to deliver")
    assert not worker.running
    assert "To:      ada@example.org" in capsys.readouterr().out


def test_no_worker_without_an_interval_or_a_sender(env: Env) -> None:
    factory, ctx = env.factory, env.ctx
    assert outbox.worker_for(env.settings, factory, ctx) is None  # interval 0
    timed = env.settings.model_copy(update={"outbox_interval_seconds": 5})
    assert outbox.worker_for(timed, factory, ctx) is None  # no sender
    assert "stay queued" in outbox.delivery_summary(timed)
    assert "BADGEWORKS_SMTP_HOST" in outbox.delivery_summary(timed)
    smtp = timed.model_copy(update={"smtp_host": "mail.example"})
    worker = outbox.worker_for(smtp, factory, ctx)
    assert worker is not None and worker.interval == 5 and not worker.running
    assert "mail.example:587" in outbox.delivery_summary(smtp)
    cron = env.settings.model_copy(update={"smtp_host": "mail.example"})
    assert "outbox send" in outbox.delivery_summary(cron)


# ----------------------------------------------------------------------------- serve --demo


def test_serve_demo_without_smtp_turns_on_console_mail(tmp_path: Path) -> None:
    plain = get_settings(data_dir=tmp_path)
    settings, note = demo_mail_settings(plain)
    assert settings.mail_console and settings.outbox_interval_seconds == DEMO_OUTBOX_INTERVAL
    assert note is not None and "this terminal" in note and "development only" in note
    assert "printed in this terminal" in outbox.delivery_summary(settings)
    assert outbox.configured_sender(settings) is not None

    # A configured interval is kept.
    settings, _ = demo_mail_settings(get_settings(data_dir=tmp_path, outbox_interval_seconds=7))
    assert settings.mail_console and settings.outbox_interval_seconds == 7
    # An SMTP server, or console mail switched off explicitly, is left as configured.
    smtp = get_settings(data_dir=tmp_path, smtp_host="mail.example")
    assert demo_mail_settings(smtp) == (smtp, None)
    off = get_settings(data_dir=tmp_path, mail_console=False)
    assert demo_mail_settings(off) == (off, None)


def test_serve_demo_prints_the_start_page_and_the_candidate_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --demo`` through the CLI, with uvicorn replaced (no server is started)."""
    import uvicorn

    served: list[Settings] = []

    def fake_run(app: object, **_kwargs: object) -> None:
        served.append(app.state.settings)  # type: ignore[attr-defined]
        app.state.engine.dispose()  # type: ignore[attr-defined]

    monkeypatch.setattr(uvicorn, "run", fake_run)
    env = {
        "BADGEWORKS_DATABASE_URL": f"sqlite:///{tmp_path / 'bw.db'}",
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_KEY_SECRET": SECRET,
    }
    result = CliRunner().invoke(
        service_commands,
        ["serve", "--demo", "--port", "8123", "--workers", "1"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "start page:" in out and "http://127.0.0.1:8123/\n" in out
    assert "candidate sign-in:" in out and "http://127.0.0.1:8123/me/sign-in" in out
    assert "enter ada@example.org" in out and "appears in this terminal" in out
    assert "no SMTP server is configured" in out
    (settings,) = served
    assert settings.mail_console and settings.outbox_interval_seconds == DEMO_OUTBOX_INTERVAL
