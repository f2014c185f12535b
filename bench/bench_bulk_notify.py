"""What telling the candidates costs a bulk file: ``POST /api/v1/issuers/{slug}/batches``
with ``?notify_candidates=true`` (each row queues its message in the outbox, in the row's
transaction) and ``false``, alternately, each on a fresh SQLite database.

    PYTHONPATH=. .venv/bin/python bench/bench_bulk_notify.py --rows 300 --rounds 2

Prints the wall clock and the CPU seconds of this process (on a shared machine the wall
clock also counts other processes' turns) per run. Nothing is sent: delivery is the
outbox worker's, after the run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from tests.issuer_app import TEST_SECRET, draft_project, make_issuer

from badgeworks.settings import get_settings
from badgeworks.web.app import create_app

HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name,external_id\n"


def run(rows: int, notify: bool) -> tuple[float, float]:
    """One bulk file of ``rows`` new rows on a fresh database: (wall s, CPU s)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp}/bench.db",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
    )
    app = create_app(settings)
    try:
        client = TestClient(app)
        who = make_issuer(app, "acme")
        achievement = draft_project(client, who)["achievement"]
        body = HEADER + "".join(
            f"{achievement},Person {i},p{i}@example.org,Project {i},Host,row-{i}\n"
            for i in range(rows)
        )
        wall, cpu = time.perf_counter(), time.process_time()
        r = client.post(
            f"/api/v1/issuers/acme/batches?notify_candidates={str(notify).lower()}",
            content=body,
            headers=who.auth | {"Content-Type": "text/csv"},
        )
        took = time.perf_counter() - wall, time.process_time() - cpu
        assert r.status_code == 200, r.text[:300]
        return took
    finally:
        app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    run(20, True)  # warm-up: imports, the schema and context caches
    for _ in range(args.rounds):
        for notify in (True, False):
            wall, cpu = run(args.rows, notify)
            print(
                f"rows={args.rows} notify={str(notify).lower():5}: {wall:6.1f} s wall, "
                f"{cpu:6.1f} s CPU, {args.rows / cpu:6.1f} rows per CPU second",
                flush=True,
            )


if __name__ == "__main__":
    main()
