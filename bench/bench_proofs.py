"""Signs and verifies per second on one core: the fast path against pyld as shipped.

Run: ``make bench`` (or ``.venv/bin/python bench/bench_proofs.py [--seconds N]``).

The credential is ``bench/ob3_credential.json``: a ~5 KB OB 3.0 micro-internship badge
(issuer profile, hashed-email subject, achievement with criteria, image, two alignments and a
result description, three evidence items, a status entry). The baseline swaps the
cryptosuite's canonicalizer for ``canonicalize_plain`` (pyld 3.3.0 as shipped, with our
strict checks) in the same process, so both figures come from the same run. The floor is
Ed25519 + SHA-256 over the canonical bytes alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from badgeworks.adapters.resources import default_loader
from badgeworks.core import cryptosuites
from badgeworks.core.canonicalize import canonicalize, canonicalize_plain
from badgeworks.core.crypto import Ed25519KeyPair, ed25519_verify
from badgeworks.core.proof import add_proof, verify_proofs

CREDENTIAL = Path(__file__).parent / "ob3_credential.json"
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def plain_canonicalizer() -> Iterator[None]:
    """Temporarily make the cryptosuites canonicalize with pyld as shipped."""
    original = cryptosuites.canonicalize
    cryptosuites.canonicalize = canonicalize_plain  # type: ignore[assignment]
    try:
        yield
    finally:
        cryptosuites.canonicalize = original


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (after a warm-up call)."""
    fn()
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += 1
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says

    loader = default_loader()
    credential = json.loads(CREDENTIAL.read_text("utf-8"))
    key = Ed25519KeyPair.generate()
    credential["issuer"]["id"] = key.controller
    signed = add_proof(credential, key, loader, created=CREATED)

    def sign() -> None:
        add_proof(credential, key, loader, created=CREATED)

    def verify() -> None:
        results = verify_proofs(signed, loader)
        assert results[0].verified, results[0].message

    canonical = canonicalize(credential, loader).encode()
    signature = key.sign(canonical)

    def floor_sign() -> None:
        key.sign(hashlib.sha256(canonical).digest() + hashlib.sha256(canonical).digest())

    def floor_verify() -> None:
        ed25519_verify(key.public_key, signature, canonical)

    with plain_canonicalizer():
        plain_signed = add_proof(credential, key, loader, created=CREATED)
    assert plain_signed == signed, "fast and plain paths produced different proofs"

    print(f"python {platform.python_version()} on {platform.machine()}, one core")
    quads = canonical.count(b"\n")
    print(f"credential: {CREDENTIAL.name}, {CREDENTIAL.stat().st_size} bytes, {quads} quads")
    rows = [
        ("badgeworks (fast path)", rate(sign, args.seconds), rate(verify, args.seconds)),
    ]
    with plain_canonicalizer():
        rows.append(("pyld as shipped", rate(sign, args.seconds), rate(verify, args.seconds)))
    rows.append(("Ed25519 + SHA-256 floor", rate(floor_sign, 1.0), rate(floor_verify, 1.0)))
    print(f"{'':26}{'sign/s':>10}{'verify/s':>10}")
    for name, s, v in rows:
        print(f"{name:26}{s:10.0f}{v:10.0f}")
    fast_sign, fast_verify = rows[0][1], rows[0][2]
    print(f"speed-up over pyld: sign x{fast_sign / rows[1][1]:.1f}, "
          f"verify x{fast_verify / rows[1][2]:.1f}")
    ok = fast_sign >= 1000 and fast_verify >= 1000
    print("target >= 1,000 sign/s and >= 1,000 verify/s:", "MET" if ok else "NOT MET")


if __name__ == "__main__":
    main()
