"""Where the time goes over HTTP: serve the app in this process and drive one scenario.

    .venv/bin/python bench/profile_http.py --scenario verify [--seconds 10] [--profile OUT]

Scenarios: ``health`` (GET /api/v1/health: what every request pays), ``portfolio``
(GET /p/{handle}, 20 credentials), ``credential`` (a credential's HTML page), ``verify``
(POST /api/v1/verify of a hosted credential), ``vcapi`` (POST /credentials/verify of the
same credential), ``complete`` (POST /api/v1/projects/{id}/complete, each draft once).
It seeds the demo and ``--drafts`` draft projects into a fresh SQLite database
(``bench/http_seed.py``), serves the app with uvicorn (one process, one event loop) on a
loopback port, and drives it with wrk (``bench/http_requests.lua``) at ``--concurrency``.
With ``--profile OUT`` it samples this process with py-spy while wrk runs (200 Hz, raw
format, only the thread holding the GIL); ``bench/profile_shares.py`` reads the result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402

from badgeworks.settings import get_settings  # noqa: E402
from badgeworks.web.app import create_app  # noqa: E402
from bench.bench_http import free_port, run_wrk, write_requests  # noqa: E402
from bench.http_seed import seed  # noqa: E402

PY_SPY = Path(sys.executable).parent / "py-spy"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scenario", choices=["health", "portfolio", "credential", "verify", "vcapi", "complete"]
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--drafts", type=int, default=600)
    parser.add_argument("--profile", default="", help="py-spy raw output file")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="profile-http-"))
    port = free_port()
    settings = get_settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'bench.db'}",
        key_secret="bench-only-key-secret-0123456789",
        public_base_url=f"http://127.0.0.1:{port}",
        verify_rate_per_minute=0,
        verify_rate_burst=0,
    )
    drafts = args.drafts if args.scenario == "complete" else 0
    seeded = seed(settings, credentials=20, drafts=drafts, processes=1, samples=5)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    document = json.loads(seeded.documents[0])
    headers: list[str] = []
    if args.scenario == "health":
        lines = [("GET", "/api/v1/health", "")]
    elif args.scenario == "portfolio":
        lines = [("GET", f"/p/{handle}", "") for handle in seeded.portfolio_handles]
    elif args.scenario == "credential":
        lines = [("GET", f"/credentials/{i}", "") for i in seeded.credential_ids]
        headers = ["Accept: text/html"]
    elif args.scenario == "verify":
        lines = [("POST", "/api/v1/verify", json.dumps({"credential": document}))]
        headers = ["Content-Type: application/json"]
    elif args.scenario == "vcapi":
        lines = [("POST", "/credentials/verify", json.dumps({"verifiableCredential": document}))]
        headers = ["Content-Type: application/json"]
    else:
        lines = [("POST", f"/api/v1/projects/{i}/complete", "") for i in seeded.draft_project_ids]
        headers = [f"Authorization: Bearer {seeded.token}"]
    requests = write_requests(data / "requests", lines)
    base = f"http://127.0.0.1:{port}"
    # warm-up (caches, compiled schemas), not measured
    if args.scenario != "complete":
        run_wrk(base, requests, 2, 1, headers)
    spy = None
    if args.profile:
        spy = subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "-r",
                "200",
                "-o",
                args.profile,
                "--format",
                "raw",
                "--gil",
                "--pid",
                str(os.getpid()),
                "-d",
                str(args.seconds),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
    result = run_wrk(base, requests, args.concurrency, args.seconds, headers)
    if spy is not None:
        spy.wait()
    seconds = result["duration_us"] / 1e6
    print(
        f"{args.scenario} c={args.concurrency}: {result['requests'] / seconds:.1f} req/s, "
        f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, "
        f"2xx {result['status_2xx']} / {result['requests']} "
        f"({result['status_2xx'] / seconds:.1f} 2xx/s; a completion is 2xx once per draft)"
    )
    server.should_exit = True
    thread.join()


if __name__ == "__main__":
    main()
