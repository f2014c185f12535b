"""What the job queue and the shared rate limits cost.

    PYTHONPATH=. .venv/bin/python bench/bench_workers.py --jobs 400 --workers 4 \
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Jobs: enqueues ``--jobs`` empty jobs, then ``--workers`` threads (each its own worker name)
claim and complete them until none is left; prints jobs/s and checks each job was run
once. Limits: the median time of one ``take`` of a limit counted in the database and in
Redis (127.0.0.1:6379), and of the in-memory bucket. With ``--postgres`` (an admin URL)
the database parts also run on a scratch PostgreSQL database, dropped at the end.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy

from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.services.infra import jobs
from badgeworks.services.infra.rate_limit import (
    RateLimiter,
    RedisRateLimiter,
    SharedRateLimiter,
    redis_client,
)
from badgeworks.settings import get_settings

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def median_us(action: Callable[[], object], times: int) -> float:
    """The median wall time of ``action`` in microseconds."""
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent) * 1e6


def drain(url: str, data: Path, count: int, workers: int) -> None:
    """Enqueue ``count`` jobs, drain them with ``workers`` threads, print the rate."""
    engine = make_engine(get_settings(data_dir=data, database_url=url))
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        for n in range(count):
            jobs.enqueue(session, "bench", {"n": n}, now=NOW)
        session.commit()
    done: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while True:
            with factory() as session:
                held = jobs.claim(
                    session, worker=name, now=NOW, lease=timedelta(seconds=60), kinds={"bench"}
                )
                if held is None:
                    return
                assert jobs.complete(session, held, now=NOW)
            with lock:
                done.append(held.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spent = time.perf_counter() - start
    assert len(done) == len(set(done)) == count, "a job ran twice or not at all"
    print(
        f"{engine.dialect.name:10} {count} jobs, {workers} workers: "
        f"{count / spent:7.0f} jobs/s (claim + complete, each once)"
    )
    clock = [NOW]
    limit = SharedRateLimiter(
        "bench", per_minute=1e9, burst=10**9, session_factory=factory, clock=lambda: clock[0]
    )
    took = median_us(lambda: limit.take("192.0.2.1"), 300)
    print(f"{engine.dialect.name:10} database limit take: {took:7.0f} µs")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        drain(f"sqlite:///{tmp}/bench.db", Path(tmp), args.jobs, args.workers)
        if args.postgres:
            name = f"badgeworks_bench_{secrets.token_hex(4)}"
            admin = sqlalchemy.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
            try:
                url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
                drain(url, Path(tmp), args.jobs, args.workers)
            finally:
                with admin.connect() as conn:
                    conn.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                admin.dispose()
    client = redis_client("redis://127.0.0.1:6379/0")
    prefix = f"badgeworks-bench:{secrets.token_hex(4)}"
    in_redis = RedisRateLimiter(
        "bench", per_minute=1e9, burst=10**9, client=client, clock=lambda: NOW, prefix=prefix
    )
    print(f"redis      limit take: {median_us(lambda: in_redis.take('192.0.2.1'), 1000):7.0f} µs")
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()
    memory = RateLimiter(per_minute=1e9, burst=10**9)
    print(f"memory     limit take: {median_us(lambda: memory.take('192.0.2.1'), 1000):7.1f} µs")


if __name__ == "__main__":
    main()
