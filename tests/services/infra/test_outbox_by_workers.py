"""With dedicated job workers (``BADGEWORKS_WORKER_IN_PROCESS=false``), the web process
leaves the outbox to them: a ``badgeworks worker`` keeps one ``outbox.deliver`` job queued
every ``BADGEWORKS_OUTBOX_INTERVAL_SECONDS`` (one for all workers) and delivers through
a real SMTP server, each message once. Both databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.jobs import DONE, QUEUED, Job
from badgeworks.services import workers
from badgeworks.services.infra import outbox
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import TEST_SECRET


def test_dedicated_workers_deliver_the_outbox_on_its_interval(
    database_url: str, tmp_path: Path, smtp_server: tuple[Any, int]
) -> None:
    inbox, port = smtp_server
    settings = get_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        key_secret=TEST_SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        outbox_interval_seconds=0.5,
        worker_in_process=False,
        worker_poll_seconds=0.1,
    )
    app = create_app(settings, clock=lambda: datetime.now(UTC))
    factory = app.state.session_factory
    ctx = app.state.ctx
    try:
        with TestClient(app):
            # The web process neither runs jobs nor delivers mail itself.
            assert app.state.job_worker is None and app.state.outbox_worker is None
        with factory() as session:
            outbox.enqueue(
                session,
                to="ada@example.org",
                subject="Your sign-in link",
                text="Open the link.",
                html="<p>Open the link.</p>",
                now=ctx.clock(),
            )
            session.commit()
        first = workers.worker(factory, ctx, dedicated=True, name="one")
        second = workers.worker(factory, ctx, dedicated=True, name="two")
        deadline = time.monotonic() + 30
        while not inbox.messages:
            assert time.monotonic() < deadline, "the outbox was not delivered"
            for worker in (first, second):
                worker.run_once()
            time.sleep(0.1)
        for worker in (first, second):
            worker.run_once()
        assert [m["To"] for m in inbox.messages] == ["ada@example.org"]
        with factory() as session:
            rows = list(session.exec(select(Job).where(Job.kind == "outbox.deliver")))
            # The run that delivered is done; the next one waits for its interval.
            assert [r.state for r in rows if r.dedupe_key] == [QUEUED]
            assert DONE in {r.state for r in rows}
            assert all(r.last_error is None for r in rows)
    finally:
        app.state.engine.dispose()
    assert workers.periodic(get_settings(data_dir=tmp_path)) == {}  # no interval, no sender
