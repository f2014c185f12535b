"""Throughput and latency of the served service, with many stored credentials.

Run: ``make bench-http`` (or ``.venv/bin/python bench/bench_http.py [--credentials N]
[--stores sqlite,postgresql] [--duration S] [--concurrency 1,10,50,200]``). See the
"HTTP benchmark" section of docs/performance.md for what it does and how to read it.

For each store it seeds a fresh database (``bench/http_seed.py``: real signed credentials),
starts ``badgeworks serve`` on a free port as a subprocess, drives it with ``wrk``
(``bench/http_requests.lua``) and prints one table row per scenario and concurrency, with
the targets beside the figures. PostgreSQL runs in a throwaway database, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import http_report as report  # noqa: E402
from bench.http_seed import Seeded, seed  # noqa: E402

LUA = Path(__file__).parent / "http_requests.lua"
BADGEWORKS = Path(sys.executable).parent / "badgeworks"
PG_ADMIN_URL = os.environ.get(
    "BADGEWORKS_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
KEY_SECRET = "bench-http-key-secret-" + "x" * 24
HTML = "Accept: text/html,application/xhtml+xml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            todo.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) spent so far by ``pid`` and every process below it."""
    ticks = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and every process below it."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


@contextmanager
def pg_database() -> Iterator[str]:
    """A new PostgreSQL database (its URL), dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"badgeworks_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def serve_env(data: Path, base: str, database_url: str | None) -> dict[str, str]:
    """The environment ``badgeworks serve`` runs with over the seeded data."""
    env = {
        **os.environ,
        "BADGEWORKS_DATA_DIR": str(data),
        "BADGEWORKS_PUBLIC_BASE_URL": base,
        "BADGEWORKS_KEY_SECRET": KEY_SECRET,
        # One load generator is one client address: the per-address limit is off.
        "BADGEWORKS_VERIFY_RATE_PER_MINUTE": "0",
        "BADGEWORKS_VERIFY_RATE_BURST": "0",
    }
    if database_url:
        env["BADGEWORKS_DATABASE_URL"] = database_url
    return env


def serve_supports_workers() -> bool:
    out = subprocess.run(
        [str(BADGEWORKS), "serve", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return "--workers" in out


class Server:
    """``badgeworks serve`` as a subprocess, its output in ``log``."""

    def __init__(self, env: dict[str, str], port: int, log: Path, extra: list[str]) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(BADGEWORKS), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"badgeworks serve exited; see {log}")
            try:
                with urllib.request.urlopen(self.base + "/api/v1/health", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"badgeworks serve did not answer in 120 s; see {log}")

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)

    def settle(self, limit: float = 120) -> None:
        """Wait until the server is idle (under 5% of a core for half a second), so requests
        still queued from one point are not counted against the next."""
        deadline = time.monotonic() + limit
        before = cpu_seconds(self.proc.pid)
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = cpu_seconds(self.proc.pid)
            if now - before < 0.025:
                return
            before = now
        say(f"the server was still busy after {limit:.0f} s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def write_requests(path: Path, lines: list[tuple[str, str, str]]) -> Path:
    with path.open("w") as fh:
        for method, target, body in lines:
            assert "\n" not in body and "\t" not in body
            fh.write(f"{method}\t{target}\t{body}\n")
    return path


def run_wrk(
    base: str,
    requests: Path,
    concurrency: int,
    seconds: float,
    headers: list[str],
    expect: str | None = None,
) -> dict[str, int]:
    threads = min(concurrency, 2)
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests),
        "BENCH_THREADS": str(threads),
        "BENCH_HEADERS": "\n".join(headers),
    }
    if expect:
        env["BENCH_EXPECT"] = expect
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA),
            base + "/",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr}{out.stdout}")
    return report.parse_wrk(out.stdout)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 900) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def verified_text(base: str, document: str) -> str:
    """The text a verified answer holds, read off one real answer (which must be 200)."""
    status, answer = post(
        base + "/api/v1/verify", document.encode(), {"Content-Type": "application/json"}
    )
    if status != 200 or not isinstance(answer, dict) or answer.get("verdict") != "verified":
        raise RuntimeError(f"a seeded credential did not verify: {status} {str(answer)[:500]}")
    return '"verdict":"verified"'


def bulk_csv(achievement_id: int, rows: int) -> bytes:
    tag = secrets.token_hex(4)
    lines = ["external_id,achievement_id,candidate_name,candidate_email,project_title,host_name"]
    lines += [
        f"B-{tag}-{i},{achievement_id},Bulk Candidate {i},bulk-{tag}-{i}@example.org,"
        f"Bulk project {i},Northwind"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def measure_store(store: str, args: argparse.Namespace, work: Path) -> tuple[list[Any], str]:
    points: list[report.Point] = []
    with pg_database() if store == "postgresql" else no_database() as url:
        from pydantic import SecretStr

        from badgeworks.settings import Settings

        data = work / store
        data.mkdir()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = Settings(
            data_dir=data,
            database_url=url,
            public_base_url=base,
            key_secret=SecretStr(KEY_SECRET),
        )
        say(f"[{store}] seeding {args.credentials:,} credentials …")
        seeded = seed(
            settings,
            credentials=args.credentials,
            per_portfolio=args.per_portfolio,
            drafts=args.drafts,
            processes=args.processes,
            progress=lambda m: say(f"[{store}] {m}") if "000/" in m else None,
        )
        say(f"[{store}] seeded in {seeded.seconds:.0f} s")
        env = serve_env(data, base, url)
        files = request_files(work / f"{store}-requests", seeded)
        log = work / f"{store}-serve.log"
        # One worker process unless asked: `serve --workers` defaults to the core count.
        workers = serve_supports_workers()
        server = Server(env, port, log, ["--workers", "1"] if workers else [])
        memory = [server.rss()]
        try:
            expect = verified_text(base, seeded.documents[0])
            drafts = iter(seeded.draft_project_ids)
            points += _scenarios(store, args, server, seeded, files, expect, drafts, "")
            say(f"[{store}] bulk issuing {args.bulk_rows} rows …")
            server.settle()
            started = time.perf_counter()
            status, answer = post(
                f"{base}/api/v1/issuers/{seeded.issuer_slug}/batches",
                bulk_csv(seeded.achievement_id, args.bulk_rows),
                {"Content-Type": "text/csv", "Authorization": f"Bearer {seeded.token}"},
            )
            took = time.perf_counter() - started
            rows = answer.get("rows", []) if isinstance(answer, dict) else []
            issued = sum(1 for r in rows if r.get("outcome") == "issued")
            points.append(
                report.Point(
                    store,
                    report.BULK,
                    1,
                    issued,
                    took,
                    non_2xx=int(status >= 300),
                    status_5xx=int(status >= 500),
                    # For bulk issuing, "failed" counts the rows that were not issued.
                    failed=args.bulk_rows - issued,
                )
            )
            memory.append(server.rss())
        finally:
            server.stop()
        if args.workers_run and workers:
            server = Server(env, port, log, ["--workers", "2"])
            try:
                points += _scenarios(
                    store, args, server, seeded, files, expect, drafts, "--workers 2"
                )
            finally:
                server.stop()
    note = (
        f"[{store}] {seeded.credentials:,} credentials seeded in {seeded.seconds:.0f} s; "
        f"server RSS {memory[0] / 2**20:.0f} MiB at start, {memory[-1] / 2**20:.0f} MiB "
        "at the end"
    )
    return points, note


@contextmanager
def no_database() -> Iterator[None]:
    yield None


def request_files(folder: Path, seeded: Seeded) -> dict[str, Path]:
    folder.mkdir()
    compact = [json.dumps(json.loads(d), separators=(",", ":")) for d in seeded.documents]
    return {
        report.HEALTH: write_requests(folder / "health", [("GET", "/api/v1/health", "")]),
        report.PORTFOLIO: write_requests(
            folder / "portfolio", [("GET", f"/p/{h}", "") for h in seeded.portfolio_handles]
        ),
        report.CREDENTIAL_PAGE: write_requests(
            folder / "credential", [("GET", f"/credentials/{i}", "") for i in seeded.credential_ids]
        ),
        report.VERIFY: write_requests(
            folder / "verify", [("POST", "/api/v1/verify", d) for d in compact]
        ),
    }


def _scenarios(
    store: str,
    args: argparse.Namespace,
    server: Server,
    seeded: Seeded,
    files: dict[str, Path],
    expect: str,
    drafts: Iterator[int],
    flags: str,
) -> list[report.Point]:
    points: list[report.Point] = []
    levels = sorted({*args.concurrency, args.issue_concurrency})
    reads = [] if flags else [report.PORTFOLIO, report.CREDENTIAL_PAGE, report.VERIFY]
    if reads:
        _first_views(store, server, seeded)
    for c in levels if not flags else [args.issue_concurrency]:
        for scenario in [report.HEALTH, *(reads if c in args.concurrency else [])]:
            headers = [HTML] if scenario in (report.PORTFOLIO, report.CREDENTIAL_PAGE) else []
            if scenario == report.VERIFY:
                headers = ["Content-Type: application/json"]
            server.settle()
            result = run_wrk(
                server.base,
                files[scenario],
                c,
                args.duration,
                headers,
                expect if scenario == report.VERIFY else None,
            )
            point = report.point_from_wrk(store, scenario, c, result, server=flags)
            say(
                f"[{store}] {scenario} c={c}{' ' + flags if flags else ''}: "
                f"{point.per_second:,.0f}/s p99 {point.p99_ms:.1f} ms"
            )
            points.append(point)
    # Issuing: each request completes a draft project seeded for it.
    c = args.issue_concurrency
    wanted = [next(drafts, None) for _ in range(args.issue_requests)]
    ids = [i for i in wanted if i is not None]
    if len(ids) < len(wanted):
        say(f"[{store}] only {len(ids)} draft projects left: raise --drafts")
    path = write_requests(
        files[report.HEALTH].parent / f"issue{flags.replace(' ', '')}",
        [("POST", f"/api/v1/projects/{i}/complete", "") for i in ids],
    )
    scenario = report.ISSUE_WORKERS if flags else report.ISSUE
    server.settle()
    result = run_wrk(server.base, path, c, args.duration, [f"Authorization: Bearer {seeded.token}"])
    if result["requests"] > len(ids):
        say(f"[{store}] {result['requests']} completions for {len(ids)} drafts: raise --drafts")
    point = report.point_from_wrk(store, scenario, c, result, server=flags)
    say(f"[{store}] {scenario} c={c}: {point.per_second:,.0f}/s p99 {point.p99_ms:.1f} ms")
    points.append(point)
    return points


def _first_views(store: str, server: Server, seeded: Seeded) -> None:
    """Open every page of the run once, one at a time, and say what a first view costs.

    The measured points then show pages as people meet them once the server has seen them
    (kept verification reports, readings); a page's first view after a start or a change
    is this figure.
    """
    import urllib.request

    server.settle()
    for kind, paths in (
        ("portfolio", [f"/p/{h}" for h in seeded.portfolio_handles]),
        ("credential page", [f"/credentials/{i}" for i in seeded.credential_ids]),
    ):
        took = []
        for path in paths:
            request = urllib.request.Request(server.base + path, headers={"Accept": "text/html"})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as answer:
                answer.read()
            took.append(time.perf_counter() - started)
        took.sort()
        say(
            f"[{store}] first view of each {kind} ({len(took)}, one at a time): "
            f"median {1000 * took[len(took) // 2]:.1f} ms, "
            f"p99 {1000 * took[min(len(took) - 1, int(len(took) * 0.99))]:.1f} ms"
        )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=100_000)
    parser.add_argument("--per-portfolio", type=int, default=20)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per point")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50, 200]
    )
    parser.add_argument("--issue-concurrency", type=int, default=8)
    parser.add_argument(
        "--issue-requests", type=int, default=2000, help="draft projects given to each issuing run"
    )
    parser.add_argument("--drafts", type=int, default=None, help="default: 2 × issue-requests")
    parser.add_argument("--bulk-rows", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=None, help="signing processes")
    parser.add_argument(
        "--no-workers-run",
        dest="workers_run",
        action="store_false",
        help="skip the issuing run with 'serve --workers 2' (run when serve has --workers)",
    )
    args = parser.parse_args()
    # On SIGTERM, unwind: the servers are stopped and the PostgreSQL database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.drafts is None:
        args.drafts = 2 * args.issue_requests
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: `make bench-http` installs it (apt-get install wrk)")
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    load = os.getloadavg()
    points: list[report.Point] = []
    notes = []
    with tempfile.TemporaryDirectory(prefix="badgeworks-bench-http-") as tmp:
        for store in stores:
            found, note = measure_store(store, args, Path(tmp))
            points += found
            notes.append(note)
    print(
        f"bench/bench_http.py --credentials {args.credentials} --stores {args.stores} "
        f"--duration {args.duration:g} --concurrency {','.join(map(str, args.concurrency))}; "
        f"{os.cpu_count()} CPUs; load average {load[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; serve --workers: "
        f"{'yes' if serve_supports_workers() else 'not supported'}"
    )
    print()
    print(report.format_table(points))
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
