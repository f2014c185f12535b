"""What a fetched document costs: from the network, from Redis, from the process's memory.

    PYTHONPATH=. .venv/bin/python bench/bench_shared_fetch_cache.py [--kib 20] [--runs 300]

Serves one JSON document of ``--kib`` KiB from a local HTTP server and prints the median
and 90th percentile of ``Fetcher.fetch``: uncached (a local network fetch; a real issuer's
host is much further away), served from the shared cache in Redis (127.0.0.1:6379, under a
prefix of its own, deleted at the end), and served from the fetcher's own memory.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from badgeworks.adapters.fetcher import Fetcher
from badgeworks.services.infra.rate_limit import redis_client
from badgeworks.services.infra.shared_cache import RedisFetchCache


def _serve(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _time(label: str, call: Callable[[], object], runs: int) -> None:
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        spent.append(time.perf_counter() - started)
    spent.sort()
    median = statistics.median(spent) * 1e6
    p90 = spent[int(runs * 0.9)] * 1e6
    print(f"{label}: median {median:.0f} µs, p90 {p90:.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kib", type=int, default=20)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    body = json.dumps({"encodedList": "u" + "A" * (args.kib * 1024)}).encode()
    server = _serve(body)
    url = f"http://127.0.0.1:{server.server_address[1]}/list"
    prefix = f"badgeworks-bench:fetch:{secrets.token_hex(4)}"
    connection = redis_client("redis://127.0.0.1:6379/0")
    cache = RedisFetchCache(connection, prefix=prefix)
    try:
        with Fetcher(allow_private=True, cache_ttl=0) as uncached:
            _time("network (local HTTP server)", lambda: uncached.fetch(url), args.runs)
        with Fetcher(allow_private=True, shared=cache) as fetcher:
            fetcher.fetch(url, share=True)

            def from_redis() -> None:
                fetcher.clear_cache()
                fetcher.fetch(url, share=True)

            _time("shared cache (Redis)", from_redis, args.runs)
            _time("process memory", lambda: fetcher.fetch(url, share=True), args.runs)
    finally:
        for key in connection.scan_iter(f"{prefix}:*"):
            connection.delete(key)
        connection.close()
        server.shutdown()


if __name__ == "__main__":
    main()
