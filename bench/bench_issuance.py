"""Issuance speed: ``badgeworks issue-csv`` with many stored candidates, and completions.

    .venv/bin/python bench/bench_issuance.py --candidates 20000 --rows 1000
    .venv/bin/python bench/bench_issuance.py --database-url postgresql+psycopg://…/db

Makes a fresh database (SQLite in a temporary folder unless ``--database-url`` names an
empty one), seeds the demo, stores ``--candidates`` more candidates of the demo issuer with
plain inserts, then times:

- ``issue-csv``: the service command, in this process, on a CSV of ``--rows`` new rows
  against the demo achievement;
- ``complete``: ``--projects`` draft projects completed one by one through
  ``completion.complete_project`` (and the SQL statements each one runs).

Prints rates per second of wall clock, the CPU seconds this process used (on a shared
machine the wall clock also counts other processes' turns) and the statements per
credential.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import select as sm_select

from badgeworks.cli_service import service_commands
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.db.models import Achievement, Candidate, Issuer
from badgeworks.services.context import build_context
from badgeworks.settings import get_settings

SECRET = "bench-only-key-secret-0123456789"


def _seed_candidates(engine: object, issuer_id: int, count: int) -> None:
    from badgeworks.db import models

    email_table = getattr(models, "CandidateEmail", None)
    with engine.begin() as conn:  # type: ignore[attr-defined]
        first = conn.execute(select(Candidate.id).order_by(Candidate.id.desc())).first()  # type: ignore[union-attr]
        start = (first[0] if first else 0) + 1
        for base in range(0, count, 1000):
            rows = [
                {
                    "id": start + base + i,
                    "issuer_id": issuer_id,
                    "name": f"Seeded {base + i}",
                    "emails": [f"seeded{base + i}@example.org"],
                    "salt": secrets.token_hex(16),
                    "created_at": None,
                }
                for i in range(min(1000, count - base))
            ]
            from datetime import UTC, datetime

            for r in rows:
                r["created_at"] = datetime.now(UTC)
            conn.execute(insert(Candidate.__table__), rows)  # type: ignore[attr-defined]
            if email_table is not None:
                conn.execute(
                    insert(email_table.__table__),
                    [
                        {"candidate_id": r["id"], "issuer_id": issuer_id, "email": r["emails"][0]}
                        for r in rows
                    ],
                )
        if engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('candidate', 'id'), "
                "(SELECT max(id) FROM candidate))"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--show-statements", action="store_true", help="print the SQL of one completion"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-issuance-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    env = {
        "BADGEWORKS_DATABASE_URL": url,
        "BADGEWORKS_DATA_DIR": str(folder / "data"),
        "BADGEWORKS_KEY_SECRET": SECRET,
    }
    os.environ.update(env)
    runner = CliRunner()
    out = runner.invoke(service_commands, ["seed-demo"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    settings = get_settings()
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_session_factory(engine)
    ctx = build_context(settings, factory)
    with factory() as session:
        issuer = session.exec(sm_select(Issuer).where(Issuer.slug == "demo-academy")).one()
        achievement = session.exec(
            sm_select(Achievement).where(Achievement.issuer_id == issuer.id)
        ).first()
        assert achievement is not None
        issuer_id, achievement_id = issuer.id or 0, achievement.id or 0
    _seed_candidates(engine, issuer_id, args.candidates)

    statements = [0]
    shown: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_a: object) -> None:
        statements[0] += 1
        if args.show_statements:
            shown.append(" ".join(sql.split())[:150])

    # Every engine of this process: ``issue-csv`` builds its own.
    event.listen(Engine, "before_cursor_execute", count)

    # issue-csv
    csv_file = folder / "cohort.csv"
    lines = ["achievement_id,candidate_name,candidate_email,project_title,host_name,external_id"]
    lines += [
        f"{achievement_id},Row {i},row{i}@example.org,Project {i},Host,row-{i}"
        for i in range(args.rows)
    ]
    csv_file.write_text("\n".join(lines) + "\n", "utf-8")
    t0, cpu0 = time.perf_counter(), time.process_time()
    out = runner.invoke(
        service_commands,
        ["issue-csv", str(csv_file), "--issuer", "demo-academy", "--json"],
        catch_exceptions=False,
    )
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert out.exit_code == 0, out.output[-2000:]
    print(
        f"issue-csv: {args.rows} rows, {args.candidates} seeded candidates, "
        f"{engine.dialect.name}: {elapsed:.2f} s, {args.rows / elapsed:.1f} rows/s, "
        f"{cpu:.2f} s of CPU, {statements[0] / args.rows:.1f} statements per row",
        file=sys.stderr,
    )

    # complete-project
    from badgeworks.services.issuance import completion
    from badgeworks.services.programs import projects
    from badgeworks.services.programs.models import ProjectCreate

    with factory() as session:
        issuer = session.get(Issuer, issuer_id)
        assert issuer is not None
        candidate_id = session.exec(
            sm_select(Candidate.id).where(Candidate.issuer_id == issuer_id)
        ).first()
        ids = []
        for i in range(args.projects):
            data = ProjectCreate.model_validate(
                {
                    "achievement_id": achievement_id,
                    "candidate_id": candidate_id,
                    "title": f"Bench {i}",
                    "host": {"name": "Host"},
                }
            )
            ids.append(
                projects.create_project(session, issuer, data, actor="bench", now=ctx.clock()).id
            )
    statements[0] = 0
    shown.clear()
    t0 = time.perf_counter()
    for n, project_id in enumerate(ids):
        if n == 1 and shown:
            print("\n".join(shown), file=sys.stderr)
            args.show_statements = False
        with factory() as session:
            issuer = session.get(Issuer, issuer_id)
            assert issuer is not None
            completion.complete_project(session, ctx, issuer, project_id or 0, actor="bench")
    elapsed = time.perf_counter() - t0
    print(
        f"complete: {args.projects} projects: {args.projects / elapsed:.1f} /s, "
        f"{(statements[0] - args.projects) / args.projects:.1f} statements each "
        "(not counting the issuer look-up)",
        file=sys.stderr,
    )
    engine.dispose()


if __name__ == "__main__":
    main()
