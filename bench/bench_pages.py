"""Portfolio page speed: ``GET /p/{handle}`` of a portfolio with ``--credentials`` badges.

    .venv/bin/python bench/bench_pages.py --credentials 20 --views 30
    .venv/bin/python bench/bench_pages.py --pages portfolio,credential,health
    .venv/bin/python bench/bench_pages.py --database-url postgresql+psycopg://…/db

Makes a fresh database (SQLite in a temporary folder unless ``--database-url`` names an
empty one), an issuer, one candidate with ``--credentials`` completed projects (each with
one uploaded deliverable) and a public portfolio, all through the API with the FastAPI
``TestClient``. Then renders the portfolio page ``--views`` times after one warm-up view
and prints the mean and median time per view, the process CPU time per view (client and
app together: steadier than wall time on a busy machine) and the SQL statements per
view. With ``--cold`` the kept verification reports (and the kept readings of stored
texts and finished pages) are dropped before each view (what the first view after a
change costs). ``--pages`` names
what is viewed, each in turn in the same process: ``portfolio`` (the default),
``credential`` (the first credential's HTML page) and ``health`` (``GET /api/v1/health``,
what a request costs that reads nothing).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text

from badgeworks.services.accounts import tokens
from badgeworks.services.programs import issuers
from badgeworks.services.programs.models import IssuerCreate
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app

SECRET = "bench-only-key-secret-0123456789"
BASE = "http://127.0.0.1:8000"


def _seed(client: TestClient, auth: dict[str, str], count: int) -> str:
    def ok(r: Any, status: int = 201) -> dict[str, Any]:
        assert r.status_code == status, r.text
        return dict(r.json())

    ach = ok(
        client.post(
            "/api/v1/issuers/acme/achievements",
            json={
                "name": "Data Analysis Micro-internship",
                "description": "Completed a mentored data analysis project.",
                "criteria_narrative": "Delivered a cleaned dataset and a written report.",
                "in_language": "en",
            },
            headers=auth,
        )
    )["id"]
    candidate = ok(
        client.post(
            "/api/v1/issuers/acme/candidates",
            json={"name": "Ada Lovelace", "emails": ["ada@example.org"]},
            headers=auth,
        )
    )["id"]
    for n in range(count):
        project = ok(
            client.post(
                "/api/v1/issuers/acme/projects",
                json={
                    "achievement_id": ach,
                    "candidate_id": candidate,
                    "title": f"Project {n}",
                    "summary": "Cleaned two years of sales data.",
                    "host": {"name": "Northwind Traders", "url": "https://northwind.example"},
                    "start_date": "2025-03-03",
                    "end_date": "2025-03-28",
                },
                headers=auth,
            )
        )["id"]
        ok(
            client.post(
                f"/api/v1/projects/{project}/deliverables",
                files={"file": ("notes.txt", f"notes {n}".encode() * 200, "text/plain")},
                data={"name": "Notes"},
                headers=auth,
            )
        )
        ok(client.post(f"/api/v1/projects/{project}/complete", headers=auth))
    ok(
        client.patch(
            f"/api/v1/candidates/{candidate}/portfolio",
            json={"handle": "bench-portfolio", "visibility": "public"},
            headers=auth,
        ),
        200,
    )
    return "/p/bench-portfolio"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=20)
    parser.add_argument("--views", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--cold", action="store_true", help="drop kept reports before views")
    parser.add_argument(
        "--pages", default="portfolio", help="comma-separated: portfolio, credential, health"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = get_settings(
            data_dir=Path(tmp) / "data",
            database_url=args.database_url or f"sqlite:///{tmp}/bench.db",
            key_secret=SECRET,
            public_base_url=BASE,
        )
        app = create_app(settings)
        ctx = app.state.ctx
        with app.state.session_factory() as session:
            issuer = issuers.create_issuer(
                session, ctx, IssuerCreate(slug="acme", name="Acme Academy"), actor="bench"
            )
            _, token = tokens.create_token(session, issuer, label="b", actor="b", now=ctx.clock())
        client = TestClient(app)
        portfolio = _seed(client, {"Authorization": f"Bearer {token}"}, args.credentials)
        with app.state.engine.connect() as conn:
            first = conn.execute(text("SELECT id FROM credential ORDER BY id LIMIT 1")).scalar()
        paths = {
            "portfolio": portfolio,
            "credential": f"/credentials/{first}",
            "health": "/api/v1/health",
        }
        drops = []
        for module, name in (
            ("badgeworks.services.verification.kept", "KEPT"),
            ("badgeworks.services.portfolio.readings", "READINGS"),
            ("badgeworks.services.portfolio.page_memo", "PAGES"),
        ):
            try:  # absent in older trees
                drops.append(getattr(importlib.import_module(module), name).clear)
            except (ImportError, AttributeError):
                continue
        html = {"Accept": "text/html"}
        statements: list[str] = []
        event.listen(app.state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        for page in args.pages.split(","):
            path = paths[page.strip()]
            assert client.get(path, headers=html).status_code == 200  # warm-up
            times = []
            statements.clear()
            cpu = time.process_time()
            for _ in range(args.views):
                if args.cold:
                    for drop in drops:
                        drop()
                start = time.perf_counter()
                r = client.get(path, headers=html)
                times.append(time.perf_counter() - start)
                assert r.status_code == 200
            cpu = time.process_time() - cpu
            print(
                f"{page.strip()}: {args.credentials} credentials, {args.views} views"
                f"{' (cold)' if args.cold else ''}: mean {statistics.mean(times) * 1000:.2f} ms, "
                f"median {statistics.median(times) * 1000:.2f} ms, "
                f"CPU {cpu / args.views * 1000:.2f} ms, "
                f"{len(statements) / args.views:.0f} statements per view"
            )
        app.state.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
