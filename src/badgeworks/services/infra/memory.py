"""A bounded in-process memory: at most ``limit`` values, the least recently used leave first.

Kept verification reports and kept readings of stored texts both use it. Every key must
name all that the value depends on (docs/performance.md, "Pages"), so nothing here is ever
invalidated: a changed input is a different key, and old keys age out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values by key, at most ``limit``; thread-safe, with ``compute`` run outside the lock."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._values: OrderedDict[K, V] = OrderedDict()
        #: How many values were computed (misses) and re-used (hits): for tests and figures.
        self.computed = 0
        self.reused = 0

    def get(
        self, key: K, compute: Callable[[], V], *, keep: Callable[[V], bool] | None = None
    ) -> V:
        """The value kept under ``key``, or ``compute()``, kept unless ``keep`` says no."""
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
                self.reused += 1
                return found
        value = compute()
        with self._lock:
            self.computed += 1
            if keep is None or keep(value):
                self._values[key] = value
                self._values.move_to_end(key)
                while len(self._values) > self._limit:
                    self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every value (tests)."""
        with self._lock:
            self._values.clear()
            self.computed = self.reused = 0

    def __len__(self) -> int:
        return len(self._values)
