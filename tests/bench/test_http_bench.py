"""The HTTP benchmark's own code on a tiny scale: the seeded credentials are real and
verify, the seeded drafts complete through the service, and the report counts right."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
from bench.bench_http import run_wrk
from bench.http_seed import seed
from pydantic import SecretStr
from sqlmodel import Session, col, func, select

from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.models import Credential, Issuer, Project
from badgeworks.db.status import StatusEntry
from badgeworks.services.context import build_context
from badgeworks.services.issuance import completion
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs import candidates, projects
from badgeworks.services.programs.models import CandidateCreate, ProjectCreate
from badgeworks.services.verification import pipeline
from badgeworks.settings import Settings
from bench import http_report as report

BASE = "http://127.0.0.1:8123"
SECRET = "bench-test-key-secret-" + "y" * 24


def test_seeded_credentials_verify_and_drafts_complete(database_url: str, tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        public_base_url=BASE,
        key_secret=SecretStr(SECRET),
    )
    seeded = seed(settings, credentials=5, per_portfolio=3, drafts=2, processes=1, samples=10)
    engine = make_engine(settings)
    try:
        factory = make_session_factory(engine)
        ctx = build_context(settings, factory)
        with factory() as session:
            rows = list(session.exec(select(Credential).order_by(col(Credential.issued_at))))
            # The demo's credential and the five seeded ones.
            assert len(rows) == 6
            assert sorted(seeded.credential_ids) == sorted(
                r.id for r in rows if r.project_id and _title(session, r).count("#")
            )
            for row in rows:
                document = json.loads(row.document)
                result = pipeline.verify(ctx, document)
                assert result.report.verdict == "verified", (row.id, result.report)
                entry = session.exec(
                    select(StatusEntry).where(StatusEntry.credential_id == row.id)
                ).one()
                assert int(document["credentialStatus"]["statusListIndex"]) == entry.index
            assert status_lists.check(session) == []
            # Groups of 3 and 2: one portfolio holds per_portfolio credentials.
            assert len(seeded.portfolio_handles) == 1
            assert seeded.documents and all(d.endswith("}\n") for d in seeded.documents)
            # The drafts are real projects: the service completes them (on PostgreSQL this
            # needs the id sequences moved past the seeded rows).
            assert len(seeded.draft_project_ids) == 2
            issuer = session.exec(select(Issuer)).one()
            for project_id in seeded.draft_project_ids:
                row = completion.complete_project(session, ctx, issuer, project_id, actor="test")
                assert pipeline.verify(ctx, json.loads(row.document)).report.verdict == "verified"
            assert session.exec(select(func.count()).select_from(Credential)).one() == 8
            # New rows after the seeded ones get fresh ids.
            candidate = candidates.create_candidate(
                session,
                issuer,
                CandidateCreate(name="After", emails=["after@example.org"]),
                actor="test",
                now=ctx.clock(),
            )
            project = projects.create_project(
                session,
                issuer,
                ProjectCreate.model_validate(
                    {
                        "achievement_id": seeded.achievement_id,
                        "candidate_id": candidate.id,
                        "title": "After",
                        "host": {"name": "Northwind Traders"},
                    }
                ),
                actor="test",
                now=ctx.clock(),
            )
            row = completion.complete_project(session, ctx, issuer, project.id or 0, actor="test")
            assert pipeline.verify(ctx, json.loads(row.document)).report.verdict == "verified"
    finally:
        engine.dispose()


def _title(session: Session, row: Credential) -> str:
    project = session.get(Project, row.project_id)
    assert project is not None
    return project.title


def _points() -> list[report.Point]:
    return [
        report.Point("sqlite", report.HEALTH, 10, 10_000, 5.0, 1, 2, 3),
        report.Point("sqlite", report.PORTFOLIO, 10, 6_000, 5.0, 5, 10, 20),
        report.Point("sqlite", report.CREDENTIAL_PAGE, 10, 6_000, 5.0, 5, 10, 31),
        report.Point("sqlite", report.VERIFY, 10, 3_000, 5.0, 5, 10, 20, non_2xx=1, wrong=1),
        report.Point("sqlite", report.BULK, 1, 1000, 14.0),
        report.Point("sqlite", report.BULK, 1, 999, 9.0, failed=1),
    ]


def test_report_judges_each_row_against_its_target():
    points = _points()
    met = [report.verdict(p, points)[1] for p in points]
    # portfolio 60% of health, p99 20 ms: met; credential page p99 31 ms: not met;
    # verify (no speed target at c=10) with a wrong verdict: not met; bulk in 14 s: met;
    # bulk with a row not issued: not met.
    assert met == [None, True, False, False, True, False]
    assert report.health_share(points[1], points) == pytest.approx(0.6)
    table = report.format_table(points)
    assert table.count("\n") == len(points) + 1
    assert "≥50% health, p99≤30ms @c=10" in table


def test_report_reads_the_lua_result_line():
    line = (
        'BENCH_RESULT {"requests": 10, "duration_us": 2000000, "p50_us": 1000, "p95_us": 2000, '
        '"p99_us": 3000, "max_us": 4000, "status_2xx": 7, "status_4xx": 1, "status_5xx": 2, '
        '"status_503": 1, "status_other": 0, "wrong": 1, "connect_errors": 0, "read_errors": 1, '
        '"write_errors": 0, "timeouts": 2}'
    )
    found = report.parse_wrk("Running 2s test\n" + line + "\n")
    point = report.point_from_wrk("sqlite", report.VERIFY, 1, found)
    assert (point.per_second, point.p99_ms, point.non_2xx, point.status_5xx) == (5, 3, 3, 2)
    assert (point.failed, point.wrong, point.status_503) == (3, 1, 1)
    with pytest.raises(ValueError):
        report.parse_wrk("no result")


class _Answers(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status, verdict = {
            b"ok": (200, "verified"),
            b"bad": (422, "not_verified"),
            b"busy": (503, ""),
        }.get(body, (500, ""))
        answer = json.dumps({"verdict": verdict}, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_script_counts_statuses_and_wrong_verdicts(tmp_path: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        requests = tmp_path / "requests"
        requests.write_text("POST\t/v\tok\nPOST\t/v\tbad\nPOST\t/v\tboom\nPOST\t/v\tbusy\n")
        found = run_wrk(
            f"http://127.0.0.1:{server.server_address[1]}",
            requests,
            1,
            1,
            ["Content-Type: text/plain"],
            expect='"verdict":"verified"',
        )
    finally:
        server.shutdown()
        server.server_close()
    n = found["requests"]
    assert n >= 4
    # One connection sends the four lines in turn: a quarter of each.
    assert abs(found["status_2xx"] - n / 4) <= 1
    assert abs(found["status_4xx"] - n / 4) <= 1
    assert abs(found["status_5xx"] - n / 2) <= 1
    assert abs(found["status_503"] - n / 4) <= 1
    assert found["wrong"] == found["status_4xx"]
