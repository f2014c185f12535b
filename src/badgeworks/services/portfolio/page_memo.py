"""Finished public pages, kept in memory while nothing they show has changed.

An anonymous view of a portfolio (``/p/{handle}``) or a credential page
(``/credentials/{id}`` as HTML) is kept as the rendered bytes and headers (``PAGES``),
under the database, the ``service_meta`` row ``pages_version``, the base URL, the path,
the query and the page's language. Database triggers bump ``pages_version`` in every
transaction that inserts, changes or deletes a row of any table these pages read
(migration ``0023_pages_version``), in whichever process it runs, so a view reads that
one number and, while it has not moved, the kept page is what a fresh render would show.

The clock is the other input. A page's verdicts (valid, expired, not yet valid, each
signature and endorsement) compare ``now`` with the dates the signed texts carry
(``Reading.dates``: ``validFrom``, ``validUntil``, ``expirationDate``, each proof's
``created`` and ``expires``, embedded endorsements' dates, and later endorsements' own),
and only through which side of each date ``now`` is on (``kept.sides``). A page is kept
with the open interval between the last of those dates before the render and the first
after it (``Freshness``), and served only while the clock is inside it.

A page is not kept when any verdict on it could not be computed (a check
``indeterminate``) or was reached beyond this service (a later endorsement naming
another host's keys, lists or files, verified afresh at every view), nor when the clock
sits exactly on one of its dates. Which requests are anonymous, and what a kept page is
made of, is the web layer's part (``web/page_memo.py``).

The number is read first and the rows after it: rows read after reading ``n`` are at
least as new as ``n``, and a change commits together with its bump, so a page rendered
after reading ``n`` is never older than ``n``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from badgeworks.services.infra.memory import Recent

#: The ``service_meta`` row the triggers bump.
VERSION_NAME = "pages_version"
_READ_VERSION = text("SELECT value FROM service_meta WHERE name = :name")

#: How many bytes of finished pages one process keeps (the least recently used leave
#: first): a portfolio of 20 credentials is about 42 KB of HTML and a credential page
#: about 9 KB, so about 800 portfolios or 3,600 credential pages fit.
MAX_BYTES = 32 * 1024 * 1024
#: At most this many pages, whatever their size; a page over ``MAX_PAGE_BYTES`` is not kept.
MAX_PAGES = 8192
MAX_PAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Freshness:
    """Whether a rendered page may be kept, and for which instants it stays true.

    The page holds while ``after < now < before`` (a missing end is unbounded).
    """

    keepable: bool = True
    after: datetime | None = None
    before: datetime | None = None

    def holds_at(self, now: datetime) -> bool:
        """The page, kept, is what a render at ``now`` would show."""
        return (
            self.keepable
            and (self.after is None or now > self.after)
            and (self.before is None or now < self.before)
        )

    def __and__(self, other: Freshness) -> Freshness:
        """What holds for a page showing both."""
        afters = [d for d in (self.after, other.after) if d is not None]
        befores = [d for d in (self.before, other.before) if d is not None]
        return Freshness(
            keepable=self.keepable and other.keepable,
            after=max(afters) if afters else None,
            before=min(befores) if befores else None,
        )


#: What a render that cannot be kept says.
NOT_KEPT = Freshness(keepable=False)
#: What a render that depends on no date says.
ALWAYS = Freshness()


def freshness(dates: Iterable[datetime], now: datetime, *, checked: bool = True) -> Freshness:
    """The instants that see ``dates`` from the same sides as ``now`` does.

    ``checked=False`` (something could not be computed) and ``now`` exactly on one of
    the dates give a page that is not kept.
    """
    if not checked:
        return NOT_KEPT
    after: datetime | None = None
    before: datetime | None = None
    for when in dates:
        try:
            if when < now:
                after = when if after is None or when > after else after
            elif when > now:
                before = when if before is None or when < before else before
            else:
                return NOT_KEPT
        except TypeError:  # a date without a zone: never compared the same way twice
            return NOT_KEPT
    return Freshness(after=after, before=before)


def join(parts: Iterable[Freshness]) -> Freshness:
    """What holds for a page showing every one of ``parts``."""
    out = ALWAYS
    for part in parts:
        out = out & part
    return out


def read_version(session: Session) -> int | None:
    """The current ``pages_version`` (None where the counter is missing or unreadable)."""
    value = session.exec(_READ_VERSION, params={"name": VERSION_NAME}).scalar()  # type: ignore[call-overload]
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _Database:
    """Names one engine in the memo's keys (two engines never share a page)."""

    __slots__ = ("__weakref__",)


_databases: weakref.WeakKeyDictionary[Engine, _Database] = weakref.WeakKeyDictionary()
_databases_lock = threading.Lock()


def database_of(session: Session) -> Hashable:
    """The key part naming the database ``session`` reads (its engine, for its life)."""
    bind = session.get_bind()
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    with _databases_lock:
        found = _databases.get(engine)
        if found is None:
            found = _databases[engine] = _Database()
        return found


@dataclass(frozen=True)
class KeptPage:
    """A finished page: its body, its headers (no cookie among them), when it holds."""

    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    freshness: Freshness


class PageMemo(Recent[Hashable, KeptPage]):
    """Finished pages by key, at most ``limit`` of them and ``budget`` bytes of bodies
    (the least recently used leave first)."""

    def __init__(self, limit: int = MAX_PAGES, budget: int = MAX_BYTES) -> None:
        super().__init__(limit)
        self._budget = budget
        #: The bytes of the bodies kept now.
        self.size = 0

    def find(self, key: Hashable, now: datetime) -> KeptPage | None:
        """The page kept under ``key`` if it holds at ``now``."""
        with self._lock:
            found = self._values.get(key)
            if found is None or not found.freshness.holds_at(now):
                return None
            self._values.move_to_end(key)
            self.reused += 1
            return found

    def keep(self, key: Hashable, page: KeptPage) -> bool:
        """Keep ``page`` under ``key`` if it may be kept; whether it was."""
        with self._lock:
            self.computed += 1
            if not page.freshness.keepable or len(page.body) > min(MAX_PAGE_BYTES, self._budget):
                return False
            replaced = self._values.pop(key, None)
            if replaced is not None:
                self.size -= len(replaced.body)
            self._values[key] = page
            self.size += len(page.body)
            while len(self._values) > self._limit or self.size > self._budget:
                _, gone = self._values.popitem(last=False)
                self.size -= len(gone.body)
            return True

    def clear(self) -> None:
        """Forget every page (tests)."""
        with self._lock:
            self._values.clear()
            self.size = self.computed = self.reused = 0


#: The pages this process keeps.
PAGES = PageMemo()
