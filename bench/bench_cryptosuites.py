"""Signs and verifies per second of CPU time, per cryptosuite, on bench/ob3_credential.json.

Run: ``.venv/bin/python bench/bench_cryptosuites.py [--seconds N] [--rounds N] [SUITE ...]``
(default: eddsa-rdfc-2022 and eddsa-jcs-2022), pinned to one core with ``taskset -c 1`` on a
shared machine. The figures are CPU time, the median of the rounds; see docs/performance.md,
"eddsa-jcs-2022". To compare with an earlier commit, run the same script with
``PYTHONPATH=<git archive of that commit>/src``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from badgeworks.adapters.resources import default_loader
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.proof import add_proof, verify_proofs

CREDENTIAL = Path(__file__).parent / "ob3_credential.json"
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of this process's CPU time."""
    fn()
    calls = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        fn()
        calls += 1
    return calls / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", default=["eddsa-rdfc-2022", "eddsa-jcs-2022"])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is shown")
    args = parser.parse_args()

    document = json.loads(CREDENTIAL.read_text("utf-8"))
    key = Ed25519KeyPair.generate()
    document["issuer"]["id"] = key.controller
    loader = default_loader()
    for suite in args.suites:
        # "default" names no suite, so the script also runs against commits before the
        # cryptosuite parameter existed.
        options = {} if suite == "default" else {"cryptosuite": suite}
        signed = add_proof(document, key, loader, created=CREATED, **options)
        assert all(r.verified for r in verify_proofs(signed, loader)), suite

        def sign(options: dict[str, str] = options) -> Any:
            return add_proof(document, key, loader, created=CREATED, **options)

        def verify(signed: dict[str, Any] = signed) -> Any:
            return verify_proofs(signed, loader)

        signs = statistics.median(rate(sign, args.seconds) for _ in range(args.rounds))
        verifies = statistics.median(rate(verify, args.seconds) for _ in range(args.rounds))
        print(f"{suite}: sign {signs:,.0f}/s  verify {verifies:,.0f}/s (CPU time)")


if __name__ == "__main__":
    main()
