"""What verifying a hosted credential costs in process, first time and again (no HTTP).

    .venv/bin/python -m bench.bench_verify_kept [--n 300]

Seeds the demo into a fresh SQLite database and runs the public verifier's service call
(``public.verify_submission``, what ``POST /api/v1/verify`` runs on its pool) on the demo
credential, three ways, ``--n`` times each, and prints the median and mean per call:

- ``first``: nothing remembered (the kept reports and the JSON Schema answers forgotten
  before each call): a text never seen;
- ``schema remembered``: the kept reports forgotten, the JSON Schema answer not (the same
  text after a change to what we host, e.g. a revocation);
- ``kept``: the report kept from before (``services/verification/submitted.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from badgeworks.core import schema
from badgeworks.services.demo import seed_demo
from badgeworks.services.verification.public import (
    Submission,
    TrustRegistry,
    local_credentials,
    verify_submission,
)
from badgeworks.services.verification.submitted import KEPT
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-kept-"))
    settings = get_settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'bench.db'}",
        key_secret="bench-only-key-secret-0123456789",
        public_base_url="http://127.0.0.1:8000",
    )
    app = create_app(settings)
    ctx = app.state.ctx
    with app.state.session_factory() as session:
        demo = seed_demo(session, ctx)
    document = json.loads(local_credentials(ctx)(demo.json_url) or b"")
    registry = TrustRegistry(None)

    def once() -> None:
        outcome = verify_submission(ctx, None, Submission(document, "text"), registry=registry)
        assert outcome.verdict == "verified", outcome.report
        outcome.as_json()

    def forget_all() -> None:
        KEPT.clear()
        schema._FOUND.clear()

    ways: list[tuple[str, Callable[[], None]]] = [
        ("first", forget_all),
        ("schema remembered", KEPT.clear),
        ("kept", lambda: None),
    ]
    for name, before in ways:
        once()  # warm-up: validators compiled, lists read
        times = []
        for _ in range(args.n):
            before()
            start = time.perf_counter()
            once()
            times.append(time.perf_counter() - start)
        print(
            f"{name}: n={args.n} median={statistics.median(times) * 1000:.3f} ms "
            f"mean={statistics.mean(times) * 1000:.3f} ms"
        )


if __name__ == "__main__":
    main()
