"""Memory over a long run: the served service under steady load, its size read every round.

Run: ``.venv/bin/python bench/soak_http.py [--minutes 10] [--credentials 20000]
[--store sqlite|postgresql] [--concurrency 10]``. See "Memory over a long run" in
docs/performance.md.

Seeds like ``bench_http.py`` (real signed credentials), starts ``badgeworks serve
--workers 1``, and for ``--minutes`` rounds of one minute drives it with ``wrk`` over the
portfolio pages, the credential pages and ``POST /api/v1/verify`` in turn (a third of the
minute each), then prints the server's resident memory, the requests answered and the
non-2xx answers of that round. The bounded memories (kept reports, readings, hosted
look-ups, schema answers) fill in the first rounds; after that the size should stay flat.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import http_report as report  # noqa: E402
from bench.bench_http import (  # noqa: E402
    HTML,
    KEY_SECRET,
    Server,
    free_port,
    no_database,
    pg_database,
    request_files,
    run_wrk,
    say,
    serve_env,
    serve_supports_workers,
)
from bench.http_seed import seed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--credentials", type=int, default=20000)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    from pydantic import SecretStr

    from badgeworks.settings import Settings

    with tempfile.TemporaryDirectory(prefix="badgeworks-soak-") as tmp:
        work = Path(tmp)
        database = pg_database() if args.store == "postgresql" else no_database()
        with database as url:
            data = work / "data"
            data.mkdir()
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            settings = Settings(
                data_dir=data,
                database_url=url,
                public_base_url=base,
                key_secret=SecretStr(KEY_SECRET),
            )
            say(f"[{args.store}] seeding {args.credentials:,} credentials …")
            seeded = seed(settings, credentials=args.credentials, per_portfolio=20)
            env = serve_env(data, base, url)
            files = request_files(work / "requests", seeded)
            extra = ["--workers", "1"] if serve_supports_workers() else []
            server = Server(env, port, work / "serve.log", extra)
            try:
                print(f"| minute | RSS MiB | requests | non-2xx | 5xx |  (c={args.concurrency})")
                print("|---:|---:|---:|---:|---:|")
                print(f"| 0 | {server.rss() / 2**20:.0f} | | | |", flush=True)
                rounds = [
                    (report.PORTFOLIO, [HTML]),
                    (report.CREDENTIAL_PAGE, [HTML]),
                    (report.VERIFY, ["Content-Type: application/json"]),
                ]
                for minute in range(1, args.minutes + 1):
                    done = non_2xx = five = 0
                    for scenario, headers in rounds:
                        result = run_wrk(base, files[scenario], args.concurrency, 20, headers)
                        done += result["requests"]
                        non_2xx += result["requests"] - result["status_2xx"]
                        five += result["status_5xx"]
                    print(
                        f"| {minute} | {server.rss() / 2**20:.0f} | {done:,} | {non_2xx} "
                        f"| {five} |",
                        flush=True,
                    )
            finally:
                server.stop()


if __name__ == "__main__":
    main()
