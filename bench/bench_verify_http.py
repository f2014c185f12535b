"""POST /api/v1/verify of a hosted credential, in a loop, through the app in process.

    .venv/bin/python -m bench.bench_verify_http [--db sqlite|postgresql] [--n 200]
    .venv/bin/python -m bench.bench_verify_http --db postgresql --wrk 20   # served, wrk

Seeds the demo (a did:web issuer we host, a credential with a revocation entry and
deliverables) into a fresh database, then posts the credential to the public verifier's
API ``--n`` times with Starlette's ``TestClient``. Prints the mean and median time per
request and the SQL statements one request runs (counted with SQLAlchemy's
``before_cursor_execute`` event). PostgreSQL: a scratch database ``bench_verify`` on
127.0.0.1:5432 (user postgres) is dropped and made again.

``--wrk SECONDS`` serves the app with uvicorn on a loopback port instead and drives it
with ``wrk`` (2 threads, 8 connections) posting the same body; it prints wrk's summary.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from badgeworks.services.demo import seed_demo
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_verify"


def _fresh_pg() -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_verify WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_verify"))
    admin.dispose()
    return PG_URL


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--wrk", type=int, default=0, help="seconds of wrk against a served app")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    url = _fresh_pg() if args.db == "postgresql" else f"sqlite:///{data / 'bench.db'}"
    settings = get_settings(
        data_dir=data,
        database_url=url,
        key_secret="bench-only-key-secret-0123456789",
        public_base_url="http://127.0.0.1:8000",
        verify_rate_per_minute=0,
        verify_rate_burst=0,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        ctx = app.state.ctx
        with app.state.session_factory() as session:
            demo = seed_demo(session, ctx)
        body = client.get(demo.json_url.removeprefix(ctx.base_url)).content
        credential = json.loads(body)
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        if args.wrk:
            _wrk(app, body, args.wrk, data)
            return
        event.listen(app.state.engine, "before_cursor_execute", count)
        times = []
        for i in range(args.n + 5):
            statements = 0
            start = time.perf_counter()
            response = client.post("/api/v1/verify", json={"credential": credential})
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.text
            assert response.json()["verdict"] == "verified", response.text
            if i >= 5:  # warm-up
                times.append(elapsed)
        print(
            f"{args.db}: n={args.n} mean={statistics.mean(times) * 1000:.2f} ms "
            f"median={statistics.median(times) * 1000:.2f} ms "
            f"statements/request={statements}"
        )


def _wrk(app: object, credential: bytes, seconds: int, data: Path) -> None:
    """Serve ``app`` on a loopback port and run wrk against POST /api/v1/verify."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="off"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    payload = json.dumps({"credential": json.loads(credential)})
    script = data / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(payload)}\n"
    )
    url = f"http://127.0.0.1:{port}/api/v1/verify"
    try:
        result = subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        )
        print(result.stdout)
    finally:
        server.should_exit = True
        thread.join()


if __name__ == "__main__":
    main()
