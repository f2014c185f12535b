"""A bounded pool for anonymous verification work.

Verifying may wait on the network (a slow issuer's did:web document, a status list) and
costs CPU. Run in the web server's shared thread pool, a crowd of verifications would
take every thread, and health checks, issuance and pages would queue behind them. Here
they get their own ``workers`` threads and at most ``queue`` waiting requests; one more
is refused at once (``VerifierBusy``, 503 with Retry-After) instead of waiting without
end. The caller awaits the result without holding a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from badgeworks.core.errors import BadgeworksError

T = TypeVar("T")

#: Seconds a refused client is told to wait before trying again.
RETRY_AFTER_SECONDS = 5


class VerifierBusy(BadgeworksError):
    """Every verification worker is busy and the queue is full; try again shortly."""

    code = "verify.busy"


class VerifyPool:
    """``workers`` threads and a waiting line of ``queue``; ``run`` refuses beyond that."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="badgeworks-verify")
        self._lock = threading.Lock()
        self._taken = 0

    @property
    def in_flight(self) -> int:
        """Verifications running or waiting now."""
        return self._taken

    def _take(self) -> None:
        with self._lock:
            if self._taken >= self.capacity:
                raise VerifierBusy(
                    f"the verifier is busy: {self.capacity} verifications are already "
                    f"running or waiting. Try again in {RETRY_AFTER_SECONDS} seconds.",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            self._taken += 1

    def _give_back(self, _future: Future[T]) -> None:
        with self._lock:
            self._taken -= 1

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a worker; ``VerifierBusy`` at once when the line is full.

        The slot is given back when ``fn`` finishes, not when the caller stops waiting
        (a client that hangs up does not free a worker that is still busy).
        """
        self._take()
        context = contextvars.copy_context()
        try:
            future = self._executor.submit(context.run, fn)
        except RuntimeError:  # shut down: the server is stopping
            with self._lock:
                self._taken -= 1
            raise VerifierBusy(
                "the service is shutting down; try again shortly.",
                retry_after=RETRY_AFTER_SECONDS,
            ) from None
        future.add_done_callback(self._give_back)
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Drop queued work and stop taking more; running work finishes on its own."""
        self._executor.shutdown(wait=False, cancel_futures=True)
