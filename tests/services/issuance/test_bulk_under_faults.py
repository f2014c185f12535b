"""Bulk issuance under attack and under faults, once on SQLite and once on PostgreSQL.

- ``badgeworks issue-csv`` killed with SIGKILL mid-run, several times, then run again:
  every row ends with exactly one credential, and the re-run says what it skipped;
- a served web process killed with SIGKILL during a console job, several times: after each
  restart the job shows as interrupted and resumes (from the console and from the CLI),
  and again every row has exactly one credential;
- the batch API answers per row, replays a retry with the same ``Idempotency-Key`` and
  skips rows it already issued (a revoked one only comes back when re-issue is asked for);
- the API, the CLI and the console refuse the same bad files (formula-looking cells,
  one email twice) with the same messages.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import ACHIEVEMENT, TEST_SECRET, IssuerHandle, make_issuer
from tests.servers import free_port

HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name"
ROWS = 36


def cohort(achievement: int, n: int = ROWS, *, start: int = 0) -> str:
    """A cohort CSV of ``n`` distinct people."""
    lines = [HEADER]
    for i in range(start, start + n):
        lines.append(f"{achievement},Person {i},p{i}@example.org,Project {i},Northwind")
    return "\n".join(lines) + "\n"


def _settings(database_url: str, tmp: Path, **extra: Any) -> Settings:
    return get_settings(
        data_dir=tmp / "data",
        database_url=database_url,
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        **extra,
    )


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "BADGEWORKS_DATABASE_URL": settings.resolved_database_url,
        "BADGEWORKS_DATA_DIR": str(settings.data_dir),
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_PUBLIC_BASE_URL": settings.public_base_url,
    }


def _prepare(settings: Settings) -> tuple[IssuerHandle, int]:
    """An issuer ``acme`` with one achievement; returns its handle and the achievement id."""
    app = create_app(settings, clock=lambda: datetime.now(UTC))
    try:
        who = make_issuer(app, "acme")
        client = TestClient(app)
        r = client.post("/api/v1/issuers/acme/achievements", json=ACHIEVEMENT, headers=who.auth)
        assert r.status_code == 201, r.text
        return who, int(r.json()["id"])
    finally:
        app.state.engine.dispose()


def _per_email(database_url: str) -> Counter[str]:
    """How many credentials each candidate email holds (from the database itself)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.emails FROM credential AS k JOIN candidate AS c "
                    "ON c.id = k.candidate_id"
                )
            ).all()
    finally:
        engine.dispose()
    out: Counter[str] = Counter()
    for (emails,) in rows:
        values = json.loads(emails) if isinstance(emails, str) else emails
        out[values[0]] += 1
    return out


def _count(database_url: str) -> int:
    return sum(_per_email(database_url).values())


def _kill_when(proc: subprocess.Popen[str], database_url: str, at_least: int) -> int:
    """SIGKILL ``proc`` once the database holds ``at_least`` credentials; returns the count."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + 90
        while proc.poll() is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                seen = conn.execute(text("SELECT count(*) FROM credential")).scalar_one()
            if seen >= at_least:
                break
            time.sleep(0.005)
    finally:
        engine.dispose()
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return _count(database_url)


def _cli(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "badgeworks", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(settings),
    )


def _cli_here(settings: Settings, *args: str) -> tuple[int, str, str]:
    """The same command in this process (no interpreter start-up): exit code, out, err."""
    from click.testing import CliRunner

    from badgeworks.cli_service import service_commands

    env = {k: v for k, v in _env(settings).items() if k.startswith("BADGEWORKS_")}
    result = CliRunner().invoke(service_commands, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_issue_csv_killed_mid_run_then_run_again_issues_each_row_once(
    database_url: str, tmp_path: Path
) -> None:
    settings = _settings(database_url, tmp_path)
    _, achievement = _prepare(settings)
    csv_file = tmp_path / "cohort.csv"
    csv_file.write_text(cohort(achievement), "utf-8")
    killed_mid_way = 0
    for target in (5, 20):
        proc = _cli(settings, "issue-csv", str(csv_file), "--issuer", "acme")
        count = _kill_when(proc, database_url, target)
        killed_mid_way += proc.returncode == -signal.SIGKILL and count < ROWS
        per_email = _per_email(database_url)
        assert max(per_email.values(), default=1) == 1, per_email.most_common(3)
    assert killed_mid_way >= 1
    # Run again: the interrupted job is resumed and finishes; each row has one credential.
    code, out, err = _cli_here(settings, "issue-csv", str(csv_file), "--issuer", "acme", "--json")
    assert code == 0, err[-2000:]
    assert "resuming interrupted job" in err
    per_email = _per_email(database_url)
    assert sorted(per_email) == sorted(f"p{i}@example.org" for i in range(ROWS))
    assert set(per_email.values()) == {1}
    first = json.loads(out)["rows"]
    assert [r["outcome"] for r in first] == ["issued"] * ROWS
    # And once more: a new run of the same file issues nothing and says why, per row.
    code, out, err = _cli_here(settings, "issue-csv", str(csv_file), "--issuer", "acme", "--json")
    assert code == 0, err[-2000:]
    again = json.loads(out)["rows"]
    assert [r["reason"] for r in again] == ["already_issued"] * ROWS
    assert [r["credential_id"] for r in again] == [r["credential_id"] for r in first]
    assert _count(database_url) == ROWS


# ------------------------------------------------------------------------ the batch API


@contextmanager
def _served(settings: Settings) -> Iterator[httpx.Client]:
    """The app served by uvicorn on a loopback port (in this process)."""
    from tests.servers import serve

    app = create_app(settings, clock=lambda: datetime.now(UTC))
    try:
        with serve(app) as base, httpx.Client(base_url=base, timeout=120) as http:
            yield http
    finally:
        app.state.engine.dispose()


def _post(
    http: httpx.Client, who: IssuerHandle, body: str, *, key: str | None = None, query: str = ""
) -> httpx.Response:
    headers = {**who.auth, "Content-Type": "text/csv"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post(f"/api/v1/issuers/acme/batches{query}", content=body.encode(), headers=headers)


def test_batch_api_answers_per_row_and_a_retry_never_issues_twice(
    database_url: str, tmp_path: Path
) -> None:
    settings = _settings(database_url, tmp_path)
    who, achievement = _prepare(settings)
    rows = [
        f"S-{i},{achievement},Student {i},s{i}@example.org,Project {i},Northwind" for i in range(6)
    ]
    body = f"external_id,{HEADER}\n" + "\n".join(rows) + "\n"
    with _served(settings) as http:
        first = _post(http, who, body, key="cohort-2026-a")
        assert first.status_code == 200, first.text
        result = first.json()
        assert [r["outcome"] for r in result["rows"]] == ["issued"] * 6
        assert [r["row_key"] for r in result["rows"]] == [f"ext:S-{i}" for i in range(6)]
        ids = [r["credential_id"] for r in result["rows"]]
        # The same key: the first answer, byte for byte.
        replay = _post(http, who, body, key="cohort-2026-a")
        assert replay.status_code == 200 and replay.content == first.content
        assert replay.headers.get("Idempotent-Replayed") == "true"
        # No key, and a field changed on one row: the external_id is the row, so nothing new.
        edited = body.replace("Project 2,", "Project 2 (final),")
        again = _post(http, who, edited).json()
        assert [r["reason"] for r in again["rows"]] == ["already_issued"] * 6
        assert [r["credential_id"] for r in again["rows"]] == ids
        assert again["issued"] == [] and _count(database_url) == 6
        # A revoked row is skipped, and says so, until re-issue is asked for.
        r = http.post(f"/api/v1/credentials/{ids[1]}/revoke", json={}, headers=who.auth)
        assert r.status_code == 200, r.text
        after_revoke = _post(http, who, body).json()["rows"]
        assert after_revoke[1]["outcome"] == "skipped" and after_revoke[1]["reason"] == "revoked"
        assert after_revoke[1]["credential_id"] == ids[1]
        assert _count(database_url) == 6
        reissued = _post(http, who, body, query="?reissue_revoked=true").json()["rows"]
        assert [r["outcome"] for r in reissued].count("issued") == 1
        assert reissued[1]["outcome"] == "issued" and reissued[1]["credential_id"] != ids[1]
        assert _count(database_url) == 7
        twice = _post(http, who, body, query="?reissue_revoked=true").json()["rows"]
        assert twice[1]["reason"] == "already_issued"
        assert twice[1]["credential_id"] == reissued[1]["credential_id"]
        assert _count(database_url) == 7


def test_simultaneous_retries_of_one_batch_issue_each_row_once(
    database_url: str, tmp_path: Path
) -> None:
    settings = _settings(database_url, tmp_path)
    who, achievement = _prepare(settings)
    body = cohort(achievement, 8)
    with _served(settings) as http:
        barrier = threading.Barrier(4)
        answers: list[Any] = [None] * 4

        def send(i: int) -> None:
            barrier.wait(30)
            try:
                answers[i] = _post(http, who, body)
            except Exception as exc:
                answers[i] = exc

        threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert all(isinstance(a, httpx.Response) for a in answers), answers
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:300] for a in answers]
    per_email = _per_email(database_url)
    assert len(per_email) == 8 and set(per_email.values()) == {1}
    by_line: dict[int, set[str]] = {}
    for answer in answers:
        for row in answer.json()["rows"]:
            assert row["outcome"] in ("issued", "skipped"), row
            by_line.setdefault(row["line"], set()).add(row["credential_id"])
    assert all(len(v) == 1 for v in by_line.values()), by_line


# -------------------------------------------------------------- one validation, three ways

BAD_FILE_ROWS = (
    "{a},Ada Good,ada@example.org,Project A,Northwind",
    '{a},"=HYPERLINK(""http://evil.example"")",eve@example.org,Project E,Northwind',
    "{a},Ada Again,ADA@example.org,Project B,Northwind",
    "{a},Bo,bo@example.org,@SUM(1+1),Northwind",
    "{a},Cy Good,cy@example.org,Project C,Northwind",
)


def test_api_cli_and_console_refuse_the_same_rows_with_the_same_words(
    database_url: str, tmp_path: Path
) -> None:
    from badgeworks.services.issuance import bulk
    from badgeworks.services.programs import issuers

    settings = _settings(database_url, tmp_path)
    who, achievement = _prepare(settings)
    body = HEADER + "\n" + "\n".join(r.format(a=achievement) for r in BAD_FILE_ROWS) + "\n"
    # The console's check (what the upload page shows), without issuing anything.
    app = create_app(settings)
    try:
        with app.state.session_factory() as session:
            checked = bulk.check(session, issuers.get_issuer(session, "acme"), body.encode())
            console = {(p["line"], p["message"]) for p in checked.problems}
    finally:
        app.state.engine.dispose()
    assert {line for line, _ in console} == {3, 4, 5}
    assert any("formula" in m for _, m in console) and any("line 2" in m for _, m in console)
    with _served(settings) as http:
        api = _post(http, who, body).json()
    api_problems = {(r["line"], e) for r in api["rejected"] for e in r["errors"]}
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(body.replace("Project A", "Project A2").replace("Project C", "Project C2"))
    code, out, err = _cli_here(settings, "issue-csv", str(csv_file), "--issuer", "acme", "--json")
    assert code == 1, err[-2000:]
    cli = json.loads(out)
    cli_problems = {(r["line"], e) for r in cli["rejected"] for e in r["errors"]}
    assert api_problems == console == cli_problems
    assert [r["outcome"] for r in api["rows"]] == [
        "issued",
        "refused",
        "refused",
        "refused",
        "issued",
    ]
    assert _count(database_url) == 4  # two good rows, twice (the CLI file differs)


# ------------------------------------------------- the web process killed during a job

SERVER = """
import json, sys, time
import uvicorn
from badgeworks.services.issuance import bulk
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
args = json.loads(sys.argv[1])
# A little time per row, so the test can kill the process mid-job.
bulk.checkpoint = lambda stage: time.sleep(args["delay"]) if stage == "row" else None
app = create_app(get_settings(**args["settings"]))
uvicorn.run(app, host="127.0.0.1", port=args["port"], log_level="warning")
"""


def _start_server(settings: Settings, port: int, delay: float) -> subprocess.Popen[str]:
    args = {
        "port": port,
        "delay": delay,
        "settings": {
            "data_dir": str(settings.data_dir),
            "database_url": settings.resolved_database_url,
            "key_secret": TEST_SECRET,
            "public_base_url": settings.public_base_url,
        },
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(settings),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[1][-2000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def _sign_in(http: httpx.Client, email: str) -> str:
    from tests.console_staff import PASSWORD
    from tests.html_page import csrf_of

    page = http.get("/console/login")
    r = http.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303, r.text[:500]
    return csrf_of(http.get("/console/", follow_redirects=True).text)


def test_web_process_killed_during_a_console_job_resumes_without_issuing_twice(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from badgeworks.services.accounts import staff
    from badgeworks.services.programs import issuers
    from tests.console_staff import PASSWORD
    from tests.html_page import csrf_of

    monkeypatch.setattr(staff, "_SCRYPT_N", 2**10)  # a cheap hash; it records its cost
    settings = _settings(database_url, tmp_path)
    who, achievement = _prepare(settings)
    engine_app = create_app(settings)
    try:
        with engine_app.state.session_factory() as session:
            issuer = issuers.get_issuer(session, "acme")
            staff.create_or_add_staff(
                session,
                issuer,
                "owner@acme.example",
                "owner",
                password=PASSWORD,
                actor="test",
                now=engine_app.state.ctx.clock(),
            )
    finally:
        engine_app.state.engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_server(settings, port, delay=0.03)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            csrf = _sign_in(http, "owner@acme.example")
            r = http.post(
                "/console/acme/bulk",
                data={"csrf_token": csrf},
                files={"file": ("cohort.csv", cohort(achievement).encode(), "text/csv")},
            )
            assert r.status_code == 303, r.text[:500]
            job_path = httpx.URL(r.headers["location"]).path
            r = http.post(f"{job_path}/issue", data={"csrf_token": csrf})
            assert r.status_code == 303, r.text[:500]
            for target in (6, 20):
                count = _kill_when(server, database_url, target)
                assert count < ROWS, "the job finished before the kill"
                per_email = _per_email(database_url)
                assert max(per_email.values()) == 1, per_email.most_common(3)
                server = _start_server(settings, port, delay=0.03)
                page = http.get(f"{job_path}?lang=en")
                assert page.status_code == 200
                assert "Interrupted" in page.text and "Resume issuing" in page.text
                assert "Interrumpida" in http.get(f"{job_path}?lang=es").text
                if target != 20:
                    r = http.post(f"{job_path}/resume", data={"csrf_token": csrf_of(page.text)})
                    assert r.status_code == 303, r.text[:500]
            # The last time, the operator resumes it from the command line.
            job_id = job_path.rsplit("/", 1)[1]
            listed = _cli_here(settings, "jobs", "list")[1]
            assert re.search(rf"^{job_id}\tacme\tconsole\tinterrupted\t", listed, re.M), listed
            code, out, err = _cli_here(settings, "jobs", "resume", job_id, "--json")
            assert code == 0, err[-2000:]
            rows = json.loads(out)["rows"]
            assert [r["outcome"] for r in rows] == ["issued"] * ROWS
            page = http.get(f"{job_path}?lang=en").text  # type: ignore[assignment]
            assert "Finished" in page and f"{ROWS} of {ROWS} issued" in page  # type: ignore[operator]
            # Resuming a finished job is refused and changes nothing.
            r = http.post(f"{job_path}/resume", data={"csrf_token": csrf})
            assert r.status_code == 409
            # An API batch cut off by a kill: the client's retry issues only the rest.
            batch = cohort(achievement, 12, start=100)
            cut_off: list[Any] = []
            sender = threading.Thread(
                target=lambda: cut_off.append(_try_post(http, who, batch)), daemon=True
            )
            sender.start()
            assert _kill_when(server, database_url, ROWS + 4) < ROWS + 12
            sender.join(60)
            assert cut_off and not isinstance(cut_off[0], httpx.Response), cut_off
            server = _start_server(settings, port, delay=0.0)
            retry = _post(http, who, batch)
            assert retry.status_code == 200, retry.text[:500]
            outcomes = Counter(r["outcome"] for r in retry.json()["rows"])
            assert outcomes["skipped"] >= 4 and outcomes["issued"] + outcomes["skipped"] == 12
    finally:
        server.kill()
        server.communicate(timeout=30)
    per_email = _per_email(database_url)
    assert len(per_email) == ROWS + 12 and set(per_email.values()) == {1}


def _try_post(http: httpx.Client, who: IssuerHandle, body: str) -> Any:
    try:
        return _post(http, who, body)
    except httpx.HTTPError as exc:
        return exc


# --------------------------------------------------------- leases and automatic resume


def test_a_dead_worker_is_noticed_a_live_one_is_left_alone_and_start_up_resumes(
    database_url: str, tmp_path: Path
) -> None:
    from datetime import timedelta
    from socket import gethostname

    from badgeworks.db.console import BulkJob
    from badgeworks.services.errors import ConflictError
    from badgeworks.services.issuance import bulk_jobs
    from badgeworks.services.programs import issuers

    settings = _settings(database_url, tmp_path, bulk_resume_on_start=True)
    _, achievement = _prepare(settings)
    app = create_app(settings)
    factory = app.state.session_factory
    try:
        with factory() as session:
            issuer = issuers.get_issuer(session, "acme")
            now = datetime.now(UTC)
            jobs = {}
            for name, worker, beat in (
                # Another machine that reported just now: alive, whatever its pid.
                ("remote-live", "elsewhere.example:1:aa", now),
                # Another machine silent for longer than the lease: presumed dead.
                ("remote-silent", "elsewhere.example:1:bb", now - timedelta(seconds=61)),
                # This machine, a process that is gone: dead at once.
                ("local-gone", f"{gethostname()}:999999999:cc", now),
            ):
                job = bulk_jobs.create_job(
                    session,
                    issuer,
                    None,
                    name,
                    cohort(achievement, 3).encode(),
                    actor="t",
                    now=now,
                )
                job.status, job.worker, job.heartbeat_at = "running", worker, beat
                session.add(job)
                session.commit()
                jobs[name] = job.id or 0
            with pytest.raises(ConflictError) as refused:
                bulk_jobs.resume(session, issuer, jobs["remote-live"], lease=60, actor="t", now=now)
            assert refused.value.code == "bulk.running"
        # Start-up: the two dead ones are found and (as configured) resumed.
        assert sorted(bulk_jobs.on_start(factory, app.state.ctx)) == sorted(
            [jobs["remote-silent"], jobs["local-gone"]]
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with factory() as session:
                states = {n: session.get(BulkJob, i).status for n, i in jobs.items()}
            if states["remote-silent"] == states["local-gone"] == "done":
                break
            time.sleep(0.1)
        assert states == {"remote-live": "running", "remote-silent": "done", "local-gone": "done"}
    finally:
        app.state.engine.dispose()
    # The three files were the same three people: issued once, by whichever job ran first.
    assert _per_email(database_url) == Counter({f"p{i}@example.org": 1 for i in range(3)})


# ------------------------------------------------------- revoked rows: skipped unless asked


def _revoke(settings: Settings, credential_id: str) -> None:
    from badgeworks.services.context import build_context
    from badgeworks.services.lifecycle import changes as lifecycle
    from badgeworks.services.programs import issuers

    app = create_app(settings)
    try:
        ctx = build_context(settings, app.state.session_factory)
        with app.state.session_factory() as session:
            issuer = issuers.get_issuer(session, "acme")
            lifecycle.revoke(session, ctx, issuer, credential_id, reason="t", actor="test")
    finally:
        app.state.engine.dispose()


def _wait_done(client: TestClient, job_path: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(f"{job_path}?lang=en").text
        if "Finished" in page:
            return page
        time.sleep(0.1)
    raise AssertionError(page[-2000:])


def test_revoked_rows_are_skipped_until_reissue_is_asked_for_in_cli_and_console(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from badgeworks.services.accounts import staff
    from tests.console_staff import add_staff, sign_in

    monkeypatch.setattr(staff, "_SCRYPT_N", 2**10)
    settings = _settings(database_url, tmp_path)
    _, achievement = _prepare(settings)
    csv_file = tmp_path / "three.csv"
    csv_file.write_text(cohort(achievement, 3), "utf-8")
    code, out, err = _cli_here(settings, "issue-csv", str(csv_file), "--issuer", "acme", "--json")
    assert code == 0, err
    ids = [r["credential_id"] for r in json.loads(out)["rows"]]
    _revoke(settings, ids[0])
    code, out, err = _cli_here(settings, "issue-csv", str(csv_file), "--issuer", "acme")
    assert code == 0, err
    assert f"line 2: skipped, its credential http://127.0.0.1:8000/credentials/{ids[0]}" in err
    assert "--reissue-revoked" in err and "issued 0, skipped 3, refused 0" in err
    assert _count(database_url) == 3
    code, out, err = _cli_here(
        settings, "issue-csv", str(csv_file), "--issuer", "acme", "--reissue-revoked", "--json"
    )
    rows = json.loads(out)["rows"]
    assert [r["outcome"] for r in rows] == ["issued", "skipped", "skipped"]
    assert rows[0]["credential_id"] not in ids and _count(database_url) == 4
    # The console: the same file, with and without the re-issue box ticked.
    _revoke(settings, rows[0]["credential_id"])
    app = create_app(settings)
    try:
        add_staff(app, "acme", "owner@acme.example", "owner")
        client = TestClient(app)
        for tick, issued in ((False, 0), (True, 1)):
            csrf = sign_in(client, "owner@acme.example")
            r = client.post(
                "/console/acme/bulk",
                data={"csrf_token": csrf},
                files={"file": ("three.csv", csv_file.read_bytes(), "text/csv")},
            )
            assert r.status_code == 200, r.text[-500:]
            job_path = r.url.path
            form = {"csrf_token": csrf, **({"reissue_revoked": "true"} if tick else {})}
            assert client.post(f"{job_path}/issue", data=form).status_code == 200
            page = _wait_done(client, job_path)
            assert f"{issued} issued now, {3 - issued} skipped." in page
            assert ("its credential was revoked" in page) is not tick
            assert _count(database_url) == 4 + issued
    finally:
        app.state.engine.dispose()
