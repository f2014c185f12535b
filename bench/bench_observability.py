"""Per-request cost of ``web/observability.RequestObservability`` around a trivial ASGI app
(docs/operations.md, "Metrics"): the bare app, then wrapped, with no access line, text lines
and JSON lines (written to memory).

    .venv/bin/python bench/bench_observability.py [--calls 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from badgeworks.settings import get_settings
from badgeworks.web.observability import RequestObservability, configure_logging

Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


class _Route:
    path = "/healthz"


async def _app(scope: Scope, receive: Any, send: Any) -> None:
    scope["route"] = _Route()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: MutableMapping[str, Any]) -> None:
    return None


async def _per_call(target: App, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        scope = {"type": "http", "method": "GET", "path": "/healthz", "headers": []}
        await target(scope, _receive, _send)
    return (time.perf_counter() - started) / calls * 1e6


async def _main(calls: int, rounds: int) -> None:
    wrapped = RequestObservability(_app, settings=get_settings(key_secret="x" * 32))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    access = logging.getLogger("badgeworks.access")
    for mode in ("none", "text", "json"):
        access.disabled = mode == "none"
        if mode != "none":
            configure_logging(mode, stream=io.StringIO())
        bare = min([await _per_call(_app, calls) for _ in range(rounds)])
        observed = min([await _per_call(wrapped, calls) for _ in range(rounds)])
        print(
            f"access line {mode:>4}: bare {bare:6.1f} us, observed {observed:6.1f} us, "
            f"overhead {observed - bare:6.1f} us per request"
        )
    access.disabled = False
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.calls, arguments.rounds))
