"""Canonicalizations per second of a realistic OB 3.0 credential: fast path vs pyld.

Run: .venv/bin/python bench/bench_canonicalize.py [--seconds 2] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from badgeworks.adapters.resources import default_loader
from badgeworks.core import jsonld, rdfc
from badgeworks.core.canonicalize import canonicalize, canonicalize_plain
from badgeworks.core.loader import DocumentLoader

CREDENTIAL = Path(__file__).parent / "ob3_credential.json"


def rate(
    fn: Callable[[Any, DocumentLoader], str], doc: Any, loader: DocumentLoader, seconds: float
) -> tuple[float, float]:
    """Calls per second and mean milliseconds per call, after one warm-up call."""
    fn(doc, loader)
    n = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(doc, loader)
        n += 1
    return n / elapsed, 1000 * elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--profile", action="store_true", help="cProfile the fast path")
    args = parser.parse_args()
    doc = json.loads(CREDENTIAL.read_text("utf-8"))
    loader = default_loader()
    fast = canonicalize(doc, loader)
    assert fast == canonicalize_plain(doc, loader), "fast and plain paths disagree"
    print(
        f"credential: {CREDENTIAL.name}, {CREDENTIAL.stat().st_size} bytes, "
        f"{fast.count(chr(10))} quads"
    )

    def general(doc: Any, loader: DocumentLoader) -> str:
        # The fast path without its direct walk: expanded form, then quads.
        return rdfc.canonicalize(jsonld.to_quads_general(doc, loader))

    rows = (("fast", canonicalize), ("general path", general), ("plain (pyld)", canonicalize_plain))
    for name, fn in rows:
        per_s, ms = rate(fn, doc, loader, args.seconds)
        print(f"{name:>14}: {per_s:9.0f} canonicalizations/s  {ms:7.3f} ms each")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(2000):
            canonicalize(doc, loader)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
