"""Per-client token buckets, in memory (one set of buckets per limiter and app instance).

The public verifier and the VC-API verify endpoints share one limiter; candidate sign-in has
its own (link requests, link redemptions). Staff sign-in and the admin token count failures
in the database instead, shared by every worker, and use only ``client_key`` to group
addresses.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """A token bucket per client address, in memory (one per app instance).

    Each client may make ``burst`` requests at once and then ``per_minute`` a minute.
    IPv6 clients are grouped by /64 (one host usually holds a whole /64). At most
    ``max_clients`` buckets are kept; the least recently used are forgotten first.
    """

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.disabled = per_minute <= 0 and burst <= 0
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def client_key(address: str | None) -> str:
        """The bucket of a client address (IPv6 by /64)."""
        if not address:
            return "unknown"
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return address[:100]
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)

    def take(self, address: str | None) -> float | None:
        """Spend one token: None if allowed, else the seconds until the next one."""
        if self.disabled:
            return None
        key = self.client_key(address)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = None
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


def retry_after_header(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
